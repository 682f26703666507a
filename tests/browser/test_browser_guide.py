"""The Browser guide: built from the sweep's own heuristic texts, and every query in it parses,
runs and returns rows on Neo4j over a swept portfolio."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

import pytest
from browser_support import Swept

from fraudrings.browser import guide
from fraudrings.queries import catalog


class Runnables(HTMLParser):
    """The slides of a guide page and the text of their runnable blocks, as Browser sees them
    (it runs ``textContent.trim()`` of each ``pre.runnable``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.slides: list[dict[str, Any]] = []
        self._pre: list[str] | None = None
        self.data_exec = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-exec" in found:
            self.data_exec += 1
        if tag == "slide":
            self.slides.append({"id": found.get("id"), "blocks": []})
        elif tag == "pre" and "runnable" in (found.get("class") or "").split():
            self._pre = []

    def handle_data(self, data: str) -> None:
        if self._pre is not None:
            self._pre.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._pre is not None:
            self.slides[-1]["blocks"].append("".join(self._pre).strip())
            self._pre = None


def parse(page: str) -> Runnables:
    parser = Runnables()
    parser.feed(page)
    return parser


def test_the_page_holds_every_block_of_every_slide() -> None:
    built = guide.build(assets_url="http://127.0.0.1:7480/browser")
    page = parse(guide.render(built))
    assert [s["id"] for s in page.slides] == [s.key for s in built.slides]
    for slide, parsed in zip(built.slides, page.slides):
        assert parsed["blocks"] == [b.text for b in slide.blocks]
    # data-exec links run inside the guide's own frame and make the guide disappear
    assert page.data_exec == 0


def test_the_first_slide_is_the_top_rings() -> None:
    first = guide.build().slides[0]
    assert first.key == guide.TOP_RINGS_KEY
    assert first.blocks[0].text == guide.TOP_RINGS_GRAPH


def test_heuristic_slides_show_the_text_the_sweep_runs() -> None:
    built = guide.build()
    by_name = {s.heuristic: s for s in built.slides if s.heuristic}
    assert sorted(by_name) == catalog.names()
    for heuristic in catalog.catalog():
        slide = by_name[heuristic.name]
        query = slide.blocks[-1].text
        assert query == heuristic.text(guide.BACKEND).strip()
        # the same file on disk: not a copy that could drift
        assert query in heuristic.source(guide.BACKEND)
        if heuristic.params:
            params = slide.blocks[0]
            assert params.is_param
            for p in heuristic.params:
                assert f"{p.literal} AS {p.name}" in params.text
        assert html.escape(heuristic.title) in guide.render(guide.Guide([slide]))


def test_ring_picks_come_from_the_top_rings_and_refuse_odd_ids() -> None:
    rings = [{"ring_id": "ring-abc123", "score": 0.91, "size": 7},
             {"ring_id": "ring-x' }) DETACH DELETE (n", "score": 0.5, "size": 3}]
    picks = guide.ring_picks(rings)
    assert [p.text for p in picks] == [":param ring_id => 'ring-abc123'"]
    assert picks[0].alternative and "0.91" in picks[0].caption
    page = guide.build_guide(rings)
    assert "ring-abc123" in page and "DETACH" not in page


def run_through(store: Any, built: guide.Guide) -> list[tuple[str, guide.Block, int]]:
    """Run the guide as an investigator would, slide by slide: every ``:param`` block (as
    Browser evaluates it, on the server), then every query with the parameters set so far.
    Alternatives (one ring among the top ones) are evaluated but not applied."""
    params: dict[str, Any] = {}
    done = []
    for slide in built.slides:
        for block in slide.blocks:
            if block.is_param:
                if block.text.startswith(":param ") and block.param_query:
                    rows = store.query(block.param_query)
                    assert len(rows) == 1, f"{slide.key}: {block.caption} gave {len(rows)} rows"
                    if not block.alternative:
                        params.update(rows[0])
                continue
            if block.text.startswith(":"):
                continue  # a Browser command such as :style
            store.query("EXPLAIN " + block.text, params)  # parses, all parameters bound
            done.append((slide.key, block, len(store.query(block.text, params))))
    return done


@pytest.mark.neo4j
def test_every_query_of_the_guide_runs_and_returns_rows(swept: Swept) -> None:
    built = guide.build(guide.top_rings(swept.store), assets_url="http://127.0.0.1:7480/browser")
    results = run_through(swept.store, built)
    assert len(results) == sum(1 for _, b in built.blocks() if not b.text.startswith(":"))
    by_slide = {s.key: s for s in built.slides}
    # The investigator queries must find something in any swept book with rings. A heuristic
    # finds what the sweep's run of the same text finds (next tests), which may be nothing for
    # one typology on one seeded portfolio; most find something.
    empty = [f"{key}: {block.caption}" for key, block, n in results
             if n == 0 and not by_slide[key].heuristic]
    assert not empty, f"queries without rows on a swept portfolio: {empty}"
    heuristic_rows = [n for key, _, n in results if by_slide[key].heuristic]
    assert sum(1 for n in heuristic_rows if n) > len(heuristic_rows) / 2


@pytest.mark.neo4j
def test_browser_parameters_are_the_sweep_defaults_with_their_types(swept: Swept) -> None:
    for heuristic in catalog.catalog():
        if not heuristic.params:
            continue
        evaluated = swept.store.query(guide.param_query(heuristic))[0]
        assert evaluated == heuristic.defaults
        assert {k: type(v) for k, v in evaluated.items()} == {
            p.name: p.type for p in heuristic.params}


@pytest.mark.neo4j
def test_heuristic_slides_find_what_the_sweep_found(swept: Swept) -> None:
    for heuristic in catalog.catalog():
        params = swept.store.query(guide.param_query(heuristic))[0] if heuristic.params else {}
        rows = swept.store.query(heuristic.text(guide.BACKEND), params)
        expected = catalog.run(swept.store, heuristic)
        assert sorted(r["key"] for r in rows) == sorted(expected["key"]), heuristic.name


@pytest.mark.neo4j
def test_the_top_ring_picks_name_the_swept_rings(swept: Swept) -> None:
    top = guide.top_rings(swept.store)
    assert [r["ring_id"] for r in top] == [r["ring_id"] for r in swept.rings[:10]]
    page = guide.build_guide(top)
    for ring in swept.rings[:10]:
        assert f":param ring_id =&gt; &#x27;{ring['ring_id']}&#x27;" in page

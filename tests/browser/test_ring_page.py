"""One ring outside Neo4j: read from either store (portable Cypher) or a rings.jsonl, drawn as
an interactive page and an SVG/PNG picture that show every member."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fraudrings.browser.cli import ring_command
from fraudrings.browser.ring import (
    RingNotFound,
    graph_svg,
    ring_from_jsonl,
    ring_from_store,
    ring_page,
    write_ring_files,
)
from fraudrings.graph.store import GraphStore
from fraudrings.sweep.pictures import draw_ring


class Page(HTMLParser):
    """What a reader (and the page's script) finds: graph nodes, timeline dots, table rows,
    every text, and the embedded data."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: dict[str, str] = {}  # data-id -> data-kind
        self.events: list[str] = []
        self.rows: list[str] = []
        self.texts: list[str] = []
        self.scripts: dict[str, str] = {}
        self._script: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "g" and "node" in classes:
            self.nodes[a["data-id"] or ""] = a.get("data-kind") or ""
        elif tag == "circle" and "event" in classes:
            self.events.append(a["data-id"] or "")
        elif tag == "tr" and "data-id" in a:
            self.rows.append(a["data-id"] or "")
        elif tag == "script":
            if a.get("src"):
                self.external.append(a["src"] or "")
            self._script = a.get("id") or f"inline-{len(self.scripts)}"
            self.scripts[self._script] = ""
        elif tag == "link" and a.get("href"):
            self.external.append(a["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data
        elif data.strip():
            self.texts.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    return parser


@pytest.fixture
def swept_store(store: GraphStore) -> tuple[GraphStore, list[Any]]:
    """A small seeded portfolio, swept, in each real store."""
    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio
    from fraudrings.sweep.run import run_sweep

    load_batch(store, validate(generate_portfolio(2000, seed=3).applications))
    rings = run_sweep(store, use_gnn=False).rings
    assert rings, "the seeded portfolio has rings"
    return store, rings


def test_a_ring_from_the_store_shows_every_member(
    swept_store: tuple[GraphStore, list[Any]],
) -> None:
    store, rings = swept_store
    top = rings[0]
    record = ring_from_store(store, top.ring_id)
    assert record["members"] == sorted(top.members)
    assert record["applicants"] == sorted(top.applicants)
    assert {(s["kind"], s["value"]) for s in record["shared"]} == {
        (s["kind"], s["value"]) for s in top.shared}
    page = parse(ring_page(record))
    members = {i for i, kind in page.nodes.items() if kind == "Application"}
    assert members == set(top.members)
    for member in top.members:  # drawn, labelled, on the timeline and in the table
        assert member in page.texts
    assert sorted(page.events) == sorted(top.members)
    assert set(top.members) <= set(page.rows)
    # the identifiers that tie it are drawn and linked
    shared = {f"{s['kind']}:{s['value']}" for s in top.shared}
    assert shared <= set(page.nodes)
    data = json.loads(page.scripts["ring-data"])
    assert set(top.members) <= set(data["nodes"])
    assert all(data["nodes"][m]["applied at (UTC)"] != "-" for m in top.members)
    assert not page.external, "self-contained: no external scripts or styles"
    assert "One hop away" in page.texts


def test_neighbours_are_outside_the_ring_and_unknown_rings_are_errors(
    swept_store: tuple[GraphStore, list[Any]],
) -> None:
    store, rings = swept_store
    for ring in rings[:5]:
        record = ring_from_store(store, ring.ring_id)
        members = set(ring.members)
        for neighbour in record["neighbours"]:
            assert neighbour["application_id"] not in members
            assert neighbour["shares"]
            assert neighbour["ring_id"] != ring.ring_id
    with pytest.raises(RingNotFound, match="no ring ring-000000000000"):
        ring_from_store(store, "ring-000000000000")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep's output folder (rings.jsonl, report.html) from LadybugDB."""
    from fraudrings.graph.load import load_batch
    from fraudrings.graph.store import open_store
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio
    from fraudrings.sweep.run import run_sweep, write_outputs

    base = tmp_path_factory.mktemp("ring-page")
    with open_store("ladybug", path=base / "graph.lbug") as store:
        load_batch(store, validate(generate_portfolio(2000, seed=3).applications))
        write_outputs(run_sweep(store, use_gnn=False), base / "sweep")
    return base


def _rings(sweep_dir: Path) -> list[dict[str, Any]]:
    text = (sweep_dir / "sweep" / "rings.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_ring_from_rings_jsonl_shows_every_member(sweep_dir: Path) -> None:
    for expected in _rings(sweep_dir)[:5]:
        record = ring_from_jsonl(sweep_dir / "sweep", expected["ring_id"])
        page = parse(ring_page(record))
        assert {i for i, k in page.nodes.items() if k == "Application"} == set(
            expected["members"])
        assert all(member in page.texts for member in expected["members"])
        # no per-application times in rings.jsonl: the span only, said so on the page
        assert not page.events and any("need the store" in t for t in page.texts)
    with pytest.raises(RingNotFound):
        ring_from_jsonl(sweep_dir / "sweep" / "rings.jsonl", "ring-000000000000")


def test_the_svg_and_png_pictures_show_every_member(sweep_dir: Path) -> None:
    ring = _rings(sweep_dir)[0]
    svg = draw_ring(ring, fmt="svg").decode()
    texts = Page()
    texts.feed(svg[svg.find("<svg"):])
    for member in ring["members"]:
        assert member in texts.texts, f"{member} not drawn"
    assert draw_ring(ring, fmt="png").startswith(b"\x89PNG\r\n\x1a\n")
    inline = graph_svg(ring)
    assert all(f"data-id='{m}'" in inline for m in ring["members"])


def test_the_ring_command_writes_the_page_and_the_picture(sweep_dir: Path,
                                                          tmp_path: Path) -> None:
    ring = _rings(sweep_dir)[0]
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(ring_command(), [ring["ring_id"], "--rings", str(sweep_dir / "sweep"),
                                          "--out", str(out), "--format", "html",
                                          "--format", "png"])
    assert result.exit_code == 0, result.output
    assert (out / f"{ring['ring_id']}.html").exists()
    assert (out / f"{ring['ring_id']}.png").read_bytes()[:4] == b"\x89PNG"
    # from the store (LadybugDB here): the timeline has every application
    result = runner.invoke(ring_command(), [ring["ring_id"], "--store", "ladybug", "--db",
                                          str(sweep_dir / "graph.lbug"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = parse((out / f"{ring['ring_id']}.html").read_text())
    assert sorted(page.events) == sorted(ring["members"])
    assert (out / f"{ring['ring_id']}.svg").read_text().startswith("<?xml")
    missing = runner.invoke(ring_command(), ["ring-000000000000", "--rings",
                                           str(sweep_dir / "sweep")])
    assert missing.exit_code == 1 and "no ring ring-000000000000" in missing.output


def test_ring_files_refuse_an_unknown_format(sweep_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown picture format"):
        write_ring_files(_rings(sweep_dir)[0], tmp_path, ("gif",))


def test_the_page_is_interactive_in_chromium(sweep_dir: Path, tmp_path: Path,
                                             chrome: Any) -> None:
    """The inline script works offline: a click on a member shows its details and dims what is
    not linked to it; a legend box hides a kind; the page asks the network for nothing."""
    from selenium.webdriver.common.by import By

    from fraudrings.graph.store import open_store

    ring_id = _rings(sweep_dir)[0]["ring_id"]
    with open_store("ladybug", path=sweep_dir / "graph.lbug") as store:
        record = ring_from_store(store, ring_id)
    page = tmp_path / "ring.html"
    page.write_text(ring_page(record), encoding="utf-8")
    chrome.get(page.as_uri())
    member = record["applications"][0]
    chrome.find_element(By.CSS_SELECTOR,
                        f"#graph .node[data-id='{member['application_id']}']").click()
    details = chrome.find_element(By.ID, "details").text
    assert member["application_id"] in details and member["applicant_id"] in details
    dimmed = chrome.find_elements(By.CSS_SELECTOR, "#graph .node.dim")
    assert 0 < len(dimmed) < len(chrome.find_elements(By.CSS_SELECTOR, "#graph .node"))
    kind = next(i["kind"] for i in record["identifiers"])
    chrome.find_element(By.CSS_SELECTOR, f".legend input[value='{kind}']").click()
    hidden = chrome.find_elements(By.CSS_SELECTOR, f"#graph .node[data-kind='{kind}']")
    assert hidden and not any(node.is_displayed() for node in hidden)
    errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors

"""The Neo4j Browser guide (``:play <url>``): ready queries for an investigator, no Cypher to write.

Browser renders each ``<slide>`` of a fetched HTML page as one page of a carousel, and turns
every ``<pre class="runnable">`` into a block that a click puts in the editor and whose ▶ icon
runs it at once in a new frame. Slides:

1. top rings by score (graph and table);
2. one ring opened: its applications and what ties them;
3. who else is one hop away from that ring;
4. everything within two hops of one application;
5. devices and phones shared across rings (and with applications outside them);
6. merchants and agents with ring applications;
7. one slide per heuristic, read through :mod:`fraudrings.queries.catalog` (the sweep's own
   loader): the query is exactly the text the sweep sends to Neo4j, with a block that sets its
   parameters to the file's defaults.

Parameters are set with Browser's server-evaluated ``:param [{a, b}] => { RETURN ... }`` form:
one click, and integers stay integers. Never use ``data-exec`` links for actions: Browser runs
them in the guide's own frame and the guide disappears.

The guide is built by :func:`build_guide` at request time (``routes.py``) or on demand
(``fraudrings browser guide``); the investigator queries are Neo4j-only (they use ``type()``,
``labels()`` and temporal functions for display), unlike the portable heuristics.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fraudrings.browser.style import (
    KIND_COLOURS,
    RING_MEMBER,
    RING_MEMBER_BORDER,
    RING_MEMBER_COLOUR,
)
from fraudrings.graph import schema
from fraudrings.queries import catalog
from fraudrings.queries.catalog import Heuristic

TITLE = "fraudrings: rings for investigators"
#: The guide runs in Neo4j Browser: heuristics show their Neo4j text (an override if any).
BACKEND = "neo4j"
#: Identifiers with more links than this are hubs (shop tablets, carrier IPs, busy merchants):
#: shown, never expanded, so that one click cannot pull in thousands of honest applications.
HUB_LINKS = 50


@dataclass(frozen=True)
class Block:
    """One runnable block: a Cypher query, or a Browser ``:param`` command."""

    text: str
    caption: str = ""
    #: for a ``:param`` command, the Cypher that Browser evaluates to set the parameters (tests
    #: run it to get the parameters of the queries after it); empty for a query
    param_query: str = ""
    #: one of several choices (a ring among the top ones): not applied in a run-through
    alternative: bool = False

    @property
    def is_param(self) -> bool:
        return self.text.startswith(":param")


@dataclass(frozen=True)
class Slide:
    key: str
    title: str
    #: explanation, trusted HTML written in this module (never data from the graph)
    intro: str
    blocks: tuple[Block, ...]
    heuristic: str = ""  # set on heuristic slides: the query file's name


@dataclass
class Guide:
    slides: list[Slide] = field(default_factory=list)

    def blocks(self) -> list[tuple[Slide, Block]]:
        return [(slide, block) for slide in self.slides for block in slide.blocks]

    def queries(self) -> list[tuple[Slide, Block]]:
        return [(s, b) for s, b in self.blocks() if not b.is_param]


def _param(names: Sequence[str], query: str, caption: str) -> Block:
    """A ``:param`` block whose values come from ``query`` (one row, a column per name)."""
    destructure = "{" + ", ".join(names) + "}"
    return Block(f":param [{destructure}] => {{ {query} }}", caption, param_query=query)


# --- investigator queries (Neo4j Browser; keep each one small enough to read) ----------------

TOP_RINGS_GRAPH = """\
// The ten highest-scoring rings of the last sweep with their applications
MATCH (g:Ring)
WITH g ORDER BY g.score DESC, g.ring_id LIMIT 10
MATCH (a:Application)-[m:IN_RING]->(g)
RETURN g, m, a"""

TOP_RINGS_TABLE = """\
// Rings by score: when they happened and why they were flagged
MATCH (g:Ring)
RETURN g.ring_id AS ring, round(g.score, 3) AS score, g.size AS applications,
       date(datetime({epochSeconds: g.first_seen})) AS first_seen,
       date(datetime({epochSeconds: g.last_seen})) AS last_seen, g.reasons AS why
ORDER BY score DESC, ring LIMIT 25"""

PICK_TOP_RING = (
    "MATCH (g:Ring) RETURN g.ring_id AS ring_id ORDER BY g.score DESC, g.ring_id LIMIT 1"
)

RING_GRAPH = """\
// The ring, its applications and every identifier that two or more of them share
MATCH (g:Ring {ring_id: $ring_id})<-[m:IN_RING]-(a:Application)
OPTIONAL MATCH (a)-[t]->(x)
WHERE NOT x:Ring
  AND COUNT { MATCH (x)<--(b:Application)-[:IN_RING]->(g) RETURN DISTINCT b } >= 2
RETURN g, m, a, t, x"""

RING_TIES = """\
// What ties the ring: identifiers shared by two or more of its applications, and how many
// applications use each one in the whole book
MATCH (g:Ring {ring_id: $ring_id})<-[:IN_RING]-(a:Application)-[t]->(x)
WHERE NOT x:Ring
WITH x, type(t) AS link, count(DISTINCT a) AS members,
     collect(DISTINCT a.application_id) AS applications
WHERE members >= 2
RETURN labels(x)[0] AS kind, x.value AS value, link, members,
       COUNT { MATCH (x)<--(o:Application) RETURN DISTINCT o } AS in_whole_book, applications
ORDER BY members DESC, kind, value"""

RING_MEMBERS = """\
// The ring's applications in time order, with their own scores and the heuristics that fired
MATCH (g:Ring {ring_id: $ring_id})<-[:IN_RING]-(a:Application)
OPTIONAL MATCH (a)-[:AT_MERCHANT]->(shop:Merchant)
OPTIONAL MATCH (a)-[:KEYED_BY]->(agent:Agent)
RETURN a.application_id AS application, a.applicant_id AS applicant,
       datetime({epochSeconds: a.applied_at}) AS applied_at, a.amount AS amount,
       a.product AS product, round(a.score, 3) AS score, a.flags AS flags,
       shop.value AS merchant, agent.value AS agent, a.is_fraud AS fraud, a.fpd AS fpd
ORDER BY applied_at"""

PICK_RING_WITH_NEIGHBOURS = f"""\
MATCH (g:Ring)<-[:IN_RING]-(:Application)-->(x)<--(b:Application)
WHERE NOT x:Ring AND NOT x:Merchant AND NOT x:Agent AND COUNT {{ (x)--() }} <= {HUB_LINKS}
  AND NOT (b)-[:IN_RING]->(g)
WITH DISTINCT g
RETURN g.ring_id AS ring_id ORDER BY g.score DESC, g.ring_id LIMIT 1"""

NEIGHBOURS_GRAPH = f"""\
// Applications outside the ring that share an identifier with its members, and the rings
// they are in, if any. Merchants, agents and hubs (over {HUB_LINKS} links) are left out.
MATCH (g:Ring {{ring_id: $ring_id}})<-[m:IN_RING]-(a:Application)-[t]->(x)
WHERE NOT x:Ring AND NOT x:Merchant AND NOT x:Agent AND COUNT {{ (x)--() }} <= {HUB_LINKS}
MATCH (x)<-[u]-(b:Application)
WHERE NOT (b)-[:IN_RING]->(g)
OPTIONAL MATCH (b)-[n:IN_RING]->(h:Ring)
RETURN g, m, a, t, x, u, b, n, h"""

NEIGHBOURS_TABLE = f"""\
// Who else is one hop away: each outside application, what it shares with the ring, and
// its own ring (if another one) and score
MATCH (g:Ring {{ring_id: $ring_id}})<-[:IN_RING]-(a:Application)-[]->(x)
WHERE NOT x:Ring AND NOT x:Merchant AND NOT x:Agent AND COUNT {{ (x)--() }} <= {HUB_LINKS}
MATCH (x)<-[]-(b:Application)
WHERE NOT (b)-[:IN_RING]->(g)
OPTIONAL MATCH (b)-[:IN_RING]->(h:Ring)
WITH b, h, collect(DISTINCT labels(x)[0] + ' ' + x.value) AS shares
RETURN b.application_id AS application, b.applicant_id AS applicant, shares,
       h.ring_id AS other_ring, round(b.score, 3) AS score
ORDER BY size(shares) DESC, score DESC, application LIMIT 50"""

PICK_APPLICATION = (
    "MATCH (a:Application)-[:IN_RING]->(g:Ring) RETURN a.application_id AS application_id "
    "ORDER BY g.score DESC, g.ring_id, a.application_id LIMIT 1"
)

TWO_HOPS = f"""\
// The application, everything it links to, and everything those link to. Hubs (over
// {HUB_LINKS} links: shops, agents, carrier IPs) are shown but not expanded.
MATCH (a:Application {{application_id: $application_id}})-[t]-(x)
OPTIONAL MATCH (x)-[u]-(b)
WHERE b <> a AND COUNT {{ (x)--() }} <= {HUB_LINKS}
RETURN a, t, x, u, b"""

_DEVICE_PHONE = "FROM_DEVICE|USES_PHONE|LISTS_CONTACT"

SHARED_DEVICES_TABLE = f"""\
// Devices and phones of ring applications that other rings, or applications outside any
// ring, use too: one organiser behind several rings, or accomplices the sweep left out
MATCH (x)<-[:{_DEVICE_PHONE}]-(a:Application)-[:IN_RING]->(g:Ring)
WHERE x:Device OR x:Phone
WITH x, collect(DISTINCT g.ring_id) AS rings, count(DISTINCT a) AS ring_applications
WITH x, rings, ring_applications,
     COUNT {{ MATCH (x)<-[:{_DEVICE_PHONE}]-(o:Application)
             WHERE NOT (o)-[:IN_RING]->(:Ring) RETURN DISTINCT o }} AS outside_rings
WHERE size(rings) >= 2 OR outside_rings >= 1
RETURN labels(x)[0] AS kind, x.value AS value, size(rings) AS ring_count, rings,
       ring_applications, outside_rings
ORDER BY ring_count DESC, outside_rings DESC, value LIMIT 50"""

SHARED_DEVICES_GRAPH = f"""\
// The ten devices and phones above that tie most rings, with every application using them
MATCH (x)<-[:{_DEVICE_PHONE}]-(:Application)-[:IN_RING]->(g:Ring)
WHERE x:Device OR x:Phone
WITH x, count(DISTINCT g) AS rings,
     COUNT {{ MATCH (x)<-[:{_DEVICE_PHONE}]-(o:Application)
             WHERE NOT (o)-[:IN_RING]->(:Ring) RETURN DISTINCT o }} AS outside_rings
WHERE rings >= 2 OR outside_rings >= 1
WITH x ORDER BY rings DESC, outside_rings DESC, x.value LIMIT 10
MATCH (x)<-[t:{_DEVICE_PHONE}]-(a:Application)
OPTIONAL MATCH (a)-[m:IN_RING]->(g:Ring)
RETURN x, t, a, m, g"""

VENUES_TABLE = """\
// Merchants and sales agents by how many of their applications are in rings
MATCH (x)<-[:AT_MERCHANT|KEYED_BY]-(a:Application)-[:IN_RING]->(g:Ring)
WITH x, count(DISTINCT a) AS ring_applications, collect(DISTINCT g.ring_id) AS rings
WITH x, ring_applications, rings,
     COUNT { MATCH (x)<-[:AT_MERCHANT|KEYED_BY]-(o:Application) RETURN DISTINCT o }
       AS applications
RETURN labels(x)[0] AS kind, x.value AS value, ring_applications, applications,
       round(1.0 * ring_applications / applications, 3) AS share_in_rings, rings
ORDER BY ring_applications DESC, share_in_rings DESC, value LIMIT 25"""

VENUES_GRAPH = """\
// The five agents and merchants with most ring applications: those applications, their
// rings, and where (or by whom) they were keyed
MATCH (x)<-[:AT_MERCHANT|KEYED_BY]-(a:Application)-[:IN_RING]->(:Ring)
WITH x, count(DISTINCT a) AS n ORDER BY n DESC, x.value LIMIT 5
MATCH (x)<-[k:AT_MERCHANT|KEYED_BY]-(a:Application)-[m:IN_RING]->(g:Ring)
OPTIONAL MATCH (a)-[v:AT_MERCHANT|KEYED_BY]->(y)
RETURN x, k, a, m, g, v, y"""

TOP_RINGS_KEY = "top-rings"


def _legend() -> str:
    """Colour swatches of every node kind, as the style draws them."""
    kinds = [kind.label for kind in schema.NODE_KINDS if kind.label != schema.LOAD.label]
    items = [(kind, KIND_COLOURS[kind], KIND_COLOURS[kind]) for kind in kinds]
    items.insert(1, (f"Application in a ring (:{RING_MEMBER})", RING_MEMBER_COLOUR,
                     RING_MEMBER_BORDER))
    swatch = ("<span style='display:inline-block;width:11px;height:11px;border-radius:6px;"
              "margin-right:5px;vertical-align:-1px;background:{fill};"
              "border:2px solid {border}'></span>{label}")
    return "<p style='font-size:12px;line-height:1.7'>" + "<br>".join(
        swatch.format(fill=fill, border=border, label=html.escape(label))
        for label, fill, border in items
    ) + "</p>"


def ring_picks(rings: Iterable[Mapping[str, Any]]) -> tuple[Block, ...]:
    """One ``:param ring_id => '…'`` block per ring (when the guide is built from a store)."""
    blocks = []
    for ring in rings:
        ring_id = str(ring["ring_id"])
        if not ring_id.replace("-", "").isalnum():
            continue  # never put an odd string into a runnable command
        score = float(ring.get("score") or 0.0)
        caption = f"score {score:.2f}, {int(ring.get('size') or 0)} applications"
        blocks.append(Block(f":param ring_id => '{ring_id}'", caption,
                            param_query=f"RETURN '{ring_id}' AS ring_id", alternative=True))
    return tuple(blocks)


def investigator_slides(top_rings: Sequence[Mapping[str, Any]] = ()) -> list[Slide]:
    pick_ring = _param(["ring_id"], PICK_TOP_RING, "Pick the top ring (sets $ring_id)")
    picks = ring_picks(top_rings)
    pick_more = (
        "<p>Or pick another of the top rings below; or run <code>:param ring_id => "
        "'ring-…'</code> with an id from a Ring node's properties.</p>" if picks else
        "<p>To open another ring, run <code>:param ring_id => 'ring-…'</code> with its id "
        "(click a Ring node: its id is in the properties panel, ready to copy).</p>"
    )
    return [
        Slide(
            TOP_RINGS_KEY, "Top rings",
            "<p>Rings the last sweep wrote back, highest score first. Big red circles "
            f"are <b>Ring</b> nodes; their applications (blue with a red border) are also "
            f"labelled <b>:{RING_MEMBER}</b>. Click a node to "
            "see its properties (score, reasons, first and last seen); double-click it to "
            "expand its neighbours.</p><p>Click ▶ in a block to run it; click the text to "
            "edit it first.</p>" + _legend(),
            (Block(TOP_RINGS_GRAPH, "The top ten rings and their applications"),
             Block(TOP_RINGS_TABLE, "The top 25 as a table: when, and why")),
        ),
        Slide(
            "ring", "Open one ring: what ties it",
            "<p>First pick a ring: the block sets the parameter <code>$ring_id</code> that the "
            "queries on this slide and the next use.</p>" + pick_more,
            (pick_ring, *picks,
             Block(RING_GRAPH, "The ring, its applications and the identifiers they share"),
             Block(RING_TIES, "What ties it, as a table"),
             Block(RING_MEMBERS, "Its applications in time order")),
        ),
        Slide(
            "neighbours", "Who else is one hop away",
            "<p>Applications outside the ring that share a phone, device, e-mail, bank "
            "account, address, IP or applicant with one of its members: accomplices the sweep "
            "did not put in the ring, or a neighbouring ring. The queries use "
            "<code>$ring_id</code> from the previous slide; the first block jumps to the "
            "highest-scoring ring that has such neighbours (the tightest rings have none).</p>",
            (_param(["ring_id"], PICK_RING_WITH_NEIGHBOURS,
                    "Pick the top ring with outside neighbours (sets $ring_id)"),
             Block(NEIGHBOURS_GRAPH, "The ring and its outside neighbours"),
             Block(NEIGHBOURS_TABLE, "The neighbours as a table")),
        ),
        Slide(
            "two-hops", "Everything within two hops of an application",
            "<p>One application, its identifiers, and every node those identifiers reach. "
            f"Hubs with more than {HUB_LINKS} links are shown but not expanded. The first "
            "block picks a member of the top ring; run <code>:param application_id => "
            "'…'</code> for another one.</p>",
            (_param(["application_id"], PICK_APPLICATION,
                    "Pick an application of the top ring (sets $application_id)"),
             Block(TWO_HOPS, "Two hops around the application")),
        ),
        Slide(
            "shared-devices", "Devices and phones shared across rings",
            "<p>A device or phone used in two rings points to one organiser behind both, or "
            "to a ring that the sweep split in two; one also used outside any ring points to "
            "applications the sweep left out.</p>",
            (Block(SHARED_DEVICES_TABLE, "Devices and phones by rings, then by outside use"),
             Block(SHARED_DEVICES_GRAPH, "The top ten with every application using them")),
        ),
        Slide(
            "venues", "Merchants and agents with ring applications",
            "<p>Where ring applications were keyed: a sales agent whose book is full of ring "
            "applications may be colluding; a merchant with many may host a colluding agent "
            "(compare with the <code>agent_collusion</code> heuristic).</p>",
            (Block(VENUES_TABLE, "Merchants and agents by ring applications"),
             Block(VENUES_GRAPH, "The top five with their ring applications")),
        ),
    ]


def param_query(heuristic: Heuristic) -> str:
    """One ``RETURN`` evaluating every default literal of the heuristic's ``:param`` lines."""
    return "RETURN " + ", ".join(f"{p.literal} AS {p.name}" for p in heuristic.params)


def param_command(heuristic: Heuristic) -> str:
    """The Browser command that sets all of a heuristic's parameters in one click.

    The file's ``:param name => value`` lines are Browser syntax, but Browser runs one command
    per click and fails on several lines. The destructuring form
    ``:param [{a, b}] => { RETURN 7 AS a, 4.0 AS b }`` sets them together and is evaluated by
    the server, so 7 stays an integer (the map form ``:param {a: 7}`` is parsed in JavaScript
    and sends a float, which breaks the heuristics' integer window arithmetic).
    """
    names = ", ".join(p.name for p in heuristic.params)
    values = ",\n  ".join(f"{p.literal} AS {p.name}" for p in heuristic.params)
    return f":param [{{{names}}}] => {{ RETURN\n  {values} }}"


def heuristic_slide(heuristic: Heuristic) -> Slide:
    esc = html.escape
    overridden = BACKEND in heuristic.overrides
    source = f"fraudrings/queries/{heuristic.name}{'.' + BACKEND if overridden else ''}.cypher"
    params = ", ".join(f"<code>{esc(p.name)}</code> = {esc(p.literal)}"
                       for p in heuristic.params)
    intro = (
        f"<p><b>Finds:</b> {esc(heuristic.finds)}</p>"
        f"<p><b>Why:</b> {esc(heuristic.why)}</p>"
        + (f"<p><b>Parameters</b> (the sweep's defaults): {params}</p>" if params else "")
        + f"<p><small>The sweep runs this very text (<code>{esc(source)}</code>). One row per "
        f"finding: {esc(', '.join(heuristic.returns))}.</small></p>"
    )
    blocks: list[Block] = []
    if heuristic.params:
        blocks.append(Block(param_command(heuristic), "Set the parameters to the defaults",
                            param_query=param_query(heuristic)))
    blocks.append(Block(heuristic.text(BACKEND).strip(), "The query"))
    return Slide(f"heuristic-{heuristic.name}", heuristic.title, intro, tuple(blocks),
                 heuristic=heuristic.name)


def build(top_rings: Sequence[Mapping[str, Any]] = (),
          heuristics: Sequence[Heuristic] | None = None,
          assets_url: str | None = None) -> Guide:
    """The guide's slides. ``top_rings`` (dicts with ring_id, score, size) adds one-click ring
    picks; ``assets_url`` adds a block that reloads the style."""
    found = catalog.catalog() if heuristics is None else list(heuristics)
    slides = investigator_slides(top_rings)
    slides += [heuristic_slide(h) for h in found]
    tips = (
        "<ul><li>Double-click a node to expand its neighbours; drag the background to pan; "
        "the + and − buttons zoom.</li><li>The icons on the left of a result frame switch "
        "between graph, table, text and code.</li><li>Every heuristic here is the file the "
        "sweep runs: change a parameter in its <code>:param</code> block to see what a "
        "looser or stricter rule finds.</li><li>This guide opens after every connect; close "
        "its frame when done, reconnect (or run the <code>:play</code> command again) to "
        "reopen it.</li></ul>"
    )
    reload = ((Block(f":style {assets_url.rstrip('/')}/style.grass",
                     "Reload the fraudrings style (if you changed colours by hand)"),)
              if assets_url else ())
    slides.append(Slide("tips", "Tips", tips, reload))
    return Guide(slides)


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222}
slide{display:block;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
pre.runnable{background:#f4f5f7;padding:.6rem;white-space:pre-wrap;font-size:12px}
"""


def render(guide: Guide, title: str = TITLE) -> str:
    """The guide as an HTML page: Browser shows each ``<slide>``; a plain web browser shows
    the whole page (the ``<style>`` is for that case only)."""
    esc = html.escape
    total = len(guide.slides)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        "<article class='guide'><carousel class='deck container-fluid'>",
    ]
    for number, slide in enumerate(guide.slides, 1):
        blocks = "".join(
            (f"<p style='margin:.8em 0 .2em;font-weight:600'>{esc(block.caption)}</p>"
             if block.caption else "")
            + f"<pre class='runnable pre-scrollable code' data-fraudrings='{esc(slide.key)}'>"
            f"{esc(block.text)}</pre>"
            for block in slide.blocks
        )
        parts.append(
            f"<slide class='row-fluid' id='{esc(slide.key)}'>"
            "<div style='display:flex;gap:28px;align-items:flex-start'>"
            "<div style='flex:0 0 32%;min-width:220px'>"
            f"<h3>{esc(slide.title)}</h3>{slide.intro}"
            f"<p style='color:#888;font-size:11px'>{esc(title)} · {number} / {total}</p>"
            f"</div><div style='flex:1;min-width:0'>{blocks}</div></div></slide>"
        )
    parts.append("</carousel></article></body></html>")
    return "".join(parts)


def build_guide(top_rings: Sequence[Mapping[str, Any]] = (), *,
                assets_url: str | None = None) -> str:
    """The guide's HTML (what ``/browser/guide.html`` serves)."""
    return render(build(top_rings, assets_url=assets_url))


def top_rings(store: Any, limit: int = 10) -> list[dict[str, Any]]:
    """The highest-scoring rings in ``store`` (portable Cypher), for :func:`ring_picks`."""
    return store.query(
        "MATCH (g:Ring) RETURN g.ring_id AS ring_id, g.score AS score, g.size AS size "
        "ORDER BY g.score DESC, g.ring_id LIMIT $limit", {"limit": int(limit)},
    )

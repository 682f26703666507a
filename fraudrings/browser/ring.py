"""One ring, outside Neo4j: read from a store or a ``rings.jsonl``, drawn as an interactive page.

A *ring record* is the ``rings.jsonl`` dict of the output contract (ring_id, score, members,
applicants, shared, reasons, first_seen, last_seen, merchants, agents, links), optionally with
what only a store knows:

- ``applications``: one dict per member (applicant, time, amount, product, score, flags,
  outcomes, merchant, agent): the timeline needs the times;
- ``identifiers``: every identifier two or more members use, merchants and agents included,
  with how many applications use it in the whole book;
- ``neighbours``: applications outside the ring that share a non-hub identifier with it.

:func:`ring_page` renders a record as one self-contained HTML page (inline SVG and vanilla
JavaScript, no CDN): the picture is drawn on the server, so it reads without JavaScript and
every member id is in the markup; the script only adds hover, selection and filters.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraudrings.browser.style import (
    KIND_COLOURS,
    RING_MEMBER_BORDER,
    RING_MEMBER_COLOUR,
    text_colour,
)
from fraudrings.graph import schema

if TYPE_CHECKING:
    from fraudrings.graph.store import GraphStore

#: An identifier on more applications than this is a hub (a shop tablet, a carrier IP): its
#: other users are not listed as neighbours of a ring.
HUB_APPLICATIONS = 50
MAX_NEIGHBOURS = 200


class RingNotFound(LookupError):
    """No ring with that id where we looked; the message is one line for the CLI."""


# --- reading ----------------------------------------------------------------------------------


def ring_from_jsonl(path: Path, ring_id: str) -> dict[str, Any]:
    """The record of ``ring_id`` in a ``rings.jsonl`` (or a sweep folder holding one)."""
    file = path / "rings.jsonl" if path.is_dir() else path
    if not file.exists():
        raise FileNotFoundError(f"{file} does not exist (run `fraudrings sweep --out DIR`)")
    with file.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if record.get("ring_id") == ring_id:
                    record.setdefault("source", str(file))
                    return record
    raise RingNotFound(f"no ring {ring_id} in {file}")


def _links_by_target() -> dict[str, list[schema.Link]]:
    grouped: dict[str, list[schema.Link]] = defaultdict(list)
    for link in schema.LINKS:
        grouped[link.target].append(link)
    return grouped


def ring_from_store(store: GraphStore, ring_id: str) -> dict[str, Any]:
    """The ring as the store holds it (portable Cypher: runs on LadybugDB and Neo4j).

    One small query per relationship type instead of ``type(r)``, which LadybugDB lacks.
    """
    ring_label, app_label, in_ring = schema.RING.label, schema.APPLICATION.label, schema.IN_RING
    rows = store.query(
        f"MATCH (g:{ring_label} {{ring_id: $id}}) RETURN g.ring_id AS ring_id, g.score AS score,"
        " g.size AS size, g.reasons AS reasons, g.first_seen AS first_seen,"
        " g.last_seen AS last_seen, g.shared AS shared, g.heuristic_score AS heuristic_score,"
        " g.gnn_score AS gnn_score, g.swept_at AS swept_at", {"id": ring_id})
    if not rows:
        raise RingNotFound(f"no ring {ring_id} in the {store.describe()} store "
                           "(sweep first, or pass --rings rings.jsonl)")
    ring = dict(rows[0])
    members = store.query(
        f"MATCH (a:{app_label})-[:{in_ring}]->(g:{ring_label} {{ring_id: $id}}) "
        "RETURN a.application_id AS application_id, a.applicant_id AS applicant_id, "
        "a.applied_at AS applied_at, a.amount AS amount, a.term_months AS term_months, "
        "a.product AS product, a.score AS score, a.gnn_score AS gnn_score, a.flags AS flags, "
        "a.is_fraud AS is_fraud, a.fpd AS fpd", {"id": ring_id})
    members.sort(key=lambda m: (m.get("applied_at") or 0, m["application_id"]))
    ids = [m["application_id"] for m in members]

    uses_of: dict[str, list[tuple[str, str, int]]] = defaultdict(list)  # ident -> (app, rel, n)
    for link in schema.LINKS:
        found = store.query(
            f"MATCH (g:{ring_label} {{ring_id: $id}})<-[:{in_ring}]-(a:{app_label})"
            f"-[:{link.type}]->(x:{link.target}) "
            f"RETURN a.application_id AS app, x.value AS value, "
            f"COUNT {{ MATCH (x)<-[:{link.type}]-(o:{app_label}) }} AS uses", {"id": ring_id})
        for row in found:
            uses_of[f"{link.target}:{row['value']}"].append(
                (row["app"], link.type, int(row["uses"] or 0)))
    by_app: dict[str, dict[str, str]] = defaultdict(dict)
    identifiers, links = [], []
    for ident, uses in uses_of.items():
        kind, _, value = ident.partition(":")
        apps = sorted({app for app, _, _ in uses})
        for app, rel, _ in uses:
            if rel in ("AT_MERCHANT", "KEYED_BY"):
                by_app[app][rel] = value
        if len(apps) < 2:
            continue
        rels = sorted({rel for _, rel, _ in uses})
        identifiers.append({"kind": kind, "value": value, "relationship": "|".join(rels),
                            "members": len(apps), "uses": max(n for _, _, n in uses)})
        links += [[app, ident] for app in apps]
    identifiers.sort(key=lambda i: (-i["members"], i["kind"], i["value"]))
    for member in members:
        member["merchant"] = by_app[member["application_id"]].get("AT_MERCHANT")
        member["agent"] = by_app[member["application_id"]].get("KEYED_BY")
    shared = _json_list(ring.get("shared")) or [
        i for i in identifiers if i["kind"] not in ("Merchant", "Agent")]
    ring.update(
        size=len(ids), members=ids,
        applicants=sorted({m["applicant_id"] for m in members if m.get("applicant_id")}),
        shared=shared, reasons=list(ring.get("reasons") or []),
        merchants=sorted({m["merchant"] for m in members if m["merchant"]}),
        agents=sorted({m["agent"] for m in members if m["agent"]}),
        links=sorted(links), applications=members, identifiers=identifiers,
        neighbours=neighbours(store, ring_id), source=store.describe(),
    )
    return ring


def _json_list(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        return raw
    try:
        value = json.loads(raw) if raw else []
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def neighbours(store: GraphStore, ring_id: str, hub: int = HUB_APPLICATIONS,
               limit: int = MAX_NEIGHBOURS) -> list[dict[str, Any]]:
    """Applications outside the ring sharing a non-hub identifier with a member (any link to
    it: an outsider's own phone that a member lists as a contact counts)."""
    ring_label, app_label, in_ring = schema.RING.label, schema.APPLICATION.label, schema.IN_RING
    found: dict[str, dict[str, Any]] = {}
    for target, links in _links_by_target().items():
        if target in ("Merchant", "Agent"):
            continue  # a shop's customers are not a ring's neighbours
        types = "|".join(link.type for link in links)
        rows = store.query(
            f"MATCH (g:{ring_label} {{ring_id: $id}})<-[:{in_ring}]-(a:{app_label})"
            f"-[:{types}]->(x:{target}) "
            f"WHERE COUNT {{ MATCH (x)<-[:{types}]-(o:{app_label}) }} <= $hub "
            f"MATCH (x)<-[:{types}]-(b:{app_label}) "
            f"WHERE NOT EXISTS {{ MATCH (b)-[:{in_ring}]->(g) }} "
            "RETURN DISTINCT b.application_id AS application_id, b.applicant_id AS applicant_id,"
            " b.ring_id AS ring_id, b.score AS score, x.value AS value",
            {"id": ring_id, "hub": int(hub)})
        for row in rows:
            entry = found.setdefault(row["application_id"], {
                "application_id": row["application_id"], "applicant_id": row["applicant_id"],
                "ring_id": row["ring_id"] or None, "score": row["score"], "shares": []})
            entry["shares"].append(f"{target}:{row['value']}")
    ranked = sorted(found.values(), key=lambda n: (-len(n["shares"]), -(n["score"] or 0),
                                                   n["application_id"]))
    for entry in ranked:
        entry["shares"] = sorted(set(entry["shares"]))
    return ranked[:limit]


# --- the picture's graph ----------------------------------------------------------------------


def picture_graph(ring: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Nodes (members, identifiers, merchants, agents) and edges of the ring's picture."""
    apps = {a["application_id"]: a for a in ring.get("applications") or []}
    nodes: dict[str, dict[str, Any]] = {}
    for member in ring["members"]:
        info = apps.get(member, {})
        nodes[member] = {"id": member, "kind": "Application", "label": member,
                         "applicant": info.get("applicant_id"), "time": info.get("applied_at")}
    idents = ring.get("identifiers") or [
        {**s, "uses": s.get("uses")} for s in ring.get("shared") or []]
    for ident in idents:
        key = f"{ident['kind']}:{ident['value']}"
        nodes[key] = {"id": key, "kind": ident["kind"], "label": str(ident["value"]),
                      "members": ident.get("members"), "uses": ident.get("uses"),
                      "relationship": ident.get("relationship")}
    edges = []
    for app, key in ring.get("links") or []:
        kind, _, value = key.partition(":")
        if key not in nodes and kind in KIND_COLOURS:
            nodes[key] = {"id": key, "kind": kind, "label": value}
        if app in nodes and key in nodes:
            edges.append((app, key))
    return list(nodes.values()), sorted(set(edges))


def layout(nodes: list[dict[str, Any]], edges: list[tuple[str, str]], width: float,
           height: float, margin: float = 48.0) -> dict[str, tuple[float, float]]:
    """Spring layout (seeded: the same ring always looks the same) scaled into the box."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(n["id"] for n in nodes)
    graph.add_edges_from(edges)
    if len(graph) == 1:
        return {nodes[0]["id"]: (width / 2, height / 2)}
    pos = nx.spring_layout(graph, seed=7, k=1.6 / max(1, len(graph)) ** 0.5, iterations=200)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    return {
        node: (margin + (p[0] - min(xs)) / span_x * (width - 2 * margin),
               margin + (p[1] - min(ys)) / span_y * (height - 2 * margin))
        for node, p in pos.items()
    }


# --- the page ---------------------------------------------------------------------------------


def _when(epoch: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if epoch is None or (isinstance(epoch, float) and math.isnan(epoch)):
        return "-"
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime(fmt)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def graph_svg(ring: dict[str, Any], width: int = 760, height: int = 520) -> str:
    """The ring as inline SVG: one ``<g class='node'>`` per node with ``data-id``/``data-kind``
    and a ``<title>``, one ``<line>`` per link with ``data-a``/``data-b``."""
    esc = html.escape
    nodes, edges = picture_graph(ring)
    pos = layout(nodes, edges, width, height)
    parts = [f"<svg id='graph' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='ring {esc(ring['ring_id'])}' xmlns='http://www.w3.org/2000/svg'>"]
    for a, b in edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        parts.append(f"<line class='edge' data-a='{esc(a)}' data-b='{esc(b)}' x1='{x1:.1f}' "
                     f"y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}'/>")
    for node in sorted(nodes, key=lambda n: n["kind"] == "Application"):  # members on top
        x, y = pos[node["id"]]
        member = node["kind"] == "Application"
        fill = RING_MEMBER_COLOUR if member else KIND_COLOURS.get(node["kind"], "#A5ABB6")
        title = f"{node['kind']} {node['label']}"
        parts.append(f"<g class='node' data-id='{esc(node['id'])}' "
                     f"data-kind='{esc(node['kind'])}' transform='translate({x:.1f},{y:.1f})'>"
                     f"<title>{esc(title)}</title>")
        if member:
            parts.append(f"<circle r='13' fill='{fill}' stroke='{RING_MEMBER_BORDER}' "
                         "stroke-width='3.5'/>")
        else:
            parts.append(f"<rect x='-9' y='-9' width='18' height='18' rx='4' fill='{fill}' "
                         f"stroke='{text_colour(fill)}' stroke-opacity='0.25'/>")
        parts.append(f"<text y='{25 if member else 21}' text-anchor='middle'>"
                     f"{esc(node['label'] if member else _short(node['label']))}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(ring: dict[str, Any], width: int = 760) -> str:
    """Members on a time axis (one row per applicant); only the span when times are unknown."""
    esc = html.escape
    apps = [a for a in ring.get("applications") or [] if a.get("applied_at") is not None]
    height = 60 + 16 * max(3, len({a.get("applicant_id") for a in apps}))
    start = min([a["applied_at"] for a in apps] + [ring.get("first_seen") or 0])
    end = max([a["applied_at"] for a in apps] + [ring.get("last_seen") or 0])
    pad = max((end - start) * 0.05, 3600)
    lo, hi = start - pad, end + pad

    def x(t: float) -> float:
        return 40 + (t - lo) / (hi - lo) * (width - 80)

    applicants = sorted({a.get("applicant_id") or "" for a in apps})
    lanes = {p: i for i, p in enumerate(applicants)}
    lane_h = (height - 50) / max(1, len(applicants))
    parts = [f"<svg id='timeline' viewBox='0 0 {width} {height}' "
             "xmlns='http://www.w3.org/2000/svg'>",
             f"<line class='axis' x1='40' x2='{width - 40}' y1='{height - 30}' "
             f"y2='{height - 30}'/>"]
    ticks = 5
    for i in range(ticks + 1):
        t = lo + (hi - lo) * i / ticks
        fmt = "%m-%d %H:%M" if hi - lo < 3 * 86400 else "%Y-%m-%d"
        parts.append(f"<text class='tick' x='{x(t):.1f}' y='{height - 12}' "
                     f"text-anchor='middle'>{_when(t, fmt)}</text>")
    if not apps:
        parts.append(f"<rect class='span' x='{x(start):.1f}' y='20' height='24' "
                     f"width='{max(2.0, x(end) - x(start)):.1f}' fill='{RING_MEMBER_COLOUR}'/>"
                     f"<text x='{width / 2}' y='62' text-anchor='middle' class='tick'>first "
                     "to last application (per-application times need the store)</text>")
    for app in apps:
        y = 15 + lanes[app.get("applicant_id") or ""] * lane_h + lane_h / 2
        parts.append(f"<circle class='event' data-id='{esc(app['application_id'])}' "
                     f"cx='{x(app['applied_at']):.1f}' cy='{y:.1f}' r='6' "
                     f"fill='{RING_MEMBER_COLOUR}' stroke='{RING_MEMBER_BORDER}' stroke-width='2'>"
                     f"<title>{esc(app['application_id'])} {_when(app['applied_at'])}</title>"
                     "</circle>")
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], row_ids: Iterable[str] = (),
           empty: str = "none") -> str:
    esc = html.escape
    ids = list(row_ids)
    body = []
    for i, row in enumerate(rows):
        data_id = f" data-id='{esc(ids[i])}'" if i < len(ids) else ""
        body.append(f"<tr{data_id}>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>")
    if not body:
        return f"<p class='muted'>{esc(empty)}</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
*{box-sizing:border-box} body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;
background:#fafafa} header{padding:1rem 1.5rem;background:#fff;border-bottom:1px solid #e4e4e4}
h1{font-size:1.35rem;margin:0 0 .3rem} h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
.score{color:#b00020;font-weight:700} main{display:flex;gap:1rem;padding:1rem 1.5rem;
flex-wrap:wrap} .panel{background:#fff;border:1px solid #e4e4e4;border-radius:6px;padding:.8rem}
#picture{flex:2 1 640px} #side{flex:1 1 300px} svg{width:100%;height:auto;display:block}
.edge{stroke:#9aa1ac;stroke-width:1.2;stroke-opacity:.6} .node text{font-size:9px;fill:#333}
.node{cursor:pointer} .node.dim,.edge.dim,.event.dim{opacity:.15} .node.hit circle,.node.hit rect
{stroke:#111;stroke-width:3} .event{cursor:pointer} .event.hit{stroke:#111;stroke-width:3}
.axis{stroke:#999} .tick{font-size:10px;fill:#666} .span{opacity:.6}
table{border-collapse:collapse;width:100%;font-size:12px} td,th{padding:.2rem .45rem;
border-bottom:1px solid #eee;text-align:left;vertical-align:top} tr.hit{background:#fff3c4}
tbody tr[data-id]{cursor:pointer} .legend label{display:inline-block;margin:0 .7rem .3rem 0;
font-size:12px;cursor:pointer} .swatch{display:inline-block;width:11px;height:11px;
border-radius:3px;margin-right:4px;vertical-align:-1px} .muted{color:#777} code{font-size:12px}
#details dt{font-weight:600;margin-top:.3rem} #details dd{margin:0 0 0 .6rem}
"""

_JS = """
(function () {
  var data = JSON.parse(document.getElementById('ring-data').textContent);
  var nodes = document.querySelectorAll('#graph .node');
  var edges = document.querySelectorAll('#graph .edge');
  var rows = document.querySelectorAll('tr[data-id]');
  var events = document.querySelectorAll('#timeline .event');
  var adjacent = {};
  edges.forEach(function (e) {
    var a = e.dataset.a, b = e.dataset.b;
    (adjacent[a] = adjacent[a] || {})[b] = true;
    (adjacent[b] = adjacent[b] || {})[a] = true;
  });
  var pinned = null;
  function highlight(id) {
    var near = adjacent[id] || {};
    nodes.forEach(function (n) {
      var i = n.dataset.id;
      n.classList.toggle('dim', !!id && i !== id && !near[i]);
      n.classList.toggle('hit', i === id);
    });
    edges.forEach(function (e) {
      e.classList.toggle('dim', !!id && e.dataset.a !== id && e.dataset.b !== id);
    });
    events.forEach(function (e) {
      e.classList.toggle('dim', !!id && e.dataset.id !== id && !near[e.dataset.id]);
      e.classList.toggle('hit', e.dataset.id === id);
    });
    rows.forEach(function (r) { r.classList.toggle('hit', r.dataset.id === id); });
  }
  function show(id) {
    var box = document.getElementById('details');
    var info = data.nodes[id];
    if (!info) { box.innerHTML = '<p class="muted">Click a node, a dot or a row.</p>'; return; }
    var html = '<dl>';
    Object.keys(info).forEach(function (k) {
      if (info[k] === null || info[k] === undefined || info[k] === '') return;
      var v = Array.isArray(info[k]) ? info[k].join(', ') : String(info[k]);
      html += '<dt>' + esc(k) + '</dt><dd>' + esc(v) + '</dd>';
    });
    var near = Object.keys(adjacent[id] || {});
    if (near.length) html += '<dt>linked to</dt><dd>' + near.map(esc).join('<br>') + '</dd>';
    box.innerHTML = html + '</dl>';
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function bind(el, id) {
    el.addEventListener('mouseenter', function () { if (!pinned) { highlight(id); show(id); } });
    el.addEventListener('mouseleave', function () { if (!pinned) { highlight(null); } });
    el.addEventListener('click', function () {
      pinned = pinned === id ? null : id;
      highlight(pinned); show(pinned || id);
    });
  }
  nodes.forEach(function (n) { bind(n, n.dataset.id); });
  events.forEach(function (e) { bind(e, e.dataset.id); });
  rows.forEach(function (r) { bind(r, r.dataset.id); });
  document.querySelectorAll('.legend input').forEach(function (box) {
    box.addEventListener('change', function () {
      var kind = box.value, on = box.checked;
      var hidden = {};
      nodes.forEach(function (n) {
        if (n.dataset.kind === kind) n.style.display = on ? '' : 'none';
        if (n.style.display === 'none') hidden[n.dataset.id] = true;
      });
      edges.forEach(function (e) {
        e.style.display = hidden[e.dataset.a] || hidden[e.dataset.b] ? 'none' : '';
      });
    });
  });
  show(null);
})();
"""


def _node_details(ring: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the side panel shows for each node id (the page's embedded data)."""
    out: dict[str, dict[str, Any]] = {}
    for app in ring.get("applications") or []:
        out[app["application_id"]] = {
            "application": app["application_id"], "applicant": app.get("applicant_id"),
            "applied at (UTC)": _when(app.get("applied_at")), "amount": app.get("amount"),
            "term (months)": app.get("term_months"), "product": app.get("product"),
            "score": _num(app.get("score")), "GNN score": _num(app.get("gnn_score")),
            "heuristics": (app.get("flags") or "").replace(";", ", "),
            "merchant": app.get("merchant"), "agent": app.get("agent"),
            "confirmed fraud": app.get("is_fraud"), "first-payment default": app.get("fpd"),
        }
    for member in ring["members"]:
        out.setdefault(member, {"application": member})
    nodes, _ = picture_graph(ring)
    for node in nodes:
        if node["kind"] != "Application":
            out[node["id"]] = {"kind": node["kind"], "value": node["label"],
                               "ring members using it": node.get("members"),
                               "applications using it (whole book)": node.get("uses"),
                               "as": node.get("relationship")}
    return out


def _swatch(kind: str) -> str:
    if kind == "Application":
        return f"background:{RING_MEMBER_COLOUR};border:2px solid {RING_MEMBER_BORDER}"
    return f"background:{KIND_COLOURS.get(kind, '#A5ABB6')}"


def ring_page(ring: dict[str, Any]) -> str:
    """The ring as one self-contained, interactive HTML page."""
    esc = html.escape
    apps = ring.get("applications") or []
    nodes, _ = picture_graph(ring)
    kinds = Counter(n["kind"] for n in nodes)
    legend = "".join(
        f"<label><input type='checkbox' value='{esc(kind)}' checked>"
        f"<span class='swatch' style='{_swatch(kind)}'>"
        f"</span>{esc('Application (member)' if kind == 'Application' else kind)} "
        f"({count})</label>"
        for kind, count in sorted(kinds.items(), key=lambda kv: (kv[0] != "Application", kv[0]))
    )
    members_table = _table(
        ["application", "applicant", "applied at (UTC)", "amount", "product", "score",
         "merchant", "agent", "heuristics"],
        ([a["application_id"], a.get("applicant_id") or "-", _when(a.get("applied_at")),
          _num(a.get("amount"), 0), a.get("product") or "-", _num(a.get("score")),
          a.get("merchant") or "-", a.get("agent") or "-",
          (a.get("flags") or "").replace(";", ", ") or "-"] for a in apps),
        [a["application_id"] for a in apps],
    ) if apps else _table(["application"], ([m] for m in ring["members"]), ring["members"])
    ties = ring.get("identifiers") or ring.get("shared") or []
    ties_table = _table(
        ["kind", "value", "link", "members", "applications in the book"],
        ([t["kind"], t["value"], t.get("relationship") or "-", t.get("members", "-"),
          t.get("uses") if t.get("uses") is not None else "-"] for t in ties),
        [f"{t['kind']}:{t['value']}" for t in ties],
    )
    neighbours_list = ring.get("neighbours")
    neighbours_html = (
        "<p class='muted'>Read from a rings.jsonl: open the ring from a store "
        "(<code>fraudrings ring ID --store …</code>) to see its neighbours.</p>"
        if neighbours_list is None else _table(
            ["application", "applicant", "shares", "its ring", "score"],
            ([n["application_id"], n.get("applicant_id") or "-", ", ".join(n["shares"]),
              n.get("ring_id") or "-", _num(n.get("score"))] for n in neighbours_list),
            empty="No application outside the ring shares a (non-hub) identifier with it.")
    )
    venues = _table(["kind", "value"],
                    [["Merchant", m] for m in ring.get("merchants") or []]
                    + [["Agent", a] for a in ring.get("agents") or []])
    reasons = "".join(f"<li>{esc(r)}</li>" for r in ring.get("reasons") or [])
    data = json.dumps({"ring_id": ring["ring_id"], "nodes": _node_details(ring)},
                      default=str).replace("</", "<\\/")
    score = ring.get("score")
    subtitle = (
        f"<span class='score'>score {_num(score)}</span> · {len(ring['members'])} applications"
        f" by {len(ring.get('applicants') or [])} applicants · "
        f"{_when(ring.get('first_seen'))} → {_when(ring.get('last_seen'))} UTC"
        + (f" · from {esc(str(ring['source']))}" if ring.get("source") else "")
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(ring['ring_id'])} · fraudrings</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Ring {esc(ring['ring_id'])}</h1><div>{subtitle}</div>"
        f"<ul>{reasons}</ul></header><main>"
        f"<section id='picture' class='panel'><div class='legend'>{legend}</div>"
        f"{graph_svg(ring)}<h2>Timeline</h2>{timeline_svg(ring)}</section>"
        "<section id='side' class='panel'><h2 style='margin-top:0'>Details</h2>"
        "<div id='details'></div>"
        f"<h2>Merchants and agents</h2>{venues}</section>"
        f"<section class='panel' style='flex:1 1 100%'><h2 style='margin-top:0'>Applications"
        f"</h2>{members_table}<h2>What ties it</h2>{ties_table}"
        f"<h2>One hop away</h2>{neighbours_html}</section></main>"
        f"<script type='application/json' id='ring-data'>{data}</script>"
        f"<script>{_JS}</script></body></html>"
    )


def write_ring_files(ring: dict[str, Any], out: Path,
                     formats: Iterable[str] = ("html", "svg")) -> dict[str, Path]:
    """``<out>/<ring_id>.<format>`` for each format (html, svg, png); ``out`` is a folder."""
    from fraudrings.sweep.pictures import draw_ring

    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt in formats:
        path = out / f"{ring['ring_id']}.{fmt}"
        if fmt == "html":
            path.write_text(ring_page(ring), encoding="utf-8")
        elif fmt in ("svg", "png"):
            path.write_bytes(draw_ring(ring, fmt=fmt))
        else:
            raise ValueError(f"unknown picture format {fmt!r} (html, svg or png)")
        written[fmt] = path
    return written


def write_ring_pages(rings: Iterable[dict[str, Any]], out: Path) -> list[Path]:
    """One interactive page per ring record, e.g. ``<sweep>/rings/<ring_id>.html`` beside a
    report.html that links to them."""
    return [write_ring_files(ring, out, ("html",))["html"] for ring in rings]

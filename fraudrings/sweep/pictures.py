"""Pictures of rings, for people without Neo4j: SVG (in the report) or PNG files."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here or on servers
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

# One colour per node kind, the same as the Neo4j Browser style: the dict lives with the style
# (fraudrings.browser.style generates style.grass from it) and is re-exported here.
from fraudrings.browser.style import (  # noqa: E402
    KIND_COLOURS,
    RING_MEMBER_BORDER,
    RING_MEMBER_COLOUR,
)

__all__ = ["KIND_COLOURS", "draw_ring", "ring_graph"]


def ring_graph(ring: dict[str, Any]) -> nx.Graph:
    """Members and the identifiers that tie them (from a rings.jsonl record)."""
    graph = nx.Graph()
    for member in ring["members"]:
        graph.add_node(member, kind="Application", label=member)
    links = ring.get("links") or []
    for item in ring.get("shared", []):
        node = f"{item['kind']}:{item['value']}"
        graph.add_node(node, kind=item["kind"], label=_short(item["value"]))
    for app, node in links:
        kind, _, value = node.partition(":")
        # links may also reach merchants and agents (rings read from a store): draw those too
        if not graph.has_node(node) and kind in KIND_COLOURS and graph.has_node(app):
            graph.add_node(node, kind=kind, label=_short(value))
        if graph.has_node(node) and graph.has_node(app):
            graph.add_edge(app, node)
    return graph


def _short(value: str, width: int = 14) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def draw_ring(ring: dict[str, Any], fmt: str = "svg", size: float = 6.0) -> bytes:
    """One ring as an SVG or PNG: members as in Neo4j Browser (blue, red-bordered circles),
    identifiers as squares coloured by kind. SVG text stays text (not glyph paths), so member
    ids can be searched in the report and checked by tests."""
    graph = ring_graph(ring)
    with plt.rc_context({"svg.fonttype": "none"}):
        return _draw(graph, ring, fmt, size)


def _draw(graph: nx.Graph, ring: dict[str, Any], fmt: str, size: float) -> bytes:
    fig, ax = plt.subplots(figsize=(size, size * 0.75), dpi=110)
    pos = nx.spring_layout(graph, seed=7, k=1.2 / max(1, len(graph)) ** 0.5)
    for kind, colour in KIND_COLOURS.items():
        nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        member = kind == "Application"
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, ax=ax,
                               node_color=RING_MEMBER_COLOUR if member else colour,
                               edgecolors=RING_MEMBER_BORDER if member else "none",
                               linewidths=2.0 if member else 0,
                               node_size=260 if member else 160,
                               node_shape="o" if member else "s",
                               label="Application (member)" if member else kind)
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.45, width=0.9)
    labels = {n: d["label"] for n, d in graph.nodes(data=True)}
    nx.draw_networkx_labels(graph, pos, labels, font_size=6, ax=ax)
    ax.set_title(f"{ring['ring_id']}  score {ring['score']:.2f}  ·  {len(ring['members'])} "
                 f"applications, {len(ring.get('applicants', []))} applicants", fontsize=9)
    ax.legend(loc="lower left", fontsize=6, frameon=False, markerscale=0.6)
    ax.axis("off")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format=fmt)
    plt.close(fig)
    return buffer.getvalue()

"""Pictures of rings, for people without Neo4j: SVG (in the report) or PNG files."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here or on servers
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

#: One colour per identifier kind, the same as the Neo4j Browser style.
KIND_COLOURS = {
    "Application": "#4C8EDA", "Applicant": "#8DCC93", "Phone": "#F79767", "Device": "#C990C0",
    "Merchant": "#F16667", "Agent": "#D9C8AE", "Email": "#57C7E3", "Ip": "#A5ABB6",
    "Address": "#FFC454", "BankAccount": "#ECB5C9", "Ring": "#DA113B",
}


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
        if graph.has_node(node):
            graph.add_edge(app, node)
    return graph


def _short(value: str, width: int = 14) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def draw_ring(ring: dict[str, Any], fmt: str = "svg", size: float = 6.0) -> bytes:
    """One ring as an SVG or PNG: members in blue, identifiers coloured by kind."""
    graph = ring_graph(ring)
    fig, ax = plt.subplots(figsize=(size, size * 0.75), dpi=110)
    pos = nx.spring_layout(graph, seed=7, k=1.2 / max(1, len(graph)) ** 0.5)
    for kind, colour in KIND_COLOURS.items():
        nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_color=colour, ax=ax,
                               node_size=260 if kind == "Application" else 160,
                               node_shape="o" if kind == "Application" else "s", label=kind)
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

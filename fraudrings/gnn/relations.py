"""Node types and edge types of the GNN's graph, derived from the schema (never retyped).

Every link of :data:`fraudrings.graph.schema.LINKS` becomes two edge types: the forward one
``(Application, TYPE, Target)`` carries messages from applications to an identifier, the reverse
one ``(Target, rev_TYPE, Application)`` from the identifier back to its applications (PyG's
``ToUndirected`` naming).
"""

from __future__ import annotations

from fraudrings.graph import schema

APP = schema.APPLICATION.label
EdgeType = tuple[str, str, str]

#: Identifier labels in the order the schema first links them.
ID_LABELS: tuple[str, ...] = tuple(dict.fromkeys(link.target for link in schema.LINKS))
NODE_TYPES: tuple[str, ...] = (APP, *ID_LABELS)
RELATIONS: tuple[str, ...] = tuple(link.type for link in schema.LINKS)
REV = "rev_"


def forward(link: schema.Link) -> EdgeType:
    return (APP, link.type, link.target)


def reverse(link: schema.Link) -> EdgeType:
    return (link.target, REV + link.type, APP)


EDGE_TYPES: tuple[EdgeType, ...] = tuple(
    edge for link in schema.LINKS for edge in (forward(link), reverse(link))
)


def links_into(label: str) -> tuple[schema.Link, ...]:
    """The links whose identifier node has ``label`` (Phone: the own phone and contacts)."""
    return tuple(link for link in schema.LINKS if link.target == label)

"""The graph schema, declared once.

Every label, relationship type and property that reaches Cypher comes from here: the LadybugDB
DDL, the Neo4j constraints, the loaders' column mapping and the GNN's relation names are all
derived from these tuples. Nothing else in the package spells a label in an f-string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Bumped whenever a label, relationship or stored property changes meaning; checkpoints and
#: stores record it so that an old model is never run against a reshaped graph.
SCHEMA_VERSION = 1

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe Cypher identifier (label, type, property), else raise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"not a valid graph identifier: {name!r}")
    return name


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # one of: STRING, INT64, DOUBLE, STRING[]


@dataclass(frozen=True)
class NodeKind:
    label: str
    key: str
    properties: tuple[Property, ...] = ()

    def __post_init__(self) -> None:
        check_name(self.label)
        check_name(self.key)


@dataclass(frozen=True)
class Link:
    """A relationship from an Application to an identifier node, fed by one input field."""

    type: str  # relationship type
    target: str  # label of the identifier node
    field: str  # input column that carries the identifier's value
    multi: bool = False  # the field holds several values separated by ';'

    def __post_init__(self) -> None:
        check_name(self.type)
        check_name(self.target)


APPLICATION = NodeKind(
    "Application",
    "application_id",
    (
        Property("application_id", "STRING"),
        Property("applicant_id", "STRING"),
        Property("applied_at", "INT64"),  # epoch seconds, UTC: no temporal functions needed
        Property("amount", "DOUBLE"),
        Property("term_months", "INT64"),
        Property("product", "STRING"),
        Property("is_fraud", "INT64"),  # 1 / 0 / null = not known yet
        Property("fpd", "INT64"),
        Property("content_hash", "STRING"),  # idempotent re-loads and 409s
        Property("link_hash", "STRING"),  # identifiers only: these may never change
        Property("extra", "STRING"),  # other input columns, JSON
        Property("score", "DOUBLE"),  # written by a sweep
        Property("gnn_score", "DOUBLE"),
        Property("flags", "STRING"),
        Property("ring_id", "STRING"),
    ),
)

#: Identifier nodes: one label each, keyed by ``value``. Applicant is keyed the same way.
IDENTIFIERS: tuple[NodeKind, ...] = tuple(
    NodeKind(label, "value", (Property("value", "STRING"),))
    for label in (
        "Applicant",
        "Phone",
        "Device",
        "Merchant",
        "Agent",
        "Email",
        "Ip",
        "Address",
        "BankAccount",
    )
)

RING = NodeKind(
    "Ring",
    "ring_id",
    (
        Property("ring_id", "STRING"),
        Property("score", "DOUBLE"),
        Property("size", "INT64"),
        Property("reasons", "STRING[]"),
        Property("first_seen", "INT64"),
        Property("last_seen", "INT64"),
        Property("heuristic_score", "DOUBLE"),
        Property("gnn_score", "DOUBLE"),
        Property("shared", "STRING"),  # JSON: the identifiers that tie the ring
        Property("swept_at", "INT64"),
    ),
)

#: One node per load of a file: the journal that ``stats`` reads (counts, quarantine reasons).
LOAD = NodeKind(
    "Load",
    "load_id",
    (
        Property("load_id", "STRING"),
        Property("source", "STRING"),
        Property("loaded_at", "INT64"),
        Property("rows", "INT64"),
        Property("loaded", "INT64"),
        Property("updated", "INT64"),
        Property("unchanged", "INT64"),
        Property("quarantined", "INT64"),
        Property("reasons", "STRING"),  # JSON: reason -> count
        Property("quarantine_path", "STRING"),
    ),
)

NODE_KINDS: tuple[NodeKind, ...] = (APPLICATION, *IDENTIFIERS, RING, LOAD)

#: Application -> identifier. An application's own phone and its contact phones are
#: different relationships to the same Phone nodes: a contact clique is not a shared SIM.
LINKS: tuple[Link, ...] = (
    Link("BY_APPLICANT", "Applicant", "applicant_id"),
    Link("USES_PHONE", "Phone", "phone"),
    Link("LISTS_CONTACT", "Phone", "contact_phones", multi=True),
    Link("FROM_DEVICE", "Device", "device_id"),
    Link("AT_MERCHANT", "Merchant", "merchant_id"),
    Link("KEYED_BY", "Agent", "agent_id"),
    Link("USES_EMAIL", "Email", "email"),
    Link("FROM_IP", "Ip", "ip"),
    Link("AT_ADDRESS", "Address", "address"),
    Link("PAYS_TO", "BankAccount", "bank_account"),
)

IN_RING = "IN_RING"  # (Application)-[:IN_RING]->(Ring)

#: A marker label Neo4j Browser's style can select on (a style cannot select on a property):
#: exactly the applications with an IN_RING link. Neo4j only; LadybugDB has one label a node.
RING_MEMBER = "RingMember"

#: Input fields of the applications table (DESIGN.md, input contract).
REQUIRED_FIELDS = ("application_id", "applied_at", "applicant_id")
IDENTIFIER_FIELDS = tuple(link.field for link in LINKS if link.field != "applicant_id")
LOAN_FIELDS = ("amount", "term_months", "product")
OUTCOME_FIELDS = ("is_fraud", "fpd")
CONTRACT_FIELDS = REQUIRED_FIELDS + IDENTIFIER_FIELDS + LOAN_FIELDS + OUTCOME_FIELDS


def node_kind(label: str) -> NodeKind:
    for kind in NODE_KINDS:
        if kind.label == label:
            return kind
    raise KeyError(f"no node kind {label!r} in the schema")


def link(rel_type: str) -> Link:
    for candidate in LINKS:
        if candidate.type == rel_type:
            return candidate
    raise KeyError(f"no relationship {rel_type!r} in the schema")


LABELS = frozenset(kind.label for kind in NODE_KINDS) | {RING_MEMBER}
REL_TYPES = frozenset({*(lk.type for lk in LINKS), IN_RING})

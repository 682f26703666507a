"""One application's neighbourhood, fetched from the store with Cypher for inductive scoring.

Three queries, the same text on LadybugDB and Neo4j, labels and types from the schema only,
values only as parameters:

1. the application's own properties and merchant;
2. its identifiers with their number of applications on every relationship into their label
   (counted in the store: a hub returns one row, its degree);
3. the applications of its *shared, non-hub* identifiers with their properties and merchant —
   hubs (more than ``hub_degree`` applications) are never expanded, so a shop tablet with 10k
   applications costs one count.

The result is a small :class:`GraphExport` plus the store's degrees, which
:func:`fraudrings.gnn.features.build_features` turns into exactly the features the whole-book
export gives this application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraudrings.gnn.features import FeatureConfig
from fraudrings.gnn.relations import APP, links_into
from fraudrings.graph import schema
from fraudrings.graph.export import (
    APPLICATION_COLUMNS,
    GraphExport,
    links_from_pairs,
    small_frame,
)
from fraudrings.graph.store import GraphStore

if TYPE_CHECKING:
    from fraudrings.graph.linkindex import LinkIndex

_MERCHANT = schema.link("AT_MERCHANT")
_APP_KEY = schema.APPLICATION.key
_RETURNS = ", ".join(f"j.{c} AS {c}" for c in APPLICATION_COLUMNS)


class UnknownApplication(KeyError):
    """The store holds no application with that id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown application"


def _merchant_match(var: str) -> str:
    return (f"OPTIONAL MATCH ({var})-[:{_MERCHANT.type}]->(m:{_MERCHANT.target}) ")


def target_query() -> str:
    return (f"MATCH (j:{APP} {{{_APP_KEY}: $id}}) " + _merchant_match("j")
            + f"RETURN {_RETURNS}, m.{schema.node_kind(_MERCHANT.target).key} AS merchant")


def identifiers_query() -> str:
    """Every identifier of the application with its degree on each relationship into it (a
    relationship with no application there gives no row: degree 0)."""
    parts = []
    for link in schema.LINKS:
        key = schema.node_kind(link.target).key
        for other in links_into(link.target):
            parts.append(
                # two MATCH clauses: one pattern would stop Neo4j (not LadybugDB) from
                # walking the same relationship back to the application itself
                f"MATCH (a:{APP} {{{_APP_KEY}: $id}})-[:{link.type}]->(k:{link.target}) "
                f"MATCH (k)<-[:{other.type}]-(j:{APP}) "
                f"RETURN '{link.type}' AS via, '{other.type}' AS rel, k.{key} AS value, "
                f"count(j) AS degree")
    return " UNION ALL ".join(parts)


def expansion_query(branches: list[tuple[str, str]]) -> str:
    """The applications on relationship ``rel`` of the application's identifiers reached via
    ``via`` whose values are in the list parameter ``$<via>__<rel>`` — anchored at the
    application, so every branch starts from one index look-up."""
    parts = []
    for via, rel in branches:
        link = schema.link(via)
        key = schema.node_kind(link.target).key
        parts.append(
            f"MATCH (a:{APP} {{{_APP_KEY}: $id}})-[:{via}]->(k:{link.target}) "
            f"WHERE k.{key} IN ${via}__{rel} "
            f"MATCH (k)<-[:{schema.link(rel).type}]-(j:{APP}) "
            # WITH first: without it LadybugDB joins the OPTIONAL MATCH against every
            # merchant link of the store (~0.3 s a branch at 100k), with it it extends the
            # few rows found (measured: 2.5 s -> 15 ms for seven branches)
            "WITH k, j "
            + _merchant_match("j")
            + f"RETURN '{rel}' AS rel, k.{key} AS value, {_RETURNS}, "
            f"m.{schema.node_kind(_MERCHANT.target).key} AS merchant")
    return " UNION ALL ".join(parts)


_LABEL_OF = {link.type: link.target for link in schema.LINKS}
_COLUMNS = [*APPLICATION_COLUMNS, "merchant"]
_INTEGER_COLUMNS = ("applied_at", "term_months", "is_fraud", "fpd")
_PROPERTIES = (f"UNWIND $ids AS i MATCH (j:{APP} {{{_APP_KEY}: i}}) RETURN {_RETURNS}")


def _indexed_identifiers(links: LinkIndex, application_id: str) -> list[dict[str, Any]]:
    """:func:`identifiers_query`'s rows, from the links in memory."""
    with links.reading():
        return [{"via": via, "rel": other.type, "value": value, "degree": degree}
                for via, value in links.links_of(application_id)
                for other in links_into(_LABEL_OF[via])
                if (degree := links.degree(other.type, value)) > 0]


def _indexed_expansion(store: GraphStore, links: LinkIndex,
                       params: dict[str, list[str]]) -> list[dict[str, Any]]:
    """:func:`expansion_query`'s rows: members from memory, their properties from the store
    (by primary key: fast on both engines)."""
    with links.reading():
        members = [(rel, value, app) for name, values in params.items()
                   for rel in [name.split("__")[1]] for value in values
                   for app in links.users(rel, value)]
    props = {r[_APP_KEY]: r for r in _indexed_rows(store, links, sorted({m[2] for m in members}))}
    return [{"rel": rel, "value": value, **props[app]} for rel, value, app in members
            if app in props]


def _indexed_rows(store: GraphStore, links: LinkIndex, ids: list[str]) -> list[dict[str, Any]]:
    """Applications' properties with their merchant (the smallest, as the export keeps)."""
    if not ids:
        return []
    rows = store.query(_PROPERTIES, {"ids": ids})
    for row in rows:
        merchants = [v for rel, v in links.links_of(row[_APP_KEY]) if rel == _MERCHANT.type]
        row["merchant"] = min(merchants) if merchants else None
    return rows


def fetch_neighbourhood(store: GraphStore, application_id: str, config: FeatureConfig,
                        links: LinkIndex | None = None
                        ) -> tuple[GraphExport, dict[str, dict[str, int]]]:
    """The application (row 0) and the applications of its shared non-hub identifiers, with
    their links, and the store's degrees of the application's identifiers. ``links``: the
    links in memory (:mod:`fraudrings.graph.linkindex`), asked instead of the store while they
    are current; the same rows either way (``tests/gnn/test_gnn_fetch.py``).

    Plain Python over the rows: a neighbourhood is small and this runs per API request.
    """
    indexed = links is not None and links.current()
    if indexed:
        target = _indexed_rows(store, links, [application_id])
    else:
        target = store.query(target_query(), {"id": application_id})
    if not target:
        raise UnknownApplication(f"no application {application_id!r} in the store")
    found = (_indexed_identifiers(links, application_id) if indexed
             else store.query(identifiers_query(), {"id": application_id}))
    degrees: dict[str, dict[str, int]] = {}
    own: dict[str, set[str]] = {}
    total: dict[tuple[str, str], int] = {}
    reached_via: dict[tuple[str, str], str] = {}  # (rel, value) -> the first via that finds it
    for row in found:
        via, rel, value, degree = row["via"], row["rel"], row["value"], int(row["degree"])
        own.setdefault(via, set()).add(value)
        if value not in degrees.setdefault(rel, {}):
            degrees[rel][value] = degree
            reached_via[(rel, value)] = via
            key = (_LABEL_OF[rel], value)
            total[key] = total.get(key, 0) + degree
    # the rule of build_features: expand an identifier on a relationship when it is shared
    # (two or more applications over all relationships into its label) and no hub there
    params: dict[str, list[str]] = {}
    for (rel, value), via in reached_via.items():
        degree = degrees[rel][value]
        if 0 < degree <= config.hub_degree and total[(_LABEL_OF[rel], value)] >= 2:
            params.setdefault(f"{via}__{rel}", []).append(value)
    branches = [tuple(name.split("__")) for name in sorted(params)]
    if indexed:
        rows = _indexed_expansion(store, links, params)
    else:
        rows = (store.query(expansion_query(branches), {"id": application_id, **params})
                if params else [])

    apps: dict[str, dict] = {}
    for row in [*target, *rows]:  # one merchant per application: the smallest, as the export
        kept = apps.get(row["application_id"])
        if kept is None or (row["merchant"] is not None and (
                kept["merchant"] is None or row["merchant"] < kept["merchant"])):
            apps[row["application_id"]] = row
    # the export's dtypes, each column built once (setting columns of a frame afterwards
    # costs ~0.2 ms each); plain object strings: Arrow costs more than it saves this small
    columns: dict[str, Any] = {}
    for column in _COLUMNS:
        values = [r[column] for r in apps.values()]
        if column in _INTEGER_COLUMNS:
            columns[column] = pd.array(values, dtype="Int64")
        elif column == "amount":
            columns[column] = np.array([np.nan if v is None else v for v in values],
                                       dtype=np.float64)
        else:
            columns[column] = np.empty(len(values), dtype=object)
            columns[column][:] = values
    frame = small_frame(columns)
    position = {app_id: i for i, app_id in enumerate(apps)}  # the target is row 0

    pairs: dict[str, set[tuple[int, str]]] = {link.type: set() for link in schema.LINKS}
    for via, values in own.items():
        pairs[via].update((0, v) for v in values)
    for row in rows:
        pairs[row["rel"]].add((position[row["application_id"]], row["value"]))
    return GraphExport(frame, links_from_pairs(pairs)), degrees

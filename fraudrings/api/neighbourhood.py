"""One application's ring neighbourhood, fetched for a request, as a :class:`GraphExport`.

Fetching the neighbourhood's ids and then exporting them takes 2 + 11 queries and, on
LadybugDB, every ``a.application_id IN $ids`` scans the whole Application table (19 ms per
query at 100k applications, 1.2 s per request in all). LadybugDB 0.22 also plans any
``UNWIND $ids`` or ``WITH`` followed by a relationship pattern as a hash join over a full table
scan (30 ms to 1 s), and a pattern over several relationship types at once is slow on hubs.
What is fast on both engines is a pattern anchored at one primary key given as a parameter,
one relationship type per branch, so the fetch is a few such queries:

1. the application's identifiers with their degree (applications on every ring relationship
   into the label) — one query, one branch per relationship;
2. the members of the identifiers that are shared and no hub — one query. Most applications
   share nothing below the hub cut: then they are their whole neighbourhood and the fetch
   ends here, after one query;
3. the same two for each hop-1 neighbour (the nearest first, at most ``MAX_ANCHORS``);
4. the properties of everyone reached (a primary-key ``UNWIND``, no relationship: fast). On
   Neo4j 3 and 4 are one statement (:func:`anchors_and_properties`).

Only relationships that ring assembly weighs are followed (``AssemblyParams.base`` plus the
applicant key that joins an identity's applications); merchants and agents only label a ring,
and following them would pull in a shop's whole clientele.

The export holds only identifiers whose every user is in it: the non-hub identifiers of the
application and of its hop-1 neighbours. A hub (a carrier IP on 10k applications), or an
identifier seen only from the hop-2 rim, would otherwise look like a rare value shared by the few
users that happen to be in the neighbourhood, and ring assembly would weigh it as strong
evidence where the whole-book sweep cuts it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fraudrings.graph import schema
from fraudrings.graph.export import APPLICATION_COLUMNS, GraphExport, links_from_pairs
from fraudrings.graph.rings import AssemblyParams
from fraudrings.graph.store import GraphStore, Statement

if TYPE_CHECKING:
    from fraudrings.graph.linkindex import LinkIndex

_APP = schema.APPLICATION.label
_KEY = schema.APPLICATION.key

#: Relationships ring assembly weighs, plus the applicant key; nothing else is followed.
RING_LINKS: tuple[schema.Link, ...] = tuple(
    link for link in schema.LINKS
    if link.type in AssemblyParams().base or link.type == "BY_APPLICANT"
)
LABELS: tuple[str, ...] = tuple(dict.fromkeys(link.target for link in RING_LINKS))

#: An identifier on more applications than this is a hub: counted, never followed.
HUB_CAP = 60
#: Hop-1 neighbours whose own identifiers are followed, nearest first. Each costs a query or two;
#: beyond this many the rim is left out and the answer says so (``truncated``).
MAX_ANCHORS = 16
#: Columns the properties query returns besides the export's.
STORED = ("score", "gnn_score", "flags", "ring_id")


#: The followed relationships into each label (Phone: the own phone and the contacts).
_INTO_LABEL = {label: tuple(link.type for link in RING_LINKS if link.target == label)
               for label in LABELS}
_RING_TARGET = {link.type: link.target for link in RING_LINKS}


def _into(label: str) -> str:
    return "|".join(_INTO_LABEL[label])


def _value(label: str) -> str:
    return schema.node_kind(label).key


def degrees_query() -> str:
    """The identifiers of ``$id`` with their applications per relationship into the label.
    Two MATCH clauses, so that Neo4j's relationship uniqueness does not drop ``$id`` itself;
    one typed branch per relationship, since a typed ``count(*)`` of a hub's links is cheap (a
    40k-link IP: 0.3 ms) where a multi-type pattern costs ~40 ms on LadybugDB. ``DISTINCT``
    where two relationships lead into the label: an application whose own phone is also its
    contact reaches that node twice."""
    return " UNION ALL ".join(
        f"MATCH (b:{_APP} {{{_KEY}: $id}})-[:{_into(link.target)}]->(m:{link.target}) "
        f"MATCH (m)<-[:{link.type}]-(c) "
        f"RETURN '{link.target}' AS label, '{link.type}' AS rel, m.{_value(link.target)} AS value, "
        f"count({'DISTINCT c' if '|' in _into(link.target) else '*'}) AS degree"
        for link in RING_LINKS
    )


def members_query() -> str:
    """The applications on the identifiers of ``$id`` whose values are in ``$<Label>``. Every
    label has its branch, so that there is one text: LadybugDB plans a new one in ~60 ms (it
    keeps the plan per text), Neo4j in ~0.5 s. A label with no value gets ``['']`` (no
    identifier is empty; an empty list has no type LadybugDB can infer)."""
    return " UNION ALL ".join(
        f"MATCH (b:{_APP} {{{_KEY}: $id}})-[:{_into(link.target)}]->(m:{link.target}) "
        f"WHERE m.{_value(link.target)} IN ${link.target} "
        f"MATCH (m)<-[:{link.type}]-(c:{_APP}) "
        f"RETURN '{link.target}' AS label, '{link.type}' AS rel, m.{_value(link.target)} AS value, "
        f"c.{_KEY} AS app"
        for link in RING_LINKS
    )


def properties_query() -> str:
    columns = ", ".join(f"a.{c} AS {c}" for c in (*APPLICATION_COLUMNS, *STORED))
    return f"UNWIND $ids AS i MATCH (a:{_APP} {{{_KEY}: i}}) RETURN {columns}"


_DEGREES = degrees_query()
_MEMBERS = members_query()
_INTS = ("applied_at", "term_months", "is_fraud", "fpd")
_PROPERTIES = properties_query()


@dataclass
class Identifier:
    label: str
    value: str
    degree: int = 0  # links from applications over every ring relationship into the label
    members: dict[str, set[str]] = field(default_factory=dict)  # rel type -> application ids

    @property
    def hub(self) -> bool:
        return self.degree > HUB_CAP

    @property
    def applications(self) -> set[str]:
        return {a for ids in self.members.values() for a in ids}


@dataclass
class Neighbourhood:
    """What the store holds around one application."""

    application_id: str
    rows: list[dict[str, Any]]  # per application: APPLICATION_COLUMNS + STORED
    known: dict[tuple[str, str], Identifier]  # fully known identifiers, own ones included
    own: dict[tuple[str, str], Identifier]  # the application's identifiers by (label, value)
    hop1: set[str]  # applications sharing a non-hub identifier with it
    truncated: bool = False

    @property
    def applicants(self) -> int:
        return len({row["applicant_id"] for row in self.rows})

    @functools.cached_property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {row["application_id"]: row for row in self.rows}

    @functools.cached_property
    def export(self) -> GraphExport:
        """Built only where assembly hands over to ``assemble_rings`` (a ring to split):
        pandas costs milliseconds per request here."""
        return _export(self.rows, self.known)


def identifiers(store: GraphStore, application_id: str,
                skip: Iterable[tuple[str, str]] = (),
                compact: bool | None = None) -> dict[tuple[str, str], Identifier]:
    """An application's identifiers with degrees, and members of the shared non-hub ones
    (except those in ``skip``, already known). ``compact``: the texts for engines that plan
    slowly (default: as the store's traits say)."""
    if compact is None:
        compact = not store.traits.cheap_planning
    if compact:
        return _compact_identifiers(store, application_id, skip)
    found: dict[tuple[str, str], Identifier] = {}
    for row in store.query(_DEGREES, {"id": application_id}):
        key = (row["label"], row["value"])
        found.setdefault(key, Identifier(*key)).degree += int(row["degree"])
    known = set(skip)
    wanted: dict[str, list[str]] = {}
    for key, ident in found.items():
        if 2 <= ident.degree <= HUB_CAP and key not in known:
            wanted.setdefault(ident.label, []).append(ident.value)
    if not wanted:
        return found
    rows = store.query(_MEMBERS, {"id": application_id,
                                  **{label: wanted.get(label, [""]) for label in LABELS}})
    for row in rows:
        ident = found[(row["label"], row["value"])]
        ident.members.setdefault(row["rel"], set()).add(row["app"])
    return found


def indexed_identifiers(links: LinkIndex, application_id: str,
                        skip: Iterable[tuple[str, str]] = ()) -> dict[tuple[str, str], Identifier]:
    """What :func:`identifiers` asks the store, from the links in memory."""
    skip = set(skip)
    found: dict[tuple[str, str], Identifier] = {}
    with links.reading():  # one state for the whole answer
        for rel, value in links.links_of(application_id):
            label = _RING_TARGET.get(rel)
            if label is None or (label, value) in found:
                continue  # not followed; or a phone that is its own and a contact: once
            ident = found[(label, value)] = Identifier(label, value)
            degrees = {into: links.degree(into, value) for into in _INTO_LABEL[label]}
            ident.degree = sum(degrees.values())
            if 2 <= ident.degree <= HUB_CAP and (label, value) not in skip:
                ident.members = {into: set(links.users(into, value))
                                 for into, n in degrees.items() if n}
    return found


#: The compact text, for an engine that plans slowly (``Traits.cheap_planning`` false: Neo4j):
#: one pattern over every ring relationship, hub degrees from its degree store (``COUNT``
#: subqueries) and the members of the wanted identifiers in the same round trip, so it plans
#: in milliseconds — the per-relationship unions cost Neo4j ~0.5 s to plan, and again whenever
#: its statistics move on (a growing book) — and costs one round trip per lookup instead of two.
#: The members are collected only below the hub cut (``wanted``): a carrier IP's thousands are
#: never expanded. LadybugDB cannot run it (``labels(m)`` is empty there, a ``COUNT`` subquery
#: over a hub takes seconds); a test runs both formulations on Neo4j and compares them.
_ALL = "|".join(link.type for link in RING_LINKS)


def compact_identifiers_query(anchor: str = "$id") -> str:
    """The compact text for the application whose id ``anchor`` holds (a parameter, or a
    variable of an enclosing query)."""
    return (
        f"MATCH (b:{_APP} {{{_KEY}: {anchor}}})-[:{_ALL}]->(m) WITH DISTINCT m "
        "WITH m, labels(m)[0] AS label, "
        + " + ".join(f"COUNT {{ (m)<-[:{link.type}]-() }}" for link in RING_LINKS)
        + " AS degree "
        "WITH m, label, degree, "
        "2 <= degree AND degree <= $cap AND NOT [label, m.value] IN $skip AS wanted "
        f"CALL (m, wanted) {{ WITH m, wanted WHERE wanted MATCH (m)<-[r:{_ALL}]-(c:{_APP}) "
        f"RETURN collect([type(r), c.{_KEY}]) AS members }} "
        "RETURN label, m.value AS value, degree, members")


COMPACT_IDENTIFIERS = compact_identifiers_query()
#: The compact text for each of ``$ids`` (``anchor``), to be followed by a RETURN.
_EACH = "UNWIND $ids AS anchor CALL (anchor) { " + compact_identifiers_query("anchor") + " }"
#: The same for each of ``$ids`` in one round trip (the read-back of a group's inserts).
COMPACT_IDENTIFIERS_EACH = _EACH + " RETURN anchor, label, value, degree, members"
#: :data:`COMPACT_IDENTIFIERS_EACH`, then the properties of ``$reached`` and of every member of
#: the identifiers found, in one statement: one row, ``found`` and ``rows``.
ANCHORS_AND_PROPERTIES = (
    f"CALL () {{ {_EACH} RETURN collect([anchor, label, value, degree, members]) AS found }} "
    "UNWIND reduce(acc = $reached, f IN found | acc + [m IN f[4] | m[1]]) AS i "
    "WITH found, collect(DISTINCT i) AS everyone UNWIND everyone AS i "
    f"MATCH (a:{_APP} {{{_KEY}: i}}) RETURN found, collect(a {{"
    + ", ".join(f".{c}" for c in (*APPLICATION_COLUMNS, *STORED)) + "}) AS rows")


def _compact_identifiers(store: GraphStore, application_id: str,
                         skip: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Identifier]:
    """:func:`identifiers` from :data:`COMPACT_IDENTIFIERS`: one query."""
    return compact_rows(store.query(COMPACT_IDENTIFIERS, {
        "id": application_id, "cap": HUB_CAP, "skip": [list(key) for key in skip]}))


def identifiers_each_statement(application_ids: Sequence[str],
                               skip: Iterable[tuple[str, str]] = ()) -> Statement:
    """:data:`COMPACT_IDENTIFIERS_EACH` with its parameters; rows name their ``anchor``."""
    return COMPACT_IDENTIFIERS_EACH, {"ids": list(application_ids), "cap": HUB_CAP,
                                      "skip": [list(key) for key in skip]}


def compact_rows(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Identifier]:
    """The identifiers in rows of the compact texts (of one application)."""
    found: dict[tuple[str, str], Identifier] = {}
    for row in rows:
        ident = found[(row["label"], row["value"])] = Identifier(
            row["label"], row["value"], int(row["degree"]))
        for rel, app in row["members"]:
            ident.members.setdefault(rel, set()).add(app)
    return found


def fetch(store: GraphStore, application_id: str,
          row: Mapping[str, Any] | None = None, links: LinkIndex | None = None,
          read_back: Sequence[Mapping[str, Any]] | None = None) -> Neighbourhood:
    """The application, its neighbours within two shared non-hub identifiers, and their links.

    ``row``, the application as just stored (normalised), saves a query: when it shares no
    identifier below the hub cut (most applications) it is its whole neighbourhood. ``links``:
    the links in memory (:mod:`fraudrings.graph.linkindex`), asked instead of the store
    while they are current. ``read_back``: the application's own identifiers as rows of the
    compact text, read in the transaction that stored it (:class:`~fraudrings.api.commits.
    ReadBack`), asked instead of the store."""
    index = links if links is not None and links.current() else None
    if index is not None:
        own = indexed_identifiers(index, application_id)
    elif read_back is not None:
        own = compact_rows(read_back)
    else:
        own = identifiers(store, application_id)
    known = {k: v for k, v in own.items() if v.members}
    if row is not None and not known:
        alone = {c: row.get(c) for c in APPLICATION_COLUMNS} | dict.fromkeys(STORED)
        return Neighbourhood(application_id, [alone], known, own, set())
    # nearest first: neighbours on the rarest identifiers are the likeliest ring-mates
    nearest: dict[str, int] = {}
    for ident in known.values():
        for app in ident.applications - {application_id}:
            nearest[app] = min(nearest.get(app, ident.degree), ident.degree)
    hop1 = sorted(nearest, key=lambda a: (nearest[a], a))
    truncated = len(hop1) > MAX_ANCHORS
    skip = frozenset(known)
    anchors = hop1[:MAX_ANCHORS]
    reached = {application_id}.union(*(ident.applications for ident in known.values()))
    if index is None and store.traits.round_trips:  # one round trip for both (Neo4j)
        found_each, rows = anchors_and_properties(store, anchors, skip, reached)
    else:
        found_each, rows = anchors_then_properties(store, anchors, skip, reached, index)
    for found in found_each:
        for key, ident in found.items():
            if ident.members and key not in known:
                known[key] = ident
    return Neighbourhood(application_id, rows, known, own, set(hop1), truncated)


Found = dict[tuple[str, str], Identifier]


def anchors_then_properties(store: GraphStore, anchors: Sequence[str],
                            skip: frozenset[tuple[str, str]], reached: set[str],
                            index: LinkIndex | None = None,
                            ) -> tuple[list[Found], list[dict[str, Any]]]:
    """The anchors' identifiers (skipping the known ones), then the properties of ``reached``
    and of every member of the anchors' new identifiers: two steps."""
    found_each = ([indexed_identifiers(index, app, skip) for app in anchors] if index is not None
                  else [identifiers(store, app, skip) for app in anchors])
    everyone = set(reached)
    for found in found_each:
        for ident in found.values():
            everyone |= ident.applications
    return found_each, store.query(_PROPERTIES, {"ids": sorted(everyone)})


def anchors_and_properties(store: GraphStore, anchors: Sequence[str],
                           skip: frozenset[tuple[str, str]], reached: set[str],
                           ) -> tuple[list[Found], list[dict[str, Any]]]:
    """:func:`anchors_then_properties` in one statement (:data:`ANCHORS_AND_PROPERTIES`): a
    request with neighbours costs Neo4j one round trip here instead of one per anchor and one
    for the properties (3.1 anchors on average at 100k; the anchors alone in one statement took
    2.2–2.5 ms of the API's CPU against 5.1–5.6, 1.6–1.7 ms of Neo4j's against 2.7–3.3)."""
    result = store.query(ANCHORS_AND_PROPERTIES, {
        "ids": list(anchors), "cap": HUB_CAP, "skip": [list(key) for key in skip],
        "reached": sorted(reached)})
    rows: dict[str, list[dict[str, Any]]] = {app: [] for app in anchors}
    found = result[0]["found"] if result else []
    for anchor, label, value, degree, members in found:
        rows[anchor].append({"label": label, "value": value, "degree": degree,
                             "members": members})
    props = sorted(result[0]["rows"], key=lambda r: r[_KEY]) if result else []
    return [compact_rows(rows[app]) for app in anchors], props


def _export(rows: list[dict[str, Any]],
            known: Mapping[tuple[str, str], Identifier]) -> GraphExport:
    """The :class:`GraphExport` that ``export_graph`` gives for these applications, limited to
    the fully known identifiers (see the module docstring)."""
    rows = sorted(rows, key=lambda r: (r["applied_at"] or 0, r["application_id"]))
    apps = pd.DataFrame({
        c: pd.array([r[c] for r in rows], dtype="Int64") if c in _INTS
        else np.array([r[c] for r in rows], dtype="float64" if c == "amount" else object)
        for c in APPLICATION_COLUMNS
    })
    position = {r["application_id"]: i for i, r in enumerate(rows)}
    pairs: dict[str, set[tuple[int, str]]] = {link.type: set() for link in schema.LINKS}
    for ident in known.values():
        for rel, members in ident.members.items():
            pairs[rel].update((position[a], ident.value) for a in members if a in position)
    return GraphExport(apps, links_from_pairs(pairs))



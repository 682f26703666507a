"""Rings in the store, as the API reads and writes them.

A ring formed or grown by the API is written like a sweep's: a ``(:Ring)`` node whose id is
:func:`ring_id_for` its members, ``(:Application)-[:IN_RING]->(:Ring)`` and ``ring_id`` / ``score``
on the members. A new ring *absorbs* every stored ring that shares a member with it: its members
are the union, the absorbed nodes are deleted, and it keeps the ``swept_at`` of a swept ring it
grew from (so an answer can say the application joined a ring the sweep found). Writing the union
makes the outcome independent of the order in which concurrent requests persist, and the ring
never loses a member that the local view of one request did not reach.

Every query here is anchored at one primary key given as a parameter: the shape that both
engines answer with index look-ups (see :mod:`fraudrings.api.neighbourhood`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fraudrings.graph import schema
from fraudrings.graph.rings import Ring, ring_id_for
from fraudrings.graph.store import GraphStore, Statement

_APP, _KEY = schema.APPLICATION.label, schema.APPLICATION.key
_RING = schema.RING.label
_IN = schema.IN_RING
_PROPS = tuple(p.name for p in schema.RING.properties)
_RETURN = ", ".join(f"g.{p} AS {p}" for p in _PROPS)
_MERCHANT, _AGENT = schema.link("AT_MERCHANT"), schema.link("KEYED_BY")
#: Identifiers kept on a ring node (as the sweep's write-back does).
MAX_SHARED = 20
#: A sweep's summary reason, recomputed for a grown ring rather than carried over.
_SUMMARY = re.compile(r"^\d+ identifiers shared across \d+ applicants$")

RING_QUERY = f"MATCH (g:{_RING} {{ring_id: $r}}) RETURN {_RETURN}"
MEMBERS_QUERY = (
    f"MATCH (g:{_RING} {{ring_id: $r}})<-[:{_IN}]-(a:{_APP}) "
    f"RETURN a.{_KEY} AS application_id, a.applicant_id AS applicant_id, "
    f"a.applied_at AS applied_at, a.score AS score"
)
LABELS_QUERY = (
    f"MATCH (g:{_RING} {{ring_id: $r}})<-[:{_IN}]-(:{_APP})-[:{_MERCHANT.type}]->"
    f"(n:{_MERCHANT.target}) RETURN DISTINCT 'merchant' AS kind, n.value AS value "
    f"UNION ALL "
    f"MATCH (g:{_RING} {{ring_id: $r}})<-[:{_IN}]-(:{_APP})-[:{_AGENT.type}]->"
    f"(n:{_AGENT.target}) RETURN DISTINCT 'agent' AS kind, n.value AS value"
)
LIST_QUERY = (
    f"MATCH (g:{_RING}) WHERE g.score >= $min_score RETURN {_RETURN} "
    f"ORDER BY g.score DESC, g.ring_id LIMIT $limit"
)
CURRENT_RINGS = (f"UNWIND $ids AS i MATCH (a:{_APP} {{{_KEY}: i}}) "
                 f"RETURN a.{_KEY} AS id, a.ring_id AS ring_id")


def found_by(props: dict[str, Any]) -> str:
    return "sweep" if props.get("swept_at") is not None else "api"


def summary(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "ring_id": props["ring_id"], "score": round(float(props.get("score") or 0.0), 4),
        "size": int(props.get("size") or 0), "found_by": found_by(props),
        "swept_at": props.get("swept_at"), "first_seen": props.get("first_seen"),
        "last_seen": props.get("last_seen"), "reasons": list(props.get("reasons") or []),
    }


def read_ring(store: GraphStore, ring_id: str) -> dict[str, Any] | None:
    rows = store.query(RING_QUERY, {"r": ring_id})
    return rows[0] if rows else None


def ring_members(store: GraphStore, ring_id: str) -> list[dict[str, Any]]:
    return sorted(store.query(MEMBERS_QUERY, {"r": ring_id}), key=lambda m: m["application_id"])


def ring_view(store: GraphStore, ring_id: str) -> dict[str, Any] | None:
    """A ring with its members, applicants, merchants and agents (the ``RingOut`` model)."""
    props = read_ring(store, ring_id)
    if props is None:
        return None
    members = ring_members(store, ring_id)
    labels = store.query(LABELS_QUERY, {"r": ring_id})
    out = summary(props)
    out.update({
        "size": len(members) or out["size"],
        "heuristic_score": _round(props.get("heuristic_score")),
        "gnn_score": _round(props.get("gnn_score")),
        "shared": _shared(props.get("shared")),
        "members": members,
        "applicants": sorted({m["applicant_id"] for m in members if m["applicant_id"]}),
        "merchants": sorted({r["value"] for r in labels if r["kind"] == "merchant"}),
        "agents": sorted({r["value"] for r in labels if r["kind"] == "agent"}),
    })
    return out


def list_rings(store: GraphStore, min_score: float, limit: int) -> list[dict[str, Any]]:
    rows = store.query(LIST_QUERY, {"min_score": float(min_score), "limit": int(limit)})
    return [summary(r) for r in rows]


def persist(store: GraphStore, ring: Ring,
            then: Callable[[float], Sequence[Statement]] = lambda score: (),
            write: Callable[[Sequence[Statement]], None] | None = None) -> tuple[str, float]:
    """Write ``ring`` (from a local assembly), absorbing the stored rings it overlaps, and the
    statements ``then(stored ring score)`` in the same transaction. Callers serialise calls
    (one lock per store): the read of the overlapping rings and the write must not interleave
    with another request's. ``write`` commits (default ``store.write``). Returns the stored
    ring's id and score."""
    current = store.query(CURRENT_RINGS, {"ids": list(ring.members)})
    old: dict[str, dict[str, Any]] = {}
    members = set(ring.members)
    for ring_id in sorted({r["ring_id"] for r in current if r["ring_id"]}):
        props = read_ring(store, ring_id)
        if props is None:  # a stale ring_id left behind by a partial sweep
            continue
        props["members"] = {m["application_id"] for m in ring_members(store, ring_id)}
        old[ring_id] = props
        members |= props["members"]
    ring_id = ring_id_for(sorted(members))
    unchanged = set(old) == {ring_id} and old[ring_id]["members"] == members
    statements: list[Statement] = []
    score = float(old[ring_id].get("score") or 0.0) if unchanged else 0.0
    if not unchanged:
        statements += [(f"MATCH (g:{_RING} {{ring_id: $r}}) DETACH DELETE g", {"r": r})
                       for r in old if r != ring_id]
        props = merged_props(ring, ring_id, members, old.values())
        score = props["score"]
        sets = ", ".join(f"g.{k} = ${k}" for k in props if k != "ring_id")
        statements.append((f"MERGE (g:{_RING} {{ring_id: $ring_id}}) SET {sets}", props))
        joined = {"r": ring_id, "s": float(props["score"])}
        if store.traits.round_trips:  # one statement: each is a round trip on a server
            statements.append((_JOIN_ALL, {**joined, "members": sorted(members)}))
        else:  # one statement per member: LadybugDB turns an UNWIND + MERGE into a table scan
            statements += [(_JOIN, {**joined, "a": app}) for app in sorted(members)]
    statements += list(then(score))
    if statements:
        (write or store.write)(statements)
    return ring_id, score


_JOINS = (f"MATCH (g:{_RING} {{ring_id: $r}}) MERGE (a)-[:{_IN}]->(g) SET a.ring_id = $r, "
          f"a.score = CASE WHEN a.score IS NULL OR a.score < $s THEN $s ELSE a.score END")
_JOIN = f"MATCH (a:{_APP} {{{_KEY}: $a}}) " + _JOINS
_JOIN_ALL = f"UNWIND $members AS m MATCH (a:{_APP} {{{_KEY}: m}}) " + _JOINS


def merged_props(ring: Ring, ring_id: str, members: set[str],
                 old: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The stored properties of ``ring`` grown over the ``old`` rings it absorbs: the strongest
    score, every reason once, the identifiers that tie it, the whole time span."""
    old = list(old)
    reasons = list(ring.reasons)
    for props in old:
        reasons += [r for r in props.get("reasons") or []
                    if r not in reasons and not _SUMMARY.match(r)]
    shared = list(ring.shared)
    seen = {(s["kind"], s["value"]) for s in shared}
    for props in old:
        for item in _shared(props.get("shared")):
            if (item["kind"], item["value"]) not in seen:
                seen.add((item["kind"], item["value"]))
                shared.append(item)
    out: dict[str, Any] = {
        "ring_id": ring_id,
        "score": float(max([ring.score, *(p.get("score") or 0.0 for p in old)])),
        "size": len(members),
        "reasons": reasons or ["shared identifiers"],
        "first_seen": int(min([ring.first_seen, *(p["first_seen"] for p in old
                                                  if p.get("first_seen") is not None)])),
        "last_seen": int(max([ring.last_seen, *(p["last_seen"] for p in old
                                                if p.get("last_seen") is not None)])),
        "heuristic_score": float(max([ring.heuristic_score,
                                      *(p.get("heuristic_score") or 0.0 for p in old)])),
        "gnn_score": float(ring.gnn_score),
        "shared": json.dumps(shared[:MAX_SHARED]),
    }
    swept = [p["swept_at"] for p in old if p.get("swept_at") is not None]
    if swept:  # grown from a ring the sweep found: say so
        out["swept_at"] = int(max(swept))
    return out


def _shared(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict) and "kind" in i and "value" in i
            and "members" in i]


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)

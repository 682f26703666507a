"""Writing a sweep's rings and scores back into the store (portable Cypher, one text each).

A full sweep replaces every Ring; a ``--since`` sweep replaces only the rings that share a
member with what it found. Ring ids are stable for the same members, so a second identical
sweep rewrites the same nodes instead of adding new ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from fraudrings.graph.rings import Ring
from fraudrings.graph.store import GraphStore

CHUNK = 50_000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or []


def ring_rows(rings: Sequence[Ring], swept_at: int) -> list[dict[str, Any]]:
    return [
        {
            "ring_id": r.ring_id,
            "score": float(r.score),
            "size": len(r.members),
            "reasons": list(r.reasons) or ["shared identifiers"],
            "first_seen": int(r.first_seen),
            "last_seen": int(r.last_seen),
            "heuristic_score": float(r.heuristic_score),
            "gnn_score": float(r.gnn_score),
            "shared": json.dumps(r.shared[:20]),
            "swept_at": int(swept_at),
        }
        for r in rings
    ]


def write_back(
    store: GraphStore,
    rings: Sequence[Ring],
    scores: pd.DataFrame,
    *,
    swept_at: int,
    partial: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Rings, IN_RING links and per-application scores into the store.

    ``scores`` has application_id, score, gnn_score, ring_id, flags for every swept application.
    """
    tick = progress or (lambda done, total: None)
    rows = ring_rows(rings, swept_at)
    members = [{"a": a, "r": r.ring_id} for r in rings for a in r.members]
    statements: list[tuple[str, dict[str, Any]]] = []
    if partial:
        ids = [m["a"] for m in members]
        for chunk in _chunks(ids):
            statements.append((
                "MATCH (a:Application)-[:IN_RING]->(g:Ring) WHERE a.application_id IN $ids "
                "DETACH DELETE g", {"ids": list(chunk)},
            ))
    else:
        statements.append(("MATCH (g:Ring) DETACH DELETE g", {}))
    sets = ", ".join(f"g.{k} = r.{k}" for k in rows[0] if k != "ring_id") if rows else ""
    for chunk in _chunks(rows):
        statements.append((
            f"UNWIND $rows AS r MERGE (g:Ring {{ring_id: r.ring_id}}) SET {sets}",
            {"rows": list(chunk)},
        ))
    for chunk in _chunks(members):
        statements.append((
            "UNWIND $rows AS r MATCH (a:Application {application_id: r.a}) "
            "MATCH (g:Ring {ring_id: r.r}) MERGE (a)-[:IN_RING]->(g)",
            {"rows": list(chunk)},
        ))
    # Rings and their links land together, or not at all.
    store.write(statements)
    records = scores[["application_id", "score", "gnn_score", "ring_id", "flags"]].copy()
    records["ring_id"] = records["ring_id"].fillna("")
    records["flags"] = records["flags"].fillna("")
    if records["gnn_score"].isna().all():
        records = records.drop(columns="gnn_score")  # no model: leave what a model wrote
    store.bulk_update("Application", records)
    tick(len(records), len(records))

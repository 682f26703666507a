"""What a store holds: counts per kind, the most shared identifiers, the load journal."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from fraudrings.console import console
from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore


def graph_stats(store: GraphStore, top: int = 10) -> dict[str, Any]:
    nodes = {kind.label: store.count(kind.label) for kind in schema.NODE_KINDS}
    rels = {rel: store.count_rels(rel) for rel in sorted(schema.REL_TYPES)}
    shared = []
    for link in schema.LINKS:
        if link.type in ("BY_APPLICANT",):
            continue
        rows = store.query(
            f"MATCH (a:Application)-[:{link.type}]->(n:{link.target}) "
            f"WITH n, count(a) AS applications, count(DISTINCT a.applicant_id) AS applicants "
            f"WHERE applications > 1 "
            f"RETURN n.value AS value, applications, applicants "
            f"ORDER BY applications DESC, value LIMIT $top",
            {"top": top},
        )
        shared += [{"kind": link.type, **row} for row in rows]
    shared.sort(key=lambda r: (-r["applications"], r["kind"], r["value"]))
    loads = store.query(
        "MATCH (l:Load) RETURN l.source AS source, l.loaded_at AS loaded_at, l.rows AS rows, "
        "l.loaded AS loaded, l.updated AS updated, l.unchanged AS unchanged, "
        "l.quarantined AS quarantined, l.reasons AS reasons, "
        "l.quarantine_path AS quarantine_path ORDER BY loaded_at DESC LIMIT 10"
    )
    quarantine: dict[str, int] = {}
    for row in loads:
        row["reasons"] = json.loads(row["reasons"] or "{}")
    if loads:  # the latest load of each source tells what is in quarantine now
        latest: dict[str, dict] = {}
        for row in loads:
            latest.setdefault(row["source"], row)
        for row in latest.values():
            for reason, count in row["reasons"].items():
                quarantine[reason] = quarantine.get(reason, 0) + count
    span = store.query(
        "MATCH (a:Application) RETURN min(a.applied_at) AS first, max(a.applied_at) AS last, "
        "sum(CASE WHEN a.is_fraud = 1 THEN 1 ELSE 0 END) AS fraud, "
        "sum(CASE WHEN a.is_fraud IS NOT NULL THEN 1 ELSE 0 END) AS labelled"
    )[0]
    return {
        "store": store.describe(),
        "nodes": nodes,
        "relationships": rels,
        "applications": span,
        "most_shared": shared[:top],
        "quarantine": quarantine,
        "loads": loads,
    }


def render_stats(stats: dict[str, Any]) -> None:
    console.print(f"[bold]{stats['store']}[/]")
    counts = Table("node kind", "count", title="Nodes", title_justify="left")
    for label, n in stats["nodes"].items():
        counts.add_row(label, f"{n:,}")
    rels = Table("relationship", "count", title="Relationships", title_justify="left")
    for rel, n in stats["relationships"].items():
        rels.add_row(rel, f"{n:,}")
    console.print(counts, rels)
    apps = stats["applications"]
    if apps.get("labelled"):
        console.print(
            f"Outcomes known for {apps['labelled']:,} applications, "
            f"{apps['fraud']:,} confirmed fraud"
        )
    shared = Table("relationship", "identifier", "applications", "applicants",
                   title="Most shared identifiers", title_justify="left")
    for row in stats["most_shared"]:
        shared.add_row(row["kind"], str(row["value"]), f"{row['applications']:,}",
                       f"{row['applicants']:,}")
    console.print(shared)
    if stats["quarantine"]:
        q = Table("reason", "rows", title="In quarantine (latest load of each file)",
                  title_justify="left")
        for reason, n in sorted(stats["quarantine"].items(), key=lambda kv: -kv[1]):
            q.add_row(reason, f"{n:,}")
        console.print(q)
    else:
        console.print("Quarantine: empty")

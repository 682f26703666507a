"""Loading applications into a store: the diff against what it holds, then one bulk insert.

Written once on top of the store seam. A row whose ``application_id`` the store already holds is
*unchanged* (same content), *updated* (only loan facts, outcomes or extra columns differ: this
is how post-loan outcomes arrive) or *quarantined* (its identifiers differ: the links of a past
application are evidence and are never rewritten).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import Batch

#: Keys fetched per lookup query (a Cypher ``IN $list``).
LOOKUP_CHUNK = 50_000
#: Properties an update may change.
UPDATABLE = ("amount", "term_months", "product", "is_fraud", "fpd", "extra", "content_hash")
CONFLICT = "conflicts with the stored application: its identifiers differ"

Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass
class LoadReport:
    source: str = ""
    rows: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    quarantine_path: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def application_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The Application node properties of normalised rows."""
    keep = [p.name for p in schema.APPLICATION.properties if p.name in rows.columns]
    return rows[keep]


def link_frames(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Relationship type -> frame of (from = application_id, to = identifier value)."""
    out = {}
    for link in schema.LINKS:
        column = rows[link.field]
        if link.multi:
            pairs = pd.DataFrame({"from": rows["application_id"], "to": column}).explode("to")
        else:
            pairs = pd.DataFrame({"from": rows["application_id"], "to": column})
        pairs = pairs[pairs["to"].notna()].drop_duplicates()
        out[link.type] = pairs.reset_index(drop=True)
    return out


def existing_keys(store: GraphStore, label: str, values: Iterable[str],
                  extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Which of ``values`` the store holds for ``label`` (with ``extra`` properties)."""
    kind = schema.node_kind(label)
    values = list(values)
    if store.count(label) == 0:  # a first load asks nothing more (saves ~1 s per 100k keys)
        values = []
    returns = ", ".join([f"n.{kind.key} AS key", *(f"n.{schema.check_name(p)} AS {p}"
                                                  for p in extra)])
    frames = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        frames.append(store.query_frame(
            f"MATCH (n:{kind.label}) WHERE n.{kind.key} IN $keys RETURN {returns}", {"keys": chunk}
        ))
    if not frames:
        return pd.DataFrame(columns=["key", *extra])
    return pd.concat(frames, ignore_index=True)


def load_batch(store: GraphStore, batch: Batch, progress: Progress | None = None) -> LoadReport:
    """Load a validated batch; re-loading the same batch changes nothing."""
    started = time.perf_counter()
    report = LoadReport(source=batch.source, rows=batch.total, duplicates=batch.duplicates)
    reasons = Counter(batch.quarantine["_reason"]) if len(batch.quarantine) else Counter()
    rows = batch.rows
    tick = progress or (lambda stage, done, total: None)

    tick("checking stored applications", 0, len(rows))
    stored = existing_keys(store, "Application", rows["application_id"],
                           ("content_hash", "link_hash"))
    stored = stored.set_index("key")
    known = rows["application_id"].isin(stored.index)
    new_rows = rows[~known]
    old_rows = rows[known]
    same = old_rows["content_hash"].values == stored.loc[old_rows["application_id"],
                                                         "content_hash"].values
    link_same = old_rows["link_hash"].values == stored.loc[old_rows["application_id"],
                                                           "link_hash"].values
    conflicts = old_rows[~link_same]
    updates = old_rows[link_same & ~same]
    report.unchanged = int(same.sum())
    if len(conflicts):
        reasons[CONFLICT] += len(conflicts)
        # keep the refused rows, in normalised form, beside the contract's quarantine
        extra_q = conflicts.assign(_line=None, _reason=CONFLICT)
        batch.quarantine = pd.concat([batch.quarantine, extra_q], ignore_index=True)

    tick("inserting", 0, len(new_rows))
    if len(new_rows):
        insert_new(store, new_rows)
    report.loaded = len(new_rows)
    tick("inserting", len(new_rows), len(new_rows))

    if len(updates):
        store.write(update_statements(updates))
    report.updated = len(updates)
    report.quarantined = sum(reasons.values())
    report.reasons = dict(reasons)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def update_statements(updates: pd.DataFrame) -> list[tuple[str, Mapping[str, Any]]]:
    """SET the updatable properties of stored applications.

    One statement per property and per null / not-null, because a parameter list whose values
    are all null has no type an engine can infer (LadybugDB would guess STRING).
    """
    statements: list[tuple[str, Mapping[str, Any]]] = []
    ids = updates["application_id"].tolist()
    for prop in UPDATABLE:
        values = [_plain(v) for v in updates[prop].tolist()]
        present = [{"id": i, "v": v} for i, v in zip(ids, values) if v is not None]
        absent = [i for i, v in zip(ids, values) if v is None]
        if present:
            statements.append((
                f"UNWIND $rows AS r MATCH (a:Application {{application_id: r.id}}) "
                f"SET a.{prop} = r.v", {"rows": present},
            ))
        if absent:
            statements.append((
                f"UNWIND $ids AS id MATCH (a:Application {{application_id: id}}) "
                f"SET a.{prop} = NULL", {"ids": absent},
            ))
    return statements


def insert_new(store: GraphStore, rows: pd.DataFrame) -> None:
    """Bulk-insert applications the store does not hold yet, with only the new identifiers."""
    rels = link_frames(rows)
    nodes: dict[str, pd.DataFrame] = {"Application": application_frame(rows)}
    wanted: dict[str, set[str]] = {}
    for link in schema.LINKS:
        wanted.setdefault(link.target, set()).update(rels[link.type]["to"])
    for label, values in wanted.items():
        have = set(existing_keys(store, label, values)["key"])
        fresh = sorted(values - have)
        nodes[label] = pd.DataFrame({schema.node_kind(label).key: fresh})
    store.bulk_insert(nodes, rels)


def record_load(store: GraphStore, report: LoadReport) -> None:
    """Journal the load in the store (``stats`` shows the latest ones)."""
    row = {
        "load_id": uuid.uuid4().hex,
        "source": Path(report.source).name,
        "loaded_at": int(time.time()),
        "rows": report.rows,
        "loaded": report.loaded,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "quarantined": report.quarantined,
        "reasons": json.dumps(report.reasons, sort_keys=True),
        "quarantine_path": report.quarantine_path or "",
    }
    sets = ", ".join(f"n.{k} = r.{k}" for k in row if k != "load_id")
    store.write([(f"UNWIND [$r] AS r MERGE (n:Load {{load_id: r.load_id}}) SET {sets}",
                  {"r": row})])


def insert_application(store: GraphStore, row: Mapping[str, Any]) -> None:
    """One new application, with its identifiers and links, in one transaction (the API path).

    The same Cypher texts run on both stores; labels and types come from the schema.
    """
    props = {p.name: _plain(row.get(p.name)) for p in schema.APPLICATION.properties
             if p.name in row}
    props = {k: v for k, v in props.items() if v is not None}  # absent, not a typed null
    sets = ", ".join(f"a.{k} = ${k}" for k in props if k != "application_id")
    statements: list[tuple[str, Mapping[str, Any]]] = [(
        f"MERGE (a:Application {{application_id: $application_id}}) SET {sets}", props,
    )]
    for link in schema.LINKS:
        value = row.get(link.field)
        values = value if link.multi else [value]
        key = schema.node_kind(link.target).key
        for v in values or []:
            if v is None or v == "" or (isinstance(v, float) and pd.isna(v)):
                continue
            statements.append((
                f"MATCH (a:Application {{application_id: $id}}) "
                f"MERGE (n:{link.target} {{{key}: $value}}) MERGE (a)-[:{link.type}]->(n)",
                {"id": props["application_id"], "value": str(v)},
            ))
    store.write(statements)


def _plain(value: Any) -> Any:
    """numpy / pandas scalars to plain Python for the drivers."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value

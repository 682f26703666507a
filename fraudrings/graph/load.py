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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore, Progress, Statement
from fraudrings.loaders.contract import Batch

#: Keys fetched per lookup query (a Cypher ``IN $list``).
LOOKUP_CHUNK = 50_000
#: Properties an update may change.
UPDATABLE = ("amount", "term_months", "product", "is_fraud", "fpd", "extra", "content_hash")
CONFLICT = "conflicts with the stored application: its identifiers differ"


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
    """Relationship type -> frame of (from = application_id, to = identifier value).

    Built with Arrow kernels (a million rows in about a second). No pair repeats: validated
    rows have distinct ids and each row's contact phones are already distinct.
    """
    ids = pa.array(rows["application_id"], type=pa.string(), from_pandas=True)
    out = {}
    for link in schema.LINKS:
        if link.multi:
            lists = pa.array(rows[link.field], type=pa.list_(pa.string()), from_pandas=True)
            to = pc.list_flatten(lists)
            source = pc.take(ids, pc.list_parent_indices(lists))
        else:
            to = pa.array(rows[link.field], type=pa.string(), from_pandas=True)
            source = ids
        keep = pc.and_(pc.is_valid(to), pc.not_equal(to, ""))
        out[link.type] = pd.DataFrame({
            "from": _text(pc.filter(source, keep)), "to": _text(pc.filter(to, keep)),
        })
    return out


def _text(array: pa.Array | pa.ChunkedArray) -> pd.Series:
    # pandas over the Arrow buffers, no Python string per value
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    return pd.Series(pd.arrays.ArrowStringArray(array.cast(pa.string())))


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
        insert_new(store, new_rows, progress)
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


def insert_new(store: GraphStore, rows: pd.DataFrame, progress: Progress | None = None) -> None:
    """Bulk-insert applications the store does not hold yet, with only the new identifiers."""
    rels = link_frames(rows)
    nodes: dict[str, pd.DataFrame] = {"Application": application_frame(rows)}
    wanted: dict[str, list[pa.Array]] = {}
    for link in schema.LINKS:
        wanted.setdefault(link.target, []).append(
            pa.array(rels[link.type]["to"]).cast(pa.string()))
    for label, arrays in wanted.items():
        values = pc.unique(pa.chunked_array(arrays, type=pa.string()))
        if len(values) and store.count(label):  # a first load asks nothing more
            have = pa.array(existing_keys(store, label, values.to_pylist())["key"],
                            type=pa.string())
            values = pc.filter(values, pc.invert(pc.is_in(values, value_set=have)))
        nodes[label] = pd.DataFrame({schema.node_kind(label).key: _text(values)})
    store.bulk_insert(nodes, rels, progress)


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


def insert_application(store: GraphStore, row: Mapping[str, Any],
                       write: Callable[[Sequence[Statement]], None] | None = None) -> bool:
    """One new application, with its identifiers and links, in one transaction (the API
    path). Returns False, storing nothing, when the store already holds the application with
    the same content (a retry); raises when it holds the id with other content.

    ``CREATE`` for the application, so that a stored one is never touched: its links are
    evidence. Each identifier is merged once, however many links reach it (a phone that is
    also a contact). Labels and types come from the schema. ``write`` commits the statements
    (default: ``store.write``; the API passes its group commit).
    """
    props = {p.name: _plain(row.get(p.name)) for p in schema.APPLICATION.properties
             if p.name in row}
    params = {k: v for k, v in props.items() if v is not None}  # absent, not a typed null
    links = link_shape(row)
    if not store.traits.cheap_planning:
        # Neo4j plans every new text (~200 ms, a p99 of its own): one text for every row
        by_type = {link.type: [v for rel, _, v in links if rel == link.type]
                   for link in schema.LINKS}
        statements: list[Statement] = [(ONE_TEXT_INSERT, {"props": params, **by_type})]
    else:
        statements = _insert_statements(params, links)
    try:
        (write or store.write)(statements)
    except Exception:  # the key is taken: a retry of the same application is no error
        held = store.query("MATCH (a:Application {application_id: $id}) "
                           "RETURN a.content_hash AS h", {"id": props["application_id"]})
        if held and held[0]["h"] == props.get("content_hash"):
            return False
        raise
    return True


#: One text for every application, for engines that plan slowly. ``FOREACH`` (which LadybugDB
#: does not have; it plans per-shape texts in microseconds): a node merged by one clause is
#: found by the next (a phone that is also a contact).
ONE_TEXT_INSERT = f"CREATE (a:{schema.APPLICATION.label}) SET a = $props " + " ".join(
    f"FOREACH (v IN ${link.type} | MERGE (n:{link.target} "
    f"{{{schema.node_kind(link.target).key}: v}}) CREATE (a)-[:{link.type}]->(n))"
    for link in schema.LINKS)

#: Identifiers merged per statement on an engine that plans each text (LadybugDB): preparing a
#: statement grows faster than its clauses (the whole insert of ~9 identifiers ~3.4 ms, 7
#: ``MERGE``s alone ~1.8 ms; two applications in one text cost 3x one), so an application's
#: identifiers go in statements of at most this many: 2.59 -> 1.96 ms median per application at
#: 1M in one transaction of 4 (an ad-hoc run interleaving both shapes, 120 groups each).
NODES_PER_STATEMENT = 5


def link_shape(row: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(relationship type, label, value) of every link of ``row``, in schema order."""
    out = []
    for link in schema.LINKS:
        value = row.get(link.field)
        for v in (value if link.multi else [value]) or []:
            if v is None or v == "" or (isinstance(v, float) and pd.isna(v)):
                continue
            out.append((link.type, link.target, str(v)))
    return tuple(dict.fromkeys(out))


def _insert_statements(params: Mapping[str, Any], links: tuple[tuple[str, str, str], ...]
                       ) -> list[Statement]:
    """The application ``CREATE``d with its first identifiers, then the rest ``MATCH``ing it,
    :data:`NODES_PER_STATEMENT` identifiers each; parameters ``$v<i>``."""
    nodes = list(dict.fromkeys((label, value) for _, label, value in links))
    app, key = schema.APPLICATION.label, schema.APPLICATION.key
    keys = ", ".join(f"{schema.check_name(k)}: ${k}" for k in params)
    statements: list[Statement] = []
    for start in range(0, max(len(nodes), 1), NODES_PER_STATEMENT):
        chunk = nodes[start:start + NODES_PER_STATEMENT]
        var = {node: f"n{i}" for i, node in enumerate(chunk)}
        if start == 0:
            parts, values = [f"CREATE (a:{app} {{{keys}}})"], dict(params)
        else:
            parts = [f"MATCH (a:{app} {{{key}: ${key}}})"]
            values = {key: params[key]}
        for i, (label, value) in enumerate(chunk):
            parts.append(f"MERGE (n{i}:{label} {{{schema.node_kind(label).key}: $v{i}}})")
            values[f"v{i}"] = value
        rels = [f"(a)-[:{rel}]->({var[(label, value)]})" for rel, label, value in links
                if (label, value) in var]
        if rels:
            parts.append("CREATE " + ", ".join(rels))
        statements.append((" ".join(parts), values))
    return statements


def _plain(value: Any) -> Any:
    """numpy / pandas scalars to plain Python for the drivers."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value

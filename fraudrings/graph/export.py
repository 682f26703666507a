"""The graph of a store as plain frames: the input of ring assembly and of the GNN.

One query per relationship type, the same texts on both stores. Row order of ``applications``
is the node order every array built from an export uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore

APPLICATION_COLUMNS = (
    "application_id", "applicant_id", "applied_at", "amount", "term_months", "product",
    "is_fraud", "fpd",
)


@dataclass
class GraphExport:
    applications: pd.DataFrame  # APPLICATION_COLUMNS, sorted by (applied_at, application_id)
    links: dict[str, pd.DataFrame]  # relationship type -> (app: row index, value: str)
    schema_version: int = schema.SCHEMA_VERSION
    _index: pd.Index | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.applications)

    def positions(self, application_ids: pd.Index | pd.Series | list[str]) -> np.ndarray:
        """The row of each id in ``applications``, -1 where it is not there. The id index is
        built once per export (hashing a million ids is not free)."""
        if self._index is None or len(self._index) != self.n:
            ids = self.applications["application_id"].to_numpy(dtype=object)
            self._index = pd.Index(ids, dtype=object)
        return self._index.get_indexer(pd.Index(application_ids, dtype=object)).astype(np.int64)

    def index_of(self, application_ids: pd.Series) -> np.ndarray:
        found = self.positions(application_ids)
        return np.where(found >= 0, found, np.nan) if (found < 0).any() else found


def export_graph(store: GraphStore, since: int | None = None) -> GraphExport:
    """Export applications and their links (optionally only applications newer than
    ``since`` plus every application sharing an identifier with one of them)."""
    columns = ", ".join(f"a.{c} AS {c}" for c in APPLICATION_COLUMNS)
    apps = store.query_frame(f"MATCH (a:Application) RETURN {columns}")
    if apps.empty:
        apps = pd.DataFrame(columns=list(APPLICATION_COLUMNS))
    apps = apps.sort_values(["applied_at", "application_id"], kind="stable").reset_index(drop=True)
    for column in ("is_fraud", "fpd", "term_months", "applied_at"):
        apps[column] = pd.array(apps[column], dtype="Int64")
    apps["amount"] = pd.to_numeric(apps["amount"], errors="coerce")
    # each link's application row by an Arrow hash lookup: several times cheaper than a
    # pandas reindex on a million string ids, and the values stay Arrow strings
    app_ids = _arrow_strings(apps["application_id"])
    links: dict[str, pd.DataFrame] = {}
    for link in schema.LINKS:
        key = schema.node_kind(link.target).key
        frame = store.query_frame(
            f"MATCH (a:Application)-[:{link.type}]->(n:{link.target}) "
            f"RETURN a.application_id AS application_id, n.{key} AS value"
        )
        if frame.empty:
            links[link.type] = pd.DataFrame({"app": np.zeros(0, dtype=np.int64),
                                             "value": pd.Series([], dtype=object)})
            continue
        table = pa.table({
            "app": pc.index_in(_arrow_strings(frame["application_id"]), value_set=app_ids),
            "value": _arrow_strings(frame["value"]),
        })
        # the engines hand rows back in no fixed order (LadybugDB scans in parallel): sorted,
        # an export and everything built on it (Louvain's splits) are the same every time
        table = table.take(pc.sort_indices(table, [("app", "ascending"), ("value", "ascending")]))
        links[link.type] = pd.DataFrame({
            "app": table.column("app").to_numpy().astype(np.int64),
            "value": table.column("value").to_pandas(),
        })
    export = GraphExport(apps, links)
    if since is not None:
        export = neighbourhood_of_recent(export, since)
    return export


def _arrow_strings(column: pd.Series) -> pa.Array:
    """A string column as one Arrow array (zero-copy when pandas already holds Arrow)."""
    array = pa.array(column, type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def neighbourhood_of_recent(export: GraphExport, since: int) -> GraphExport:
    """Keep applications newer than ``since`` and those sharing an identifier with them."""
    recent = export.applications["applied_at"].to_numpy(dtype="float64", na_value=0) >= since
    keep = recent.copy()
    for frame in export.links.values():
        touched = frame.loc[recent[frame["app"].to_numpy()], "value"].unique()
        keep[frame.loc[frame["value"].isin(touched), "app"].to_numpy()] = True
    old_to_new = np.full(export.n, -1, dtype=np.int64)
    old_to_new[keep] = np.arange(int(keep.sum()))
    apps = export.applications[keep].reset_index(drop=True)
    links = {}
    for rel, frame in export.links.items():
        mask = keep[frame["app"].to_numpy()]
        links[rel] = pd.DataFrame({"app": old_to_new[frame["app"].to_numpy()[mask]],
                                   "value": frame["value"].to_numpy()[mask]})
    return GraphExport(apps, links)


def export_rows(rows: pd.DataFrame) -> GraphExport:
    """The export a store would give for these normalised rows, without a store (tests,
    benchmarks and tuning loops use it; a store's export of the same rows is identical)."""
    rows = rows.reset_index(drop=True)
    apps = rows[list(APPLICATION_COLUMNS)].copy()
    apps = apps.sort_values(["applied_at", "application_id"], kind="stable")
    order = apps.index.to_numpy()
    apps = apps.reset_index(drop=True)
    for column in ("is_fraud", "fpd", "term_months", "applied_at"):
        apps[column] = pd.array(apps[column], dtype="Int64")
    position = np.empty(len(rows), dtype=np.int64)
    position[order] = np.arange(len(rows))  # input row -> sorted position
    links = {}
    for link in schema.LINKS:
        values = rows[link.field]
        frame = pd.DataFrame({"row": np.arange(len(rows)), "value": values.to_numpy()})
        if link.multi:
            frame = frame.explode("value")
        frame = frame[frame["value"].notna()].drop_duplicates()
        links[link.type] = pd.DataFrame({
            "app": position[frame["row"].to_numpy(dtype=np.int64)],
            "value": frame["value"].to_numpy(dtype=object),
        }).sort_values(["app", "value"], kind="stable").reset_index(drop=True)
    return GraphExport(apps, links)


def links_from_pairs(pairs: dict[str, set[tuple[int, str]]]) -> dict[str, pd.DataFrame]:
    """Link frames from ``{relationship type: {(application row, value)}}``, sorted so that
    assembly sees the same order whatever order the pairs were found in."""
    links = {}
    for rel, found in pairs.items():
        ordered = sorted(found)
        values = np.empty(len(ordered), dtype=object)  # object: no Arrow inference this small
        values[:] = [v for _, v in ordered]
        links[rel] = small_frame({"app": np.array([a for a, _ in ordered], dtype=np.int64),
                                  "value": values})
    return links


_SMALL_COLUMNS: dict[tuple[str, ...], pd.Index] = {}


def small_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame of a few rows from numpy columns, as they are. ``pd.DataFrame(dict)`` costs
    ~250 µs whatever the size (it infers, copies and builds an Arrow-backed index of the
    column names); one application's neighbourhood builds a dozen, so the API's GNN path uses
    pandas' own constructor from arrays (~30 µs) when this pandas has it."""
    names = tuple(columns)
    index = _SMALL_COLUMNS.get(names)
    if index is None:
        index = _SMALL_COLUMNS[names] = pd.Index(list(names))  # built once per shape
    arrays = list(columns.values())
    build = getattr(pd.DataFrame, "_from_arrays", None)
    if build is not None:
        return build(arrays, columns=index, index=pd.RangeIndex(len(arrays[0])),
                     verify_integrity=False)
    return pd.DataFrame(dict(zip(names, arrays)))  # pragma: no cover - another pandas

"""LadybugDB, the embedded default store: a local database file, no server.

Bulk loads go through ``COPY FROM`` Arrow tables inside one transaction (row-by-row ``MERGE`` of
relationships is orders of magnitude slower). LadybugDB has one writer and a connection runs
one query at a time: writes go through one connection under one lock, and reads through a
connection per thread, so that they run beside a write transaction (they see what was last
committed) instead of queueing behind its log sync — the HTTP API's threads rely on both.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from fraudrings.graph import schema
from fraudrings.graph.store import (
    GraphStore,
    Progress,
    Statement,
    StoreError,
    Traits,
    default_ladybug_path,
)

_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "DOUBLE": pa.float64(),
          "STRING[]": pa.list_(pa.string())}


def ddl() -> list[str]:
    """CREATE statements for every node and relationship table of the schema."""
    statements = []
    for kind in schema.NODE_KINDS:
        columns = ", ".join(f"{p.name} {p.type}" for p in kind.properties)
        statements.append(
            f"CREATE NODE TABLE IF NOT EXISTS {kind.label}({columns}, PRIMARY KEY({kind.key}))"
        )
    for link in schema.LINKS:
        statements.append(
            f"CREATE REL TABLE IF NOT EXISTS {link.type}(FROM Application TO {link.target})"
        )
    statements.append(f"CREATE REL TABLE IF NOT EXISTS {schema.IN_RING}(FROM Application TO Ring)")
    return statements


def _connection(db: Any) -> Any:
    """A connection whose parameters skip the Python client's ``to_json`` rewriting when the
    text has no ``to_json`` (none of this project's has): the client searches the text with a
    regular expression per parameter on every call, which was 14% of the HTTP API's Python time
    per request (a py-spy profile of 8 clients at 1M applications; an insert has ~20
    parameters). Texts with ``to_json`` still take the client's own path."""
    import ladybug

    conn = ladybug.Connection(db)
    rewrite = getattr(conn, "_normalize_parameters_for_pybind", None)
    if rewrite is not None:
        def normalise(query: str, parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            if "to_json" in query.lower():
                return rewrite(query, parameters)
            if not all(isinstance(key, str) for key in parameters):
                return rewrite(query, parameters)  # the client's own error
            return query, dict(parameters)

        conn._normalize_parameters_for_pybind = normalise
    return conn


class LadybugStore(GraphStore):
    backend = "ladybug"
    traits = Traits(sole_writer=True)

    def __init__(self, path: str | Path | None = None, read_only: bool = False,
                 checkpoint_threshold: int | None = None) -> None:
        """``checkpoint_threshold``: the log size in bytes at which a commit also folds the
        log into the file (the engine's default, 16 MiB, when None)."""
        import ladybug  # lazily: only this backend needs it

        self.path = Path(path) if path else default_ladybug_path()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"cannot open LadybugDB at {self.path} read-only: it does not exist")
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"cannot open LadybugDB at {self.path}: no folder {self.path.parent}")
        try:
            self._db = ladybug.Database(
                str(self.path), read_only=read_only,
                checkpoint_threshold=-1 if checkpoint_threshold is None else checkpoint_threshold)
            self._conn = _connection(self._db)  # the writer's
        except RuntimeError as exc:
            raise StoreError(f"cannot open LadybugDB at {self.path}: {exc}") from None
        self._lock = threading.RLock()  # the writer's connection, and opening readers
        self._local = threading.local()  # each thread's reading connection
        self._readers: list[Any] = []
        self._small = False

    def describe(self) -> str:
        return f"ladybug:{self.path}"

    def ensure_schema(self) -> None:
        with self._lock:
            if self.read_only:  # nothing may be created: the schema must already be there
                result = self._conn.execute("CALL show_tables() RETURN name")
                present = {row[0] for row in result.get_all()}
                result.close()
                wanted = [k.label for k in schema.NODE_KINDS] + [
                    link.type for link in schema.LINKS] + [schema.IN_RING]
                missing = [name for name in wanted if name not in present]
                if missing:
                    raise StoreError(
                        f"LadybugDB at {self.path} (opened read-only) lacks the fraudrings "
                        f"schema ({', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} "
                        "missing): open it writable once, or load applications into it"
                    )
                return
            for statement in ddl():
                self._conn.execute(statement)

    def prefer_small_queries(self) -> None:
        # a lookup touches a few hundred rows: handing it to worker threads costs more than
        # it saves, and leaves the API's other threads one core fewer
        with self._lock:
            self._small = True
            for conn in [self._conn, *self._readers]:
                conn.set_max_threads_for_exec(1)

    def log_bytes(self) -> int:
        """The size of the write-ahead log: what the next checkpoint folds."""
        try:
            return Path(f"{self.path}.wal").stat().st_size
        except FileNotFoundError:
            return 0

    def fold_log(self, min_bytes: int = 1) -> int:
        # readers go on during a checkpoint (they read from their own connections); writers
        # wait for it under the lock: ~0.7 s + ~1 ms per folded insert at 1M applications
        with self._lock:
            if self.read_only or self._conn is None:
                return 0
            size = self.log_bytes()
            if size < max(1, min_bytes):
                return 0
            self._conn.execute("CHECKPOINT")
            return size

    def _execute(self, cypher: str, params: Mapping[str, Any] | None) -> Any:
        return self._conn.execute(cypher, dict(params or {}))

    def _reader(self) -> Any:
        """This thread's reading connection (opened on first use)."""
        if self._conn is None:
            raise StoreError(f"LadybugDB at {self.path} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._conn is None:
                    raise StoreError(f"LadybugDB at {self.path} is closed")
                conn = _connection(self._db)
                if self._small:
                    conn.set_max_threads_for_exec(1)
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def query(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        return _rows(self._reader().execute(cypher, dict(params or {})))

    def query_frame(self, cypher: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        result = self._reader().execute(cypher, dict(params or {}))
        frame = result.get_as_arrow().to_pandas()
        result.close()
        return frame

    def write(self, statements: Sequence[Statement],
              then: Statement | None = None) -> list[dict]:
        rows: list[dict] = []
        with self._lock:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                for cypher, params in statements:
                    self._execute(cypher, params)
                if then is not None:
                    rows = _rows(self._execute(*then))
            except BaseException:
                self._rollback()
                raise
            self._conn.execute("COMMIT")
            self.generation += 1
        return rows

    def _rollback(self) -> None:
        # LadybugDB has already rolled back when a statement inside the transaction failed
        try:
            self._conn.execute("ROLLBACK")
        except RuntimeError as exc:
            if "No active transaction" not in str(exc):
                raise

    def bulk_insert(
        self, nodes: Mapping[str, pd.DataFrame], rels: Mapping[str, pd.DataFrame],
        progress: Progress | None = None,  # one transaction: nothing to report in between
    ) -> None:
        tables = [(label, _node_table(label, frame)) for label, frame in nodes.items()]
        tables += [(rel, _rel_table(frame)) for rel, frame in rels.items()]
        tables = [(name, table) for name, table in tables if table.num_rows]
        if not tables:
            return
        with self._lock:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                for name, arrow_rows in tables:  # noqa: B007 - COPY reads the local by name
                    if name not in schema.LABELS and name not in schema.REL_TYPES:
                        raise KeyError(f"{name!r} is not in the schema")
                    self._conn.execute(f"COPY {name} FROM arrow_rows")
            except BaseException:
                self._rollback()
                raise
            self._conn.execute("COMMIT")
            self.generation += 1

    def bulk_update(self, label: str, frame: pd.DataFrame, chunk: int = 0) -> None:
        """LadybugDB scans an Arrow table in one statement (``LOAD FROM``): a hash join instead
        of one index lookup per parameter row, ~20x faster than UNWIND."""
        kind = schema.node_kind(label)
        types = {p.name: _ARROW[p.type] for p in kind.properties}
        columns = [schema.check_name(c) for c in frame.columns]
        arrow_rows = pa.Table.from_arrays(  # noqa: F841 - LOAD FROM reads the local by name
            [pa.array(frame[c], type=types[c], from_pandas=True) for c in columns],
            names=[f"_{c}" for c in columns],
        )
        sets = ", ".join(f"n.{c} = _{c}" for c in columns if c != kind.key)
        with self._lock:
            self._conn.execute("BEGIN TRANSACTION")
            try:
                self._conn.execute(
                    f"LOAD FROM arrow_rows MATCH (n:{kind.label} {{{kind.key}: _{kind.key}}}) "
                    f"SET {sets}"
                )
            except BaseException:
                self._rollback()
                raise
            self._conn.execute("COMMIT")
            self.generation += 1

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_conn", None) is not None:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
                self._conn.close()
                self._db.close()
                self._conn = None


def _node_table(label: str, frame: pd.DataFrame) -> pa.Table:
    """An Arrow table with exactly the schema's columns, in order, typed (missing = null)."""
    kind = schema.node_kind(label)
    arrays = []
    for prop in kind.properties:
        if prop.name in frame.columns:
            arrays.append(pa.array(frame[prop.name], type=_ARROW[prop.type], from_pandas=True))
        else:
            arrays.append(pa.nulls(len(frame), type=_ARROW[prop.type]))
    return pa.Table.from_arrays(arrays, names=[p.name for p in kind.properties])


def _rel_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(frame["from"], type=pa.string()), pa.array(frame["to"], type=pa.string())],
        names=["from", "to"],
    )


def _rows(result: Any) -> list[dict]:
    """A query result's rows as dicts (column name -> value), the result closed."""
    names = result.get_column_names()
    rows = [dict(zip(names, row)) for row in result.get_all()]
    result.close()
    return rows

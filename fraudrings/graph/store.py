"""The one execution seam between fraudrings and a graph database.

Everything above ``graph/`` talks to a :class:`GraphStore`: it runs a Cypher text with
parameters, runs several statements in one transaction, and bulk-inserts frames of new nodes
and relationships. Only the backends (``graph/backends/<name>/``) know which database is behind
it; they are imported lazily so that a LadybugDB user never needs the Neo4j driver and the
other way round.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fraudrings.graph import schema

Statement = tuple[str, Mapping[str, Any]]
#: ``(stage, done, total)`` of a long job, for a progress bar.
Progress = Callable[[str, int, int], None]

BACKENDS = {
    "ladybug": "fraudrings.graph.backends.ladybug.store:LadybugStore",
    "neo4j": "fraudrings.graph.backends.neo4j.store:Neo4jStore",
}


class StoreError(RuntimeError):
    """A store cannot be opened or reached; the message is fit for a one-line CLI error."""


@dataclass(frozen=True)
class Traits:
    """What an engine is quick or slow at, where that decides between two formulations of one
    query. Callers ask for a trait, never for a backend's name. The portable formulation runs
    on every engine; the tests run the other one beside it on the engine that uses it and
    compare what they return (``tests/api/test_formulations.py``, ``tests/api/test_insert.py``),
    so the two cannot drift apart.
    """

    #: A new Cypher text is planned in microseconds (LadybugDB), not in 0.2–0.5 s and again
    #: whenever the statistics move (Neo4j): per-shape texts and long ``UNION`` s are cheap.
    cheap_planning: bool = True
    #: Every statement is a network round trip (a server): fewer, bigger statements.
    round_trips: bool = False
    #: A node may carry several labels (Neo4j's ``:RingMember`` marker for Browser).
    multiple_labels: bool = False
    #: The process holding the store is its only writer (an embedded engine locks its file),
    #: so what it has read stays true until it writes: the API may keep the links in memory.
    sole_writer: bool = False


class GraphStore(ABC):
    """A graph database holding the portfolio graph of :mod:`fraudrings.graph.schema`."""

    backend: str = ""
    traits: Traits = Traits()
    #: Transactions this handle has committed (``write``, ``bulk_insert``, ``bulk_update``):
    #: whoever keeps what it read can tell whether anyone wrote since.
    generation: int = 0

    # -- the seam: every backend implements exactly these -------------------------------------
    @abstractmethod
    def query(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        """Run one Cypher text and return its rows as dicts (column name -> value)."""

    @abstractmethod
    def query_frame(self, cypher: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one Cypher text and return its rows as a DataFrame (for large results)."""

    @abstractmethod
    def write(self, statements: Sequence[Statement],
              then: Statement | None = None) -> list[dict]:
        """Run statements in one transaction: all of them take effect or none does. ``then``: a
        query run last in the same transaction, whose rows are returned (what the transaction
        sees just before it commits: what it wrote and what others had committed); a failing
        ``then`` rolls everything back. Without it, ``[]``."""

    @abstractmethod
    def bulk_insert(
        self, nodes: Mapping[str, pd.DataFrame], rels: Mapping[str, pd.DataFrame],
        progress: Progress | None = None,
    ) -> None:
        """Insert new nodes (label -> frame of properties) and relationships (type -> frame
        with ``from``/``to`` keys). Callers guarantee the nodes are new. ``progress(stage,
        applications done, applications)``, where a store commits in several transactions."""

    def bulk_update(self, label: str, frame: pd.DataFrame, chunk: int = 50_000) -> None:
        """SET properties of existing nodes: ``frame`` has the label's key column and one column
        per property to set. Portable default: UNWIND batches, one transaction each."""
        kind = schema.node_kind(label)
        props = [schema.check_name(c) for c in frame.columns if c != kind.key]
        sets = ", ".join(f"n.{p} = r.{p}" for p in props)
        clean = frame.astype(object).where(frame.notna(), None)
        records = clean.to_dict("records")
        for start in range(0, len(records), chunk):
            self.write([(
                f"UNWIND $rows AS r MATCH (n:{kind.label} {{{kind.key}: r.{kind.key}}}) "
                f"SET {sets}", {"rows": records[start : start + chunk]},
            )])

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create tables / constraints for :mod:`schema` if they are missing."""

    @abstractmethod
    def close(self) -> None: ...

    def prefer_small_queries(self) -> None:  # noqa: B027 (optional: most engines need nothing)
        """Tune for many tiny queries (the HTTP API) over few big ones (loads, sweeps): an
        embedded engine stops fanning each query out to its thread pool. Default: nothing."""

    def fold_log(self, min_bytes: int = 1) -> int:
        """Fold the write-ahead log into the database files now (a checkpoint) if it holds at
        least ``min_bytes``; returns the bytes folded, 0 if it did nothing. An embedded engine
        otherwise folds inside whichever commit crosses its threshold, holding every writer
        meanwhile; a server (Neo4j) checkpoints in the background: default, nothing."""
        return 0

    # -- shared conveniences, written once on top of the seam --------------------------------
    def describe(self) -> str:
        return self.backend

    def count(self, label: str) -> int:
        kind = schema.node_kind(label)
        rows = self.query(f"MATCH (n:{kind.label}) RETURN count(n) AS n")
        return int(rows[0]["n"]) if rows else 0

    def count_rels(self, rel_type: str) -> int:
        if rel_type not in schema.REL_TYPES:
            raise KeyError(f"no relationship {rel_type!r} in the schema")
        rows = self.query(f"MATCH ()-[r:{rel_type}]->() RETURN count(r) AS n")
        return int(rows[0]["n"]) if rows else 0

    def clear(self) -> None:
        """Delete every node and relationship (the schema stays)."""
        for kind in schema.NODE_KINDS:
            self.write([(f"MATCH (n:{kind.label}) DETACH DELETE n", {})])

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_ladybug_path() -> Path:
    return Path(os.environ.get("FRAUDRINGS_DB", "fraudrings.lbug"))


def open_store(backend: str | None = None, **options: Any) -> GraphStore:
    """Open a store by name ("ladybug" — the default — or "neo4j"), importing it lazily.

    Options not given fall back to the environment: ``FRAUDRINGS_STORE``, ``FRAUDRINGS_DB``
    (LadybugDB directory) and ``NEO4J_URI`` / ``NEO4J_USER`` / ``NEO4J_PASSWORD`` /
    ``NEO4J_DATABASE``.
    """
    backend = (backend or os.environ.get("FRAUDRINGS_STORE") or "ladybug").lower()
    if backend not in BACKENDS:
        raise StoreError(f"unknown store {backend!r}: choose one of {', '.join(BACKENDS)}")
    module_name, _, class_name = BACKENDS[backend].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    store = cls(**{k: v for k, v in options.items() if v is not None})
    store.ensure_schema()
    return store

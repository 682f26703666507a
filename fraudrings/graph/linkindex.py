"""The links of a store in memory, for the process that is the store's only writer.

Why: a request of the HTTP API asks, for the new application and for each of up to 16
neighbours, which identifiers it has, how many applications use each and who they are (the
ring neighbourhood), and the GNN asks the same over every relationship. On LadybugDB each such
question is a query of 3–10 ms at a million applications (a ``UNION`` of one branch per
relationship; a branch alone costs ~0.3 ms of set-up), so a well-connected arrival costs 100 ms
and more. The same answers from arrays take microseconds.

When it is right: LadybugDB locks its file against a second writing process
(``Traits.sole_writer``), so the links a serving process has read stay true until it writes
them itself. The index is built from the store when the API starts (one query per
relationship: 34 s and ~1 GB at a million applications), and every insert the API commits
adds its links in the committer thread before the request is answered
(:class:`fraudrings.api.commits.GroupCommit`). A write that did not come through the API — a
load into the same store object, as the tests do — shows in the store's transaction count
(``GraphStore.generation``): the index is rebuilt, and while a write of the API's own is between
its commit and its acknowledgement, callers ask the store instead. Neo4j has other writers and
is asked every time.

Held equal to the Cypher texts by ``tests/api/test_linkindex.py`` (ring neighbourhoods) and
``tests/gnn/test_gnn_fetch.py`` (the GNN's), on a book and then on arrivals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from fraudrings.graph import schema
from fraudrings.graph.load import link_shape
from fraudrings.graph.store import GraphStore

log = logging.getLogger("fraudrings")
_APP, _KEY = schema.APPLICATION.label, schema.APPLICATION.key
_TARGET = {link.type: link.target for link in schema.LINKS}


class _Csr:
    """Rows grouped by a code: ``items[start[c]:start[c + 1]]`` are code c's."""

    def __init__(self, codes: np.ndarray, items: np.ndarray, size: int) -> None:
        order = np.argsort(codes, kind="stable")
        self.items = items[order].astype(np.int32)
        self.start = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=size), out=self.start[1:])

    def of(self, code: int) -> np.ndarray:
        return self.items[self.start[code]:self.start[code + 1]]


class LinkIndex:
    """Who uses which identifier, over every relationship of the schema."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.generation = -1  # the store's transaction count the index reflects; -1: none yet
        self.rebuilds = 0
        self._writing = threading.Lock()  # a rebuild, or one of the API's commits
        self._data = threading.RLock()  # what the readers read
        self._apps = pd.Index([], dtype=object)  # application id -> code
        self._app_ids = np.array([], dtype=object)  # code -> application id
        self._values: dict[str, pd.Index] = {}  # label: identifier value -> code
        self._value_ids: dict[str, np.ndarray] = {}  # label: code -> value
        self._by_value: dict[str, _Csr] = {}  # rel: value code -> application codes
        self._by_app: dict[str, _Csr] = {}  # rel: application code -> value codes
        self._new_links: dict[str, list[tuple[str, str]]] = {}  # arrival -> [(rel, value)]
        self._new_users: dict[tuple[str, str], list[str]] = {}  # (rel, value) -> arrivals

    # -- keeping in step with the store --------------------------------------------------
    def rebuild(self) -> None:
        """Read every link from the store."""
        with self._writing:
            self._rebuild()

    def _rebuild(self) -> None:
        started = time.perf_counter()
        log.info("link index: reading every link of %s", self.store.describe())
        generation = self.store.generation
        frames = {link.type: self.store.query_frame(
            f"MATCH (a:{_APP})-[:{link.type}]->(m:{link.target}) "
            f"RETURN a.{_KEY} AS a, m.{schema.node_kind(link.target).key} AS v")
            for link in schema.LINKS}
        # object dtype: pandas would otherwise pick Arrow strings, slow to look up one at a time
        apps = pd.Index(pd.unique(np.concatenate(
            [_column(f, "a") for f in frames.values()])), dtype=object)
        values = {label: pd.Index(pd.unique(np.concatenate(
            [_column(frames[link.type], "v") for link in schema.LINKS
             if link.target == label])), dtype=object) for label in set(_TARGET.values())}
        by_value, by_app = {}, {}
        for rel, frame in frames.items():
            a = apps.get_indexer(_column(frame, "a"))
            v = values[_TARGET[rel]].get_indexer(_column(frame, "v"))
            by_value[rel] = _Csr(v, a, len(values[_TARGET[rel]]))
            by_app[rel] = _Csr(a, v, len(apps))
        with self._data:
            self._apps, self._app_ids = apps, apps.to_numpy()
            self._values = values
            self._value_ids = {label: index.to_numpy() for label, index in values.items()}
            self._by_value, self._by_app = by_value, by_app
            self._new_links, self._new_users = {}, {}
            self.generation = generation
            self.rebuilds += 1
        log.info("link index: %d applications, %d links, built in %.1fs", len(apps),
                 sum(len(f) for f in frames.values()), time.perf_counter() - started)

    @contextmanager
    def writing(self) -> Any:
        """Held by the committer around a commit of the API's own and its :meth:`committed`:
        no rebuild runs in between."""
        with self._writing:
            yield

    def committed(self, before: int, after: int, rows: Iterable[Mapping[str, Any]]) -> None:
        """The API's own transaction took the store from ``before`` to ``after`` and inserted
        ``rows``; anything else in between (another writer) leaves the index stale."""
        with self._data:
            if self.generation != before or after != before + 1:
                self.generation = -1  # someone else wrote: rebuild before use
                return
            for row in rows:
                app = row[_KEY]
                links = [(rel, value) for rel, _, value in link_shape(row)]
                self._new_links[app] = links
                for key in links:
                    self._new_users.setdefault(key, []).append(app)
            self.generation = after

    def current(self) -> bool:
        """Whether the index holds what the store holds; rebuilt when another writer wrote
        and no commit of the API's own is under way (then the caller asks the store)."""
        if self.generation == self.store.generation:
            return True
        if not self._writing.acquire(blocking=False):
            return False  # an own commit is being acknowledged, or a rebuild runs
        try:
            if self.generation != self.store.generation:
                log.warning("link index: the store was written outside the API; rebuilding")
                self._rebuild()
            return True
        finally:
            self._writing.release()

    # -- questions ------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Any:
        """Hold for a series of questions that must see one state."""
        with self._data:
            yield self

    def holds(self, application_id: str) -> bool:
        """Whether the index knows the application. Every stored application has a link (its
        applicant is a required field), so when :meth:`current` is true, False means the store
        does not hold it."""
        with self._data:
            return application_id in self._new_links or _loc(self._apps, application_id) >= 0

    def links_of(self, application_id: str) -> list[tuple[str, str]]:
        """(relationship type, identifier value) of every link of the application, in schema
        order; empty for an unknown application."""
        with self._data:
            if application_id in self._new_links:
                return list(self._new_links[application_id])
            code = _loc(self._apps, application_id)
            if code < 0:
                return []
            return [(rel, value) for rel, csr in self._by_app.items()
                    for value in self._value_ids[_TARGET[rel]][csr.of(code)]]

    def degree(self, rel: str, value: str) -> int:
        """How many applications link to the identifier over ``rel``."""
        with self._data:
            return len(self._base_users(rel, value)) + len(self._new_users.get((rel, value), ()))

    def users(self, rel: str, value: str) -> list[str]:
        """The applications linked to the identifier over ``rel`` (ask :meth:`degree` first:
        a carrier IP has tens of thousands)."""
        with self._data:
            return [*self._app_ids[self._base_users(rel, value)],
                    *self._new_users.get((rel, value), ())]

    def _base_users(self, rel: str, value: str) -> np.ndarray:
        label = _TARGET[rel]
        code = _loc(self._values[label], value) if label in self._values else -1
        return self._by_value[rel].of(code) if code >= 0 else np.array([], dtype=np.int32)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=object) if name in frame else np.array([], dtype=object)


def _loc(index: pd.Index, key: str) -> int:
    """The code of ``key`` in a unique index, -1 if absent: one hash lookup (``get_indexer``
    would first build an index of the one key, ~30 µs)."""
    try:
        return int(index.get_loc(key))
    except KeyError:
        return -1

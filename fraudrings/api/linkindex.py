"""The ring links of a store in memory, for the process that is the store's only writer.

Why: the neighbourhood fetch asks, for the application and for each of up to
``MAX_ANCHORS`` neighbours, which identifiers it has, how many applications use each and who
they are. On LadybugDB every such question is a query of 3–10 ms at a million applications (a
``UNION`` of one branch per relationship; a branch alone costs ~0.3 ms of set-up), so a
well-connected arrival costs 100 ms and more. The same answers from arrays take microseconds.

When it is right: LadybugDB locks its file against a second writing process
(``Traits.sole_writer``), so the links a serving process has read stay true until it writes
them itself. The index is built from the store when the API starts (8 queries, ~30 s at a
million applications), and every insert the API commits adds its links in the committer
thread before the request is answered (:class:`fraudrings.api.commits.GroupCommit`). A write
that did not come through the API — a load into the same store object, as the tests do — is
noticed by the store's transaction count (``GraphStore.generation``): the index is rebuilt, and
while a write of the API's own is between its commit and its acknowledgement, the fetch asks
the store instead. Neo4j has other writers and is asked every time.

Held equal to the Cypher texts by ``tests/api/test_linkindex.py`` (a book, then arrivals).
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

from fraudrings.api.neighbourhood import HUB_CAP, LABELS, RING_LINKS, Identifier
from fraudrings.graph import schema
from fraudrings.graph.load import link_shape
from fraudrings.graph.store import GraphStore

log = logging.getLogger("fraudrings.api")
_APP, _KEY = schema.APPLICATION.label, schema.APPLICATION.key
_INTO: dict[str, tuple[str, ...]] = {
    label: tuple(link.type for link in RING_LINKS if link.target == label) for label in LABELS}
_TARGET = {link.type: link.target for link in RING_LINKS}


class _Csr:
    """Rows grouped by a code: ``items[start[c]:start[c + 1]]`` are code c's."""

    def __init__(self, codes: np.ndarray, items: np.ndarray, size: int) -> None:
        order = np.argsort(codes, kind="stable")
        self.items = items[order].astype(np.int32)
        self.start = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=size), out=self.start[1:])

    def count(self, code: int) -> int:
        return int(self.start[code + 1] - self.start[code])

    def of(self, code: int) -> np.ndarray:
        return self.items[self.start[code]:self.start[code + 1]]


class LinkIndex:
    """Who uses which identifier, over the relationships the fetch follows."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.generation = -1  # the store's transaction count the index reflects; -1: none yet
        self.rebuilds = 0
        self._writing = threading.Lock()  # a rebuild, or one of the API's commits
        self._data = threading.Lock()  # the arrivals added since the build
        self._apps = pd.Index([], dtype=object)  # application code -> id, and back
        self._app_ids = np.array([], dtype=object)
        self._values: dict[str, pd.Index] = {}  # label -> identifier code -> value, and back
        self._value_ids: dict[str, np.ndarray] = {}
        self._by_value: dict[str, _Csr] = {}  # rel -> value code -> application codes
        self._by_app: dict[str, _Csr] = {}  # rel -> application code -> value codes
        self._new_links: dict[str, list[tuple[str, str]]] = {}  # app -> [(rel, value)]
        self._new_users: dict[tuple[str, str], list[str]] = {}  # (rel, value) -> apps

    # -- keeping in step with the store --------------------------------------------------
    def rebuild(self) -> None:
        """Read every ring link from the store (callers hold no lock of the index)."""
        with self._writing:
            self._rebuild()

    def _rebuild(self) -> None:
        started = time.perf_counter()
        generation = self.store.generation
        frames = {link.type: self.store.query_frame(
            f"MATCH (a:{_APP})-[:{link.type}]->(m:{link.target}) "
            f"RETURN a.{_KEY} AS a, m.{schema.node_kind(link.target).key} AS v")
            for link in RING_LINKS}
        # object dtype: pandas would otherwise pick Arrow strings, slow to index one at a time
        apps = pd.Index(pd.unique(np.concatenate(
            [f["a"].to_numpy(dtype=object) for f in frames.values()])), dtype=object)
        values = {label: pd.Index(pd.unique(np.concatenate(
            [frames[rel]["v"].to_numpy(dtype=object) for rel in rels])), dtype=object)
            for label, rels in _INTO.items()}
        by_value, by_app = {}, {}
        for rel, frame in frames.items():
            a = apps.get_indexer(frame["a"].to_numpy(dtype=object))
            v = values[_TARGET[rel]].get_indexer(frame["v"].to_numpy(dtype=object))
            by_value[rel] = _Csr(v, a, len(values[_TARGET[rel]]))
            by_app[rel] = _Csr(a, v, len(apps))
        with self._data:
            self._apps, self._values = apps, values
            self._app_ids = apps.to_numpy()
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
        a rebuild cannot run in between."""
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
                links = [(rel, value) for rel, _, value in link_shape(row) if rel in _TARGET]
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

    # -- the fetch's question -------------------------------------------------------------
    def identifiers(self, application_id: str, skip: Iterable[tuple[str, str]] = ()
                    ) -> dict[tuple[str, str], Identifier]:
        """What :func:`fraudrings.api.neighbourhood.identifiers` returns, from memory."""
        skip = set(skip)
        found: dict[tuple[str, str], Identifier] = {}
        with self._data:
            for label, value in self._own(application_id):
                ident = found.get((label, value))
                if ident is not None:
                    continue  # a phone that is its own and a contact: once
                ident = found[(label, value)] = Identifier(label, value)
                code = self._code(label, value)
                users = {rel: self._users(rel, code, value) for rel in _INTO[label]}
                ident.degree = sum(n for n, _ in users.values())
                if 2 <= ident.degree <= HUB_CAP and (label, value) not in skip:
                    ident.members = {rel: set(apps()) for rel, (n, apps) in users.items() if n}
        return found

    def _own(self, app: str) -> list[tuple[str, str]]:
        if app in self._new_links:
            return [(_TARGET[rel], value) for rel, value in self._new_links[app]]
        code = _loc(self._apps, app)
        if code < 0:
            return []
        out = []
        for rel, csr in self._by_app.items():
            values = self._value_ids[_TARGET[rel]]
            out += [(_TARGET[rel], value) for value in values[csr.of(code)]]
        return out

    def _code(self, label: str, value: str) -> int:
        return _loc(self._values[label], value) if label in self._values else -1

    def _users(self, rel: str, code: int, value: str) -> tuple[int, Any]:
        """How many applications use the identifier over ``rel``, and a function listing them
        (not called for hubs: a carrier IP has tens of thousands)."""
        base = self._by_value[rel].of(code) if code >= 0 else np.array([], dtype=np.int32)
        new = self._new_users.get((rel, value), [])
        apps = self._app_ids
        return len(base) + len(new), lambda: [*apps[base], *new]


def _loc(index: pd.Index, key: str) -> int:
    """The code of ``key`` in a unique index, -1 if absent: one hash lookup (``get_indexer``
    would first build an index of the one key, ~30 µs)."""
    try:
        return int(index.get_loc(key))
    except KeyError:
        return -1

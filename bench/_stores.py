"""A fresh, empty store for one benchmark case (a temporary LadybugDB, or the Neo4j cleared)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fraudrings.graph.store import GraphStore, open_store


@contextmanager
def empty_store(backend: str) -> Iterator[GraphStore]:
    workdir = tempfile.mkdtemp()
    options = {"path": Path(workdir) / "g.lbug"} if backend == "ladybug" else {}
    store = open_store(backend, **options)
    if backend == "neo4j":
        store.clear()
    try:
        yield store
    finally:
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)

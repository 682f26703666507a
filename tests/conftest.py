"""Shared fixtures: the same test body runs on every real store (LadybugDB and Neo4j).

Neo4j is required: when it is not running the ``neo4j_store`` fixture raises and every test
that uses it fails (``scripts/neo4j start`` brings it up; ``.ci/run`` does so before pytest).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fraudrings.graph.store import GraphStore, open_store


@pytest.fixture(scope="session")
def _neo4j_session() -> Iterator[GraphStore]:
    store = open_store("neo4j")  # raises StoreError (test fails) when the server is absent
    yield store
    store.close()


@pytest.fixture
def neo4j_store(_neo4j_session: GraphStore) -> GraphStore:
    _neo4j_session.clear()
    return _neo4j_session


@pytest.fixture
def ladybug_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store("ladybug", path=tmp_path / "graph.lbug")
    yield store
    store.close()


@pytest.fixture(params=["ladybug", "neo4j"])
def store(request: pytest.FixtureRequest) -> GraphStore:
    """Each test that takes ``store`` runs once per backend."""
    return request.getfixturevalue(f"{request.param}_store")

"""The seeded fixture graph (fraudrings.queries.fixtures) on both real stores.

Neo4j is shared with the rest of the suite, whose tests clear it: ``seeded_neo4j`` checks that
the server still holds exactly the seeded applications before each test and reloads them when
it does not. When Neo4j is not running, ``_neo4j_session`` (tests/conftest.py) raises and the
tests fail; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore, open_store
from fraudrings.loaders.contract import validate
from fraudrings.queries.fixtures import Fixture, build_fixture, build_hub_fixture


def load_fixture(store: GraphStore, fixture: Fixture) -> GraphStore:
    store.clear()
    report = load_batch(store, validate(fixture.applications))
    assert report.quarantined == 0 and report.loaded == len(fixture.applications)
    return store


def holds_exactly(store: GraphStore, fixture: Fixture) -> bool:
    ids = {r["id"] for r in store.query("MATCH (a:Application) RETURN a.application_id AS id")}
    return ids == set(fixture.applications["application_id"])


@pytest.fixture(scope="session")
def seeded() -> Fixture:
    return build_fixture()


@pytest.fixture(scope="session")
def seeded_ladybug(tmp_path_factory: pytest.TempPathFactory,
                   seeded: Fixture) -> Iterator[GraphStore]:
    path: Path = tmp_path_factory.mktemp("queries") / "seeded.lbug"
    store = load_fixture(open_store("ladybug", path=path), seeded)
    yield store
    store.close()


@pytest.fixture
def seeded_neo4j(_neo4j_session: GraphStore, seeded: Fixture) -> GraphStore:
    if not holds_exactly(_neo4j_session, seeded):
        load_fixture(_neo4j_session, seeded)
    return _neo4j_session


@pytest.fixture(scope="session")
def hub_ladybug(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    path: Path = tmp_path_factory.mktemp("queries") / "hubs.lbug"
    store = load_fixture(open_store("ladybug", path=path), build_hub_fixture())
    yield store
    store.close()

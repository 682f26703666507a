"""Parity: every heuristic returns the same rows on Neo4j and LadybugDB over the same graph.

Rows are compared whole (key, kind, value, sorted members, applicants, times, detail), strength
within 1e-9. Where a heuristic has an engine override file, each engine runs its own text and
the comparison covers the override. Neo4j must be running: these tests fail without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore, open_store
from fraudrings.loaders.contract import validate
from fraudrings.queries import catalog

pytestmark = pytest.mark.neo4j
NAMES = catalog.names()


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, name: str) -> None:
    assert list(left["key"]) == list(right["key"]), f"{name}: different rows or order"
    for column in catalog.COLUMNS:
        if column == "strength":
            diff = (left[column] - right[column]).abs().max() if len(left) else 0.0
            assert diff <= 1e-9, f"{name}: strength differs by {diff}"
        else:
            assert list(left[column]) == list(right[column]), f"{name}: {column} differs"


@pytest.mark.parametrize("name", NAMES)
def test_same_rows_on_both_stores(seeded_ladybug: GraphStore, seeded_neo4j: GraphStore,
                                  name: str) -> None:
    on_ladybug = catalog.run(seeded_ladybug, name)
    on_neo4j = catalog.run(seeded_neo4j, name)
    assert len(on_ladybug) > 0
    assert_same_rows(on_ladybug, on_neo4j, name)


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    """A generated book: more varied than the hand-made one (nulls, hubs, ties in strength)."""
    from fraudrings.loaders.generator import generate_portfolio

    return generate_portfolio(2_000, seed=5).applications


@pytest.fixture(scope="module")
def generated_ladybug(tmp_path_factory: pytest.TempPathFactory,
                      generated: pd.DataFrame) -> Iterator[GraphStore]:
    path: Path = tmp_path_factory.mktemp("parity") / "generated.lbug"
    store = open_store("ladybug", path=path)
    load_batch(store, validate(generated))
    yield store
    store.close()


@pytest.fixture
def generated_neo4j(_neo4j_session: GraphStore, generated: pd.DataFrame) -> GraphStore:
    ids = {r["id"] for r in _neo4j_session.query(
        "MATCH (a:Application) RETURN a.application_id AS id")}
    if ids != set(generated["application_id"]):
        _neo4j_session.clear()
        load_batch(_neo4j_session, validate(generated))
    return _neo4j_session


@pytest.mark.parametrize("name", NAMES)
def test_same_rows_on_a_generated_book(generated_ladybug: GraphStore,
                                       generated_neo4j: GraphStore, name: str) -> None:
    assert_same_rows(catalog.run(generated_ladybug, name), catalog.run(generated_neo4j, name),
                     name)

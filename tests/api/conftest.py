"""A live API server per test: uvicorn in a background thread on a free loopback port, over the
parametrised ``store`` fixture (LadybugDB and Neo4j), reached over real HTTP with httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Live, serve

from fraudrings.api import auth
from fraudrings.api.app import create_app
from fraudrings.api.gnn import GnnScorer
from fraudrings.graph.store import GraphStore


@pytest.fixture
def live(store: GraphStore, tmp_path: Path) -> Iterator[Live]:
    """The API over ``store`` (empty), with a write key and a read key."""
    keys_file = tmp_path / "api-keys"
    write_key = auth.add_key(keys_file, "underwriting", "write")
    read_key = auth.add_key(keys_file, "investigator", "read")
    app = create_app(store, keys=auth.KeyStore(keys_file), gnn=GnnScorer(enabled=False))
    url, stop = serve(app)
    try:
        yield Live(url, write_key, read_key, keys_file, store)
    finally:
        stop()



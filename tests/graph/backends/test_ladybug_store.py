"""LadybugDB specifics: the connections' parameter passing; folding the log."""

from __future__ import annotations

from pathlib import Path

from fraudrings.graph.backends.ladybug.store import LadybugStore
from fraudrings.graph.store import GraphStore


def test_parameters_skip_the_clients_json_rewriting_and_still_bind(
    ladybug_store: GraphStore,
) -> None:
    """The store's connections take parameters without the client's per-parameter regular
    expressions (see ``_connection``); if a client upgrade renames the method, this fails
    rather than the saving silently going away. Values still bind, a text with ``to_json``
    still goes to the client's rewriting, and a Cypher-looking value stays data."""
    conn = ladybug_store._conn
    assert conn._normalize_parameters_for_pybind.__qualname__.startswith("_connection")
    nasty = "x'}) MATCH (n) DETACH DELETE n //"
    assert ladybug_store.query("RETURN $a AS a, $b AS b", {"a": nasty, "b": 3}) == [
        {"a": nasty, "b": 3}]
    text, params = conn._normalize_parameters_for_pybind("RETURN to_json($m)", {"m": []})
    assert "CAST(" in text and "m" not in params  # the client's own rewriting


def _insert(store: GraphStore, app_id: str) -> None:
    store.write([("CREATE (a:Application {application_id: $id})", {"id": app_id})])


def test_fold_log_checkpoints_only_a_log_of_min_bytes(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "fold.lbug")
    store.ensure_schema()
    _insert(store, "F-1")
    held = store.log_bytes()
    assert held > 0
    assert store.fold_log(held + 1) == 0 and store.log_bytes() == held  # below: nothing
    assert store.fold_log(held) == held and store.log_bytes() == 0
    store.close()
    store = LadybugStore(tmp_path / "fold.lbug")  # what was folded is in the file
    assert store.count("Application") == 1
    store.close()


def test_checkpoint_threshold_reaches_the_engine(tmp_path: Path) -> None:
    store = LadybugStore(tmp_path / "threshold.lbug", checkpoint_threshold=1)
    store.ensure_schema()
    _insert(store, "T-1")
    assert store.log_bytes() == 0  # the commit crossed 1 byte of log and folded it
    store.close()

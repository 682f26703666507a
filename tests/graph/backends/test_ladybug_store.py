"""LadybugDB specifics: the connections' parameter passing."""

from __future__ import annotations

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

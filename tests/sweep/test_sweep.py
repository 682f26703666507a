"""The batch sweep on both real stores: outputs, write-back, idempotency, --since, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore, StoreError, open_store
from fraudrings.loaders.contract import validate
from fraudrings.loaders.generator import generate_portfolio
from fraudrings.sweep.run import SweepError, parse_since, run_sweep, write_outputs

RING_KEYS = {"ring_id", "score", "size", "members", "applicants", "shared", "reasons",
             "first_seen", "last_seen", "merchants", "agents"}


@pytest.fixture(scope="module")
def portfolio():
    return generate_portfolio(4000, seed=11)


@pytest.fixture
def loaded(store: GraphStore, portfolio) -> GraphStore:
    load_batch(store, validate(portfolio.applications))
    return store


def test_sweep_writes_the_output_contract(loaded: GraphStore, tmp_path: Path) -> None:
    result = run_sweep(loaded, use_gnn=False)
    paths = write_outputs(result, tmp_path, store_name=loaded.describe())
    rings = [json.loads(line) for line in paths["rings"].read_text().splitlines()]
    assert rings, "a portfolio with planted rings yields rings"
    for ring in rings:
        assert set(ring) >= RING_KEYS
        assert 0 <= ring["score"] <= 1 and ring["size"] == len(ring["members"]) >= 3
        assert ring["reasons"] and ring["shared"]
        assert all({"kind", "value", "members"} <= set(s) for s in ring["shared"])
    with paths["applications"].open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4000
    assert set(table[0]) == {"application_id", "score", "gnn_score", "ring_id", "flags"}
    members = {m for r in rings for m in r["members"]}
    assert {row["application_id"] for row in table if row["ring_id"]} == members
    report = paths["report"].read_text()
    assert "<svg" in report and rings[0]["ring_id"] in report


def test_write_back_is_idempotent(loaded: GraphStore) -> None:
    first = run_sweep(loaded, use_gnn=False)
    rings, links = loaded.count("Ring"), loaded.count_rels("IN_RING")
    assert rings == len(first.rings)
    assert links == sum(len(r.members) for r in first.rings)
    run_sweep(loaded, use_gnn=False)
    assert (loaded.count("Ring"), loaded.count_rels("IN_RING")) == (rings, links)
    stored = {r["id"] for r in loaded.query("MATCH (g:Ring) RETURN g.ring_id AS id")}
    assert stored == {r.ring_id for r in first.rings}
    top = first.rings[0]
    row = loaded.query(
        "MATCH (a:Application)-[:IN_RING]->(g:Ring {ring_id: $id}) "
        "RETURN count(a) AS n, max(a.score) AS s, min(a.score) AS low, min(a.ring_id) AS r",
        {"id": top.ring_id})
    # members score their ring's score raised by their own evidence (rings.combine_scores)
    scores = first.applications.set_index("application_id").loc[top.members, "score"]
    assert row == [{"n": len(top.members), "s": pytest.approx(scores.max(), abs=1e-4),
                    "low": pytest.approx(scores.min(), abs=1e-4), "r": top.ring_id}]
    assert scores.min() >= top.score - 1e-4


def test_since_sweeps_only_what_touches_new_applications(loaded: GraphStore) -> None:
    full = run_sweep(loaded, use_gnn=False)
    cut = sorted(r.last_seen for r in full.rings)[len(full.rings) // 2]
    recent = run_sweep(loaded, use_gnn=False, since=cut)
    assert 0 < recent.export.n < full.export.n
    assert all(r.last_seen >= cut for r in recent.rings)
    assert {r.ring_id for r in recent.rings} <= {r.ring_id for r in full.rings} | {
        r.ring_id for r in recent.rings}
    # rings older than the cut are kept in the store
    assert loaded.count("Ring") >= len(full.rings) - len(recent.rings)


def test_both_stores_find_the_same_rings(ladybug_store: GraphStore, neo4j_store: GraphStore,
                                         portfolio) -> None:
    found = []
    for store in (ladybug_store, neo4j_store):
        load_batch(store, validate(portfolio.applications))
        found.append([(r.ring_id, round(r.score, 6)) for r in
                      run_sweep(store, use_gnn=False, write=False).rings])
    assert found[0] == found[1]


def test_an_empty_store_is_a_clear_error(store: GraphStore) -> None:
    with pytest.raises(SweepError, match="no applications"):
        run_sweep(store, use_gnn=False)


def test_since_must_be_a_date() -> None:
    assert parse_since("2025-06-01") == 1748736000
    with pytest.raises(SweepError, match="not a date"):
        parse_since("last tuesday-ish")


def test_a_store_without_labels_still_sweeps(ladybug_store: GraphStore, portfolio) -> None:
    book = portfolio.applications.assign(is_fraud="", fpd="")
    load_batch(ladybug_store, validate(book))
    result = run_sweep(ladybug_store, use_gnn=False)
    assert result.rings and result.export.applications["is_fraud"].isna().all()


def test_a_read_only_ladybug_store_sweeps_without_writing(tmp_path: Path, portfolio) -> None:
    path = tmp_path / "book.lbug"
    with open_store("ladybug", path=path) as store:
        load_batch(store, validate(portfolio.applications))
        writable = run_sweep(store, use_gnn=False, write=False)
    with open_store("ladybug", path=path, read_only=True) as store:
        result = run_sweep(store, use_gnn=False, write=False)
        with pytest.raises(SweepError, match="read-only"):
            run_sweep(store, use_gnn=False)  # write-back asked of a read-only store
        assert store.count("Ring") == 0
    assert [r.ring_id for r in result.rings] == [r.ring_id for r in writable.rings]


def test_a_read_only_open_needs_an_existing_fraudrings_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store("ladybug", path=tmp_path / "missing.lbug", read_only=True)
    import ladybug  # a LadybugDB database made by someone else: no fraudrings tables

    ladybug.Database(str(tmp_path / "other.lbug")).close()
    with pytest.raises(StoreError, match="lacks the fraudrings schema"):
        open_store("ladybug", path=tmp_path / "other.lbug", read_only=True)

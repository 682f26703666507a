"""Loading into both real stores: counts, idempotency, updates, conflicts, one application."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pandas as pd
import pytest

from fraudrings.graph import schema
from fraudrings.graph.load import CONFLICT, insert_application, load_batch
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import validate

NASTY = "x'}) MATCH (n) DETACH DELETE n //"


def portfolio() -> pd.DataFrame:
    rows = []
    for i in range(40):
        rows.append({
            "application_id": f"A{i:03d}",
            "applied_at": f"2025-02-{1 + i % 28:02d}T{i % 24:02d}:15:00",
            "applicant_id": NASTY if i == 7 else f"P{i // 2:03d}",  # repeat customers
            "phone": f"+7 912 000-00-{i % 10:02d}",
            "device_id": "TABLET-1" if i % 3 == 0 else f"D{i}",
            "merchant_id": f"M{i % 4}" if i % 2 else "",
            "agent_id": f"G{i % 5}" if i % 2 else "",
            "email": f" User{i % 7}@Mail.test ",
            "ip": f"10.0.{i % 3}.1",
            "address": f"ADDR-{i % 11}",
            "bank_account": f"ACC{i % 13}",
            "contact_phones": f"8912000000{(i + 1) % 10};+7 912 000 00 {(i + 2) % 10:02d}",
            "amount": str(100 + i),
            "term_months": "12",
            "product": "pos" if i % 2 else "online",
            "is_fraud": "1" if i % 9 == 0 else ("0" if i < 30 else ""),
            "fpd": "",
            "channel": "web",
        })
    return pd.DataFrame(rows)


def counts(store: GraphStore) -> dict[str, int]:
    out = {k.label: store.count(k.label) for k in schema.NODE_KINDS if k.label != "Load"}
    out.update({rel: store.count_rels(rel) for rel in schema.REL_TYPES})
    return out


@pytest.fixture(scope="module")
def expected_counts() -> dict[str, int]:
    frame = portfolio()
    links = {
        "USES_PHONE": 10, "LISTS_CONTACT": 80, "FROM_DEVICE": 40, "AT_MERCHANT": 20,
        "KEYED_BY": 20, "USES_EMAIL": 40, "FROM_IP": 40, "AT_ADDRESS": 40, "PAYS_TO": 40,
        "BY_APPLICANT": 40, "IN_RING": 0,
    }
    links["USES_PHONE"] = 40
    devices = 1 + sum(1 for i in range(40) if i % 3)
    return {
        "Application": 40, "Applicant": frame["applicant_id"].nunique(), "Phone": 10,
        "Device": devices, "Merchant": 2, "Agent": 5, "Email": 7, "Ip": 3, "Address": 11,
        "BankAccount": 13, "Ring": 0, **links,
    }


def test_load_gives_the_same_counts_on_every_store(
    store: GraphStore, expected_counts: dict[str, int]
) -> None:
    report = load_batch(store, validate(portfolio()))
    assert (report.loaded, report.updated, report.unchanged, report.quarantined) == (40, 0, 0, 0)
    assert counts(store) == expected_counts


def test_reloading_the_same_file_changes_nothing(store: GraphStore) -> None:
    load_batch(store, validate(portfolio()))
    before = counts(store)
    report = load_batch(store, validate(portfolio()))
    assert (report.loaded, report.updated, report.unchanged) == (0, 0, 40)
    assert counts(store) == before


def test_outcomes_arriving_later_update_and_identifier_changes_are_refused(
    store: GraphStore,
) -> None:
    load_batch(store, validate(portfolio()))
    later = portfolio()
    later.loc[34, "is_fraud"] = "1"  # post-loan outcome arrives
    later.loc[35, "device_id"] = "REWRITTEN"  # history may not be rewritten
    batch = validate(later)
    report = load_batch(store, batch)
    assert (report.loaded, report.updated, report.unchanged, report.quarantined) == (0, 1, 38, 1)
    assert report.reasons == {CONFLICT: 1}
    assert list(batch.quarantine["application_id"]) == ["A035"]
    row = store.query("MATCH (a:Application {application_id: $id}) RETURN a.is_fraud AS f",
                      {"id": "A034"})
    assert row == [{"f": 1}]
    devices = store.query(
        "MATCH (a:Application {application_id: 'A035'})-[:FROM_DEVICE]->(d:Device) "
        "RETURN d.value AS d")
    assert devices == [{"d": "D35"}]


def test_cypher_looking_strings_are_stored_as_data(store: GraphStore) -> None:
    load_batch(store, validate(portfolio()))
    assert store.count("Application") == 40
    rows = store.query("MATCH (a:Application {application_id: 'A007'})-[:BY_APPLICANT]->(p) "
                       "RETURN p.value AS v, a.applicant_id AS a")
    assert rows == [{"v": NASTY, "a": NASTY}]


def test_one_application_incrementally(store: GraphStore) -> None:
    load_batch(store, validate(portfolio()))
    new = validate(pd.DataFrame([{
        "application_id": "NEW-1", "applied_at": "2025-03-01T00:00:00", "applicant_id": "PX",
        "phone": "+7 912 000-00-01", "device_id": "TABLET-1", "contact_phones": "89990001122",
        "amount": "50",
    }])).rows.iloc[0].to_dict()
    insert_application(store, new)
    insert_application(store, new)  # a retry stores nothing twice
    rows = store.query(
        "MATCH (a:Application {application_id: 'NEW-1'})-[r]->(n) "
        "RETURN count(r) AS links, count(DISTINCT n) AS nodes")
    assert rows == [{"links": 4, "nodes": 4}]
    assert store.count("Phone") == 11 and store.count("Application") == 41


def test_a_failing_transaction_leaves_nothing_behind(store: GraphStore) -> None:
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        store.write([
            ("MERGE (a:Application {application_id: 'HALF'})", {}),
            ("THIS IS NOT CYPHER", {}),
        ])
    assert store.count("Application") == 0


def test_a_transaction_reads_back_what_it_wrote_and_a_failing_read_undoes_it(
    store: GraphStore,
) -> None:
    create = "CREATE (a:Application {application_id: $id, content_hash: 'h'})"
    store.write([(create, {"id": "BEFORE"})])
    count = ("MATCH (a:Application) WITH count(a) AS n UNWIND $ids AS id "
             "RETURN id AS app, n AS seen", {"ids": ["T-1", "T-2"]})
    rows = store.write([(create, {"id": "T-1"}), (create, {"id": "T-2"})], then=count)
    assert rows == [{"app": "T-1", "seen": 3}, {"app": "T-2", "seen": 3}]
    assert store.write([(create, {"id": "T-3"})]) == []  # no read: no rows
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        store.write([(create, {"id": "T-4"})], then=("THIS IS NOT CYPHER", {}))
    assert store.count("Application") == 4  # T-4 rolled back with its failed read


def test_a_later_file_links_new_applications_to_stored_identifiers(
    store: GraphStore, expected_counts: dict[str, int]
) -> None:
    frame = portfolio()
    first = load_batch(store, validate(frame.head(25)))
    second = load_batch(store, validate(frame))
    assert (first.loaded, second.loaded, second.unchanged) == (25, 15, 25)
    assert counts(store) == expected_counts


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neo4j bulk inserts in batches of 7 applications: 40 rows make 6 transactions, and
    identifier nodes are first used by later batches."""
    from fraudrings.graph.backends.neo4j import store as neo4j_store_module

    monkeypatch.setattr(neo4j_store_module, "BATCH_ROWS", 7)


@pytest.mark.usefixtures("small_batches")
def test_neo4j_batches_give_the_same_graph_and_reload_unchanged(
    neo4j_store: GraphStore, expected_counts: dict[str, int]
) -> None:
    generation = neo4j_store.generation
    ticks: list[tuple[str, int, int]] = []
    report = load_batch(neo4j_store, validate(portfolio()),
                        progress=lambda *tick: ticks.append(tick))
    assert report.loaded == 40 and neo4j_store.generation - generation >= 6
    # the bar moves batch by batch through both phases, never back, and ends full
    for stage in ("writing identifiers", "inserting"):
        done = [d for s, d, total in ticks if s == stage and total == 40]
        assert len(done) >= 6 and done == sorted(done) and done[-1] == 40, (stage, ticks)
    assert counts(neo4j_store) == expected_counts
    again = load_batch(neo4j_store, validate(portfolio()))
    assert (again.loaded, again.unchanged) == (0, 40)
    assert counts(neo4j_store) == expected_counts


@contextlib.contextmanager
def failing_statement(monkeypatch: pytest.MonkeyPatch, matches: Callable[[str], bool],
                      nth: int) -> Iterator[None]:
    """The ``nth`` bulk-insert statement that ``matches`` raises "connection lost" (the
    writers are concurrent threads, hence the lock); the block must raise it."""
    from fraudrings.graph.backends.neo4j import store as neo4j_store_module

    real_run = neo4j_store_module._run
    seen = 0
    lock = threading.Lock()

    def failing_run(tx, cypher, params):  # noqa: ANN001, ANN202
        nonlocal seen
        if matches(cypher):
            with lock:
                seen += 1
                if seen == nth:
                    raise RuntimeError("connection lost")
        return real_run(tx, cypher, params)

    monkeypatch.setattr(neo4j_store_module, "_run", failing_run)
    with pytest.raises(RuntimeError, match="connection lost"):
        yield
    monkeypatch.setattr(neo4j_store_module, "_run", real_run)
    assert seen >= nth


@pytest.mark.usefixtures("small_batches")
def test_neo4j_load_failing_part_way_leaves_whole_batches_only(
    neo4j_store: GraphStore, expected_counts: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third applications batch fails after its applications were created in its
    transaction. The batches are committed by concurrent writers, so which others stay is not
    fixed; what is: only whole batches stay (every application with all its links), the
    failing one is not among them, no identifier node is left without a link (the nodes
    written ahead of the applications are deleted again), and loading again completes it."""
    with failing_statement(monkeypatch, lambda cypher: "CREATE (a)-[" in cypher, 3):
        load_batch(neo4j_store, validate(portfolio()))

    stored = {r["id"] for r in neo4j_store.query(
        "MATCH (a:Application) RETURN a.application_id AS id")}
    batches = [{f"A{i:03d}" for i in range(lo, min(40, lo + 7))} for lo in range(0, 40, 7)]
    whole = [b for b in batches if b <= stored]
    assert stored == set().union(*whole) and 1 <= len(whole) < len(batches)
    want = validate(portfolio()).rows
    want = want[want["application_id"].isin(stored)]
    from fraudrings.graph.load import link_frames

    for rel, frame in link_frames(want).items():
        assert neo4j_store.count_rels(rel) == len(frame), rel
    orphans = neo4j_store.query(
        "MATCH (n) WHERE NOT n:Application AND NOT (n)--() RETURN count(n) AS n")
    assert orphans == [{"n": 0}]

    report = load_batch(neo4j_store, validate(portfolio()))
    assert (report.loaded, report.unchanged) == (40 - len(stored), len(stored))
    assert counts(neo4j_store) == expected_counts


@pytest.mark.usefixtures("small_batches")
def test_neo4j_load_failing_in_the_identifier_phase_leaves_nothing(
    neo4j_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while the identifier nodes are written ahead: no application was stored, and
    the identifier nodes already committed are deleted again."""
    def identifiers(cypher: str) -> bool:
        return "CREATE (n:" in cypher and "CREATE (a:" not in cypher

    with failing_statement(monkeypatch, identifiers, 4):
        load_batch(neo4j_store, validate(portfolio()))
    assert neo4j_store.query("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]

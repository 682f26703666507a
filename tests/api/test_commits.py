"""Group commit on both real stores: concurrent callers share transactions, each returns only
once its own statements have committed, and one caller's failure is not another's."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fraudrings.api import auth
from fraudrings.api.app import create_app
from fraudrings.api.commits import GroupCommit, QuietCheckpoint, ReadBack
from fraudrings.api.timing import Phases
from fraudrings.graph.backends.ladybug.store import LadybugStore
from fraudrings.graph.store import GraphStore, Statement


def create(app_id: str) -> Statement:
    return ("CREATE (a:Application {application_id: $id, content_hash: 'h'})", {"id": app_id})


def stored(store: GraphStore) -> set[str]:
    return {r["id"] for r in store.query("MATCH (a:Application) RETURN a.application_id AS id")}


class Gate:
    """The store, whose first transaction waits until the test opens the gate: the other
    callers queue meanwhile, as they do behind a slow commit."""

    def __init__(self, store: GraphStore) -> None:
        self.store, self.open, self.entered = store, threading.Event(), threading.Event()

    def write(self, statements: Sequence[Statement], then: Statement | None = None) -> list:
        self.entered.set()
        self.open.wait(timeout=30)
        return self.store.write(statements, then)


def test_callers_queued_behind_a_commit_share_the_next_transaction(store: GraphStore) -> None:
    gate = Gate(store)
    commits = GroupCommit(gate)  # type: ignore[arg-type]
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(commits.write, [create("G-0")])
        assert gate.entered.wait(timeout=30)
        rest = [pool.submit(commits.write, [create(f"G-{k}")]) for k in range(1, 9)]
        while commits.queued < 8:  # all eight wait behind the first transaction
            threading.Event().wait(0.01)
        assert not any(f.done() for f in [first, *rest])  # nobody answered before its commit
        gate.open.set()
        for future in [first, *rest]:
            future.result(timeout=60)
    assert stored(store) == {f"G-{k}" for k in range(9)}
    assert commits.groups == 2  # the first alone, then the eight that queued behind it
    commits.close()


def test_a_failing_caller_fails_alone(store: GraphStore) -> None:
    store.write([create("taken")])
    gate = Gate(store)
    commits = GroupCommit(gate)  # type: ignore[arg-type]
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(commits.write, [create("F-0")])
        assert gate.entered.wait(timeout=30)
        good = pool.submit(commits.write, [create("F-1"), create("F-2")])
        bad = pool.submit(commits.write, [create("F-3"), create("taken")])  # a key taken
        also_good = pool.submit(commits.write, [create("F-4")])
        while commits.queued < 3:
            threading.Event().wait(0.01)
        gate.open.set()
        first.result(timeout=60), good.result(timeout=60), also_good.result(timeout=60)
        with pytest.raises(Exception, match="(?i)duplicated primary key|already exists"):
            bad.result(timeout=60)
    # the failing caller's statements are all rolled back, F-3 with "taken"; the rest stand
    assert stored(store) == {"taken", "F-0", "F-1", "F-2", "F-4"}
    commits.close()


class Recorder:
    """The store, remembering the statements of each transaction."""

    def __init__(self, store: GraphStore) -> None:
        self.store, self.sent = store, []

    def write(self, statements: Sequence[Statement], then: Statement | None = None) -> list:
        self.sent.append(list(statements))
        return self.store.write(statements, then)


def test_a_groups_inserts_go_first(store: GraphStore) -> None:
    store.write([create("R-0")])
    recorder = Recorder(store)
    commits = GroupCommit(recorder, defer_s=60)  # type: ignore[arg-type]
    score = ("MATCH (a:Application {application_id: $id}) SET a.score = 0.5", {"id": "R-0"})
    commits.write_later([score])  # queued first: about an application committed before
    commits.write([create("R-1")], inserted=[{"application_id": "R-1"}])
    assert recorder.sent == [[create("R-1"), score]]
    assert store.query("MATCH (a:Application {application_id: 'R-0'}) RETURN a.score AS s") == [
        {"s": 0.5}]
    commits.close()


def test_each_caller_gets_the_read_back_about_its_own_inserts(store: GraphStore) -> None:
    """The read runs once per transaction, after every insert of the group: each caller gets
    its own rows, which see the whole group; a group replayed one by one goes without it."""
    store.write([create("taken")])
    gate = Gate(store)
    seen = ReadBack(lambda ids: ("MATCH (a:Application) WITH count(a) AS n UNWIND $ids AS id "
                                 "RETURN id AS app, n AS seen", {"ids": ids}), key="app")
    commits = GroupCommit(gate, read_back=seen)  # type: ignore[arg-type]
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(commits.write, [create("B-0")], [{"application_id": "B-0"}])
        assert gate.entered.wait(timeout=30)
        rest = {k: pool.submit(commits.write, [create(f"B-{k}")], [{"application_id": f"B-{k}"}])
                for k in (1, 2, 3)}
        nothing = pool.submit(commits.write, [create("B-4")])  # inserts nobody it names
        while commits.queued < 4:
            threading.Event().wait(0.01)
        gate.open.set()
        assert first.result(timeout=60) == [{"app": "B-0", "seen": 2}]
        for k, future in rest.items():  # one transaction: each sees all three and B-4
            assert future.result(timeout=60) == [{"app": f"B-{k}", "seen": 6}]
        assert nothing.result(timeout=60) is None
        assert commits.groups == 2
        # a group with a failing caller is replayed one by one, without the read: the others
        # commit, and will ask the store themselves
        gate.open.clear(), gate.entered.clear()
        first = pool.submit(commits.write, [create("B-5")], [{"application_id": "B-5"}])
        assert gate.entered.wait(timeout=30)
        good = pool.submit(commits.write, [create("B-6")], [{"application_id": "B-6"}])
        bad = pool.submit(commits.write, [create("taken")], [{"application_id": "taken"}])
        while commits.queued < 2:
            threading.Event().wait(0.01)
        gate.open.set()
        assert first.result(timeout=60) == [{"app": "B-5", "seen": 7}]
        assert good.result(timeout=60) is None
        with pytest.raises(Exception, match="(?i)duplicated primary key|already exists"):
            bad.result(timeout=60)
    assert {"B-5", "B-6"} <= stored(store)
    commits.close()


def test_a_failing_read_back_fails_no_write(store: GraphStore) -> None:
    broken = ReadBack(lambda ids: ("THIS IS NOT CYPHER", {"ids": ids}), key="app")
    commits = GroupCommit(store, read_back=broken)
    assert commits.write([create("X-1")], [{"application_id": "X-1"}]) is None
    assert stored(store) == {"X-1"}
    commits.close()


def test_close_commits_what_is_queued_and_a_later_write_starts_again(store: GraphStore) -> None:
    commits = GroupCommit(store)
    commits.write([create("C-1")])
    commits.close()
    commits.write([create("C-2")])  # served again after a shutdown
    commits.close()
    assert stored(store) == {"C-1", "C-2"}


def test_a_deferred_write_rides_with_the_next_waiting_caller(store: GraphStore) -> None:
    commits = GroupCommit(store, defer_s=60)  # held until company comes, however slow the test
    commits.write_later([create("D-1")])
    commits.write([create("D-2")])
    assert stored(store) == {"D-1", "D-2"} and commits.groups == 1  # one transaction for both
    commits.close()


def test_flush_and_close_commit_deferred_writes(store: GraphStore) -> None:
    commits = GroupCommit(store, defer_s=60)
    commits.write_later([create("E-1")])
    commits.flush()  # a read that must see it
    assert stored(store) == {"E-1"}
    commits.write_later([create("E-2")])
    commits.close()  # shutting down commits what was queued
    assert stored(store) == {"E-1", "E-2"}


def test_a_deferred_write_alone_is_committed_soon(store: GraphStore) -> None:
    commits = GroupCommit(store, defer_s=0.05)
    commits.write_later([create("S-1")])
    deadline = time.monotonic() + 30
    while "S-1" not in stored(store):
        assert time.monotonic() < deadline, "a lone deferred write was never committed"
        time.sleep(0.02)
    commits.close()


def test_the_log_is_folded_once_writes_pause(ladybug_store: LadybugStore) -> None:
    commits = GroupCommit(ladybug_store, quiet=QuietCheckpoint(after_s=0.3, min_bytes=1))
    commits.write([create("Q-1")])
    assert ladybug_store.log_bytes() > 0  # committed to the log, not folded yet
    deadline = time.monotonic() + 30
    while commits.folds < 1:
        assert time.monotonic() < deadline, "the log was not folded after a pause"
        time.sleep(0.05)
    assert ladybug_store.log_bytes() == 0
    commits.write([create("Q-2")])  # writes go on after a fold; the next pause folds again
    while commits.folds < 2:
        assert time.monotonic() < deadline, "the log was not folded after a second pause"
        time.sleep(0.05)
    time.sleep(0.9)
    assert commits.folds == 2  # once per pause, not every after_s
    assert stored(ladybug_store) == {"Q-1", "Q-2"}
    commits.close()


@pytest.mark.parametrize("quiet", [QuietCheckpoint(after_s=None, min_bytes=1),
                                   QuietCheckpoint(after_s=0.1, min_bytes=1 << 30)],
                         ids=["off", "log below min_bytes"])
def test_no_fold_when_off_or_the_log_is_small(ladybug_store: LadybugStore,
                                              quiet: QuietCheckpoint) -> None:
    commits = GroupCommit(ladybug_store, quiet=quiet)
    commits.write([create("N-1")])
    held = ladybug_store.log_bytes()
    time.sleep(0.6)
    assert commits.folds == 0 and ladybug_store.log_bytes() == held > 0
    commits.close()


def test_the_api_folds_when_quiet_by_default_and_as_told(ladybug_store: LadybugStore,
                                                         tmp_path: Path) -> None:
    keys = auth.KeyStore(tmp_path / "api-keys")
    assert create_app(ladybug_store, keys=keys).state.assessor.commits.quiet == QuietCheckpoint()
    told = QuietCheckpoint(after_s=None)
    assert create_app(ladybug_store, keys=keys,
                      quiet_checkpoint=told).state.assessor.commits.quiet is told


def test_a_caller_learns_how_long_it_queued_and_how_long_its_transaction_took(
        store: GraphStore) -> None:
    gate = Gate(store)
    commits = GroupCommit(gate)  # type: ignore[arg-type]
    first, second = Phases(), Phases()
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(commits.write, [create("T-0")], (), first)
        assert gate.entered.wait(timeout=30)
        behind = pool.submit(commits.write, [create("T-1")], (), second)
        while commits.queued < 1:
            threading.Event().wait(0.01)
        time.sleep(0.3)  # the first transaction takes 0.3 s
        gate.open.set()
        held.result(timeout=60)
        behind.result(timeout=60)
    commits.close()
    # the first spent the 0.3 s in its own transaction, the second queued behind it
    assert first.spans["commit"] >= 0.3 > first.spans["commit-wait"]
    assert second.spans["commit-wait"] >= 0.3 > second.spans["commit"]

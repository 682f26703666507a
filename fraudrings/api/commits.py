"""Group commit: the writes of concurrent requests committed together, one transaction each round.

A request's writes are small (one application with its links; one score) and most of their cost
is the commit itself: LadybugDB syncs its write-ahead log (2–4 ms here) and has a single writer,
Neo4j takes a round trip and a log flush. Eight requests each committing alone queue behind
seven syncs. As databases do for their own logs, a single committer thread takes whatever has
arrived while the previous transaction committed and commits it as one.

Nothing about durability changes: :meth:`GroupCommit.write` returns only after the transaction
holding the caller's statements has committed, and raises what the caller's own statements
raised. If a group fails, every statement in it was rolled back by the store, and the group is
replayed one caller per transaction, so that one caller's failure (a key taken by another
server) is not another caller's.

Derived values that nobody waits for (an application's score: the application itself is
already durable, and a sweep recomputes every score) go through :meth:`GroupCommit.write_later`:
the committer holds them up to ``DEFER_S`` for the next caller who does wait, so that one
request costs one log sync instead of two. Reads that must see them call :meth:`flush` first.

Read-back (:class:`ReadBack`): a query the committer runs last in a transaction that inserts
applications, for all of them at once, handing each caller the rows about its own. A request
on Neo4j asks what its new application is linked to straight after the insert; asked inside
the transaction, the question costs the group one round trip instead of costing each request
one, and the answer is what a read after the commit would have seen of its own group and of
every transaction committed before it. A group replayed one caller at a time goes without it
(the callers get None and ask the store), so that a failing read never fails a write.

Checkpoints when quiet (:class:`QuietCheckpoint`): LadybugDB folds its write-ahead log into the
database file inside whichever commit crosses 16 MiB of log — at a million applications a
stall of ~7 s for every writer, every ~6,800 applications (``bench/checkpoint.py``). The
committer folds the log itself once no write has come for a while, so that the folds fall in
the lulls of the traffic and the engine's own is left for a burst longer than its threshold.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fraudrings.graph import schema
from fraudrings.graph.store import GraphStore, Statement

if TYPE_CHECKING:
    from fraudrings.api.timing import Phases
    from fraudrings.graph.linkindex import LinkIndex

log = logging.getLogger("fraudrings.api")
_KEY = schema.APPLICATION.key
#: Callers per transaction at most: a bound on what one failure makes the group replay.
MAX_GROUP = 32
#: Longest a deferred write waits for company before it is committed alone.
DEFER_S = 0.05


@dataclass(frozen=True)
class QuietCheckpoint:
    """Fold the store's log (:meth:`GraphStore.fold_log`) once no write has come for
    ``after_s`` seconds and the log holds at least ``min_bytes``; ``after_s`` None: never (the
    engine's own checkpoints only). A write arriving during a fold waits for it."""

    after_s: float | None = 2.0
    min_bytes: int = 1 << 20  # ~400 applications: a fold costs ~1 s at a million


@dataclass(frozen=True)
class ReadBack:
    """``query(ids)``: a read about the applications a transaction inserts, run last in it;
    ``key``: the column of its rows that names the application a row is about."""

    query: Callable[[list[str]], Statement]
    key: str


@dataclass
class _Pending:
    statements: list[Statement]
    rows: list[Mapping[str, Any]]  # applications the statements insert (for the link index)
    deferred: bool = False  # nobody waits for it (write_later)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    read: list[dict] | None = None  # the read-back rows about its applications
    queued_at: float = field(default_factory=time.perf_counter)
    began: float | None = None  # when the transaction holding it began


class GroupCommit:
    """``write(statements)`` with :meth:`GraphStore.write`'s meaning (all or nothing, committed
    on return), sharing transactions with concurrent callers."""

    def __init__(self, store: GraphStore, max_group: int = MAX_GROUP,
                 links: LinkIndex | None = None, defer_s: float = DEFER_S,
                 quiet: QuietCheckpoint | None = None,
                 read_back: ReadBack | None = None) -> None:
        self.store = store
        self.read_back = read_back
        self.defer_s = defer_s
        self.quiet = quiet or QuietCheckpoint(after_s=None)
        self.folds = 0  # checkpoints run when quiet (tests and benches read it)
        self._written = False  # committed since the last fold was considered
        self.links = links
        self.max_group = max_group
        self.groups = 0  # transactions committed (tests and benches read it)
        self._queue: list[_Pending] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._deferred = 0  # deferred writes not committed yet

    def write(self, statements: Sequence[Statement],
              inserted: Sequence[Mapping[str, Any]] = (),
              phases: Phases | None = None) -> list[dict] | None:
        """Commit ``statements`` (all or none); ``inserted``: the application rows they
        insert, added to the link index once committed and before this returns. Returns the
        :class:`ReadBack` rows about ``inserted`` (None without a read-back or insert).
        ``phases``: gets the wait for the committer (``commit-wait``) and the transaction
        (``commit``)."""
        pending = _Pending(list(statements), list(inserted))
        self._enqueue(pending)
        pending.done.wait()
        if phases is not None:
            now = time.perf_counter()
            began = pending.began if pending.began is not None else now
            phases.add("commit-wait", began - pending.queued_at)
            phases.add("commit", now - began)
        if pending.error is not None:
            raise pending.error
        return pending.read

    def write_later(self, statements: Sequence[Statement]) -> None:
        """Queue ``statements`` for a coming transaction and return at once (see the module
        docstring: for derived values only); a failure is logged."""
        self._enqueue(_Pending(list(statements), [], deferred=True))

    def flush(self) -> None:
        """Return once every write queued before the call has committed."""
        with self._wake:
            if not self._deferred:
                return  # callers of write() have all been answered: nothing is outstanding
        self.write([])

    def _enqueue(self, pending: _Pending) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("the committer is closing")
            self._queue.append(pending)
            self._deferred += pending.deferred
            if self._thread is None:  # started on first use: no thread for a read-only API
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="fraudrings-commit")
                self._thread.start()
            self._wake.notify()

    @property
    def queued(self) -> int:
        """Callers waiting for a transaction (not counting the one committing)."""
        with self._wake:
            return len(self._queue)

    def close(self) -> None:
        """Commit what is queued, then stop the committer thread (a later write starts a new
        one: an app served again after a shutdown keeps working)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._wake:
            self._closed, self._thread = False, None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    quiet = self._written and self.quiet.after_s is not None
                    if not self._wake.wait(self.quiet.after_s if quiet else None) and quiet:
                        break  # no write for after_s
                if not self._queue:
                    if self._closed:
                        return
                    self._written = False  # quiet: fold the log below, once per lull
                    group: list[_Pending] = []
                else:
                    # only deferred writes: give the next waiting caller a moment to join them
                    until = time.monotonic() + self.defer_s
                    while (not self._closed and all(p.deferred for p in self._queue)
                           and len(self._queue) < self.max_group
                           and (left := until - time.monotonic()) > 0):
                        self._wake.wait(left)
                    group = self._queue[: self.max_group]
                    del self._queue[: self.max_group]
            if group:
                self._commit(group)
                with self._wake:
                    self._deferred -= sum(p.deferred for p in group)
            else:
                self._fold()

    def _fold(self) -> None:
        started = time.perf_counter()
        try:
            folded = self.store.fold_log(self.quiet.min_bytes)
        except Exception as exc:  # the engine's own checkpoint remains
            log.warning("checkpoint when quiet failed (%s)", type(exc).__name__)
            return
        if folded:
            self.folds += 1
            log.info("checkpoint while quiet: %.1f MB of log folded in %.2fs", folded / 1e6,
                     time.perf_counter() - started)

    def _commit(self, group: list[_Pending]) -> None:
        began = time.perf_counter()
        for pending in group:
            pending.began = began
        try:
            self._transaction(group)
        except Exception as exc:
            if len(group) == 1 and not (self.read_back and group[0].rows):
                group[0].error = exc
            else:  # the store rolled the group back: replay it one caller at a time,
                # without the read-back, which is only a saving: should the read itself be what
                # failed, the writes still commit and the callers ask the store afterwards
                for pending in group:
                    try:
                        self._transaction([pending], read_back=False)
                    except Exception as own:
                        pending.error = own
        except BaseException as exc:  # interrupted: nobody may believe their write committed
            for pending in group:
                pending.error = pending.error or exc
            raise
        finally:
            for pending in group:
                if pending.deferred and pending.error is not None:
                    log.error("a deferred write failed (%s); a sweep will recompute it",
                              type(pending.error).__name__)
                pending.done.set()

    def _transaction(self, group: list[_Pending], read_back: bool = True) -> None:
        # the inserts first, together: a request writes about its application only once the
        # insert has committed, so nothing else in a group refers to what its inserts create
        # and moving them ahead changes nothing, while a store that sends a run of one text as
        # one statement (Neo4j) then sends them all in one round trip
        ordered = [p for p in group if p.rows] + [p for p in group if not p.rows]
        statements = [s for pending in ordered for s in pending.statements]
        if not statements:
            return  # flush markers only
        inserted = [str(row[_KEY]) for pending in ordered for row in pending.rows]
        then = (self.read_back.query(inserted)
                if self.read_back and read_back and inserted else None)
        if self.links is None:
            read = self.store.write(statements, then)
        else:  # the index learns the inserted links before anyone is answered
            with self.links.writing():
                before = self.store.generation
                read = self.store.write(statements, then)
                self.links.committed(before, self.store.generation,
                                     [row for pending in group for row in pending.rows])
        if then is not None and self.read_back is not None:
            about: dict[str, list[dict]] = {}
            for row in read:
                about.setdefault(str(row[self.read_back.key]), []).append(row)
            for pending in ordered:
                if pending.rows:
                    pending.read = [r for row in pending.rows
                                    for r in about.get(str(row[_KEY]), [])]
        self.groups += 1
        self._written = True

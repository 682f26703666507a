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
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from fraudrings.graph.store import GraphStore, Statement

#: Callers per transaction at most: a bound on what one failure makes the group replay.
MAX_GROUP = 32


@dataclass
class _Pending:
    statements: list[Statement]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommit:
    """``write(statements)`` with :meth:`GraphStore.write`'s meaning (all or nothing, committed
    on return), sharing transactions with concurrent callers."""

    def __init__(self, store: GraphStore, max_group: int = MAX_GROUP) -> None:
        self.store = store
        self.max_group = max_group
        self.groups = 0  # transactions committed (tests and benches read it)
        self._queue: list[_Pending] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def write(self, statements: Sequence[Statement]) -> None:
        pending = _Pending(list(statements))
        with self._wake:
            if self._closed:
                raise RuntimeError("the committer is closing")
            self._queue.append(pending)
            if self._thread is None:  # started on first use: no thread for a read-only API
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="fraudrings-commit")
                self._thread.start()
            self._wake.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

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
                    self._wake.wait()
                if not self._queue:
                    return
                group = self._queue[: self.max_group]
                del self._queue[: self.max_group]
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        try:
            self.store.write([s for pending in group for s in pending.statements])
            self.groups += 1
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # the store rolled the group back: replay it one caller at a time
                for pending in group:
                    try:
                        self.store.write(pending.statements)
                        self.groups += 1
                    except Exception as own:
                        pending.error = own
        except BaseException as exc:  # interrupted: nobody may believe their write committed
            for pending in group:
                pending.error = pending.error or exc
            raise
        finally:
            for pending in group:
                pending.done.set()

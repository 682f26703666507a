"""One lock per key in use: requests for the same application id serialise, no others do.

The underwriting path holds an id's lock from "is it stored?" to its insert's commit, so that a
retry racing its original cannot interleave. A fixed set of lock stripes would do that too, but
it also makes unrelated ids share a stripe: with 64 stripes and 8 requests in flight, one
request in nine waited for another's whole commit (~30 ms at a million applications), and the
slowest 1% spent 23 ms there (``bench/api.py``'s ``store`` step, before this module).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class KeyedLocks:
    """``with locks.hold(key):`` excludes only other holders of the same key; a key's lock
    exists while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]

    def __len__(self) -> int:
        """Keys held or waited for now."""
        with self._guard:
            return len(self._locks)

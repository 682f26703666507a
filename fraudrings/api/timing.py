"""Where one request's time went, in the ``Server-Timing`` response header (W3C Server Timing).

Every ``POST /v1/applications`` answer carries the wall time of each step of the underwriting
path in milliseconds, as ``name;dur=MS`` (one answer from ``fraudrings serve`` on a new
LadybugDB store: ``queue;dur=0.32, validate;dur=0.33, store;dur=0.21, commit-wait;dur=0.06,
commit;dur=18.29, gnn;dur=0.01, neighbourhood;dur=4.62, ring;dur=0.17, evidence;dur=0.11,
total;dur=24.49``). An underwriting system can log it beside
its own timings, a browser's developer tools draw it, and ``bench/api.py`` attributes its
slowest requests to the steps that held them up.

The steps do not overlap and each is where a request can wait:

* ``queue``: waiting for a thread of the server's pool;
* ``validate``: the input contract's checks;
* ``store``: the per-id lock and building the insert (a replay's or a conflict's lookup too);
* ``commit-wait``: queued for the group commit while the transaction before it commits;
* ``commit``: its group's transaction (with the read-back of its own identifiers on Neo4j),
  until the request's thread runs again (a woken thread may wait for the GIL);
* ``gnn``, ``neighbourhood``, ``ring`` (assembly, the ring lock, the ring's write and view),
  ``evidence`` (the neighbour rings it reports);
* ``total``: the handler from its start to its answer; what a caller sees beyond it is HTTP,
  the event loop and the network.

It reveals no more than the answer does: how long a request took, and that a ring was
looked at (the answer says whether one was found).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

HEADER = "Server-Timing"
_ENTRY = re.compile(r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:;(.*))?$")
_DUR = re.compile(r"(?:^|;)\s*dur\s*=\s*([0-9.eE+-]+)")


class Phases:
    """Wall seconds per named step of one request, in the order first seen."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
        self.spans: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.spans[name] = self.spans.get(name, 0.0) + max(0.0, seconds)

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def header(self) -> str:
        """The ``Server-Timing`` value: ``name;dur=MS`` for each step."""
        return ", ".join(f"{name};dur={1000 * s:.2f}" for name, s in self.spans.items())


def parse(value: str | None) -> dict[str, float]:
    """Milliseconds per metric of a ``Server-Timing`` value (metrics without ``dur`` are 0)."""
    out: dict[str, float] = {}
    for entry in (value or "").split(","):
        found = _ENTRY.match(entry)
        if not found:
            continue
        dur = _DUR.search(found.group(2) or "")
        out[found.group(1)] = float(dur.group(1)) if dur else 0.0
    return out

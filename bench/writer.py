"""The API's single writer on LadybugDB: applications per second it inserts, alone and beside
threads running Python.

    python bench/writer.py --db /tmp/api-1m.lbug          # the book bench/api.py builds
    python bench/writer.py --applications 100000 --busy 0 1 2 --switch 0.005 0.0005

Every application the API stores goes through one committer thread
(:mod:`fraudrings.api.commits`): it takes what has arrived and commits it as one transaction, so
the API can take no more applications per second than that thread inserts. This bench runs the
committer's work without HTTP: on a fresh copy of the book per arm, the arrivals' insert
statements (built by the API's own ``insert_application``) go through ``LadybugStore.write``,
``--group`` applications a transaction, from one thread — while ``--busy`` other threads run
Python, as the server's request threads do while they validate, look around and answer. Each
busy thread alternates ``--burst-ms`` of pure Python with ``--idle-ms`` asleep.

The engine releases the GIL while it works and takes it back after every statement; a thread
that wants it back waits until the holder blocks or the interpreter's switch interval
(``sys.setswitchinterval``, 5 ms by default; ``--switch`` tries others) runs out. Reported per
arm: applications per second, and the writer's wall and CPU time per transaction — wall above
CPU is time the writer was not running (waiting for the GIL or the disk).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as api_bench  # noqa: E402 - the sibling bench builds and reuses the same books


def _busy(stop: threading.Event, burst_s: float, idle_s: float) -> None:
    while not stop.is_set():
        until = time.perf_counter() + burst_s
        while time.perf_counter() < until:  # Python bytecode: holds the GIL
            pass
        if idle_s:
            time.sleep(idle_s)


def run_arm(book: Path, bodies: list[dict[str, Any]], group: int, busy: int, burst_s: float,
            idle_s: float, switch: float) -> dict[str, Any]:
    from fraudrings.api.models import ApplicationIn
    from fraudrings.api.validation import validate_application
    from fraudrings.graph.load import insert_application
    from fraudrings.graph.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    try:
        api_bench.copy_book(book, workdir / "arm.lbug")  # a fresh copy: the arrivals are new
        with open_store("ladybug", path=workdir / "arm.lbug") as store:
            store.prefer_small_queries()  # as `fraudrings serve` does
            inserts: list[list[Any]] = []
            for body in bodies:
                row = validate_application(ApplicationIn(**body).contract_row())
                insert_application(store, row, lambda s: inserts.append(list(s)))
            groups = [[s for app in inserts[i:i + group] for s in app]
                      for i in range(0, len(inserts), group)]
            stop = threading.Event()
            threads = [threading.Thread(target=_busy, args=(stop, burst_s, idle_s), daemon=True)
                       for _ in range(busy)]
            before = sys.getswitchinterval()
            sys.setswitchinterval(switch)
            try:
                for thread in threads:
                    thread.start()
                walls, cpus = [], []
                started = time.perf_counter()
                for statements in groups:
                    wall, cpu = time.perf_counter(), time.thread_time()
                    store.write(statements)
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.thread_time() - cpu)
                elapsed = time.perf_counter() - started
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
                sys.setswitchinterval(before)
        walls.sort()
        return {"busy": busy, "switch_ms": 1000 * switch, "applications": len(inserts),
                "statements": sum(len(g) for g in groups), "per_s": len(inserts) / elapsed,
                "wall_ms": 1000 * sum(walls) / len(walls),
                "median_wall_ms": 1000 * walls[len(walls) // 2],
                "cpu_ms": 1000 * sum(cpus) / len(cpus)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=1_000_000,
                        help="applications in the book before the arrivals")
    parser.add_argument("--db", type=Path, help="a prepared book (built there on the first "
                        "run, with its arrivals, as bench/api.py --db does)")
    parser.add_argument("--arrivals", type=int, default=420, help="applications per arm")
    parser.add_argument("--group", type=int, default=7,
                        help="applications per transaction (the API's groups at 8 clients: 3-7)")
    parser.add_argument("--busy", nargs="+", type=int, default=[0, 1, 0, 1],
                        help="busy Python threads beside the writer, one arm each")
    parser.add_argument("--switch", nargs="+", type=float, default=[0.005],
                        help="switch intervals in seconds; every --busy arm runs with each")
    parser.add_argument("--burst-ms", type=float, default=2.0)
    parser.add_argument("--idle-ms", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-writer-book-"))
    try:
        book = args.db or workdir / "book.lbug"
        bodies = api_bench.prepared_ladybug(book, args.applications, args.arrivals,
                                            args.seed)[: args.arrivals]
        rows = []
        for switch in args.switch:
            for busy in args.busy:
                rows.append(run_arm(book, bodies, args.group, busy, args.burst_ms / 1000,
                                    args.idle_ms / 1000, switch))
                print(_row(rows[-1]), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"LadybugDB writer, {args.applications:,}-application book, {args.group} applications "
          f"a transaction; busy threads: {args.burst_ms:g} ms of Python, {args.idle_ms:g} ms "
          "asleep")
    print(_HEADER)
    for row in rows:
        print(_row(row))


_HEADER = (f"{'busy threads':>12} {'switch ms':>9} {'applications/s':>14} "
           f"{'wall ms/tx':>10} {'median':>7} {'CPU ms/tx':>9} {'not running':>11}")


def _row(r: dict[str, Any]) -> str:
    waiting = 1 - r["cpu_ms"] / r["wall_ms"]
    return (f"{r['busy']:>12} {r['switch_ms']:>9.1f} {r['per_s']:>14.1f} {r['wall_ms']:>10.2f} "
            f"{r['median_wall_ms']:>7.2f} {r['cpu_ms']:>9.2f} {waiting:>11.0%}")


if __name__ == "__main__":
    main()

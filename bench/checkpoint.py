"""What a LadybugDB checkpoint costs the API's writer after N single-application inserts.

    python bench/checkpoint.py --db /tmp/api-1m.lbug          # the book bench/api.py builds
    python bench/checkpoint.py --applications 100000 --after 1 10 100 1000

LadybugDB appends each commit to its write-ahead log and folds the log into the database file
at a checkpoint, by default automatically once the log passes a size. The checkpoint runs
inside the commit that crosses it, so the API's committer, and every request waiting on it,
waits for it. ``bench/api.py``'s levels of a few hundred requests never cross it; this bench
measures it directly: on a fresh copy of the book, insert N new applications one transaction
each (the API's statement) with automatic checkpoints off, then time one ``CHECKPOINT``; the
peer is a checkpoint with nothing to fold, in the same process. Also printed: the log's size
before each checkpoint, so that the automatic interval can be read off.

``--api``: the same through the HTTP API, where it matters. Bursts of new applications (8
clients each) separated by lulls, posted to a server whose engine folds at ``--threshold-mb``
of log (lowered from the engine's 16 MiB so that a run of a few thousand arrivals crosses it
several times; a burst writes ~2.4 MB per 1,000 applications). Two arms on fresh copies of the
book, in the same run: the engine's checkpoints only (the peer), and the API folding the log
in the lulls (``fraudrings serve``'s default, ``--checkpoint-when-quiet 2``). Printed per arm:
median, p99 and the slowest request, and how many took over a second.

    python bench/checkpoint.py --db /tmp/api-1m.lbug --api --bursts 5 --burst 600 --lull 4
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as api_bench  # noqa: E402 - the sibling bench builds and reuses the same books


def run(n: int, seed: int, db: Path | None, after: list[int]) -> list[dict[str, float]]:
    import ladybug

    from fraudrings.api.models import ApplicationIn
    from fraudrings.api.validation import validate_application
    from fraudrings.graph.load import insert_application
    from fraudrings.graph.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="bench-checkpoint-"))
    try:
        bodies = api_bench.prepare("ladybug", n, sum(after), seed, workdir, db)
        path = workdir / "bench.lbug"
        statements: list = []
        with open_store("ladybug", path=path) as store:  # texts only: nothing is written
            for body in bodies[: sum(after)]:
                row = validate_application(ApplicationIn(**body).contract_row())
                insert_application(store, row, statements.extend)
        database = ladybug.Database(str(path), auto_checkpoint=False)
        conn = ladybug.Connection(database)
        conn.set_max_threads_for_exec(1)  # as the API's connections
        rows = []
        started = time.perf_counter()
        conn.execute("CHECKPOINT")
        rows.append({"inserts": 0, "wal_mb": 0.0, "seconds": time.perf_counter() - started})
        done = 0
        for count in after:
            for cypher, params in statements[done : done + count]:
                conn.execute(cypher, dict(params))
            done += count
            wal = Path(f"{path}.wal")
            size = wal.stat().st_size / 1e6 if wal.exists() else 0.0
            started = time.perf_counter()
            conn.execute("CHECKPOINT")
            rows.append({"inserts": count, "wal_mb": size,
                         "seconds": time.perf_counter() - started})
            print(f"checkpoint after {count} inserts: {rows[-1]['seconds']:.2f} s",
                  file=sys.stderr, flush=True)
        conn.close()
        database.close()
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bursty(n: int, seed: int, db: Path | None, bursts: int, size: int, lull: float,
           clients: int, threshold_mb: float) -> list[dict[str, Any]]:
    """Both arms of ``--api`` (see the module docstring); one row each."""
    import asyncio

    threshold = int(threshold_mb * 1e6)
    arms = [("engine's checkpoints only", {"threshold": threshold, "quiet_after_s": None}),
            ("API folds when quiet (2 s)", {"threshold": threshold})]
    rows = []
    for name, checkpoints in arms:
        workdir = Path(tempfile.mkdtemp(prefix="bench-checkpoint-api-"))
        try:
            bodies = api_bench.prepare("ladybug", n, 20 + bursts * size, seed, workdir, db)
            port = api_bench._free_port()
            server, key = api_bench.start_server("ladybug", workdir, port,
                                                 checkpoints=checkpoints)
            url = f"http://127.0.0.1:{port}"
            latencies: list[float] = []
            try:
                asyncio.run(api_bench.load(url, key, bodies[:20], 1))
                time.sleep(lull)
                for b in range(bursts):
                    chunk = bodies[20 + b * size: 20 + (b + 1) * size]
                    asyncio.run(api_bench.load(url, key, chunk, clients, latencies=latencies))
                    print(f"{name}: burst {b + 1}/{bursts}, slowest so far "
                          f"{max(latencies) * 1e3:.0f} ms", file=sys.stderr, flush=True)
                    time.sleep(lull)
            finally:
                server.terminate()
                server.wait(timeout=120)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        ordered = sorted(latencies)
        rows.append({"arm": name, "requests": len(ordered),
                     "median_ms": 1e3 * ordered[len(ordered) // 2],
                     "p99_ms": api_bench.quantile_ms(ordered, 0.99),
                     "max_ms": 1e3 * ordered[-1], "over_1s": sum(t > 1 for t in ordered)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", type=Path, help="a book prepared by bench/api.py --db (reused: "
                        "a copy is checkpointed), built there if missing")
    parser.add_argument("--after", type=int, nargs="+", default=[1, 10, 100, 1000],
                        help="inserts before each checkpoint (in turn, on one copy)")
    parser.add_argument("--api", action="store_true",
                        help="bursts through the HTTP API instead, both arms (see above)")
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--burst", type=int, default=600, help="applications per burst")
    parser.add_argument("--lull", type=float, default=4.0, help="seconds between bursts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threshold-mb", type=float, default=2.0,
                        help="the engine's checkpoint threshold in both arms")
    args = parser.parse_args()
    if args.api:
        rows = bursty(args.applications, args.seed, args.db, args.bursts, args.burst,
                      args.lull, args.clients, args.threshold_mb)
        print(f"LadybugDB, {args.applications:,} applications: {args.bursts} bursts of "
              f"{args.burst} at {args.clients} clients, {args.lull:g} s apart; engine "
              f"threshold {args.threshold_mb:g} MB")
        print(f"{'arm':28} {'requests':>8} {'median ms':>9} {'p99 ms':>8} {'max ms':>8} "
              f"{'over 1 s':>8}")
        for r in rows:
            print(f"{r['arm']:28} {r['requests']:>8} {r['median_ms']:>9.1f} "
                  f"{r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['over_1s']:>8}")
        return
    rows = run(args.applications, args.seed, args.db, args.after)
    print(f"LadybugDB, {args.applications:,} applications: one CHECKPOINT after N inserts "
          "(one transaction each)")
    print(f"{'inserts':>8} {'log MB':>7} {'checkpoint s':>13}  vs nothing to fold")
    for row in rows:
        ratio = row["seconds"] / max(rows[0]["seconds"], 1e-9)
        print(f"{row['inserts']:>8} {row['wal_mb']:>7.1f} {row['seconds']:>13.2f}  {ratio:.0f}x")


if __name__ == "__main__":
    main()

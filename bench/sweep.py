"""Sweep cost per stage at growing book sizes, beside the textbook WCC peer on the same export.

    python bench/sweep.py                          # 10k, 100k, 1M on LadybugDB; 100k on Neo4j
    python bench/sweep.py --sizes 10000 100000 --neo4j-sizes
    python bench/sweep.py --db /tmp/bench/db1m     # a LadybugDB built before (swept on a copy)

Each case runs in a fresh process. A size is generated (seed 1) and loaded into an empty store
first (not timed as a stage); ``--db`` sweeps a copy of an existing LadybugDB instead, so a 1M
book need not be loaded again for every run. Stages: export, heuristics, gnn (only when a model
exists), rings, write-back. Per stage: wall seconds, CPU seconds of this process (LadybugDB's
worker threads included, Neo4j's server not) and peak resident memory of the process during
the stage (the embedded database engine's included); ``peak MB`` is the highest of them.
``sweep s`` / ``cpu s`` add up export, heuristics, rings and write-back (the gnn stage is
apart: it is the model's cost, or none). The WCC peer (connected
components over shared identifiers, degree cap 50) runs on the same export. ``vs nlogn`` is
the growth of ``sweep s`` from the previous (smaller) case of the same store divided by the
growth of n log n: at or below 1.0 the cost grows no faster than n log n. The 1-minute load
average before and after each case is printed: this machine is shared.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = ["export", "heuristics", "gnn", "rings", "write-back"]
SWEEP = ["export", "heuristics", "rings", "write-back"]  # what the n log n goal is about


def _sweep(store: Any, queue: mp.Queue, extra: dict[str, Any]) -> None:
    from fraudrings.sweep.evaluate import textbook_wcc
    from fraudrings.sweep.run import run_sweep

    n = store.count("Application")
    result = run_sweep(store, use_gnn=True)
    started = time.perf_counter()
    peer = textbook_wcc(result.export, 50)
    peer_s = time.perf_counter() - started
    queue.put({"n": n, "timings": result.timings, "cpu": result.cpu_s, "peaks": result.peak_mb,
               "rings": len(result.rings), "peer_s": peer_s, "peer_rings": len(peer),
               "process_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra})


def _fresh_case(backend: str, n: int, data: str, queue: mp.Queue) -> None:
    from _stores import empty_store

    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import read_applications
    from fraudrings.loaders.generator import generate_portfolio

    path = Path(data) / f"apps-{n}.parquet"
    if not path.exists():
        generate_portfolio(n, seed=1).write(Path(data) / f"p{n}", fmt="parquet")
        (Path(data) / f"p{n}" / "applications.parquet").rename(path)
    with empty_store(backend) as store:
        started = time.perf_counter()
        load_batch(store, read_applications(path))
        _sweep(store, queue, {"load_s": time.perf_counter() - started})


def _db_case(db: str, queue: mp.Queue) -> None:
    from fraudrings.graph.store import open_store

    workdir = tempfile.mkdtemp()
    copy = Path(workdir) / Path(db).name
    try:
        # the sweep writes its rings back: never into the database it was given
        if Path(db).is_dir():
            shutil.copytree(db, copy)
        else:
            shutil.copy2(db, copy)
            for suffix in (".wal",):
                if Path(db + suffix).exists():
                    shutil.copy2(db + suffix, str(copy) + suffix)
        with open_store("ladybug", path=copy) as store:
            _sweep(store, queue, {"load_s": None})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=None,
                        help="LadybugDB book sizes (default 10k 100k 1M, none with --db)")
    parser.add_argument("--neo4j-sizes", type=int, nargs="*", default=None,
                        help="Neo4j book sizes (default 100k, none with --db)")
    parser.add_argument("--db", nargs="*", default=[],
                        help="existing LadybugDB databases to sweep (on a copy)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "fr-bench")
    args = parser.parse_args()
    sizes = args.sizes if args.sizes is not None else (
        [] if args.db else [10_000, 100_000, 1_000_000])
    neo4j_sizes = args.neo4j_sizes if args.neo4j_sizes is not None else (
        [] if args.db else [100_000])
    args.data.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, Any]] = [("ladybug", n) for n in sizes]
    cases += [("ladybug", db) for db in args.db] + [("neo4j", n) for n in neo4j_sizes]
    print("wall s / cpu s / peak MB per stage")
    print(f"{'store':<8} {'apps':>10} " + " ".join(f"{s:>16}" for s in STAGES)
          + f" {'sweep s':>8} {'cpu s':>7} {'peak MB':>8} {'rings':>6} {'WCC s':>6}"
          f" {'vs nlogn':>8} {'load':>9}")
    previous: dict[str, tuple[int, float]] = {}
    ctx = mp.get_context("spawn")
    for backend, case in cases:
        queue = ctx.Queue()
        if isinstance(case, int):
            process = ctx.Process(target=_fresh_case, args=(backend, case, str(args.data), queue))
        else:
            process = ctx.Process(target=_db_case, args=(case, queue))
        load_before = os.getloadavg()[0]
        process.start()
        out = queue.get()
        process.join()
        load_after = os.getloadavg()[0]
        n, t, c, p = out["n"], out["timings"], out["cpu"], out["peaks"]
        total = sum(t.get(s, 0.0) for s in SWEEP)
        cpu = sum(c.get(s, 0.0) for s in SWEEP)
        growth = "-"
        if backend in previous and previous[backend][0] < n:
            n0, t0 = previous[backend]
            growth = f"{(total / t0) / (n * math.log(n) / (n0 * math.log(n0))):.2f}"
        previous[backend] = (n, total)
        cells = " ".join(
            f"{t[s]:>5.1f}/{c[s]:>5.1f}/{p[s]:>4,.0f}" if s in t else f"{'-':>16}"
            for s in STAGES)
        peak = max(p.values())  # the sweep's own peak (the WCC peer runs after it)
        print(f"{backend:<8} {n:>10,} {cells} {total:>8.1f} {cpu:>7.1f} {peak:>8,.0f}"
              f" {out['rings']:>6,} {out['peer_s']:>6.1f} {growth:>8}"
              f" {load_before:>4.1f}-{load_after:<4.1f}", flush=True)


if __name__ == "__main__":
    main()

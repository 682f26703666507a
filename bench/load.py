"""Loading throughput: the bulk path against a naive peer (one transaction per row), per store.

    python bench/load.py                     # 100k and 1M into LadybugDB, 100k into Neo4j
    python bench/load.py --sizes 100000 --neo4j-sizes 100000 1000000

Each case runs in a fresh process so that its peak memory (max RSS) is its own. The naive peer
inserts a sample of rows one transaction each (``insert_application``, the API's path) and is
reported in applications/s for the ratio; it is not run on the full book (it would take hours).
Neo4j is a shared server: each case empties it before and after (the emptying is not timed).
The notes give the 1-minute load average at the end of each case: on a shared machine the
figures are only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path


def _generate(n: int, folder: Path) -> Path:
    from fraudrings.loaders.generator import generate_portfolio

    path = folder / f"apps-{n}.parquet"
    if not path.exists():
        generate_portfolio(n, seed=1).write(folder, fmt="parquet")
        (folder / "applications.parquet").rename(path)
    return path


def _bulk(backend: str, path: str, queue: mp.Queue) -> None:
    from _stores import empty_store

    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import read_applications

    with empty_store(backend) as store:
        started = time.perf_counter()
        batch = read_applications(path)
        validated = time.perf_counter()
        report = load_batch(store, batch)
        done = time.perf_counter()
        if backend == "neo4j":
            store.clear()
    queue.put({"rows": report.loaded, "seconds": done - started,
               "validate_s": validated - started, "store_s": done - validated,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _naive(backend: str, path: str, sample: int, queue: mp.Queue) -> None:
    from _stores import empty_store

    from fraudrings.graph.load import insert_application
    from fraudrings.loaders.contract import read_applications

    rows = read_applications(path).rows.head(sample).to_dict("records")
    with empty_store(backend) as store:
        started = time.perf_counter()
        for row in rows:
            insert_application(store, row)
        done = time.perf_counter()
        if backend == "neo4j":
            store.clear()
    queue.put({"rows": len(rows), "seconds": done - started,
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _run(target, *args) -> dict:  # noqa: ANN001
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--neo4j-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "fr-bench")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    print(f"{'store':<8} {'method':<22} {'apps':>10} {'seconds':>9} {'apps/s':>10} "
          f"{'peak MB':>8}  notes")
    cases = [("ladybug", n) for n in args.sizes] + [("neo4j", n) for n in args.neo4j_sizes]
    naive: dict[str, float] = {}
    for backend, n in cases:
        path = str(_generate(n, args.data))
        if backend not in naive:
            peer = _run(_naive, backend, path, args.naive_sample)
            naive[backend] = peer["rows"] / peer["seconds"]
            print(f"{backend:<8} {'naive: 1 tx per row':<22} {peer['rows']:>10,} "
                  f"{peer['seconds']:>9.1f} {naive[backend]:>10,.0f} {peer['peak_mb']:>8,.0f}"
                  f"  sample of {args.naive_sample}")
        bulk = _run(_bulk, backend, path)
        rate = bulk["rows"] / bulk["seconds"]
        print(f"{backend:<8} {'bulk (fraudrings load)':<22} {bulk['rows']:>10,} "
              f"{bulk['seconds']:>9.1f} {rate:>10,.0f} {bulk['peak_mb']:>8,.0f}"
              f"  validate {bulk['validate_s']:.1f}s + store {bulk['store_s']:.1f}s; "
              f"{rate / naive[backend]:.0f}x the naive peer; load avg {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

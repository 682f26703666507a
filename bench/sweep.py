"""Sweep cost per stage at growing book sizes, beside the textbook WCC peer on the same export.

    python bench/sweep.py                          # 10k, 100k, 1M on LadybugDB; 100k on Neo4j
    python bench/sweep.py --sizes 10000 100000 --neo4j-sizes

Each size runs in a fresh process (peak RSS is its own). Stages: export, heuristics, gnn (only
when a model exists), rings, write-back. The WCC peer (connected components over shared
identifiers, degree cap 50) runs on the same export in the same process. The last column is
time / (n log n) relative to the smallest size: near 1.0 means the cost grows as n log n.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path


def _case(backend: str, n: int, data: str, queue: mp.Queue) -> None:
    from _stores import empty_store

    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import read_applications
    from fraudrings.loaders.generator import generate_portfolio
    from fraudrings.sweep.evaluate import textbook_wcc
    from fraudrings.sweep.run import run_sweep

    path = Path(data) / f"apps-{n}.parquet"
    if not path.exists():
        generate_portfolio(n, seed=1).write(Path(data) / f"p{n}", fmt="parquet")
        (Path(data) / f"p{n}" / "applications.parquet").rename(path)
    with empty_store(backend) as store:
        started = time.perf_counter()
        load_batch(store, read_applications(path))
        load_s = time.perf_counter() - started
        result = run_sweep(store, use_gnn=True)
    started = time.perf_counter()
    peer = textbook_wcc(result.export, 50)
    peer_s = time.perf_counter() - started
    queue.put({"timings": result.timings, "load_s": load_s, "rings": len(result.rings),
               "peer_s": peer_s, "peer_rings": len(peer),
               "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--neo4j-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "fr-bench")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    stages = ["export", "heuristics", "gnn", "rings", "write-back"]
    print(f"{'store':<8} {'apps':>10} " + " ".join(f"{s:>10}" for s in stages)
          + f" {'sweep s':>8} {'peak MB':>8} {'rings':>6} {'WCC s':>6} {'vs nlogn':>8}")
    base: dict[str, float] = {}
    ctx = mp.get_context("spawn")
    for backend, n in [("ladybug", n) for n in args.sizes] + [
            ("neo4j", n) for n in args.neo4j_sizes]:
        queue = ctx.Queue()
        process = ctx.Process(target=_case, args=(backend, n, str(args.data), queue))
        process.start()
        out = queue.get()
        process.join()
        t = out["timings"]
        total = sum(t.get(s, 0.0) for s in stages)
        per = total / (n * math.log(n))
        base.setdefault(backend, per)
        print(f"{backend:<8} {n:>10,} " + " ".join(f"{t.get(s, 0.0):>10.1f}" for s in stages)
              + f" {total:>8.1f} {out['peak_mb']:>8,.0f} {out['rings']:>6,} "
              f"{out['peer_s']:>6.1f} {per / base[backend]:>8.2f}")


if __name__ == "__main__":
    main()

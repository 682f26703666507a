"""Benchmark: every Cypher heuristic on a LadybugDB holding a generated portfolio.

    python bench/queries.py --applications 100000            # generate, load, run, report
    python bench/queries.py --db /tmp/q100k.lbug --reuse      # run on an already loaded store

Prints wall and CPU seconds per heuristic (CPU covers LadybugDB's worker threads, so it stays
meaningful on a busy machine), rows returned, and how many of the flagged applications belong
to planted rings (precision against the generator's labels). The sweep's budget is 1M
applications, heuristics plus ring assembly, in under two minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fraudrings.graph.load import load_batch  # noqa: E402
from fraudrings.graph.store import open_store  # noqa: E402
from fraudrings.loaders.contract import validate  # noqa: E402
from fraudrings.queries import catalog  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(db: Path, n: int, seed: int) -> None:
    from fraudrings.loaders.generator import generate_portfolio

    started = time.perf_counter()
    portfolio = generate_portfolio(n, seed=seed)
    print(f"generated {n:,} applications in {time.perf_counter() - started:.1f}s")
    portfolio.labels.to_csv(db.with_suffix(".labels.csv"), index=False)
    db.with_suffix(".truth.json").write_text(json.dumps(portfolio.truth))
    if db.is_dir():
        shutil.rmtree(db)
    elif db.exists():
        db.unlink()
    started = time.perf_counter()
    batch = validate(portfolio.applications)
    with open_store("ladybug", path=db) as store:
        report = load_batch(store, batch)
    print(f"validated and loaded {report.loaded:,} in {time.perf_counter() - started:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", "-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="run on --db as it is")
    parser.add_argument("--only", nargs="*", default=None, help="heuristic names")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args()
    db = args.db or Path(f"/tmp/fraudrings-bench-{args.applications}.lbug")
    if not args.reuse:
        build(db, args.applications, args.seed)
    labels_path = db.with_suffix(".labels.csv")
    labels = (pd.read_csv(labels_path, keep_default_na=False).set_index("application_id")
              if labels_path.exists() else None)

    # read-only: a database built once (or by someone else) is never changed by a benchmark
    with open_store("ladybug", path=db, read_only=True) as store:
        n = store.count("Application")
        print(f"\n{n:,} applications in {db}\n")
        print(f"{'heuristic':24s} {'wall s':>7s} {'cpu s':>7s} {'rows':>6s} {'flagged':>8s} "
              f"{'in rings':>8s}")
        total_wall = total_cpu = 0.0
        for h in catalog.catalog():
            if args.only and h.name not in args.only:
                continue
            best = None
            for _ in range(max(1, args.repeat)):
                wall, cpu = time.perf_counter(), cpu_seconds()
                frame = catalog.run(store, h)
                took = (time.perf_counter() - wall, cpu_seconds() - cpu)
                best = took if best is None or took[0] < best[0] else best
            assert best is not None
            flagged = sorted({m for members in frame["members"] for m in members})
            precision = (f"{(labels.loc[flagged, 'ring'] != '').mean():8.2f}"
                         if labels is not None and flagged else f"{'-':>8s}")
            print(f"{h.name:24s} {best[0]:7.2f} {best[1]:7.2f} {len(frame):6d} {len(flagged):8d} "
                  f"{precision}")
            total_wall += best[0]
            total_cpu += best[1]
        print(f"{'total':24s} {total_wall:7.2f} {total_cpu:7.2f}")


if __name__ == "__main__":
    main()

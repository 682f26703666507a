"""The GNN beside its peers, and what it costs, on this machine.

    python bench/gnn.py portfolio --n 30000 --seeds 0 1 2 3 4  # peers, heuristics, joint
    python bench/gnn.py gadbench --splits 10                   # Tolokers, Reddit
    python bench/gnn.py gadbench --splits 10 --datasets reddit --select-on-validation --workers 2
    python bench/gnn.py gadbench --splits 10 --datasets reddit --select-on-validation --grid wider
    python bench/gnn.py scale --sizes 100000 1000000           # epoch time, memory, latency
    python bench/gnn.py all

``portfolio``: generated books, temporal split, metrics against the generator's true labels on
the newest labelled applications ("test") and on the newest ones whose outcomes are not known
yet ("unlabelled"). The heuristics-alone and joint rows run the product's sweep (a LadybugDB per
book and view, every heuristic, ring assembly with and without the GNN's scores); ``--heuristics
none`` skips them, ``--heuristics module:function`` names another factory (see
``fraudrings.gnn.benchmark.Heuristics``).
``gadbench --select-on-validation``: the project's model is chosen per dataset from the grid
declared in ``fraudrings.gnn.benchmark.GADBENCH_GRID`` by the mean validation AUPRC over all
the splits (printed: validation only); then that choice's test metrics beside GraphSAGE and
XGB-Graph on the same splits.
``scale``: each training case runs in a fresh process so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import platform
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def portfolio(args: argparse.Namespace) -> None:
    from fraudrings.gnn.benchmark import portfolio_benchmark, summarise, sweep_scorer

    heuristics = None
    if args.heuristics == "sweep":
        heuristics = sweep_scorer
    elif args.heuristics != "none":
        module, _, name = args.heuristics.partition(":")
        heuristics = getattr(importlib.import_module(module), name)
    table = portfolio_benchmark(args.n, args.seeds, heuristics=heuristics,
                                difficulty=args.difficulty, log=print)
    print(f"\n## Portfolio: {args.n:,} applications, seeds {args.seeds}, true labels")
    print(table.round(4).to_string(index=False))
    print()
    print(summarise(table, ["eval", "model"], ["auroc", "ap", "recall_top1pct"])
          .to_string(index=False))


def gadbench(args: argparse.Namespace) -> None:
    from fraudrings.gnn.benchmark import (
        GADBENCH_CONFIG,
        GADBENCH_GRID,
        GADBENCH_WIDER_GRID,
        gadbench,
        gadbench_select,
        summarise,
    )

    if args.select_on_validation:
        grid = GADBENCH_WIDER_GRID if args.grid == "wider" else GADBENCH_GRID
        selection, table = gadbench_select(args.datasets, args.splits, grid=grid,
                                           workers=args.workers, cache=args.cache, log=print)
        print(f"\n## GADBench: selection on validation ({args.splits} splits; base "
              f"{GADBENCH_CONFIG}; mean validation AUPRC over the splits, no test metric)")
        print(selection.round(4).to_string(index=False))
        print(f"\n## GADBench: the selected configuration on test ({args.splits} splits)")
        print(table.round(4).to_string(index=False))
        print()
        print(summarise(table, ["dataset", "model"], ["val_ap", "auroc", "ap", "rec_at_k"])
              .to_string(index=False))
        return
    table = gadbench(args.datasets, args.splits, log=print)
    print(f"\n## GADBench ({args.splits} splits each; {GADBENCH_CONFIG})")
    print(table.round(4).to_string(index=False))
    print()
    print(summarise(table, ["dataset", "model"], ["auroc", "ap", "rec_at_k"])
          .to_string(index=False))


def _child(target: str, kwargs: dict, queue: mp.Queue, threads: int) -> None:
    _threads(threads)
    from fraudrings.gnn import benchmark

    queue.put(getattr(benchmark, target)(**kwargs))


def _in_process(target: str, threads: int, **kwargs: object) -> dict:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, kwargs, queue, threads))
    process.start()
    result = queue.get()
    process.join()
    return result


def scale(args: argparse.Namespace) -> None:
    rows = []
    for n in args.sizes:
        for batch in ([None] if n <= args.full_batch_max else []) + [args.batch_size]:
            print(f"training cost: {n:,} applications, batch {batch or 'full'}", flush=True)
            rows.append(_in_process("training_cost", args.threads, n=n, batch_size=batch,
                                    epochs=args.epochs))
            print(rows[-1], flush=True)
    if rows:
        print(f"\n## Training cost ({args.threads} thread(s), {platform.processor() or 'cpu'})")
        print(pd.DataFrame(rows).round(2).to_string(index=False))
    latency = []
    for n in args.latency_sizes:
        print(f"scoring cost: {n:,} applications", flush=True)
        latency.append(_in_process("scoring_cost", args.threads, n=n,
                                   latency_samples=args.samples))
    if latency:
        print("\n## Scoring: whole book (from an export) and one application (LadybugDB)")
        print(pd.DataFrame(latency).round(2).T.to_string(header=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["portfolio", "gadbench", "scale", "all"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on two shared cores)")
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--difficulty", type=float, default=1.0)
    parser.add_argument("--heuristics", default="sweep",
                        help="sweep (the product's, default), none, or module:function")
    parser.add_argument("--datasets", nargs="+", default=["tolokers", "reddit"])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--select-on-validation", action="store_true",
                        help="gadbench: choose the project's configuration from the declared "
                             "grid by mean validation AUPRC over the splits")
    parser.add_argument("--grid", choices=["declared", "wider"], default="declared",
                        help="gadbench --select-on-validation: GADBENCH_GRID, or "
                        "GADBENCH_WIDER_GRID (both declared before any of their runs)")
    parser.add_argument("--workers", type=int, default=1,
                        help="gadbench --select-on-validation: splits run in this many "
                             "processes")
    parser.add_argument("--cache", type=Path, default=None,
                        help="gadbench --select-on-validation: keep each split's rows in this "
                             "folder (an interrupted run resumes)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="training-cost books (none: only the scoring cost)")
    parser.add_argument("--full-batch-max", type=int, default=100_000,
                        help="largest book also trained full-batch")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--latency-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    _threads(args.threads)
    if args.what in ("portfolio", "all"):
        portfolio(args)
    if args.what in ("gadbench", "all"):
        gadbench(args)
    if args.what in ("scale", "all"):
        scale(args)


if __name__ == "__main__":
    main()

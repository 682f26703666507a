"""What GNN scorings in parallel threads cost each other — why the API scores one at a time.

    python bench/gnn_parallel.py --db /tmp/api-1m.lbug --model MODEL.pt --threads 1 4

Scores stored applications inductively (``GnnScorer.score``, the API's path, with the links in
memory) from 1 and from N threads of one process, with the API's one-at-a-time gate taken out;
the 1-thread run is the peer, in the same process. Printed per run: scorings per second, CPU
per scoring, median latency, and context switches per scoring (``getrusage``). torch releases
the GIL around each of its small operations, so concurrent scorings hand it over at every one
of them; one at a time, nobody waits for it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import threading
import time
import warnings
from pathlib import Path


def _switches() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def run(db: Path, model: Path, threads: list[int], scorings: int) -> list[dict[str, float]]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from fraudrings.api.gnn import GnnScorer
    from fraudrings.graph.linkindex import LinkIndex
    from fraudrings.graph.store import open_store

    torch.set_num_threads(1)  # as the API's server
    rows = []
    with open_store("ladybug", path=db, read_only=True) as store:
        store.prefer_small_queries()
        links = LinkIndex(store)
        links.rebuild()
        scorer = GnnScorer(model)
        if not scorer.available:
            raise SystemExit(f"cannot score with {model}")
        scorer._scoring = contextlib.nullcontext()  # the gate out: scorings run in parallel
        ids = [r["id"] for r in store.query(
            "MATCH (a:Application) RETURN a.application_id AS id ORDER BY id DESC LIMIT $n",
            {"n": scorings + 30})]
        for app in ids[:30]:  # warm: imports, the model, torch's kernels
            scorer.score(store, app, links)
        work = ids[30:]
        for n in threads:
            parts = [work[k::n] for k in range(n)]
            latencies: list[float] = []

            def score(part: list[str], latencies: list[float] = latencies) -> None:
                for app in part:
                    started = time.perf_counter()
                    scorer.score(store, app, links)
                    latencies.append(time.perf_counter() - started)

            switches, started, cpu = _switches(), time.perf_counter(), time.process_time()
            workers = [threading.Thread(target=score, args=(part,)) for part in parts]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            latencies.sort()
            rows.append({"threads": n, "per_s": len(work) / wall,
                         "cpu_ms": 1e3 * cpu / len(work),
                         "median_ms": 1e3 * latencies[len(latencies) // 2],
                         "switches": (_switches() - switches) / len(work)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True,
                        help="a LadybugDB book (bench/api.py --db builds one), opened read-only")
    parser.add_argument("--model", type=Path, required=True, help="a GNN checkpoint")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--scorings", type=int, default=600)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    rows = run(args.db, args.model, args.threads, args.scorings)
    print(f"GNN scorings of stored applications, {args.scorings} per run, one process")
    print(f"{'threads':>7} {'scorings/s':>10} {'CPU ms each':>11} {'median ms':>9} "
          f"{'context switches each':>21}")
    for r in rows:
        print(f"{r['threads']:>7} {r['per_s']:>10.1f} {r['cpu_ms']:>11.1f} "
              f"{r['median_ms']:>9.1f} {r['switches']:>21.1f}")


if __name__ == "__main__":
    main()

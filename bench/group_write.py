"""One group commit's transaction on Neo4j: a round trip per statement, or each run of one text
as one statement (what ``Neo4jStore.write`` sends).

    python bench/group_write.py                                   # a 100k book
    python bench/group_write.py --applications 1000000 --keep-neo4j

The API's committer (:mod:`fraudrings.api.commits`) commits the writes of concurrent requests
as one transaction: each new application's insert, and the score of each application answered
a moment before. On a server every statement is a network round trip; ``Neo4jStore.write``
sends a run of one text as one ``UNWIND`` statement instead. This bench puts a generated book in
the local Neo4j (as ``bench/api.py`` does; ``--keep-neo4j`` keeps it for the next run), then
commits groups of ``--group`` new applications — their inserts, then a score write each, the
API's own statements — the two ways in turn: ``one by one`` (each statement run and consumed in
the driver's transaction, as the store did before) and ``batched`` (``Neo4jStore.write``).
Reported per transaction: median wall time and the mean CPU this process (the driver) spent.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api as api_bench  # noqa: E402 - the sibling bench builds and reuses the same books


def one_by_one(store: Any, statements: list) -> None:
    """The transaction as ``Neo4jStore.write`` sent it before batching."""
    def work(tx: Any) -> None:
        for cypher, params in statements:
            tx.run(cypher, dict(params)).consume()

    with store._driver.session(database=store.database) as session:  # the store's own driver
        session.execute_write(work)


def run(n: int, seed: int, group: int, groups: int, keep: bool) -> dict[str, dict[str, float]]:
    from fraudrings.api.models import ApplicationIn
    from fraudrings.api.scoring import Assessor
    from fraudrings.api.validation import validate_application
    from fraudrings.graph.load import insert_application
    from fraudrings.graph.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="bench-group-write-"))
    try:
        bodies = api_bench.prepare("neo4j", n, group * groups, seed, workdir, keep=keep)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    times: dict[str, list[tuple[float, float]]] = {"one by one": [], "batched": []}
    with open_store("neo4j") as store:
        try:
            for k in range(groups):
                inserts: list = []
                scores = []
                for body in bodies[k * group:(k + 1) * group]:
                    row = validate_application(ApplicationIn(**body).contract_row())
                    insert_application(store, row, inserts.extend)
                    scores.append(Assessor._score_statement(row["application_id"], 0.3, None,
                                                            keep_higher=True))
                arm = "batched" if k % 2 else "one by one"  # interleaved: the same drift
                wall, cpu = time.perf_counter(), time.process_time()
                (store.write if arm == "batched" else
                 lambda s: one_by_one(store, s))(inserts + scores)
                times[arm].append((time.perf_counter() - wall, time.process_time() - cpu))
        finally:
            if not keep:
                store.clear()
    return {arm: {"transactions": len(v), "median_ms": 1000 * statistics.median(w for w, _ in v),
                  "cpu_ms": 1000 * statistics.fmean(c for _, c in v)}
            for arm, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=100_000)
    parser.add_argument("--group", type=int, default=6,
                        help="applications a transaction (the API's at 8 clients: ~5-7)")
    parser.add_argument("--groups", type=int, default=80, help="transactions, both arms")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep-neo4j", action="store_true",
                        help="keep the book loaded after the run and reuse it")
    args = parser.parse_args()
    result = run(args.applications, args.seed, args.group, args.groups, args.keep_neo4j)
    print(f"Neo4j, {args.applications:,}-application book, {args.group} new applications and "
          f"{args.group} score writes a transaction")
    print(f"{'arm':12} {'transactions':>12} {'median ms':>9} {'driver CPU ms':>13}")
    for arm, r in result.items():
        print(f"{arm:12} {r['transactions']:>12} {r['median_ms']:>9.2f} {r['cpu_ms']:>13.2f}")


if __name__ == "__main__":
    main()

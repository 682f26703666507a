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
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", type=Path, help="a book prepared by bench/api.py --db (reused: "
                        "a copy is checkpointed), built there if missing")
    parser.add_argument("--after", type=int, nargs="+", default=[1, 10, 100, 1000],
                        help="inserts before each checkpoint (in turn, on one copy)")
    args = parser.parse_args()
    rows = run(args.applications, args.seed, args.db, args.after)
    print(f"LadybugDB, {args.applications:,} applications: one CHECKPOINT after N inserts "
          "(one transaction each)")
    print(f"{'inserts':>8} {'log MB':>7} {'checkpoint s':>13}  vs nothing to fold")
    for row in rows:
        ratio = row["seconds"] / max(rows[0]["seconds"], 1e-9)
        print(f"{row['inserts']:>8} {row['wal_mb']:>7.1f} {row['seconds']:>13.2f}  {ratio:.0f}x")


if __name__ == "__main__":
    main()

"""HTTP API latency and throughput: new applications posted at 1, 8 and 32 concurrent clients.

    python bench/api.py                                  # 1M applications, LadybugDB and Neo4j
    python bench/api.py --applications 100000            # a quick run
    python bench/api.py --applications 100000 --stores ladybug --requests 100
    python bench/api.py --stores ladybug --db /tmp/api-1m.lbug   # build once, then reuse
    python bench/api.py --stores neo4j --keep-neo4j      # load the book into Neo4j once
    python bench/api.py --model ~/.fraudrings/models     # with the GNN (default: without)
    python bench/api.py --stores ladybug --link-index both   # beside its peer without the index

What it does, per store: generate a book of N applications plus the arrivals, load the N oldest
(bulk load), sweep them as the nightly job would (rings, flags and scores stored, no GNN;
``--no-sweep`` skips it), start ``fraudrings serve``'s app in a *separate process* on loopback,
then post the newest applications, never seen before, in arrival order from this process — the
underwriting call, each one validated, stored, looked around, assembled and answered — with 1, 8
and 32 clients. Each level gets its own fresh arrivals (a replay would be cheaper). Reported:
median and p99 latency as the client sees it, throughput, errors (any non-2xx answer or failed
request), and the CPU each process spent per request: the client's, the API server's and, on
Neo4j, the database server's and the part of that its JIT compiler took (from ``/proc``).
Goals: p99 < 50 ms at 8 clients on LadybugDB, < 100 ms on Neo4j. Below the table, where the
time went: each answer's ``Server-Timing`` steps (queued for a thread, the insert, queued for
the group commit, the transaction, the neighbourhood, the ring, ...) averaged over the middle
10% of requests by latency and over the slowest 1%, so a tail can be laid at one step's door.

``--rates R …`` adds open-loop levels: Poisson arrivals at R requests/s whatever the answers
(the way applications reach an underwriting system), latency counted from each scheduled
arrival so that queueing is included. The "load" column shows clients, or a rate as "R/s".

Before the levels, ``--warmup`` applications (400) are posted at ``--warmup-clients`` (8) and
shown as the ``warm 8`` row: a server that has just started, on a store just loaded, is not
the server underwriting calls meet. Neo4j's planner settles the plans it made while the load
changed the statistics (``debug.log``: "Discarded stale query from the query cache") over the
first few hundred requests, and its JVM compiles the API's hot paths for a few thousand: on 2
cores a compiler thread busy for a few hundred milliseconds stalls every request in flight. So
on Neo4j the warm-up goes on in rounds of 200 until one round's just-in-time compilation takes
less than ``--settle-jit`` (0.5) ms of CPU per request, up to ``--warmup-max`` (4,000) in all;
the ``JIT`` column (part of Neo4j's) shows that compiler's CPU per request in every row, so a
level run on a server still compiling says so. The warm-up row keeps its cost in sight rather
than inside the first level.

Generating and loading 1M applications takes ~10 minutes on 2 cores, so a prepared book can be
reused. ``--db PATH`` (LadybugDB): PATH is built on the first run, with its unseen arrivals
beside it (``PATH.arrivals.jsonl``); every run then works on a fresh copy, so the arrivals are
always new to the store. ``--keep-neo4j``: the book stays in Neo4j after the run, marked by a
``(:Load)`` node; a later run with the same N and seed skips the load and posts only arrivals
the server has never seen. Without it the bench empties Neo4j when done.

Neo4j: the bench clears the database of the local server (``scripts/neo4j``) and loads the
book into it. Both the server and this client share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fraudrings.api import timing

ROOT = Path(__file__).resolve().parent.parent
GOALS_MS = {"ladybug": 50.0, "neo4j": 100.0}
#: Arrivals generated with a reusable book: enough for several runs against a kept Neo4j.
POOL = 8000
#: Applications a warm-up round posts while Neo4j's JIT compiler settles.
SETTLE_ROUND = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate(n: int, arrivals: int, seed: int) -> tuple[Any, list[dict[str, Any]]]:
    """A generated book of ``n + arrivals``: the N oldest as a frame, the newest as bodies."""
    from fraudrings.loaders.generator import generate_portfolio

    apps = generate_portfolio(n + arrivals, seed=seed).applications
    apps = apps.sort_values(["applied_at", "application_id"], kind="stable")
    book, new = apps.iloc[:n], apps.iloc[n:]
    return book, [{k: v for k, v in row.items()
                   if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))}
                  for row in new.to_dict("records")]


def load_book(store: str, book: Any, sweep: bool = True, **options: Any) -> int:
    from fraudrings.graph.store import open_store

    with open_store(store, **options) as db:
        if store == "neo4j":
            db.clear()
        _load(db, book, sweep)
        return db.count("Application")


def _load(db: Any, book: Any, sweep: bool = True) -> None:
    """Load the book, then (``sweep``) sweep it as the nightly job would: the arrivals meet
    the rings, flags and scores a sweep leaves, as they do in production (no GNN model)."""
    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import validate
    from fraudrings.sweep.run import run_sweep

    load_batch(db, validate(book))
    if sweep:
        started = time.perf_counter()
        rings = len(run_sweep(db, use_gnn=False).rings)
        print(f"swept the book: {rings:,} rings in {time.perf_counter() - started:.0f}s",
              file=sys.stderr, flush=True)


def prepare(store: str, n: int, arrivals: int, seed: int, workdir: Path,
            db: Path | None = None, keep: bool = False, sweep: bool = True,
            ) -> list[dict[str, Any]]:
    """Put a book of N applications in the store (swept unless ``sweep`` is False); return
    at least ``arrivals`` it never saw."""
    started = time.perf_counter()
    if store == "ladybug" and db is not None:
        bodies = prepared_ladybug(db, n, arrivals, seed, sweep)
        copy_book(db, workdir / "bench.lbug")  # a copy per run: the arrivals stay unseen
        print(f"ladybug: copied the prepared book {db} in "
              f"{time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
        return bodies
    if store == "neo4j" and keep:
        bodies = _kept_neo4j(n, arrivals, seed, sweep)
        print(f"neo4j: book ready in {time.perf_counter() - started:.0f}s", file=sys.stderr,
              flush=True)
        return bodies
    book, bodies = generate(n, arrivals, seed)
    options = {"path": workdir / "bench.lbug"} if store == "ladybug" else {}
    count = load_book(store, book, sweep, **options)
    print(f"{store}: {count:,} applications loaded in {time.perf_counter() - started:.0f}s",
          file=sys.stderr, flush=True)
    return bodies


def copy_book(db: Path, target: Path) -> None:
    """A LadybugDB book and its write-ahead log, if it has one, copied to ``target``."""
    for suffix in ("", ".wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", f"{target}{suffix}")


def prepared_ladybug(db: Path, n: int, arrivals: int, seed: int,
                     sweep: bool = True) -> list[dict[str, Any]]:
    """The arrivals of the book at ``db``, built there with them first if it is missing."""
    sidecar = Path(f"{db}.arrivals.jsonl")
    meta = {"applications": n, "seed": seed, "swept": sweep}
    if db.exists():
        if not sidecar.exists():
            raise SystemExit(f"{db} exists but has no {sidecar.name}: not built by this bench")
        with sidecar.open(encoding="utf-8") as lines:
            found = json.loads(next(lines))
            if found != meta:
                raise SystemExit(f"{db} holds {found}, not {meta}")
            bodies = [json.loads(line) for line in lines]
        if len(bodies) < arrivals:
            raise SystemExit(f"{sidecar} has {len(bodies)} arrivals; this run needs {arrivals}")
        return bodies
    book, bodies = generate(n, max(arrivals, POOL), seed)
    count = load_book("ladybug", book, sweep, path=db)
    with sidecar.open("w", encoding="utf-8") as out:
        out.write(json.dumps(meta) + "\n")
        out.writelines(json.dumps(body) + "\n" for body in bodies)
    print(f"ladybug: built {db} with {count:,} applications", file=sys.stderr, flush=True)
    return bodies


def _kept_neo4j(n: int, arrivals: int, seed: int, sweep: bool = True) -> list[dict[str, Any]]:
    """The book in Neo4j, loaded unless one of this N, seed and sweep is kept there that was
    generated with at least ``arrivals``; its arrivals the server does not hold yet (earlier
    runs posted some)."""
    from fraudrings.graph.store import open_store

    # the generated count is in the marker: a book generated with more arrivals is another
    # book; a kept book generated with at least as many as this run needs is reused as it is
    prefix, suffix = f"bench-api-{n}-{seed}-", "-swept" if sweep else ""
    with open_store("neo4j") as db:
        kept = [int(found.group(1)) for row in db.query(
            "MATCH (l:Load) WHERE l.load_id STARTS WITH $prefix RETURN l.load_id AS id",
            {"prefix": prefix})
            if (found := re.fullmatch(re.escape(prefix) + r"(\d+)" + re.escape(suffix),
                                      row["id"]))]
        count = kept[0] if kept and kept[0] >= arrivals else max(arrivals, POOL)
        marker = f"{prefix}{count}{suffix}"
        book, bodies = generate(n, count, seed)
        if count not in kept:
            print(f"neo4j: loading the book ({marker})", file=sys.stderr, flush=True)
            db.clear()
            _load(db, book, sweep)
            db.write([("MERGE (l:Load {load_id: $id}) SET l.source = $id, l.rows = $n",
                       {"id": marker, "n": n})])
        held = {r["id"] for r in db.query(
            "UNWIND $ids AS i MATCH (a:Application {application_id: i}) RETURN i AS id",
            {"ids": [b["application_id"] for b in bodies]})}
    fresh = [b for b in bodies if b["application_id"] not in held]
    if len(fresh) < arrivals:
        raise SystemExit(f"only {len(fresh)} unseen arrivals left in Neo4j; run without "
                         "--keep-neo4j to reload the book")
    return fresh


def start_server(store: str, workdir: Path, port: int, model: str = "",
                 link_index: bool = True, checkpoints: dict[str, Any] | None = None,
                 ) -> tuple[subprocess.Popen, str]:
    """The server in a process of its own. ``checkpoints``: LadybugDB's ``threshold`` (bytes of
    log at which the engine folds it) and the API's ``quiet_after_s`` / ``quiet_min_bytes``
    (:class:`fraudrings.api.commits.QuietCheckpoint`); default: ``fraudrings serve``'s."""
    from fraudrings.api import auth

    keys_file = workdir / "api-keys"
    key = auth.add_key(keys_file, f"bench-{port}", "write")
    command = [sys.executable, str(Path(__file__).resolve()), "_serve", store, str(workdir),
               str(port), str(keys_file), model, "index" if link_index else "cypher",
               json.dumps(checkpoints or {})]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # the link index of 1M applications takes ~35 s
    import httpx

    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the {store} server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server, key
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the {store} server did not become ready")


def _serve(store: str, workdir: str, port: str, keys_file: str, model: str,
           links: str, checkpoints: str = "{}") -> None:
    """The server process: what ``fraudrings serve`` runs, with the bench's store and keys."""
    import uvicorn

    from fraudrings.api.app import create_app
    from fraudrings.api.auth import KeyStore
    from fraudrings.api.commits import QuietCheckpoint
    from fraudrings.api.gnn import GnnScorer
    from fraudrings.graph.store import open_store

    settings = json.loads(checkpoints)
    quiet = QuietCheckpoint(**{k[len("quiet_"):]: v for k, v in settings.items()
                               if k.startswith("quiet_")})
    options: dict[str, Any] = {}
    if store == "ladybug":
        options = {"path": Path(workdir) / "bench.lbug",
                   "checkpoint_threshold": settings.get("threshold")}
    with open_store(store, **options) as db:
        db.prefer_small_queries()
        gnn = GnnScorer(model) if model else GnnScorer(enabled=False)
        if model and not gnn.available:
            raise SystemExit(f"cannot score with {model}: see the log above")
        app = create_app(db, keys=KeyStore(Path(keys_file)), gnn=gnn,
                         link_index=links == "index", quiet_checkpoint=quiet)
        uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning",
                    access_log=False)


class _Client:
    """One HTTP client for a level: aiohttp (the default) or httpx. The client shares the two
    cores with the server, so its own CPU per request is reported beside the latencies; aiohttp
    spends about half what httpx does (measured with ``--client``)."""

    def __init__(self, kind: str, url: str, key: str, connections: int) -> None:
        self.kind, self.url, self.key, self.connections = kind, url, key, connections

    async def __aenter__(self) -> _Client:
        if self.kind == "httpx":
            import httpx

            limits = httpx.Limits(max_connections=self.connections,
                                  max_keepalive_connections=self.connections)
            self.http = httpx.AsyncClient(base_url=self.url, headers={"X-API-Key": self.key},
                                          timeout=120, limits=limits)
            self.errors: tuple[type[BaseException], ...] = (httpx.HTTPError,)
        else:
            import aiohttp

            self.http = aiohttp.ClientSession(
                base_url=self.url, headers={"X-API-Key": self.key},
                timeout=aiohttp.ClientTimeout(total=120),
                connector=aiohttp.TCPConnector(limit=self.connections))
            self.errors = (aiohttp.ClientError, asyncio.TimeoutError)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.kind == "httpx":
            await self.http.aclose()
        else:
            await self.http.close()

    async def post(self, body: dict[str, Any]) -> tuple[bool, str, dict[str, float]]:
        """(answered 2xx, label, steps): the status code or the exception's name, and the
        server's ``Server-Timing`` in ms per step (empty without an answer)."""
        try:
            if self.kind == "httpx":
                answer = await self.http.post("/v1/applications", json=body)
                status = answer.status_code
            else:
                async with self.http.post("/v1/applications", json=body) as answer:
                    await answer.read()
                    status = answer.status
        except self.errors as exc:
            return False, type(exc).__name__, {}
        return (status in (200, 201), str(status),
                timing.parse(answer.headers.get(timing.HEADER)))


#: A request as the client saw it: its latency in seconds, and the server's ms per step.
Answer = tuple[float, dict[str, float]]


async def load(url: str, key: str, bodies: list[dict[str, Any]], clients: int,
               client: str = "aiohttp", answers: list[Answer] | None = None) -> dict[str, Any]:
    """Post every body, ``clients`` at a time; latency per request as the client sees it
    (``answers``: a list each request's :data:`Answer` is appended to)."""
    queue = iter(bodies)
    answers = [] if answers is None else answers
    errors: dict[str, int] = {}
    async with _Client(client, url, key, clients) as http:

        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                ok, label, steps = await http.post(body)
                answers.append((time.perf_counter() - started, steps))
                if not ok:
                    errors[label] = errors.get(label, 0) + 1

        started, cpu, before = time.perf_counter(), time.process_time(), len(answers)
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return _summary(answers[before:], errors, wall, cpu)


async def paced(url: str, key: str, bodies: list[dict[str, Any]], rate: float,
                seed: int = 0, client: str = "aiohttp") -> dict[str, Any]:
    """Post every body at Poisson arrival times of ``rate`` per second (an open loop: arrivals
    do not wait for answers, as applications reach an underwriting system). Latency counts from
    the scheduled arrival, so time spent queued behind earlier requests is included."""
    import random

    gaps = random.Random(seed)
    answers: list[Answer] = []
    errors: dict[str, int] = {}
    async with _Client(client, url, key, 256) as http:

        async def one(body: dict[str, Any], due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            ok, label, steps = await http.post(body)
            answers.append((time.perf_counter() - due, steps))
            if not ok:
                errors[label] = errors.get(label, 0) + 1

        started = due = time.perf_counter()
        cpu = time.process_time()
        tasks = []
        for body in bodies:
            due += gaps.expovariate(rate)
            tasks.append(asyncio.create_task(one(body, due)))
        await asyncio.gather(*tasks)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return _summary(answers, errors, wall, cpu)


def quantile_ms(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted latencies in seconds, in milliseconds (nearest rank)."""
    return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _summary(answers: list[Answer], errors: dict[str, int], wall: float,
             cpu: float) -> dict[str, Any]:
    ordered = sorted(seconds for seconds, _ in answers)
    p99 = quantile_ms(ordered, 0.99)
    by_latency = sorted(answers, key=lambda a: a[0])
    middle = by_latency[int(0.45 * len(by_latency)):max(1, int(0.55 * len(by_latency)))]
    return {"requests": len(ordered), "errors": errors,
            "client_cpu_ms": 1000 * cpu / max(1, len(ordered)),
            "median_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": p99,
            "per_s": len(ordered) / wall,
            # where the time went: the typical request and the slowest 1%
            "steps_middle": mean_steps(middle),
            "steps_slowest": mean_steps([a for a in answers if 1000 * a[0] >= p99])}


def mean_steps(answers: list[Answer]) -> dict[str, float]:
    """The mean ms of each ``Server-Timing`` step over ``answers``, and ``outside``: what the
    client waited beyond the server's ``total`` (HTTP, the event loop, the network)."""
    timed = [(seconds, steps) for seconds, steps in answers if "total" in steps]
    if not timed:
        return {}
    sums: dict[str, float] = {}
    for seconds, steps in timed:
        for name, ms in steps.items():
            sums[name] = sums.get(name, 0.0) + ms
        sums["outside"] = sums.get("outside", 0.0) + max(0.0, 1000 * seconds - steps["total"])
    return {name: total / len(timed) for name, total in sums.items()}


def _stat_seconds(stat: Path) -> float:
    """User plus system CPU seconds from a ``/proc`` ``stat`` file (of a process or a thread)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """CPU time a process has used (Linux ``/proc``; NaN where that cannot be read)."""
    try:
        return _stat_seconds(Path(f"/proc/{pid}/stat"))
    except (OSError, ValueError, IndexError):
        return math.nan


def jit_seconds(pid: int | None) -> float:
    """CPU time a JVM's just-in-time compiler threads have used (HotSpot names them ``C1
    CompilerThre…`` and ``C2 CompilerThre…``); NaN where ``/proc`` cannot be read."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return math.nan
    seconds, found = 0.0, False
    for task in tasks:
        try:
            if "CompilerThre" in (task / "comm").read_text():
                seconds, found = seconds + _stat_seconds(task / "stat"), True
        except OSError:
            continue  # a thread that ended in between
    return seconds if found else math.nan


Meters = dict[str, Callable[[], float]]


def _meters(store: str, api: subprocess.Popen) -> Meters:
    """CPU seconds so far of what serves a request: the API's process and, on Neo4j, the
    JVM and its just-in-time compiler (part of the JVM's)."""
    meters: Meters = {"api": lambda: cpu_seconds(api.pid)}
    if store == "neo4j":
        from fraudrings.graph.backends.neo4j import server as neo4j_server

        pid = neo4j_server.status()["pid"]
        meters["neo4j"] = lambda: cpu_seconds(pid)
        meters["jit"] = lambda: jit_seconds(pid)
    return meters


def _measured(meters: Meters, level: Coroutine[Any, Any, dict[str, Any]],
              ) -> dict[str, Any]:
    """The summary of a level (``load`` or ``paced``), with each server's CPU per request
    beside the client's."""
    before = {name: meter() for name, meter in meters.items()}
    result = asyncio.run(level)
    for name, meter in meters.items():
        result[f"{name}_cpu_ms"] = 1000 * (meter() - before[name]) / max(1, result["requests"])
    return result


def warm_up(url: str, key: str, bodies: list[dict[str, Any]], minimum: int, clients: int,
            client: str, meters: Meters, settle_jit_ms: float = 0.0) -> dict[str, Any]:
    """Post the first ``minimum`` bodies, then, where a JIT compiler is metered and
    ``settle_jit_ms`` is above 0, rounds of :data:`SETTLE_ROUND` until one round's compilation
    takes less than ``settle_jit_ms`` of CPU per request or the bodies run out; one summary of
    all of it, with ``settled`` (the last round's compiler ms per request; NaN if unmetered)."""
    settling = settle_jit_ms > 0 and "jit" in meters
    answers: list[Answer] = []
    rounds: list[dict[str, Any]] = []
    posted = 0
    while posted < min(minimum, len(bodies)) or (
            settling and posted < len(bodies) and not rounds[-1]["jit_cpu_ms"] < settle_jit_ms):
        size = minimum - posted if posted < minimum else SETTLE_ROUND
        rounds.append(_measured(meters, load(url, key, bodies[posted:posted + size], clients,
                                             client, answers)))
        posted += rounds[-1]["requests"]
    errors: dict[str, int] = {}
    for part in rounds:
        for label, count in part["errors"].items():
            errors[label] = errors.get(label, 0) + count
    result = _summary(answers, errors, sum(r["requests"] / r["per_s"] for r in rounds),
                      sum(r["client_cpu_ms"] * r["requests"] / 1000 for r in rounds))
    for name in meters:  # per-round CPU per request, back to the whole warm-up's
        result[f"{name}_cpu_ms"] = sum(r[f"{name}_cpu_ms"] * r["requests"]
                                       for r in rounds) / max(1, posted)
    return {**result, "settled": rounds[-1]["jit_cpu_ms"] if settling and rounds else math.nan}


def run_store(store: str, n: int, levels: list[int], requests: int, warmup: int,
              seed: int, db: Path | None = None, keep: bool = False,
              rates: list[float] = (), model: str = "",
              link_index: bool = True, client: str = "aiohttp",
              warmup_clients: int = 8, sweep: bool = True, settle_jit_ms: float = 0.5,
              warmup_max: int = 4000) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-api-{store}-"))
    # only Neo4j's JVM has a compiler to wait for: elsewhere the warm-up is the minimum
    settles = store == "neo4j" and settle_jit_ms > 0 and warmup > 0
    warmup_max = max(warmup, warmup_max) if settles else warmup
    try:
        bodies = prepare(store, n, warmup_max + requests * (len(levels) + len(rates)), seed,
                         workdir, db, keep, sweep)
        port = _free_port()
        server, key = start_server(store, workdir, port, model, link_index)
        label = store if link_index or store != "ladybug" else "ladybug (no index)"
        url = f"http://127.0.0.1:{port}"
        rows = []
        try:
            meters = _meters(store, server)
            offset = 0
            if warmup:  # imports, plans, caches, and a JVM's compiler: measured, shown, kept out
                result = warm_up(url, key, bodies[:warmup_max], warmup, warmup_clients, client,
                                 meters, settle_jit_ms)
                offset = result["requests"]
                rows.append({"store": label, "applications": n,
                             "clients": f"warm {warmup_clients}", **result})
                print(_row(rows[-1]), file=sys.stderr, flush=True)
                if not math.isnan(result["settled"]):
                    print(f"{store}: warmed up with {offset:,} applications; the JIT compiler "
                          f"took {result['settled']:.2f} ms a request in the last round "
                          f"(settled below {settle_jit_ms} ms: "
                          f"{'yes' if result['settled'] < settle_jit_ms else 'NO'})",
                          file=sys.stderr, flush=True)
            for clients in levels:
                result = _measured(meters, load(url, key, bodies[offset:offset + requests],
                                              clients, client))
                offset += requests
                rows.append({"store": label, "applications": n, "clients": clients, **result})
                print(_row(rows[-1]), file=sys.stderr, flush=True)
            for rate in rates:
                result = _measured(meters, paced(url, key, bodies[offset:offset + requests],
                                               rate, client=client))
                offset += requests
                rows.append({"store": label, "applications": n, "clients": f"{rate:g}/s",
                             **result})
                print(_row(rows[-1]), file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
        if store == "neo4j":  # a shared server: say if someone else changed the book meanwhile
            from fraudrings.graph.store import open_store

            with open_store("neo4j") as neo4j:
                held = neo4j.count("Application")
                posted = offset
                print(f"neo4j: held {held:,} applications after the run ({posted:,} posted); "
                      + ("kept (--keep-neo4j)" if keep else "emptying it"),
                      file=sys.stderr, flush=True)
                if not keep:
                    neo4j.clear()
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


_HEADER = (f"{'store':18} {'applications':>12} {'load':>7} {'requests':>8} {'median ms':>9} "
           f"{'p99 ms':>8} {'req/s':>7} {'CPU ms/req: client':>18} {'API':>5} {'Neo4j':>5} "
           f"{'JIT':>5}  "
           f"{'errors':6} goal (p99 @ 8 clients)")


def _row(r: dict[str, Any]) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
    goal = ""
    if r["clients"] == 8:
        limit = GOALS_MS[r["store"].split()[0]]
        goal = f"< {limit:.0f} ms: {'met' if r['p99_ms'] < limit else 'MISSED'}"
    return (f"{r['store']:18} {r['applications']:>12,} {r['clients']:>7} {r['requests']:>8} "
            f"{r['median_ms']:>9.1f} {r['p99_ms']:>8.1f} {r['per_s']:>7.1f} "
            f"{r['client_cpu_ms']:>18.2f} {r.get('api_cpu_ms', math.nan):>5.2f} "
            f"{_blank_nan(r.get('neo4j_cpu_ms', math.nan)):>5} "
            f"{_blank_nan(r.get('jit_cpu_ms', math.nan)):>5}  {errors:6} {goal}")


_STEPS = ("queue", "validate", "store", "commit-wait", "commit", "gnn", "neighbourhood",
          "ring", "evidence", "outside")
_SHORT = {"validate": "valid", "commit-wait": "c-wait", "neighbourhood": "nbhood",
          "evidence": "evid"}
_STEPS_HEADER = (f"{'store':18} {'load':>7} {'requests':>8} " +
                 " ".join(f"{_SHORT.get(name, name):>7}" for name in _STEPS))


def _steps_row(r: dict[str, Any], which: str) -> str:
    steps = r.get(f"steps_{which}") or {}
    return (f"{r['store']:18} {r['clients']:>7} {which:>8} " +
            " ".join(f"{steps[name]:>7.1f}" if name in steps else f"{'-':>7}"
                     for name in _STEPS))


def _blank_nan(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(*sys.argv[2:9])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=1_000_000,
                        help="applications in the store before the arrivals")
    parser.add_argument("--stores", nargs="+", default=["ladybug", "neo4j"],
                        choices=["ladybug", "neo4j"])
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--rates", nargs="*", type=float, default=[],
                        help="also an open loop: Poisson arrivals at these rates per second")
    parser.add_argument("--requests", type=int, default=200,
                        help="new applications posted per concurrency level or rate")
    parser.add_argument("--warmup", type=int, default=400,
                        help="applications posted before the levels, at --warmup-clients; "
                        "shown as the 'warm N' row, not part of any level")
    parser.add_argument("--warmup-clients", type=int, default=8)
    parser.add_argument("--settle-jit", type=float, default=0.5, metavar="MS",
                        help=f"Neo4j: go on warming up in rounds of {SETTLE_ROUND} until a "
                        "round's JIT compilation takes less than MS of CPU per request (0: no)")
    parser.add_argument("--warmup-max", type=int, default=4000,
                        help="Neo4j: the most applications the warm-up posts in all")
    parser.add_argument("--no-sweep", action="store_true",
                        help="post the arrivals to a book never swept (no rings, flags or "
                        "scores stored): not what production meets")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", type=Path, help="LadybugDB: a prepared book to reuse (a copy "
                        "per run), built there with its arrivals on the first run")
    parser.add_argument("--model", default="",
                        help="a GNN checkpoint the server scores with (default: no GNN)")
    parser.add_argument("--link-index", choices=["on", "off", "both"], default="on",
                        help="LadybugDB: ring links in memory (the default), asked of the "
                        "store each time (off), or both in turn: the peer in the same run")
    parser.add_argument("--client", choices=["aiohttp", "httpx"], default="aiohttp",
                        help="the HTTP client library posting the load")
    parser.add_argument("--keep-neo4j", action="store_true",
                        help="Neo4j: keep the book loaded after the run and reuse it")
    args = parser.parse_args()
    # the driver logs a warning for each query about a label a fresh database does not have yet
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    if args.model:  # the server runs from the project root
        args.model = str(Path(args.model).resolve())
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rows = []
    for store in args.stores:
        variants = [True, False] if store == "ladybug" and args.link_index == "both" else [
            args.link_index != "off"]
        for link_index in variants:
            rows += run_store(store, args.applications, args.clients, args.requests,
                              args.warmup, args.seed, args.db, args.keep_neo4j, args.rates,
                              args.model, link_index, args.client, args.warmup_clients,
                              not args.no_sweep, args.settle_jit, args.warmup_max)
    print(f"POST /v1/applications, new applications, {args.requests} per level, loopback, "
          f"{os.cpu_count()} cores shared by server and client ({args.client}), "
          f"GNN: {args.model or 'off'}, book {'never swept' if args.no_sweep else 'swept'}")
    print(_HEADER)
    for r in rows:
        print(_row(r))
    print("\nWhere the time went (ms, from each answer's Server-Timing): the mean of the middle "
          "10% of requests by latency, then of the slowest 1%; 'outside' is what the client "
          "waited beyond the server's total (HTTP, event loop, network)")
    print(_STEPS_HEADER)
    for r in rows:
        print(_steps_row(r, "middle"))
        print(_steps_row(r, "slowest"))


if __name__ == "__main__":
    main()

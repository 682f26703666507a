"""A batch sweep: export, heuristics, GNN scores, ring assembly, outputs, write-back.

The same function serves the CLI (``fraudrings sweep``) and the tests; it never asks which store
it talks to.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from fraudrings.graph.export import GraphExport, export_graph
from fraudrings.graph.rings import AssemblyParams, Ring, assemble_rings
from fraudrings.graph.store import GraphStore

Progress = Callable[[str], None]


class SweepError(ValueError):
    """A sweep cannot run (an empty store, a bad parameter); the message is one line."""


@dataclass
class SweepResult:
    rings: list[Ring]
    applications: pd.DataFrame
    export: GraphExport
    heuristics: dict[str, pd.DataFrame]
    gnn_used: str | None
    timings: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)
    since: int | None = None
    #: CPU seconds per stage, this process's threads (LadybugDB's workers, not Neo4j's server)
    cpu_s: dict[str, float] = field(default_factory=dict)


def parse_since(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise SweepError(f"--since {value!r} is not a date (use e.g. 2025-06-01)") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp())


def run_sweep(
    store: GraphStore,
    *,
    since: int | None = None,
    heuristic_params: Mapping[str, Mapping[str, Any]] | None = None,
    use_gnn: bool | str = True,
    assembly: AssemblyParams | None = None,
    write: bool = True,
    progress: Progress | None = None,
) -> SweepResult:
    """Sweep the store (or the part touching applications newer than ``since``)."""
    say = progress or (lambda stage: None)
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        say(name)
        reset_peak_rss()
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return fn()
        finally:
            timings[name] = round(time.perf_counter() - started, 3)
            cpu[name] = round(time.process_time() - cpu_started, 3)
            peaks[name] = round(peak_rss_mb(), 1)

    check_heuristic_params(heuristic_params)  # a typo fails before any work is done
    if write and getattr(store, "read_only", False):
        raise SweepError(f"{store.describe()} is open read-only: sweep it without writing "
                         "back (--no-write), or open it writable")
    export = stage("export", lambda: export_graph(store, since=since))
    if export.n == 0:
        raise SweepError(
            "the store holds no applications" + (" newer than --since" if since else "")
            + ": load some first (`fraudrings load FILE`)"
        )
    heuristics = stage("heuristics", lambda: run_heuristics(store, heuristic_params, since))
    gnn_scores, gnn_used = stage("gnn", lambda: gnn_scores_for(store, export, use_gnn))
    rings, scores = stage(
        "rings", lambda: assemble_rings(export, heuristics, gnn_scores, assembly)
    )
    if since is not None:  # rings with nothing new were reported by the sweep that saw them
        rings = [r for r in rings if r.last_seen >= since]
        kept = {r.ring_id for r in rings}
        scores.loc[~scores["ring_id"].isin(kept), "ring_id"] = None
    if write:
        stage("write-back", lambda: _write(store, rings, scores, since))
    return SweepResult(rings, scores, export, heuristics, gnn_used, timings, peaks, since, cpu)


def reset_peak_rss() -> None:
    """Start a new peak-memory window (Linux: /proc/self/clear_refs). The peak is the process's
    resident memory, the database engine's included; tracemalloc saw only Python's allocations
    and slowed every stage it watched."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # elsewhere the peak is the process's whole life


def peak_rss_mb() -> float:
    """The highest resident memory since :func:`reset_peak_rss`, in MiB."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def check_heuristic_params(params: Mapping[str, Mapping[str, Any]] | None) -> None:
    from fraudrings.queries import catalog

    for name, values in (params or {}).items():
        catalog.get(name).bind(values)


def run_heuristics(store: GraphStore, params: Mapping[str, Mapping[str, Any]] | None,
                   since: int | None) -> dict[str, pd.DataFrame]:
    from fraudrings.queries import catalog

    results = catalog.run_all(store, dict(params or {}))
    if since is not None:  # in-loan monitoring: evidence that touches the new applications
        results = {
            name: frame[frame["last_seen"].fillna(0).astype("int64") >= since]
            if "last_seen" in frame.columns else frame
            for name, frame in results.items()
        }
    return results


def gnn_scores_for(store: GraphStore, export: GraphExport,
                   use_gnn: bool | str) -> tuple[pd.Series | None, str | None]:
    """The trained model's scores: ``use_gnn`` True = the latest model if there is one,
    a path = that checkpoint (an error when missing), False = none."""
    if not use_gnn:
        return None, None
    if use_gnn is True and not _latest_model_pointer().exists():
        return None, None  # no model trained: torch is not even imported (seconds)
    from fraudrings.gnn.checkpoint import CheckpointNotFound, IncompatibleCheckpoint, resolve
    from fraudrings.gnn.score import score_book

    wanted = None if use_gnn is True else use_gnn
    try:
        path = resolve(wanted)
    except CheckpointNotFound as exc:
        if wanted is not None:
            raise SweepError(str(exc)) from None
        return None, None
    try:
        return score_book(export, path), str(path)
    except IncompatibleCheckpoint as exc:
        raise SweepError(str(exc)) from None


def _latest_model_pointer() -> Path:
    """Where :func:`fraudrings.gnn.checkpoint.resolve` looks for the latest model by default
    ($FRAUDRINGS_HOME/models/latest), spelled here because importing that module loads torch."""
    home = Path(os.environ.get("FRAUDRINGS_HOME") or Path.home() / ".fraudrings")
    return home / "models" / "latest"


def _write(store: GraphStore, rings: list[Ring], scores: pd.DataFrame,
           since: int | None) -> None:
    from fraudrings.browser.style import mark_ring_members
    from fraudrings.sweep.writeback import write_back

    write_back(store, rings, scores, swept_at=int(time.time()), partial=since is not None)
    mark_ring_members(store)  # Browser's style selects ring members by a label (Neo4j only)


def write_outputs(result: SweepResult, out: Path, *, store_name: str = "") -> dict[str, Path]:
    """rings.jsonl, applications.csv and report.html (see DESIGN.md, output contract)."""
    from fraudrings.sweep.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    rings_path = out / "rings.jsonl"
    with rings_path.open("w", encoding="utf-8") as handle:
        for ring in result.rings:
            handle.write(json.dumps(ring.as_dict(), ensure_ascii=False) + "\n")
    apps_path = out / "applications.csv"
    frame = result.applications.copy()
    frame["ring_id"] = frame["ring_id"].fillna("")
    frame.to_csv(apps_path, index=False, float_format="%.5f")
    meta = {
        "swept_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "store": store_name,
        "applications": int(result.export.n),
        "rings": len(result.rings),
        "since": result.since,
        "gnn": result.gnn_used,
        "timings_s": result.timings,
        "cpu_s": result.cpu_s,
        "peak_mb": result.peak_mb,
        "heuristics": {name: len(frame) for name, frame in result.heuristics.items()},
    }
    (out / "sweep.json").write_text(json.dumps(meta, indent=2))
    report_path = write_report(result, out / "report.html", meta)
    return {"rings": rings_path, "applications": apps_path, "report": report_path,
            "meta": out / "sweep.json"}

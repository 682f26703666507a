"""The GNN's commands: plain functions the CLI (and tests) call, and their click wrappers.

``fraudrings.cli`` owns ``store_options``; importing it here would be circular, so the click
commands are built by :func:`register`, which the main CLI calls with its group and decorator::

    from fraudrings.gnn.cli import register
    register(main, store_options)

Every ``store`` argument is a GraphStore or a zero-argument callable that opens one (what
``store_options`` passes); a callable's store is closed afterwards.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from fraudrings.graph.store import GraphStore

StoreArg = GraphStore | Callable[[], GraphStore]
Log = Callable[[str], None]


@contextlib.contextmanager
def _opened(store: StoreArg) -> Iterator[GraphStore]:
    if isinstance(store, GraphStore):
        yield store
        return
    with store() as db:
        yield db


def train_command(store: StoreArg, out: Path | str | None = None, *, epochs: int = 150,
                  seed: int = 0, batch_size: int | None = None, hidden: int = 64,
                  device: str = "auto", log: Log | None = None) -> dict[str, Any]:
    """Export the store, train on its known outcomes (temporal split), save a checkpoint
    (default: ``$FRAUDRINGS_HOME/models/``, made ``latest``); return a summary."""
    from fraudrings.gnn.checkpoint import save_checkpoint
    from fraudrings.gnn.train import TrainConfig, train_gnn
    from fraudrings.graph.export import export_graph

    with _opened(store) as db:
        export = export_graph(db)
    config = TrainConfig(epochs=epochs, seed=seed, batch_size=batch_size, hidden=hidden,
                         device=device)
    result = train_gnn(export, config, log=log)
    path = save_checkpoint(result.checkpoint, out)
    return {
        "checkpoint": str(path),
        "applications": export.n,
        "split": result.split.summary(),
        "best_epoch": result.fit.best_epoch,
        "seconds_per_epoch": round(result.fit.seconds_per_epoch, 3),
        "threshold": result.checkpoint.threshold,
        "label_lag_days": result.checkpoint.feature_config.label_lag // 86_400,
        "val": result.metrics["val"],
        "test": result.metrics["test"],
    }


def score_command(store: StoreArg, checkpoint: Path | str | None = None,
                  write_back: bool = False, out: Path | str | None = None) -> dict[str, Any]:
    """Score the whole book; optionally write ``Application.gnn_score`` back and/or a CSV
    (application_id, gnn_score); return a summary."""
    from fraudrings.gnn.checkpoint import load_checkpoint
    from fraudrings.gnn.score import score_book, write_scores

    model = load_checkpoint(checkpoint)
    with _opened(store) as db:
        scores = score_book(db, model)
        written = write_scores(db, scores) if write_back else 0
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        scores.to_frame().to_csv(out)
    return {
        "checkpoint": str(model.path) if model.path else None,
        "applications": len(scores),
        "threshold": model.threshold,
        "flagged": int((scores >= model.threshold).sum()),
        "mean_score": float(scores.mean()) if len(scores) else None,
        "written": written,
        "out": str(out) if out is not None else None,
    }


def bench_command(what: str = "all", applications: int = 30_000,
                  seeds: Sequence[int] = (0, 1, 2), splits: int = 5,
                  heuristics: Callable | None | str = "sweep",
                  log: Log | None = None) -> dict[str, Any]:
    """The GNN beside its peers: ``portfolio``, ``gadbench`` or ``all`` (see
    :mod:`fraudrings.gnn.benchmark`). ``heuristics``: "sweep" (the product's sweep, for the
    heuristics-alone and joint rows), None (skip them) or a ``benchmark.Heuristics`` factory.
    Returns the per-run tables and their summaries."""
    from fraudrings.gnn import benchmark

    if heuristics == "sweep":
        heuristics = benchmark.sweep_scorer
    log = log or (lambda _: None)
    out: dict[str, Any] = {}
    if what in ("portfolio", "all"):
        table = benchmark.portfolio_benchmark(applications, seeds, heuristics=heuristics,
                                              log=log)
        out["portfolio"] = table
        out["portfolio_summary"] = benchmark.summarise(
            table, ["eval", "model"], ["auroc", "ap", "recall_top1pct"])
    if what in ("gadbench", "all"):
        table = benchmark.gadbench(splits=splits, log=log)
        out["gadbench"] = table
        out["gadbench_summary"] = benchmark.summarise(
            table, ["dataset", "model"], ["auroc", "ap", "rec_at_k"])
    return out


def register(group: click.Group, store_options: Callable[[Callable], Callable]) -> None:
    """Add ``train``, ``score`` and ``bench-gnn`` to the main click group."""

    def show(summary: dict[str, Any], as_json: bool) -> None:
        click.echo(json.dumps(summary, indent=2, default=str) if as_json else
                   "\n".join(f"{k}: {v}" for k, v in summary.items()))

    @group.command("train")
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="Checkpoint file or folder [default: $FRAUDRINGS_HOME/models].")
    @click.option("--epochs", type=click.IntRange(min=1), default=150, show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--batch-size", type=click.IntRange(min=1), default=None,
                  help="Sampled mini-batches of this many applications (default: full batch).")
    @click.option("--hidden", type=click.IntRange(min=4), default=64, show_default=True)
    @click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @store_options
    def train(store: Callable, out: Path | None, epochs: int, seed: int,
              batch_size: int | None, hidden: int, device: str, as_json: bool) -> None:
        """Train the GNN on the store's known outcomes (temporal split)."""
        show(train_command(store, out, epochs=epochs, seed=seed, batch_size=batch_size,
                           hidden=hidden, device=device), as_json)

    @group.command("score")
    @click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
                  help="Checkpoint file or folder [default: the latest trained].")
    @click.option("--write-back", is_flag=True, help="Set Application.gnn_score in the store.")
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="Write application_id,gnn_score to this CSV.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @store_options
    def score(store: Callable, checkpoint: Path | None, write_back: bool, out: Path | None,
              as_json: bool) -> None:
        """Score every application with the trained GNN."""
        show(score_command(store, checkpoint, write_back, out), as_json)

    @group.command("bench-gnn")
    @click.option("--what", type=click.Choice(["portfolio", "gadbench", "all"]), default="all",
                  show_default=True)
    @click.option("--applications", "-n", type=click.IntRange(min=1000), default=30_000,
                  show_default=True)
    @click.option("--seeds", default="0,1,2", show_default=True, help="Portfolio seeds.")
    @click.option("--splits", type=click.IntRange(min=1, max=10), default=5,
                  show_default=True, help="GADBench splits per dataset.")
    def bench_gnn(what: str, applications: int, seeds: str, splits: int) -> None:
        """The GNN beside its peers on generated portfolios and GADBench."""
        result = bench_command(what, applications, [int(s) for s in seeds.split(",")],
                               splits, log=click.echo)
        for name in ("portfolio_summary", "gadbench_summary"):
            if name in result:
                click.echo(f"\n{name}\n{result[name].to_string(index=False)}")

"""The ``fraudrings`` command: a thin click front end over the library.

Each command parses options, calls one library function and prints. Errors the user can fix
(a wrong path, an unreachable Neo4j, a bad password, a file that breaks the contract) end in one
line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fraudrings import __version__
from fraudrings.cli_support import FriendlyGroup, UserError, store_options
from fraudrings.console import console, progress_bar


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fraudrings")
def main() -> None:
    """Detect collusive loan-application rings in a graph (LadybugDB or Neo4j)."""


@main.command()
@click.option("--applications", "-n", type=click.IntRange(min=10), default=10_000,
              show_default=True, help="How many applications to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--months", type=click.IntRange(min=1), default=12, show_default=True,
              help="Months of history.")
@click.option("--difficulty", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="How well rings camouflage themselves (1.0 = default).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]),
              default="parquet", show_default=True, help="Applications file format.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for applications.*, ground_truth.json and labels.csv.")
def generate(applications: int, seed: int, months: int, difficulty: float, fmt: str,
             out: Path) -> None:
    """Generate a synthetic portfolio with planted rings and legitimate sharing."""
    from fraudrings.loaders.generator import generate_portfolio

    with progress_bar() as bar:
        task = bar.add_task("generating", total=applications)
        portfolio = generate_portfolio(
            applications, seed=seed, months=months, difficulty=difficulty,
            progress=lambda done: bar.update(task, completed=done),
        )
        bar.update(task, completed=applications)
    paths = portfolio.write(out, fmt=fmt)
    truth = portfolio.truth
    console.print(
        f"{len(portfolio.applications):,} applications, {len(truth['rings'])} planted rings, "
        f"{len(truth['decoys'])} decoy groups"
    )
    for name, path in paths.items():
        console.print(f"  {name}: {path}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quarantine-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="Folder for <file>.quarantine.csv, the refused rows with their reasons.")
@click.option("--phone-country", default="7", show_default=True,
              help="Country code for phones written without one.")
@click.option("--phone-trunk", default="8", show_default=True,
              help="National trunk prefix replaced by the country code.")
@store_options
def load(files: tuple[Path, ...], quarantine_dir: Path, phone_country: str, phone_trunk: str,
         store: Callable) -> None:
    """Load applications files (CSV, Parquet, JSON Lines) into the store."""
    from fraudrings.graph.load import load_batch, record_load
    from fraudrings.loaders.contract import read_applications, write_quarantine

    batches = []
    for path in files:  # validate every file before touching the store
        batches.append(read_applications(path, phone_country=phone_country,
                                         phone_trunk=phone_trunk))
    with store() as db:
        for path, batch in zip(files, batches):
            with progress_bar() as bar:
                task = bar.add_task(f"loading {path.name}", total=max(len(batch.rows), 1))

                def tick(stage: str, done: int, total: int, task: Any = task, bar: Any = bar,
                         name: str = path.name) -> None:
                    bar.update(task, description=f"{name}: {stage}", completed=done)

                report = load_batch(db, batch, progress=tick)
                bar.update(task, completed=max(len(batch.rows), 1))
            written = write_quarantine(batch, quarantine_dir / f"{path.name}.quarantine.csv")
            report.quarantine_path = str(written) if written else None
            record_load(db, report)
            console.print(
                f"{path.name}: [bold]{report.loaded:,}[/] loaded, {report.updated:,} updated, "
                f"{report.unchanged:,} unchanged, [bold]{report.quarantined:,}[/] quarantined"
                + (f" ({report.duplicates:,} exact duplicate rows folded)"
                   if report.duplicates else "")
                + f" in {report.seconds:.1f}s"
            )
            for reason, count in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
                console.print(f"  {count:>8,}  {reason}")
            if written:
                console.print(f"  quarantine: {written}")


@main.command()
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many of the most shared identifiers to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@store_options
def stats(top: int, as_json: bool, store: Callable) -> None:
    """Counts per node kind and relationship, the most shared identifiers, recent loads."""
    from fraudrings.graph.stats import graph_stats, render_stats

    with store() as db:
        result = graph_stats(db, top=top)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        render_stats(result)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def neo4j(ctx: click.Context) -> None:
    """Install, start, stop or inspect the local Neo4j server (see `fraudrings neo4j --help`)."""
    from fraudrings.graph.backends.neo4j import server

    sys.exit(server.main(args=ctx.args, prog_name="fraudrings neo4j", standalone_mode=True))


def _parse_params(values: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``heuristic.param=value`` options to {heuristic: {param: value}} (typed by the catalog)."""
    out: dict[str, dict[str, Any]] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot:
            raise UserError(f"--param {item!r}: expected HEURISTIC.PARAM=VALUE")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(name, {})[param] = value
    return out


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("sweep"),
              show_default=True, help="Folder for rings.jsonl, applications.csv, report.html.")
@click.option("--since", default=None,
              help="Only what touches applications newer than this date (in-loan monitoring).")
@click.option("--param", "params", multiple=True, metavar="HEURISTIC.PARAM=VALUE",
              help="Override a heuristic parameter (repeatable).")
@click.option("--model", default=None, help="GNN checkpoint (default: the latest trained).")
@click.option("--no-gnn", is_flag=True, help="Heuristics and ring assembly only.")
@click.option("--no-write", is_flag=True, help="Do not write rings and scores to the store.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Rings to print.")
@store_options
def sweep(out: Path, since: str | None, params: tuple[str, ...], model: str | None,
          no_gnn: bool, no_write: bool, top: int, store: Callable) -> None:
    """Flag collusive rings over the whole book (or since a date) and write them back."""
    from fraudrings.sweep.run import parse_since, run_sweep, write_outputs

    since_epoch = parse_since(since)
    heuristic_params = _parse_params(params)
    with store() as db, progress_bar() as bar:
        task = bar.add_task("sweep", total=None)
        result = run_sweep(
            db, since=since_epoch, heuristic_params=heuristic_params,
            use_gnn=False if no_gnn else (model or True), write=not no_write,
            progress=lambda stage: bar.update(task, description=f"sweep: {stage}"),
        )
        bar.update(task, description="sweep: outputs")
        paths = write_outputs(result, out, store_name=db.describe())
    _print_rings(result.rings[:top], len(result.rings), result.export.n)
    console.print("  ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    for name, path in paths.items():
        console.print(f"  {name}: {path}")


def _print_rings(rings: list, total: int, n: int) -> None:
    from datetime import datetime, timezone

    from rich.table import Table

    table = Table("ring", "score", "apps", "applicants", "when", "tied by", "why",
                  title=f"{total:,} rings among {n:,} applications", title_justify="left")
    for ring in rings:
        first = datetime.fromtimestamp(ring.first_seen, tz=timezone.utc).strftime("%Y-%m-%d")
        kinds = sorted({s["kind"] for s in ring.shared})
        table.add_row(ring.ring_id, f"{ring.score:.2f}", str(len(ring.members)),
                      str(len(ring.applicants)), first, ", ".join(kinds),
                      "; ".join(ring.reasons[:2]))
    console.print(table)


@main.command()
@click.option("--sweep", "sweep_dir", type=click.Path(exists=True, file_okay=False,
              path_type=Path), default=Path("sweep"), show_default=True,
              help="Output folder of a sweep.")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="ground_truth.json of a generated portfolio.")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="labels.csv (default: beside the truth file).")
@click.option("--cap", type=click.IntRange(min=2), default=50, show_default=True,
              help="Degree cap of the capped WCC peer.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_options
def evaluate(sweep_dir: Path, truth: Path, labels: Path | None, cap: int, as_json: bool,
             store: Callable) -> None:
    """Score a sweep against a ground truth, beside the textbook WCC peer on the same data."""
    import pandas as pd

    from fraudrings.graph.export import export_graph
    from fraudrings.sweep.evaluate import evaluate_rings, format_table, textbook_wcc

    truth_data = json.loads(truth.read_text())
    labels = labels or truth.with_name("labels.csv")
    label_frame = pd.read_csv(labels, dtype={"application_id": str}) if labels.exists() else None
    rings_path = sweep_dir / "rings.jsonl"
    if not rings_path.exists():
        raise UserError(f"{sweep_dir} holds no rings.jsonl: run `fraudrings sweep --out` first")
    predicted = [json.loads(line)["members"] for line in rings_path.read_text().splitlines()
                 if line.strip()]
    scores = pd.read_csv(sweep_dir / "applications.csv", dtype={"application_id": str})
    with store() as db:
        export = export_graph(db)
    unlabelled = export.applications.loc[export.applications["is_fraud"].isna(),
                                         "application_id"]
    score = scores.set_index("application_id")["score"]
    rows = [
        evaluate_rings("fraudrings", predicted, truth_data, score, label_frame, unlabelled),
        evaluate_rings("WCC (textbook)", textbook_wcc(export), truth_data),
        evaluate_rings(f"WCC, degree cap {cap}", textbook_wcc(export, cap), truth_data),
    ]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    click.echo(format_table(rows))
    best_peer = max(rows[1].member_f1, rows[2].member_f1)
    if best_peer > 0:
        click.echo(f"member F1 vs the better peer: {rows[0].member_f1 / best_peer:.1f}x")


# -- command groups that live beside the library they front ----------------------------------
from fraudrings.api.cli import keys, serve  # noqa: E402
from fraudrings.browser.cli import browser, ring_command  # noqa: E402
from fraudrings.gnn.cli import register as register_gnn  # noqa: E402
from fraudrings.queries.cli import queries_group  # noqa: E402

register_gnn(main, store_options)
main.add_command(queries_group)
main.add_command(serve)
main.add_command(keys)
main.add_command(browser)
main.add_command(ring_command())


@queries_group.command("run")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="PARAM=VALUE",
              help="Override a parameter (repeatable).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@store_options
def queries_run(name: str, params: tuple[str, ...], top: int, store: Callable) -> None:
    """Run one heuristic on the store and print what it finds."""
    from fraudrings.queries.cli import render, run_command

    render(run_command(store, name, params), top=top)

"""The ``fraudrings`` command: a thin click front end over the library.

Each command parses options, calls one library function and prints. Errors the user can fix
(a wrong path, an unreachable Neo4j, a bad password, a file that breaks the contract) end in one
line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fraudrings import __version__
from fraudrings.console import console, progress_bar


class UserError(click.ClickException):
    """A one-line error with exit status 1."""


def _known_errors() -> tuple[type[BaseException], ...]:
    from fraudrings.graph.store import StoreError
    from fraudrings.loaders.contract import ContractError

    return (StoreError, ContractError, FileNotFoundError, PermissionError, ValueError)


class FriendlyGroup(click.Group):
    """Turns the errors a user can fix into ``Error: <one line>``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _known_errors() as exc:
            raise UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def store_options(func: Callable) -> Callable:
    """--store and its connection options, shared by every command that opens a store."""
    options = [
        click.option("--store", type=click.Choice(["ladybug", "neo4j"]), envvar="FRAUDRINGS_STORE",
                     default="ladybug", show_default=True, help="Graph store to use."),
        click.option("--db", type=click.Path(path_type=Path), envvar="FRAUDRINGS_DB",
                     default=Path("fraudrings.lbug"), show_default=True,
                     help="LadybugDB database path [env FRAUDRINGS_DB]."),
        click.option("--neo4j-uri", envvar="NEO4J_URI", default=None,
                     help="Bolt URI [env NEO4J_URI; default bolt://127.0.0.1:7687]."),
        click.option("--neo4j-user", envvar="NEO4J_USER", default=None,
                     help="Neo4j user [env NEO4J_USER; default neo4j]."),
        click.option("--neo4j-password", envvar="NEO4J_PASSWORD", default=None,
                     help="Neo4j password [env NEO4J_PASSWORD; default: the local server's]."),
        click.option("--neo4j-database", envvar="NEO4J_DATABASE", default=None,
                     help="Neo4j database [env NEO4J_DATABASE; default neo4j]."),
    ]
    for option in reversed(options):
        func = option(func)

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        from fraudrings.graph.store import open_store

        backend = kwargs.pop("store")
        db = kwargs.pop("db")
        neo = {k: kwargs.pop(f"neo4j_{k}") for k in ("uri", "user", "password", "database")}
        options = {"path": db} if backend == "ladybug" else neo
        kwargs["store"] = functools.partial(open_store, backend, **options)
        return func(**kwargs)

    return wrapper


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

                def tick(stage: str, done: int, total: int, task: Any = task, bar: Any = bar) -> None:
                    bar.update(task, description=f"{path.name}: {stage}", completed=done)

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

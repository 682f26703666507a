"""``fraudrings queries``: list the heuristics, show one ready to paste into Neo4j Browser, run one.

``queries_group`` holds the commands that need no store (``list``, ``show``); the top-level CLI
adds ``run`` with its store options and calls :func:`run_command`, so this module never imports
the CLI (no circular import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click
import pandas as pd

from fraudrings.graph.store import GraphStore
from fraudrings.queries import catalog


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` (repeated ``--param``) to a dict; values stay text for the heuristic's
    own typing (:meth:`Heuristic.bind`)."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise catalog.HeuristicParamError(f"--param {pair!r}: expected NAME=VALUE")
        params[name.strip()] = value.strip()
    return params


def run_command(store: GraphStore | Callable[[], GraphStore], name: str,
                params: Mapping[str, Any] | Iterable[str] | None = None) -> pd.DataFrame:
    """Run heuristic ``name`` on ``store`` (a store, or a factory that opens one and is closed
    afterwards) with ``params`` (a dict, or ``k=v`` strings); the standard frame."""
    heuristic = catalog.get(name)
    if params is not None and not isinstance(params, Mapping):
        params = parse_params(params)
    bound = heuristic.bind(params)  # fail on a bad parameter before opening a store
    if isinstance(store, GraphStore):
        return catalog.run(store, heuristic, bound)
    with store() as opened:
        return catalog.run(opened, heuristic, bound)


def render(frame: pd.DataFrame, top: int | None = 20) -> None:
    """Print a heuristic's result as a table (strongest first)."""
    from rich.table import Table

    from fraudrings.console import console

    name = frame.attrs.get("heuristic", "heuristic")
    shown = frame if top is None else frame.head(top)
    table = Table(title=f"{name}: {len(frame)} rows"
                  + (f" in {frame.attrs['seconds']:.2f}s" if "seconds" in frame.attrs else ""))
    for column in ("key", "strength", "applicants", "members", "first_seen", "detail"):
        table.add_column(column, overflow="fold")
    for row in shown.itertuples(index=False):
        members = ", ".join(row.members[:6]) + (" …" if len(row.members) > 6 else "")
        first = pd.Timestamp(row.first_seen, unit="s").strftime("%Y-%m-%d %H:%M")
        table.add_row(row.key, f"{row.strength:.2f}", str(row.applicants), members, first,
                      row.detail)
    console.print(table)


@click.group("queries")
def queries_group() -> None:
    """The Cypher heuristics: list them, show one for Neo4j Browser."""


@queries_group.command("list")
def list_command() -> None:
    """Every heuristic: name, title and parameters with their defaults."""
    from rich.table import Table

    from fraudrings.console import console

    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_column("title")
    table.add_column("params")
    for h in catalog.catalog():
        params = ", ".join(f"{p.name}={p.literal}" for p in h.params)
        table.add_row(h.name, h.title, params)
    console.print(table)


@queries_group.command("show")
@click.argument("name")
@click.option("--params-only", is_flag=True, help="Print only the :param lines.")
@click.option("--backend", type=click.Choice(catalog.BACKENDS), default=None,
              help="Show the text this backend runs (its override file, if there is one).")
def show_command(name: str, params_only: bool, backend: str | None) -> None:
    """Print heuristic NAME ready to paste into Neo4j Browser (:param lines, then the query)."""
    try:
        heuristic = catalog.get(name)
    except catalog.HeuristicError as exc:
        raise click.ClickException(str(exc)) from None
    if params_only:
        for p in heuristic.params:
            click.echo(f":param {p.name} => {p.literal}")
        return
    click.echo(browser_text(heuristic, backend))


def browser_param_command(heuristic: catalog.Heuristic) -> str:
    """One Browser command setting every parameter to its default.

    Browser runs one command per click, so a stack of ``:param`` lines does not paste as one;
    the destructuring form ``:param [{a, b}] => { RETURN 30 AS a, 4.0 AS b }`` sets them all and
    is evaluated by the server, so 30 stays an integer (the map form ``:param {a: 30}`` is
    parsed in JavaScript and sends a float, which breaks the integer window arithmetic).
    """
    names = ", ".join(p.name for p in heuristic.params)
    values = ", ".join(f"{p.literal} AS {p.name}" for p in heuristic.params)
    return f":param [{{{names}}}] => {{ RETURN {values} }}"


def browser_text(heuristic: catalog.Heuristic, backend: str | None = None) -> str:
    """The heuristic ready for Neo4j Browser: the command that sets its parameters, then the
    file as it is (its header, whose ``:param`` lines also paste one by one, and the query)."""
    parts = []
    if heuristic.params:
        parts += ["// 1. set the parameters (one Browser command)",
                  browser_param_command(heuristic), "", "// 2. run the query"]
    parts.append(heuristic.source(backend).rstrip("\n"))
    return "\n".join(parts)

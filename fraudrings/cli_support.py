"""What every command module shares: the one-line error and the store options.

Kept apart from ``fraudrings.cli`` so that command modules living beside their library
(``fraudrings/api/cli.py``, ``fraudrings/browser/cli.py``, ...) can import it without a cycle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


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

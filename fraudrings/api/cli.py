"""``fraudrings serve`` and ``fraudrings keys``: the HTTP API's command-line front end.

Registered in the main group by ``fraudrings.cli`` (``main.add_command(serve)``,
``main.add_command(keys)``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import click

from fraudrings.api import auth
from fraudrings.cli_support import UserError, store_options

_keys_file = click.option(
    "--keys-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    envvar="FRAUDRINGS_API_KEYS",
    help="API keys file (name:role:sha256) [env FRAUDRINGS_API_KEYS; "
         "default ~/.fraudrings/api-keys].")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (loopback unless you mean otherwise).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@_keys_file
@click.option("--review-at", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Scores from here on are recommended for review.")
@click.option("--decline-at", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Scores from here on are recommended for decline.")
@click.option("--max-body", type=click.IntRange(min=1024), default=64 * 1024,
              show_default=True, help="Largest request body in bytes (larger: 413).")
@click.option("--model", default=None, help="GNN checkpoint (default: the latest trained).")
@click.option("--no-gnn", is_flag=True, help="Answer without the GNN even if a model exists.")
@click.option("--link-index/--no-link-index", default=True, show_default=True,
              help="LadybugDB: keep the links in memory (~1 GB and ~35 s to build at 1M "
                   "applications; lookups several times faster).")
@click.option("--checkpoint-when-quiet", type=click.FloatRange(min=0), default=2.0,
              show_default=True, metavar="SECONDS",
              help="LadybugDB: fold the write-ahead log into the database file once no write "
                   "has come for this long (a checkpoint holds writes ~1-5 s at a million "
                   "applications), rather than inside whichever commit crosses the engine's "
                   "16 MiB; 0: the engine's checkpoints only.")
@click.option("--checkpoint-min-log", type=click.FloatRange(min=0), default=1.0,
              show_default=True, metavar="MB",
              help="LadybugDB: fold when quiet only once the log holds this much.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
@store_options
def serve(host: str, port: int, keys_file: Path | None, review_at: float, decline_at: float,
          max_body: int, model: str | None, no_gnn: bool, link_index: bool,
          checkpoint_when_quiet: float, checkpoint_min_log: float, log_level: str,
          store: Callable) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json) over the store."""
    import uvicorn

    from fraudrings.api.app import create_app
    from fraudrings.api.commits import QuietCheckpoint
    from fraudrings.api.gnn import GnnScorer
    from fraudrings.api.scoring import Thresholds

    if review_at > decline_at:
        raise UserError("--review-at must not be above --decline-at")
    path = keys_file or auth.default_keys_file()
    try:
        key_store = auth.KeyStore(path)
    except auth.KeyFileError as exc:
        raise UserError(str(exc)) from None
    if not key_store.keys:
        raise UserError(f"no API keys in {path}: add one with "
                        "`fraudrings keys add NAME --role write` (it is printed once)")
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    with store() as db:
        db.prefer_small_queries()  # the API asks many tiny questions
        app = create_app(db, keys=key_store, thresholds=Thresholds(review_at, decline_at),
                         gnn=GnnScorer(model, enabled=not no_gnn), max_body=max_body,
                         link_index=link_index, quiet_checkpoint=QuietCheckpoint(
                             checkpoint_when_quiet or None, int(checkpoint_min_log * 1e6)))
        click.echo(f"fraudrings API on http://{host}:{port} over {db.describe()} "
                   f"({len(key_store.keys)} keys from {path})", err=True)
        # the access log shows method, path and status; headers (and so keys) never
        uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)


@click.group()
def keys() -> None:
    """Manage API keys (stored hashed; a new key is printed once)."""


@keys.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(auth.ROLES), required=True,
              help="read: GET only; write: may also post applications.")
@_keys_file
def keys_add(name: str, role: str, keys_file: Path | None) -> None:
    """Create a key NAME and print it (the only time it is shown)."""
    path = keys_file or auth.default_keys_file()
    try:
        key = auth.add_key(path, name, role)
    except auth.KeyFileError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"{role} key {name!r} added to {path}; store it now, it is not kept:", err=True)
    click.echo(key)


@keys.command("list")
@_keys_file
def keys_list(keys_file: Path | None) -> None:
    """Names and roles of the keys (never the keys or their hashes)."""
    path = keys_file or auth.default_keys_file()
    try:
        found = auth.read_keys(path)
    except auth.KeyFileError as exc:
        raise UserError(str(exc)) from None
    for key in found:
        click.echo(f"{key.name}\t{key.role}")
    if not found:
        click.echo(f"no keys in {path}", err=True)


@keys.command("revoke")
@click.argument("name")
@_keys_file
def keys_revoke(name: str, keys_file: Path | None) -> None:
    """Remove key NAME (a running server stops accepting it at once)."""
    path = keys_file or auth.default_keys_file()
    try:
        removed = auth.revoke_key(path, name)
    except auth.KeyFileError as exc:
        raise UserError(str(exc)) from None
    if not removed:
        raise UserError(f"no key named {name!r} in {path}")
    click.echo(f"revoked {name!r}", err=True)

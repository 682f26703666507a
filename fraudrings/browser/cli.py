"""``fraudrings browser`` (Neo4j Browser for investigators) and ``fraudrings ring`` (one ring
as a picture and an interactive page).

Register both in ``fraudrings/cli.py``, below ``store_options``::

    from fraudrings.browser.cli import browser, ring_command  # noqa: E402
    main.add_command(browser)
    main.add_command(ring_command())

``ring`` needs ``store_options`` from ``fraudrings.cli``, which will import this module: so the
command is built by :func:`ring_command` on first use instead of at import time, and neither
module's import order matters.
"""

from __future__ import annotations

import functools
import re
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from collections.abc import Callable
from pathlib import Path

import click

from fraudrings.graph.backends.neo4j import server

# Where the project's neo4j.conf tells Browser to fetch the style and guide (server.py).
_ASSETS = urllib.parse.urlsplit(server.BROWSER_ASSETS_URL)
DEFAULT_HOST = _ASSETS.hostname or "127.0.0.1"
DEFAULT_PORT = _ASSETS.port or 7480


def _configured_assets() -> list[str]:
    """The URLs in the running server's ``browser.post_connect_cmd`` (what Browser fetches)."""
    from fraudrings.browser.setup import POST_CONNECT

    conf = server.home() / "conf" / "neo4j.conf"
    settings = dict(server._read_conf(conf)) if conf.exists() else {}
    command = settings.get(POST_CONNECT, "")
    return re.findall(r"https?://[^\s;]+", command)


def _reachable(url: str, timeout: float = 1.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@click.group("browser", invoke_without_command=True)
@click.option("--open", "open_", is_flag=True, help="Open Browser in your web browser.")
@click.option("--serve", is_flag=True,
              help="Then serve the style and guide here until Ctrl-C (as serve-assets).")
@click.pass_context
def browser(ctx: click.Context, open_: bool, serve: bool) -> None:
    """Neo4j Browser for investigators: print (or --open) its URL for the local Neo4j.

    After connecting, Browser loads the fraudrings style and opens the guide (top rings, what
    ties them, who is one hop away, the heuristics), served by `fraudrings browser
    serve-assets` or the HTTP API.
    """
    if ctx.invoked_subcommand:
        return
    info = server.status()
    url = server.browser_url()
    click.echo(url)
    click.echo(f"user: {server.USER}  password: `fraudrings neo4j password`", err=True)
    if not info["running"]:
        click.echo("Neo4j is not running: start it with `scripts/neo4j start`.", err=True)
    assets = _configured_assets()
    if not assets:
        click.echo("This server's neo4j.conf has no browser.post_connect_cmd: restart it "
                   "(`scripts/neo4j restart`) or add `fraudrings browser settings` to it.",
                   err=True)
    elif not serve and not all(_reachable(a) for a in assets):
        click.echo(f"The style and guide ({', '.join(assets)}) do not answer: run "
                   "`fraudrings browser serve-assets` (or add --serve), else Browser shows "
                   "an error frame after connecting.", err=True)
    if open_:
        webbrowser.open(url)
    if serve:
        _serve(DEFAULT_HOST, DEFAULT_PORT, rings=True)


def _serve(host: str, port: int, rings: bool) -> None:
    from fraudrings.browser import routes  # FastAPI only when serving
    from fraudrings.graph.store import GraphStore, open_store

    def neo4j_store() -> GraphStore:
        return open_store("neo4j")  # NEO4J_URI / NEO4J_PASSWORD or the local server's

    click.echo(f"Serving the Browser style and guide on http://{host}:{port}{routes.PREFIX}/ "
               "(Ctrl-C stops)", err=True)
    routes.serve(host, port, neo4j_store if rings else None)


@browser.command("serve-assets")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Interface to listen on (neo4j.conf's hostname list must name it).")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port (the default is the one in the project's neo4j.conf).")
@click.option("--no-rings", is_flag=True,
              help="Do not read the top rings from Neo4j for one-click picks in the guide.")
def serve_assets(host: str, port: int, no_rings: bool) -> None:
    """Serve style.grass and guide.html with the CORS headers Browser needs."""
    _serve(host, port, rings=not no_rings)


@browser.command("style")
@click.option("--write", "write", type=click.Path(dir_okay=False, path_type=Path),
              is_flag=False, flag_value="", default=None,
              help="Write it (default: the package's style.grass) instead of printing.")
def style_cmd(write: Path | None) -> None:
    """Print the Browser style (GraSS), generated from the colours of the ring pictures."""
    from fraudrings.browser.style import render_grass, write_grass

    if write is None:
        click.echo(render_grass(), nl=False)
    else:
        click.echo(write_grass(Path(write) if str(write) else None))


@browser.command("guide")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the guide here (default: print it).")
@click.option("--assets-url", default=server.BROWSER_ASSETS_URL, show_default=True,
              help="Base URL of the style (for the guide's reload block).")
def guide_cmd(out: Path | None, assets_url: str) -> None:
    """Build the guide HTML (what `:play` shows) from the heuristics' .cypher files."""
    from fraudrings.browser.guide import build_guide

    page = build_guide(assets_url=assets_url)
    if out is None:
        click.echo(page)
    else:
        out.write_text(page, encoding="utf-8")
        click.echo(f"{out}  (:play {out.resolve().as_uri()} needs a URL Browser may fetch; "
                   "serve it with `fraudrings browser serve-assets`)", err=True)


@browser.command("settings")
@click.option("--assets-url", default=server.BROWSER_ASSETS_URL, show_default=True,
              help="Where the style and guide are served.")
def settings_cmd(assets_url: str) -> None:
    """The neo4j.conf lines that make an existing Neo4j load the style and open the guide."""
    from fraudrings.browser.setup import conf_lines

    for line in conf_lines(assets_url):
        click.echo(line)


@functools.cache
def ring_command() -> click.Command:
    """The ``fraudrings ring`` command (built once, with the CLI's shared store options)."""
    from fraudrings.cli_support import store_options

    @click.command("ring")
    @click.argument("ring_id")
    @click.option("--rings", "rings_path", type=click.Path(exists=True, path_type=Path),
                  default=None, help="Read it from a rings.jsonl (or a sweep folder): no store.")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("."), show_default=True,
                  help="Folder for RING_ID.html and the picture.")
    @click.option("--format", "formats", type=click.Choice(["html", "svg", "png"]),
                  multiple=True, default=("html", "svg"), show_default=True,
                  help="What to write (repeatable).")
    @click.option("--open", "open_", is_flag=True, help="Open the HTML page in a web browser.")
    @store_options
    def ring(ring_id: str, rings_path: Path | None, out: Path, formats: tuple[str, ...],
             open_: bool, store: Callable) -> None:
        """Draw one ring: an interactive HTML page (members, identifiers, merchants, agents,
        timeline, neighbours) and an SVG or PNG picture, for people without Neo4j."""
        draw(ring_id, rings_path, out, formats, open_, store)

    return ring


def draw(ring_id: str, rings_path: Path | None, out: Path, formats: tuple[str, ...],
         open_: bool, store: Callable) -> None:
    """What ``fraudrings ring`` does: read the ring, write the files, print their paths."""
    from fraudrings.browser.ring import (
        RingNotFound,
        ring_from_jsonl,
        ring_from_store,
        write_ring_files,
    )

    try:
        if rings_path is not None:
            record = ring_from_jsonl(rings_path, ring_id)
        else:
            with store() as db:
                record = ring_from_store(db, ring_id)
    except RingNotFound as exc:
        raise click.ClickException(str(exc)) from None
    written = write_ring_files(record, out, formats)
    for path in written.values():
        click.echo(path)
    if open_ and "html" in written:
        webbrowser.open(written["html"].resolve().as_uri())


def __getattr__(name: str) -> click.Command:
    """``from fraudrings.browser.cli import ring`` still works (built on first access)."""
    if name == "ring":
        return ring_command()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

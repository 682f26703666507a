"""Helpers of the API tests: a live uvicorn server in a thread, generated books, bodies."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import uvicorn

from fraudrings.api import auth
from fraudrings.graph.load import load_batch
from fraudrings.graph.store import GraphStore
from fraudrings.loaders.contract import validate
from fraudrings.loaders.generator import Portfolio, generate_portfolio


@dataclass
class Live:
    url: str
    write_key: str
    read_key: str
    keys_file: Path
    store: GraphStore

    def client(self, key: str | None = "write", **kwargs: Any) -> httpx.Client:
        headers = {}
        if key is not None:
            headers[auth.HEADER] = {"write": self.write_key, "read": self.read_key}.get(key, key)
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # only the main thread may
        pass


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    """Run ``app`` on a free loopback port in a thread; returns its URL and a stopper."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()

    return f"http://127.0.0.1:{port}", stop


@cache
def portfolio(n: int = 3000, seed: int = 5) -> Portfolio:
    return generate_portfolio(n, seed=seed)


def body(row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    """A generated row as a JSON request body (absent values left out)."""
    items = row.items() if isinstance(row, dict) else row.to_dict().items()
    return {k: v for k, v in items
            if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))}


def load_book(store: GraphStore, without: set[str] = frozenset(), n: int = 3000) -> Portfolio:
    """A generated book in the store, less the applications ``without``."""
    book = portfolio(n)
    apps = book.applications
    load_batch(store, validate(apps[~apps["application_id"].isin(without)]))
    return book


def planted(book: Portfolio, typology: str) -> pd.DataFrame:
    """The applications of the first planted ring of a typology, in arrival order."""
    ring = next(r for r in book.truth["rings"] if r["typology"] == typology)
    apps = book.applications
    return apps[apps["application_id"].isin(ring["members"])].sort_values(
        ["applied_at", "application_id"])

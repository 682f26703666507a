"""Helpers of the investigator tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

from fraudrings.graph.store import GraphStore

APPLICATIONS = 5000
SEED = 3


@dataclass
class Swept:
    """A portfolio loaded into Neo4j, swept, and its ring members marked."""

    store: GraphStore
    rings: list[dict[str, Any]]  # ring_id, score, size, members: best first
    marked: int
    fingerprint: tuple[int, tuple[str, ...]] = field(default=(0, ()))

    def still_there(self) -> bool:
        """False when someone else's test (same server) replaced the graph meanwhile."""
        return _fingerprint(self.store) == self.fingerprint


def _fingerprint(store: GraphStore) -> tuple[int, tuple[str, ...]]:
    rings = store.query("MATCH (g:Ring) RETURN g.ring_id AS id ORDER BY id")
    return store.count("Application"), tuple(r["id"] for r in rings)


def sweep_into(store: GraphStore) -> Swept:
    """Clear, load the seeded portfolio, sweep (no GNN) and mark ring members."""
    from fraudrings.browser.style import mark_ring_members
    from fraudrings.graph.load import load_batch
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio
    from fraudrings.sweep.run import run_sweep

    store.clear()
    load_batch(store, validate(generate_portfolio(APPLICATIONS, seed=SEED).applications))
    result = run_sweep(store, use_gnn=False)
    marked = mark_ring_members(store)
    rings = [{"ring_id": r.ring_id, "score": r.score, "size": len(r.members),
              "members": list(r.members)} for r in result.rings]
    return Swept(store, rings, marked, _fingerprint(store))



# --- the assets server --------------------------------------------------------------------------


def configured_assets_url() -> str:
    """The base URL of the style in the running server's post-connect command."""
    from fraudrings.browser.setup import POST_CONNECT
    from fraudrings.graph.backends.neo4j import server

    settings = dict(server._read_conf(server.home() / "conf" / "neo4j.conf"))
    command = settings.get(POST_CONNECT, "")
    for part in command.split(";"):
        verb, _, url = part.strip().partition(" ")
        if verb == "style" and url.endswith("/style.grass"):
            return url[: -len("/style.grass")]
    pytest.fail(f"the running Neo4j has no `style <url>` in {POST_CONNECT} ({command!r}): its "
                "neo4j.conf predates the Browser settings; run `scripts/neo4j restart`")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Assets:
    base_url: str
    ours: bool  # started by this fixture (else a compatible server was already there)


# --- Chromium -----------------------------------------------------------------------------------

#: The flags this closed network needs: no sandbox as root, no GPU, no calls home.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1600,1000",
)


def chromium() -> tuple[str, str]:
    """Paths of Chromium and chromedriver; fails the test (never skips) without them."""
    found = [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    binary = next((path for path in found if path), None)
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("Chromium and chromedriver are needed: `apt-get install -y chromium "
                    "chromium-driver` (scripts/bootstrap --dev does it)")
    return binary, driver

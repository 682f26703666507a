"""Fixtures of the investigator tests: a swept portfolio in the project's Neo4j, and the
Browser assets server at the address that Neo4j's ``browser.post_connect_cmd`` names.

Both fail, never skip, when Neo4j is down (tests/conftest.py's ``_neo4j_session`` raises).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CHROMIUM_FLAGS,
    Assets,
    Swept,
    chromium,
    configured_assets_url,
    port_open,
    sweep_into,
)

from fraudrings.graph.store import GraphStore

_cache: dict[str, Swept] = {}


@pytest.fixture
def swept(_neo4j_session: GraphStore) -> Swept:
    """The swept graph: loaded once, and again only when it is not what we left there.

    CI runs one test process; on a workstation other engineers' tests clear the same server,
    so each test checks the graph's fingerprint (a count and the ring ids) before using it.
    """
    cached = _cache.get("neo4j")
    if cached is None or cached.store is not _neo4j_session or not cached.still_there():
        _cache["neo4j"] = sweep_into(_neo4j_session)
    return _cache["neo4j"]


@pytest.fixture
def assets_server(swept: Swept) -> Iterator[Assets]:
    """Serve the style and guide where Neo4j tells Browser to fetch them, in this process."""
    import uvicorn

    from fraudrings.browser import routes
    from fraudrings.browser.style import render_grass

    base = configured_assets_url()
    parts = urllib.parse.urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if parts.path.rstrip("/") != routes.PREFIX:
        pytest.fail(f"{base}: the assets router serves {routes.PREFIX}, not {parts.path}")
    if port_open(host, port):
        # Someone runs `fraudrings browser serve-assets` already: use it if it is ours.
        with urllib.request.urlopen(f"{base}/style.grass", timeout=5) as response:
            served = response.read().decode()
        if served != render_grass():
            pytest.fail(f"port {port} is taken by something that does not serve this "
                        "checkout's style: stop it (`fraudrings browser serve-assets`?)")
        yield Assets(base, ours=False)
        return
    app = routes.create_app(lambda: swept.store, owns_store=False)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail(f"the assets server did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield Assets(base, ours=True)
    finally:
        routes.set_ring_source(None)  # never close the shared session store
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium driven by chromedriver, with a new empty profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver = chromium()
    options = Options()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # an explicit driver path: Selenium Manager would try to download one
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()

"""The assets router: what Browser fetches, with the headers its fetch() needs, and ring pages
when a store is configured. Runs on LadybugDB (the router never asks which store it has)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fraudrings.browser import routes
from fraudrings.browser.setup import browser_settings
from fraudrings.browser.style import render_grass
from fraudrings.graph.backends.neo4j import server
from fraudrings.graph.store import GraphStore, StoreError

BROWSER_ORIGIN = "http://127.0.0.1:7474"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(routes.create_app(), base_url="http://127.0.0.1:7480") as test_client:
        yield test_client
    routes.set_ring_source(None)


def test_the_style_is_served_as_text_with_cors(client: TestClient) -> None:
    response = client.get("/browser/style.grass", headers={"Origin": BROWSER_ORIGIN})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.text == render_grass()


def test_the_guide_is_served_as_html_with_cors(client: TestClient) -> None:
    response = client.get("/browser/guide.html", headers={"Origin": BROWSER_ORIGIN})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "no-cache"
    assert "<slide" in response.text and "Top rings" in response.text
    # its reload block points at where the client reached this server
    assert ":style http://127.0.0.1:7480/browser/style.grass" in response.text


def test_the_preflight_of_play_is_answered(client: TestClient) -> None:
    # :play sends Cache-Control and Pragma, which makes fetch() ask first
    response = client.options("/browser/guide.html", headers={
        "Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "cache-control,pragma",
        "Access-Control-Request-Private-Network": "true",
    })
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "cache-control,pragma"
    assert response.headers["access-control-allow-private-network"] == "true"


def test_the_index_gives_the_neo4j_conf_lines(client: TestClient) -> None:
    page = client.get("/").text  # redirected to /browser/
    for key, value in browser_settings("http://127.0.0.1:7480/browser").items():
        assert f"{key}={value}" in page


def test_the_project_server_points_browser_at_the_standalone_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # the defaults of neo4j.conf and what `fraudrings browser serve-assets` serves agree
    from fraudrings.browser import cli

    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path))  # no local.conf of this machine
    for name in [n for n in os.environ if n.startswith("FRAUDRINGS_NEO4J_BROWSER_")]:
        monkeypatch.delenv(name)
    assert browser_settings(server.BROWSER_ASSETS_URL) == server.BROWSER_SETTINGS
    served = f"http://{cli.DEFAULT_HOST}:{cli.DEFAULT_PORT}{routes.PREFIX}"
    assert served == server.BROWSER_ASSETS_URL
    conf = server.render_config()
    for key, value in server.BROWSER_SETTINGS.items():
        assert f"\n{key}={value}\n" in conf


def test_without_a_store_there_are_no_ring_pages(client: TestClient) -> None:
    assert client.get("/browser/rings/ring-abc.html").status_code == 404


def test_a_store_that_fails_leaves_the_guide_without_picks() -> None:
    def broken() -> GraphStore:
        raise StoreError("Neo4j is not reachable")

    with TestClient(routes.create_app(broken)) as test_client:
        response = test_client.get("/browser/guide.html")
    routes.set_ring_source(None)
    assert response.status_code == 200 and "Top rings" in response.text
    assert ":param ring_id =&gt;" not in response.text


@pytest.fixture(scope="module")
def swept_ladybug(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, list]]:
    from fraudrings.graph.load import load_batch
    from fraudrings.graph.store import open_store
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio
    from fraudrings.sweep.run import run_sweep

    store = open_store("ladybug", path=Path(tmp_path_factory.mktemp("routes")) / "g.lbug")
    load_batch(store, validate(generate_portfolio(2000, seed=3).applications))
    rings = run_sweep(store, use_gnn=False).rings
    yield store, rings
    store.close()


def test_with_a_store_the_guide_lists_the_top_rings_and_serves_ring_pages(
    swept_ladybug: tuple[GraphStore, list],
) -> None:
    store, rings = swept_ladybug
    assert rings, "the seeded portfolio has rings"
    with TestClient(routes.create_app(lambda: store, owns_store=False)) as test_client:
        guide_page = test_client.get("/browser/guide.html").text
        top = rings[0]
        ring_page = test_client.get(f"/browser/rings/{top.ring_id}.html")
        missing = test_client.get("/browser/rings/ring-000000000000.html")
    routes.set_ring_source(None)
    for ring in rings[:10]:
        assert f"&#x27;{ring.ring_id}&#x27;" in guide_page
    assert ring_page.status_code == 200
    assert all(member in ring_page.text for member in top.members)
    assert missing.status_code == 404
    store.query("RETURN 1 AS one")  # the router did not close a store it does not own

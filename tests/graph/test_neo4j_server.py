"""The local Neo4j server that ``scripts/neo4j`` runs: up, reachable with its password, closed to
a wrong one, and serving Browser. These fail (never skip) when the server is absent; start it
with ``scripts/neo4j start`` (CI: ``scripts/neo4j ensure``)."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from fraudrings.graph.backends.neo4j import server


def running() -> dict[str, Any]:
    """The server's status; fails the calling test (a FAILED, not an ERROR) when it is down."""
    info = server.status()
    if not info["running"]:
        pytest.fail(f"Neo4j is not running (home {info['home']}): run `scripts/neo4j start`")
    return info


@pytest.mark.neo4j
def test_status_reports_a_running_526_server() -> None:
    info = running()
    assert info["installed"] and info["ready"]
    assert isinstance(info["pid"], int)
    assert info["version"].startswith("5.26.")
    assert info["browser_version"]
    assert info["uri"].startswith("bolt://127.0.0.1:")
    assert info["http_url"].startswith("http://127.0.0.1:")


@pytest.mark.neo4j
def test_bolt_session_with_the_password_runs_a_query() -> None:
    info = running()
    import neo4j

    conn = server.connection()
    with neo4j.GraphDatabase.driver(conn["uri"], auth=(conn["user"], conn["password"])) as driver:
        with driver.session() as session:
            assert session.run("RETURN 1 AS one").single()["one"] == 1
        assert driver.get_server_info().agent == f"Neo4j/{info['version']}"


@pytest.mark.neo4j
def test_a_wrong_password_is_refused() -> None:
    running()
    import neo4j
    from neo4j.exceptions import AuthError

    conn = server.connection()
    wrong = conn["password"] + "-wrong"
    driver = neo4j.GraphDatabase.driver(conn["uri"], auth=(conn["user"], wrong))
    with driver, pytest.raises(AuthError):
        driver.verify_connectivity()


@pytest.mark.neo4j
def test_http_port_serves_browser() -> None:
    info = running()
    with urllib.request.urlopen(f"{info['http_url']}/browser/", timeout=10) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/html"
        assert "<title>Neo4j Browser</title>" in response.read().decode()


@pytest.mark.neo4j
def test_it_listens_on_loopback_only() -> None:
    running()
    conf = (server.home() / "conf" / "neo4j.conf").read_text()
    assert "server.default_listen_address=127.0.0.1\n" in conf
    assert "dbms.security.auth_enabled=true\n" in conf
    assert "server.https.enabled=false\n" in conf


def test_config_takes_ports_memory_and_browser_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path))
    monkeypatch.setenv("FRAUDRINGS_NEO4J_BOLT_PORT", "17687")
    monkeypatch.setenv("FRAUDRINGS_NEO4J_PAGECACHE", "256m")
    monkeypatch.setenv("FRAUDRINGS_NEO4J_BROWSER_POST_CONNECT_CMD", "play fraud-rings")
    conf = server.render_config(
        http_port=17474,
        browser={"browser.remote_content_hostname_allowlist": "localhost"},
    )
    assert "server.bolt.listen_address=127.0.0.1:17687\n" in conf
    assert "server.bolt.advertised_address=127.0.0.1:17687\n" in conf
    assert "server.http.listen_address=127.0.0.1:17474\n" in conf
    assert "server.memory.pagecache.size=256m\n" in conf
    assert f"server.directories.data={tmp_path / 'neo4j' / 'data'}\n" in conf
    browser = conf.split("# --- Neo4j Browser ---\n", 1)[1]
    assert "browser.post_connect_cmd=play fraud-rings\n" in browser
    assert "browser.remote_content_hostname_allowlist=localhost\n" in browser


def test_the_password_is_generated_once_and_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path))
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    first = server.password()
    assert len(first) >= 8 and server.password() == first
    assert (tmp_path / "neo4j" / "password").stat().st_mode & 0o777 == 0o600

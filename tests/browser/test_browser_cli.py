"""``fraudrings browser``: the Browser URL, the style, the guide and the neo4j.conf lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fraudrings.browser.cli import browser
from fraudrings.browser.setup import conf_lines
from fraudrings.browser.style import render_grass
from fraudrings.graph.backends.neo4j import server


@pytest.fixture
def fresh_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A Neo4j home with no server in it (what a new laptop sees)."""
    monkeypatch.setenv("FRAUDRINGS_HOME", str(tmp_path))
    monkeypatch.delenv("FRAUDRINGS_NEO4J_HTTP_PORT", raising=False)
    monkeypatch.delenv("FRAUDRINGS_NEO4J_BOLT_PORT", raising=False)
    return tmp_path


def test_it_prints_the_browser_url_and_says_what_is_missing(
    fresh_home: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    result = CliRunner().invoke(browser, ["--open"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == server.browser_url()
    assert result.stdout.startswith("http://127.0.0.1:7474/browser/?connectURL=bolt")
    assert "not running" in result.stderr and "post_connect_cmd" in result.stderr
    assert opened == [server.browser_url()]


def test_it_tells_when_the_style_and_guide_do_not_answer(fresh_home: Path) -> None:
    conf = fresh_home / "neo4j" / "conf"
    conf.mkdir(parents=True)
    # a server configured for assets on a port where nothing listens
    (conf / "neo4j.conf").write_text(
        "browser.post_connect_cmd=style http://127.0.0.1:9/browser/style.grass; "
        "play http://127.0.0.1:9/browser/guide.html\n")
    result = CliRunner().invoke(browser, [])
    assert result.exit_code == 0
    assert "fraudrings browser serve-assets" in result.stderr


def test_style_prints_or_writes_the_grass(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(browser, ["style"]).stdout == render_grass()
    target = tmp_path / "mine.grass"
    result = runner.invoke(browser, ["style", "--write", str(target)])
    assert result.exit_code == 0 and target.read_text() == render_grass()


def test_guide_writes_the_guide(tmp_path: Path) -> None:
    target = tmp_path / "guide.html"
    result = CliRunner().invoke(browser, ["guide", "--out", str(target),
                                          "--assets-url", "http://example.test:8000/browser"])
    assert result.exit_code == 0, result.output
    page = target.read_text()
    assert page.count("<slide") >= 7
    assert ":style http://example.test:8000/browser/style.grass" in page


def test_settings_prints_the_lines_for_an_existing_neo4j() -> None:
    result = CliRunner().invoke(browser, ["settings", "--assets-url",
                                          "http://fraud-api.internal:8000/browser/"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == conf_lines("http://fraud-api.internal:8000/browser")
    assert result.stdout.splitlines() == [
        "browser.post_connect_cmd=style http://fraud-api.internal:8000/browser/style.grass; "
        "play http://fraud-api.internal:8000/browser/guide.html",
        "browser.remote_content_hostname_whitelist=fraud-api.internal",
    ]

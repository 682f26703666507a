"""The Neo4j settings that make Browser load the fraudrings style and open the guide.

The project's own server writes them from ``server.BROWSER_SETTINGS``; for an existing Neo4j,
``fraudrings browser settings`` prints the same lines for its ``neo4j.conf``.
"""

from __future__ import annotations

import urllib.parse

#: Browser runs these commands (``;``-separated, without the leading colon) after connecting.
POST_CONNECT = "browser.post_connect_cmd"
#: Hosts Browser may fetch ``:play`` and ``:style`` content from. Neo4j 5.26 declares only this
#: old name (``..._allowlist``, as the docs spell it, fails strict config validation at start).
ALLOWLIST = "browser.remote_content_hostname_whitelist"


def browser_settings(assets_url: str) -> dict[str, str]:
    """``neo4j.conf`` settings for a style and guide served at ``assets_url``."""
    base = assets_url.rstrip("/")
    host = urllib.parse.urlsplit(base).hostname or "127.0.0.1"
    # Browser compares host names, not addresses: allow both spellings of loopback.
    loopback = ("127.0.0.1", "localhost")
    hosts = list(loopback) if host in loopback else [host]
    return {
        POST_CONNECT: f"style {base}/style.grass; play {base}/guide.html",
        ALLOWLIST: ",".join(hosts),
    }


def conf_lines(assets_url: str) -> list[str]:
    return [f"{key}={value}" for key, value in browser_settings(assets_url).items()]

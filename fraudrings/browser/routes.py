"""Serving the Browser style and guide: a FastAPI router, and a tiny standalone server.

Neo4j Browser (at http://127.0.0.1:7474) fetches ``:style <url>`` and ``:play <url>`` with
``fetch()`` from its own origin, so the answers need CORS: ``Access-Control-Allow-Origin: *``
on every response, and an answer to the preflight ``OPTIONS`` that ``:play`` triggers (it sends
``Cache-Control`` and ``Pragma`` headers, which are not CORS-safelisted). Chrome's Private
Network Access asks for ``Access-Control-Allow-Private-Network`` when a Browser served from a
public address fetches from loopback. The router cannot add app-wide middleware (the API owns
its app), so it sets these headers itself.

``router`` (prefix ``/browser``) is what the HTTP API includes; :func:`create_app` wraps it for
``fraudrings browser serve-assets``. The guide is rendered per request from the heuristics'
``.cypher`` files; when a ring source is configured (:func:`set_ring_source`) it also lists
the top rings as one-click picks, and ``/browser/rings/<id>.html`` serves ring pages.
"""

from __future__ import annotations

import contextlib
import html
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from fraudrings.browser.guide import build_guide, top_rings
from fraudrings.browser.setup import conf_lines
from fraudrings.browser.style import render_grass

if TYPE_CHECKING:
    from fraudrings.graph.store import GraphStore

log = logging.getLogger(__name__)

PREFIX = "/browser"

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Private-Network": "true",
    "Access-Control-Max-Age": "600",
}
#: Both files change with the package (and the guide with the rings): never cache them.
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(prefix=PREFIX, tags=["browser"])


class StoreRings:
    """Top rings and ring records from a store opened on first use and kept open.

    A store that cannot be opened (Neo4j down) is retried on the next request; the guide is
    then served without ring picks rather than failing, because Browser shows any failed
    ``:play`` as an error frame on every connect.
    """

    def __init__(self, open_store: Callable[[], GraphStore], owns_store: bool = True) -> None:
        self._open = open_store
        self._owns = owns_store  # False: someone else's store, never closed here
        self._store: GraphStore | None = None
        self._lock = threading.Lock()

    def store(self) -> GraphStore:
        with self._lock:
            if self._store is None:
                self._store = self._open()
            return self._store

    def top(self, limit: int = 10) -> list[dict[str, Any]]:
        try:
            return top_rings(self.store(), limit)
        except Exception as exc:  # noqa: BLE001 - any store failure degrades to "no picks"
            log.warning("guide without ring picks: %s", exc)
            self.reset()
            return []

    def reset(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None and self._owns:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                store.close()


_source: StoreRings | None = None


def set_ring_source(open_store: Callable[[], GraphStore] | None, *,
                    owns_store: bool = True) -> None:
    """Give the guide (ring picks) and ``/browser/rings/<id>.html`` a store, opened on first
    use by ``open_store`` (None: no store). With ``owns_store`` the store is closed when
    replaced; pass False for a store the caller keeps (the API's own)."""
    global _source
    if _source is not None:
        _source.reset()
    _source = StoreRings(open_store, owns_store) if open_store is not None else None


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**CORS_HEADERS, **NO_CACHE, **(extra or {})}


def assets_url(request: Request) -> str:
    """This router's public base URL, as the client reached it (for the guide's reload
    block): behind the API it is wherever the API mounted the router."""
    return str(request.url_for("browser_style")).rsplit("/", 1)[0]


@router.get("/style.grass", name="browser_style")
def style() -> Response:
    """The GraSS for ``:style <url>`` (plain text: GraSS has no registered media type)."""
    return Response(render_grass(), media_type="text/plain; charset=utf-8", headers=_headers())


@router.get("/guide.html", name="browser_guide", response_class=HTMLResponse)
def guide(request: Request) -> HTMLResponse:
    """The guide for ``:play <url>``, built now from the heuristics' ``.cypher`` files."""
    rings = _source.top() if _source is not None else []
    page = build_guide(rings, assets_url=assets_url(request))
    return HTMLResponse(page, headers=_headers())


@router.get("/rings/{ring_id}.html", name="browser_ring", response_class=HTMLResponse)
def ring_page(ring_id: str) -> HTMLResponse:
    """One ring as the interactive page of ``fraudrings ring`` (needs a ring source)."""
    from fraudrings.browser.ring import RingNotFound, ring_from_store
    from fraudrings.browser.ring import ring_page as render_ring

    if _source is None:
        raise HTTPException(404, "no store configured for ring pages")
    try:
        record = ring_from_store(_source.store(), ring_id)
    except RingNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return HTMLResponse(render_ring(record), headers=_headers())


@router.get("/", name="browser_index", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """A page for people: what is served here and the neo4j.conf lines that use it."""
    base = assets_url(request)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>fraudrings Browser assets"
        "</title></head><body style='font:14px system-ui;margin:2rem'>"
        "<h1>fraudrings: Neo4j Browser assets</h1><ul>"
        f"<li><a href='{base}/guide.html'>guide.html</a> (<code>:play {base}/guide.html</code>)"
        f"</li><li><a href='{base}/style.grass'>style.grass</a> "
        f"(<code>:style {base}/style.grass</code>)</li></ul>"
        "<p>Put these lines in <code>neo4j.conf</code> so that Browser loads both after "
        f"connecting:</p><pre>{html.escape(chr(10).join(conf_lines(base)))}</pre></body></html>"
    )
    return HTMLResponse(page, headers=_headers())


@router.options("/{path:path}", include_in_schema=False)
def preflight(request: Request, path: str) -> Response:
    """CORS preflight: allow whatever request headers Browser asks for (read-only GETs)."""
    asked = request.headers.get("access-control-request-headers")
    extra = {"Access-Control-Allow-Headers": asked or "*"}
    return Response(status_code=204, headers=_headers(extra))


def create_app(open_store: Callable[[], GraphStore] | None = None, *,
               owns_store: bool = True) -> FastAPI:
    """The standalone assets server: the router, and ``/`` pointing at it."""
    set_ring_source(open_store, owns_store=owns_store)
    app = FastAPI(title="fraudrings Browser assets", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/")

    return app


def serve(host: str = "127.0.0.1", port: int = 7480,
          open_store: Callable[[], GraphStore] | None = None, log_level: str = "warning") -> None:
    """Serve until interrupted (``fraudrings browser serve-assets``)."""
    import uvicorn

    uvicorn.run(create_app(open_store), host=host, port=port, log_level=log_level)

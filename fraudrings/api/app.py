"""The FastAPI application: routes, access control and error shapes over an :class:`Assessor`.

Route functions are plain ``def``: FastAPI runs them in its thread pool, where the store calls
block (LadybugDB's lock, Bolt round trips) without stalling the event loop. The underwriting
call is the exception: it sends its work to the pool itself, see ``post_application``.

Errors say what the caller can fix and nothing more: which field is wrong (422), that a key is
missing, unknown (401) or may only read (403); stack traces and store messages go to the server
log only.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from fraudrings import __version__
from fraudrings.api import models, timing
from fraudrings.api.auth import HEADER, ApiKey, KeyStore
from fraudrings.api.commits import QuietCheckpoint
from fraudrings.api.gnn import GnnScorer
from fraudrings.api.scoring import Assessor, Conflict, Thresholds
from fraudrings.api.timing import Phases
from fraudrings.api.validation import InvalidApplication
from fraudrings.graph.rings import AssemblyParams
from fraudrings.graph.store import GraphStore, StoreError

log = logging.getLogger("fraudrings.api")
DEFAULT_MAX_BODY = 64 * 1024

DESCRIPTION = """
Real-time ring detection for underwriting: post each incoming application and get its risk,
the ring it joins or forms (if any), the evidence, and a recommendation.

Authenticate with an API key in the `X-API-Key` header (`fraudrings keys add NAME --role
read|write`). `read` keys may GET; `write` keys may also post applications.
"""

_api_key = APIKeyHeader(name=HEADER, auto_error=False, description="An API key "
                        "(`fraudrings keys add`); `write` role to post applications.")

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": models.MessageOut, "description": "No API key, or an unknown one"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    403: {"model": models.MessageOut, "description": "The key may only read"},
    409: {"model": models.MessageOut,
          "description": "The id is stored with different content"},
    413: {"description": "Request body too large"},
    422: {"model": models.ValidationErrorOut, "description": "A field is wrong"},
}


_TIMING = {timing.HEADER: {
    "description": "Milliseconds of each step of the request (W3C Server Timing): queue, "
                   "validate, store, commit-wait, commit, gnn, neighbourhood, ring, evidence, "
                   "total",
    "schema": {"type": "string"}}}


class _Denied(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail


def _authorise(keys: KeyStore, role: str) -> Any:
    # async: a sha256 and a stat of the keys file take microseconds, and a plain def would cost
    # every request a second trip through the thread pool
    async def dependency(presented: Annotated[str | None, Security(_api_key)] = None) -> ApiKey:
        key = keys.identify(presented)
        if key is None:
            raise _Denied(401, "missing or unknown API key")
        if not key.may(role):
            raise _Denied(403, "this key may not " + ("write" if role == "write" else role))
        return key

    return dependency


def create_app(
    store: GraphStore,
    *,
    keys: KeyStore,
    thresholds: Thresholds | None = None,
    gnn: GnnScorer | None = None,
    params: AssemblyParams | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    link_index: bool = True,
    quiet_checkpoint: QuietCheckpoint | None = None,
) -> FastAPI:
    """The API over ``store`` (the caller opens and closes it). ``link_index``: keep the ring
    links in memory where the store allows it (:mod:`fraudrings.graph.linkindex`).
    ``quiet_checkpoint``: when the store's log is folded (default: after 2 s without a write)."""
    assessor = Assessor(store, thresholds, gnn, params, link_index,
                        quiet_checkpoint or QuietCheckpoint())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Python's full collection walks every object the process holds (~130k at start: the
        # libraries, the app), 60-100 ms with the GIL held, during which every request in
        # flight waits. What exists when serving starts lives as long as the server: it leaves
        # the collector's view (gc.freeze) until shutdown
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            assessor.commits.close()  # every answered write has committed; stop the committer

    app = FastAPI(title="fraudrings", version=__version__, description=DESCRIPTION.strip(),
                  max_body_size=max_body, lifespan=lifespan)
    app.state.assessor = assessor
    reader = Depends(_authorise(keys, "read"))
    writer = Depends(_authorise(keys, "write"))

    @app.exception_handler(_Denied)
    def denied(request: Request, exc: _Denied) -> JSONResponse:
        headers = {"WWW-Authenticate": f'APIKey header="{HEADER}"'} if exc.status == 401 else {}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # the default handler echoes the input back; the field and the rule are enough
        detail = [{"loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                   "msg": str(e.get("msg", "invalid")), "type": str(e.get("type", "invalid"))}
                  for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(InvalidApplication)
    def invalid_application(request: Request, exc: InvalidApplication) -> JSONResponse:
        detail = [{"loc": ["body", field], "msg": message, "type": "contract"}
                  for field, message in exc.errors]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Conflict)
    def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(StoreError)
    def unavailable(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store unavailable: %s", exc)
        return JSONResponse({"detail": "store unavailable"}, status_code=503)

    @app.post("/v1/applications", response_model=models.Assessment, status_code=201,
              responses={200: {"model": models.Assessment,
                               "description": "A replay: the same id and content were "
                                              "stored before; nothing is stored again",
                               "headers": _TIMING},
                         201: {"description": "Stored and assessed", "headers": _TIMING},
                         **_WRITE_ERRORS},
              tags=["applications"], summary="Store and assess one incoming application")
    async def post_application(body: models.ApplicationIn, response: Response,
                               key: ApiKey = writer) -> dict[str, Any]:
        # async, with the store's work sent to the thread pool here: FastAPI then checks the
        # answer against its model on the event loop, where for a plain def it takes a second
        # trip through the pool (~0.23 ms of CPU a trip here, two threads handing over)
        phases, sent = Phases(), time.perf_counter()

        def submit() -> tuple[bool, dict[str, Any]]:
            phases.add("queue", time.perf_counter() - sent)
            return assessor.submit(body, phases)

        created, assessment = await run_in_threadpool(submit)
        phases.add("total", time.perf_counter() - sent)
        response.headers[timing.HEADER] = phases.header()
        if not created:
            response.status_code = 200
        return assessment

    @app.get("/v1/applications/{application_id:path}", response_model=models.ApplicationOut,
             responses={404: {"model": models.MessageOut}, **_AUTH_ERRORS},
             tags=["applications"], summary="A stored application with its latest scores")
    def get_application(
        application_id: Annotated[str, Path(max_length=256)],
        key: ApiKey = reader,
    ) -> Any:
        found = assessor.application(application_id)
        if found is None:
            return JSONResponse({"detail": "no such application"}, status_code=404)
        return found

    @app.get("/v1/rings/{ring_id}", response_model=models.RingOut,
             responses={404: {"model": models.MessageOut}, **_AUTH_ERRORS},
             tags=["rings"], summary="One ring with its members and what ties them")
    def get_ring(ring_id: Annotated[str, Path(max_length=64)], key: ApiKey = reader) -> Any:
        found = assessor.ring(ring_id)
        if found is None:
            return JSONResponse({"detail": "no such ring"}, status_code=404)
        return found

    @app.get("/v1/rings", response_model=models.RingList, responses=_AUTH_ERRORS,
             tags=["rings"], summary="Rings by score: the last sweep's and those formed since")
    def list_rings(
        min_score: Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        key: ApiKey = reader,
    ) -> dict[str, Any]:
        return {"rings": assessor.rings(min_score, limit)}

    @app.get("/healthz", response_model=models.Status, tags=["operations"],
             summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=models.Status, tags=["operations"],
             responses={503: {"model": models.Status}}, summary="The store is reachable")
    def readyz() -> Any:
        if assessor.ready():
            return {"status": "ready"}
        return JSONResponse({"status": "store unavailable"}, status_code=503)

    browser = _browser_router()
    if browser is not None:  # Neo4j Browser style and guide: public static assets, no key
        app.include_router(browser)
    return app


def _browser_router() -> Any:
    try:
        from fraudrings.browser.routes import router
    except ModuleNotFoundError as exc:
        if exc.name in ("fraudrings.browser", "fraudrings.browser.routes"):
            return None  # not written yet: serve the API alone
        raise
    return router

"""The REST API of DESIGN §6, for every CRM and automation tool without a connector.

`GET /api/v1/health`, `/api/v1/ready` and `/api/v1/live` (no token: the proxy's and the
operators' checks); `POST /api/v1/leads` and `POST /api/v1/touches` take
`{"source": "...", "rows": [{canonical fields}]}` and answer with the `import --format json`
object (`line` is the row's index, from 1); `GET /api/v1/report` answers with the
`report --format json` object. `Authorization: Bearer TOKEN` (core.services.api_tokens): no or a
revoked token is 401, a read token cannot write (403), a body over the limit is 413.
Routes only parse, call core.services in one unit of work, and answer. Every request leaves
one structured log line (core.request_log: method, path without the query, status, duration).
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import BodyLimit
from core import limits, readiness, request_log
from core.errors import Busy, InvalidInput, NotFound, PermissionDenied
from core.ingest import FileRefused, UsageError
from core.json_values import plain_json
from core.services import api_tokens, imports, measurement
from core.services.api_tokens import ApiClient
from core.services.audit import acting_through
from db import health
from db.engine import get_session

Cell = StrictBool | StrictInt | StrictFloat | str | None


class Batch(BaseModel):
    """Rows to import, in the canonical fields of a lead or touch file."""

    source: str = Field(min_length=1, max_length=64, examples=["website"],
                        description="The system the ids belong to.")
    rows: list[dict[str, Cell]] = Field(
        min_length=1, max_length=limits.ROWS_MAX_PER_BATCH,
        description="Canonical fields (docs/api.md); other keys go to the lead's attributes.")


class RowErrorOut(BaseModel):
    line: int
    column: str
    reason: str


class ImportOut(BaseModel):
    """What the batch did: read = inserted + updated + unchanged + rejected."""

    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowErrorOut]
    notes: list[str]
    batch: int | None


class Problem(BaseModel):
    detail: str


# The breakdowns the read side offers: rep, channel, segment, region
GroupBy = StrEnum("GroupBy", {name: name for name in measurement.FILTERS})


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in {
        401: "no token, or an unknown or revoked one", 403: "the token may not do this",
        413: "the body is over the limit", 422: "the input is invalid",
        503: "the database is busy; try again"}.items()}


def create_app() -> FastAPI:
    """The API application (served by `python -m core.cli api serve`)."""
    app = FastAPI(title="Handoff REST API", version="1",
                  description="Leads and touches in, the SLA report out (docs/api.md).",
                  docs_url="/api/docs", openapi_url="/api/v1/openapi.json", redoc_url=None)
    _handle_refusals(app)
    app.get("/api/v1/health", tags=["health"])(health_route)
    app.get("/api/v1/ready", tags=["health"],
            responses={503: {"description": "a check failed: the answer names it"}}
            )(ready_route)
    app.get("/api/v1/live", tags=["health"])(live_route)
    app.post("/api/v1/leads", response_model=ImportOut, responses=PROBLEMS,
             tags=["import"])(_importer(imports.import_lead_rows, "leads"))
    app.post("/api/v1/touches", response_model=ImportOut, responses=PROBLEMS,
             tags=["import"])(_importer(imports.import_touch_rows, "touches"))
    app.get("/api/v1/report", responses=PROBLEMS, tags=["report"])(report_route)
    return app


def served_app() -> "RequestLog":
    """The application with its body limit and its log line per request, as uvicorn serves
    it."""
    return RequestLog(BodyLimit(create_app(), limits.API_BODY_MAX_BYTES))


class RequestLog:
    """ASGI middleware: one "request" log line per HTTP request, with its method, its path
    (never the query string, which may hold secrets), the status answered and the duration;
    a request that raised is 500 with the exception's type."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered: list[int] = []

        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            await send(message)

        with request_log.timed("request", method=scope["method"], path=scope["path"]) as line:
            try:
                await self.app(scope, receive, sent)
            except Exception as error:  # uvicorn logs its traceback
                line.failed(error, status=answered[0] if answered else 500,
                            error=type(error).__name__, traceback=False)
                raise
            line.set(status=answered[0] if answered else None)


# --- authentication ----------------------------------------------------------------------


def client(authorization: Annotated[str | None, Header()] = None) -> ApiClient:
    """The client of the request's bearer token; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    with get_session() as session:
        found = api_tokens.client_for(session=session, token=token.strip()
                                      if scheme.lower() == "bearer" else None)
    if found is None:
        raise _Refused(401, "a valid API token is needed: Authorization: Bearer <token>")
    return found


def writer(found: Annotated[ApiClient, Depends(client)]) -> ApiClient:
    """A client whose token may write; 403 for a read token."""
    if not found.can_write:
        raise _Refused(403, f"the token '{found.name}' is read-only; writing needs a write token")
    return found


# --- routes ------------------------------------------------------------------------------


def health_route() -> JSONResponse:
    """Whether the API can serve: the database answers and its schema is at the head."""
    state = health.check()
    return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)


def ready_route() -> JSONResponse:
    """Whether every part can serve: the database, its migrations, the worker's Redis and
    the workers (core.readiness); 503 names the checks that failed."""
    state = readiness.ready()
    return JSONResponse(state, status_code=200 if state["status"] == "ready" else 503)


def live_route() -> dict:
    """The process is up and answers (no database, nothing else looked at)."""
    return {"status": "ok"}


def _importer(store: Callable[..., imports.ImportSummary], kind: str):
    def route(batch: Batch, found: Annotated[ApiClient, Depends(writer)]) -> dict:
        with acting_through("api"), get_session() as session:
            summary = store(session=session, actor=found.actor, rows=batch.rows,
                            source=batch.source, name=f"API batch ({found.name})")
        return summary.as_json()

    route.__name__ = f"import_{kind}"
    route.__doc__ = (f"Import {kind}: the good rows are stored, every bad row is named by its "
                     "index (from 1) and column.")
    return route


def report_route(
    found: Annotated[ApiClient, Depends(client)],
    period: Annotated[str, Query(max_length=40, examples=["2026-Q3"],
                                 description="2026-03, 2026-Q1 or 2026-01-01:2026-04-01")],
    agreement: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    as_of: Annotated[str | None, Query(max_length=40, description="ISO 8601 instant")] = None,
    by: GroupBy | None = None,
) -> dict:
    """The report object of `report --format json` for a period."""
    with get_session() as session:
        scope = measurement.scope(session=session, actor=found.actor, period=period,
                                  agreement_id=agreement, as_of=as_of)
        return plain_json(measurement.report(session=session, actor=found.actor, scope=scope,
                                             by=by.value if by else None))


# --- refusals ----------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


REFUSALS: dict[type[Exception], int] = {
    PermissionDenied: 403, NotFound: 404, measurement.AmbiguousAgreement: 422,
    InvalidInput: 422, FileRefused: 422, UsageError: 422, Busy: 503,
}


def _handle_refusals(app: FastAPI) -> None:
    """Each refusal by the domain as its status with the domain's own message."""

    async def refused(_request: Request, error: _Refused) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=headers)

    app.add_exception_handler(_Refused, refused)
    for kind, status in REFUSALS.items():
        app.add_exception_handler(kind, _answer_with(status))


def _answer_with(status: int):
    async def answer(_request: Request, error: Exception) -> JSONResponse:
        headers = {"Retry-After": "5"} if status == 503 else None
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

    return answer

"""RFC 9457 problem details for every error the service returns.

Every error body is `application/problem+json` with type, title, status, detail and
instance (the path), plus the request id; validation errors list each field's place.
A database that cannot be reached (down, restarting, out of connections, locked past
the busy timeout) is a 503 with `Retry-After`, on every route. Unexpected failures are
logged with their traceback and answered with a plain 500 problem that leaks nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as db_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("replenish.api")
MEDIA_TYPE = "application/problem+json"
#: Database errors that mean "not now" rather than "never": answered 503, retry later.
UNAVAILABLE = (
    db_errors.OperationalError,
    db_errors.InterfaceError,
    db_errors.DisconnectionError,
    db_errors.TimeoutError,
)
RETRY_AFTER_SECONDS = 5


class HTTPProblem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra or {}


def problem_response(
    request: Request, status: int, title: str, detail: str, extra: dict[str, Any] | None = None
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **(extra or {}),
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def unavailable_response(request: Request, exc: Exception) -> JSONResponse:
    """503: the database could not be used for this request (logged once, no traceback
    for the client); the client retries after RETRY_AFTER_SECONDS."""
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, _cause(exc))
    detail = f"the database is unavailable; retry in {RETRY_AFTER_SECONDS} s"
    return problem_response(request, 503, "Service Unavailable", detail)


def _cause(exc: Exception) -> str:
    """The driver's first line of `exc` (SQLAlchemy wraps it as `orig`)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(HTTPProblem)
    async def _problem(request: Request, exc: HTTPProblem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(request, 422, "Invalid request", detail, {"errors": errors})

    @app.exception_handler(db_errors.SQLAlchemyError)
    async def _database(request: Request, exc: db_errors.SQLAlchemyError) -> JSONResponse:
        if isinstance(exc, UNAVAILABLE):
            return unavailable_response(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal error", "the server could not do this")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

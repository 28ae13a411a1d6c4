"""Error responses: a `detail` that names what is wrong, the request id, and never a
traceback or the submitted values (which may be passwords)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from orgo.core.logging import request_id_var
from orgo.errors import DomainError, InvalidField, TooManyAttempts, Unauthorized

log = logging.getLogger(__name__)

# The database (or a connection to it) is unavailable: a retryable 503, not a bug's 500.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)
RETRY_AFTER_SECONDS = 5
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


def problem(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "request_id": request_id_var.get()},
        status_code=status,
        headers=headers,
    )


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, InvalidField):
        detail: Any = [{"loc": ["body", exc.field], "msg": exc.detail, "type": "value_error"}]
        return problem(exc.status_code, detail)
    return problem(exc.status_code, exc.detail, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return problem(422, detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route matching the path only.
        headers["Allow"] = allowed_methods(request)
    return problem(exc.status_code, exc.detail, headers)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (only run for a 405)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    )


async def _dependency_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(
        503,
        "the database is unavailable; retry later",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _dependency_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)

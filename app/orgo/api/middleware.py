"""Per-request id, access log line and HTTP metrics (a plain ASGI middleware, so that
context set by dependencies, such as the user id, is still visible when the line is
written)."""

from __future__ import annotations

import logging
import random
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orgo.core.logging import request_id_var, user_id_var
from orgo.core.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

access_log = logging.getLogger("orgo.access")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    # Unique, not secret: a random 128-bit id without uuid4's system call per request.
    return f"{random.getrandbits(128):032x}"


def _route_template(scope: Scope) -> str:
    path: str | None = getattr(scope.get("route"), "path", None)
    return path or UNMATCHED_ROUTE


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        request_id_var.set(request_id)
        user_id_var.set(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (REQUEST_ID_HEADER, request_id.encode("latin-1"))
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    @staticmethod
    def _observe(scope: Scope, status: int, elapsed: float) -> None:
        route = _route_template(scope)
        method = scope["method"]
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_REQUEST_DURATION.labels(method, route, str(status)).observe(elapsed)
        client = scope.get("client")
        access_log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "event.dataset": "orgo.access",
                "http.request.method": method,
                "url.path": scope["path"],
                "http.response.status_code": status,
                "event.duration": int(elapsed * 1e9),
                "orgo.route": route,
                "client.ip": client[0] if client else None,
            },
        )

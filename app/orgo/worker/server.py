"""The worker's small HTTP endpoint: GET /metrics and GET /healthz."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orgo.core.metrics import exposition

_STATUS_TEXT = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


def _response(status: int, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def serve(host: str, port: int, healthy: Callable[[], bool]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            path = request_line.split(b" ")[1].split(b"?")[0] if b" " in request_line else b""
            if path == b"/metrics":
                body, content_type = exposition()
                writer.write(_response(200, body, content_type))
            elif path == b"/healthz":
                ok = healthy()
                writer.write(
                    _response(200 if ok else 503, b"ok\n" if ok else b"stalled\n", "text/plain")
                )
            else:
                writer.write(_response(404, b"not found\n", "text/plain"))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)

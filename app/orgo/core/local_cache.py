"""Process-local copies of Redis keys, kept coherent by Redis itself (server-assisted
client-side caching, BCAST mode).

One dedicated RESP3 connection sends `CLIENT TRACKING ON BCAST PREFIX <prefix>`. From then
on Redis pushes the name of every key under the prefix that any client sets, deletes, or
that expires or is evicted (and a null for FLUSHDB/FLUSHALL), and the copy is dropped.

The pushes are applied in the protocol's `data_received`, which the event loop calls before
it runs the request handlers that became ready in the same turn: an invalidation that
reached this process before a request did is applied before that request is served. Redis
writes the push before it answers the write that caused it, so once a writer has seen its
Redis delete succeed, no process on that host serves the old copy.

Copies are served only while the tracking is in place: losing the connection drops them
all, and none is kept again until Redis tracks for us once more. A TTL bounds what could
still slip through (a push lost in a network partition that TCP has not noticed yet).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis

log = logging.getLogger(__name__)
V = TypeVar("V")

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


class TrackingRefused(Exception):
    """Redis answered the tracking set-up with an error (bad password, Redis before 6)."""


@dataclass(frozen=True)
class Ticket:
    """What the copies were like when a Redis read was sent: the read's answer may be kept
    only if nothing was invalidated and the tracking never lapsed in the meantime."""

    generation: int


def _command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def tracking_commands(redis_url: str, prefix: str) -> list[bytes]:
    """HELLO 3 (with AUTH when the URL has a password), SELECT for a non-zero database, and
    the BCAST tracking of the prefix."""
    url = urlsplit(redis_url)
    hello = ["HELLO", "3"]
    if url.password is not None:
        hello += ["AUTH", unquote(url.username or "") or "default", unquote(url.password)]
    commands = [_command(*hello, "SETNAME", "orgo-local-cache")]
    if (database := url.path.lstrip("/")) not in ("", "0"):
        commands.append(_command("SELECT", database))
    commands.append(_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", prefix))
    return commands


def tls_context(query: str) -> ssl.SSLContext:
    """The verification redis-py does for the same rediss:// URL: the CA file of its
    `ssl_ca_certs` parameter when there is one, else the system's trust store; the server's
    name or address checked against its certificate either way."""
    ca_files = parse_qs(query).get("ssl_ca_certs")
    return ssl.create_default_context(cafile=ca_files[-1] if ca_files else None)


class _TrackingProtocol(asyncio.Protocol):
    """Sends the set-up commands, then turns every push into a call of `on_invalidate`.

    The callbacks run inside the event loop's I/O callbacks, before any task resumes."""

    def __init__(
        self,
        commands: list[bytes],
        on_tracking: Callable[[], None],
        on_invalidate: Callable[[list[bytes] | None], None],
        on_lost: Callable[[], None],
    ) -> None:
        loop = asyncio.get_running_loop()
        self._commands = commands
        self._unanswered = len(commands)
        self._reader = hiredis.Reader()
        self._on_tracking = on_tracking
        self._on_invalidate = on_invalidate
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self.tracking: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, but have the same methods.
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(b"".join(self._commands))

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                self._handle(reply)
        except hiredis.ProtocolError as exc:
            self._fail(TrackingRefused(f"unreadable reply: {exc}"))

    def _handle(self, reply: object) -> None:
        if isinstance(reply, list) and len(reply) == 2 and reply[0] == b"invalidate":
            self._on_invalidate(reply[1])
        elif isinstance(reply, hiredis.ReplyError):
            self._fail(TrackingRefused(str(reply)))
        elif self._unanswered > 0:
            self._unanswered -= 1
            if self._unanswered == 0:
                self._on_tracking()
                self.tracking.set_result(None)

    def _fail(self, error: Exception) -> None:
        if not self.tracking.done():
            self.tracking.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()
        if not self.tracking.done():
            self.tracking.set_exception(exc or ConnectionResetError("redis closed the connection"))
        if not self.closed.done():  # cancelled when the tracking task was
            self.closed.set_result(None)


class LocalCopies(Generic[V]):
    """Copies of Redis keys under one prefix, each kept for at most `ttl_seconds` and only
    while Redis tracks the prefix for this process; at most `capacity` of them."""

    def __init__(
        self, redis_url: str, prefix: str, ttl_seconds: float, capacity: int, timeout: float
    ) -> None:
        self._url = urlsplit(redis_url)
        self._commands = tracking_commands(redis_url, prefix)
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._timeout = timeout
        self._copies: dict[str, tuple[float, V]] = {}
        self._generation = 0
        self.live = False

    def get(self, key: str) -> V | None:
        if not self.live or (entry := self._copies.get(key)) is None:
            return None
        expires_at, value = entry
        if time.monotonic() >= expires_at:
            del self._copies[key]
            return None
        return value

    def ticket(self) -> Ticket | None:
        """To take before reading Redis; None while nothing may be kept."""
        return Ticket(self._generation) if self.live else None

    def keep(self, ticket: Ticket | None, key: str, value: V) -> None:
        """Keeps what Redis answered, unless the copies changed since the ticket was taken."""
        if ticket is None or not self.live or ticket.generation != self._generation:
            return
        if len(self._copies) >= self._capacity and key not in self._copies:
            del self._copies[next(iter(self._copies))]  # the oldest kept
        self._copies[key] = (time.monotonic() + self._ttl, value)

    def drop(self, key: str) -> None:
        self._generation += 1
        self._copies.pop(key, None)

    def _invalidate(self, keys: list[bytes] | None) -> None:
        self._generation += 1
        if keys is None:
            self._copies.clear()
        else:
            for key in keys:
                self._copies.pop(key.decode(), None)

    def _start_serving(self) -> None:
        self.live = True

    def _lose(self) -> None:
        self.live = False
        self._invalidate(None)

    async def run(self) -> None:
        """Keeps the tracking connection up until cancelled, retrying with backoff."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await self._track()
                delay = RETRY_FIRST_SECONDS
            except (OSError, TimeoutError, TrackingRefused) as exc:
                log.warning(
                    "redis invalidations unavailable, local cache off; retrying in %.1fs: %s",
                    delay,
                    str(exc) or type(exc).__name__,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _track(self) -> None:
        """One connection's life: set up the tracking, serve copies until it is lost."""
        protocol = _TrackingProtocol(
            self._commands, self._start_serving, self._invalidate, self._lose
        )
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._timeout):
            transport, _ = await loop.create_connection(
                lambda: protocol,
                self._url.hostname or "localhost",
                self._url.port or 6379,
                ssl=tls_context(self._url.query) if self._url.scheme == "rediss" else None,
            )
        try:
            async with asyncio.timeout(self._timeout):
                await protocol.tracking
            log.info("redis tracks the local cache's keys; local copies on")
            await protocol.closed
            log.warning("redis invalidation connection lost; local copies dropped")
        finally:
            transport.close()

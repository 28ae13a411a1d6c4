"""Operations endpoints: liveness, readiness and Prometheus metrics (no auth: they are
served to the orchestrator and the scraper; put them behind the network policy)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from orgo.api.deps import State
from orgo.api.state import AppState
from orgo.core.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING, exposition
from orgo.events.relay import outbox_backlog
from orgo.models import utcnow

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database(state: AppState) -> None:
    async with state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check(probe: Callable[[], Awaitable[None]], timeout: float) -> str:
    try:
        await asyncio.wait_for(probe(), timeout)
    except TimeoutError:
        return f"down: no answer within {timeout:g}s"
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


@router.get(
    "/readyz",
    summary="Database, Redis and broker reachable",
    responses={503: {"description": "At least one dependency is down; `checks` names it"}},
)
async def readyz(state: State) -> JSONResponse:
    timeout = state.settings.dependency_timeout_seconds
    probes: dict[str, Callable[[], Awaitable[None]]] = {"database": lambda: _database(state)}
    if state.redis.configured:
        probes["redis"] = state.redis.ping
    if state.settings.amqp_url:
        probes["broker"] = state.broker.check
    results = await asyncio.gather(*(_check(probe, timeout) for probe in probes.values()))
    checks = dict(zip(probes, results, strict=True))
    down = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "unavailable" if down else "ready", "checks": checks, "down": down}
    return JSONResponse(body, status_code=503 if down else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(state: State) -> Response:
    try:
        async with state.sessions() as session:
            pending, oldest = await asyncio.wait_for(
                outbox_backlog(session), state.settings.dependency_timeout_seconds
            )
        OUTBOX_PENDING.set(pending)
        OUTBOX_OLDEST_AGE.set((utcnow() - oldest).total_seconds() if oldest else 0)
    except Exception:  # noqa: S110 - the scrape still serves every other metric
        pass
    body, content_type = exposition()
    return Response(body, media_type=content_type)

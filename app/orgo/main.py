"""The FastAPI application: `create_app()` is what uvicorn serves."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from orgo import __version__
from orgo.api.body_limit import BodySizeLimit
from orgo.api.docs import OPENAPI_URL, install_docs
from orgo.api.errors import install_error_handlers
from orgo.api.middleware import RequestObservability
from orgo.api.routes import auth, notifications, ops, tasks, users
from orgo.api.state import AppState
from orgo.api.web import WebAssets, read_security_headers
from orgo.core.config import Environment, Settings, get_settings
from orgo.core.logging import configure_logging
from orgo.core.metrics import record_build_info
from orgo.migrations.runner import upgrade_to_head
from orgo.schemas import Problem

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, invalid or expired token"}
}

YOUNG_GC_THRESHOLD = 50_000

# How the docs group the routes.
DOC_ORDER = ("auth", "users", "tasks", "notifications", "operations")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("orgo-api", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.env == Environment.dev:
            # Only the embedded dev default creates its own tables; elsewhere `orgo migrate`
            # runs once per release before the API starts.
            await asyncio.to_thread(upgrade_to_head, settings)
        record_build_info("orgo-api")
        app.state.orgo = AppState.build(settings)
        app.state.orgo.cache.start()
        # Everything built so far lives as long as the process: keeping it out of the
        # collector's generations makes every full collection during requests cheaper.
        gc.freeze()
        # A request allocates a few hundred objects, almost all freed by reference counting:
        # at the default (700) a young collection ran every two or three requests. Only the
        # youngest generation's threshold is raised; the older ones keep their defaults.
        gc.set_threshold(YOUNG_GC_THRESHOLD, 10, 10)
        yield
        await app.state.orgo.close()

    app = FastAPI(
        title="Orgo API",
        version=__version__,
        description="Tasks of an organisation, with events, notifications and activity.",
        lifespan=lifespan,
        openapi_tags=[{"name": name} for name in DOC_ORDER],
        # operationId = the handler's name (get_task, update_user...): what OpenAPI links
        # and generated clients refer to.
        generate_unique_id_function=lambda route: route.name,
        # Metrics and logs are Prometheus and ECS lines (orgo.core); FastAPI's own
        # OpenTelemetry would only ask on every request whether a provider is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Off: no route at all (404). On: /docs with pinned assets (orgo.api.docs), no ReDoc.
        openapi_url=OPENAPI_URL if settings.serves_docs else None,
        docs_url=None,
        redoc_url=None,
    )
    if settings.serves_docs:
        install_docs(app)
    # Added first, so it runs inside RequestObservability: a 413 is logged and counted.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObservability)
    install_error_handlers(app)
    # Routers carry their full path prefix, so a route's template is the public path. Their
    # prefixes do not overlap, so their order only decides how many routes a request is
    # matched against: the busiest first (the docs keep DOC_ORDER).
    for protected in (tasks.router, users.router, notifications.router):
        app.include_router(protected, responses=UNAUTHORIZED)
    app.include_router(auth.router)
    app.include_router(ops.router)
    if settings.web_dir is not None:
        # Last: every API route is matched first, and the UI never answers the API's paths.
        app.router.routes.append(WebAssets(settings.web_dir, read_security_headers()))
    return app

"""Metrics add up across uvicorn workers (PROMETHEUS_MULTIPROC_DIR), by route template."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import wait_until

REQUESTS = 40


def test_request_counts_add_up_across_uvicorn_workers(tmp_path: Path) -> None:
    env = orgo_env(
        f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}",
        ORGO_WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    orgo(env, "migrate")
    api = OrgoProcess("api", env).start()
    try:
        # Both workers must be up before the count means anything.
        wait_until(
            lambda: len(list((tmp_path / "metrics").glob("*.db"))) >= 2,
            60,
            "two uvicorn workers writing metrics",
        )
        before = api.metric("orgo_http_requests_total", {"route": "/api/v1/tasks/{task_id}"})
        for _ in range(REQUESTS):
            # A fresh connection each time spreads the requests over the workers.
            httpx.get(f"{api.url}/api/v1/tasks/00000000-0000-0000-0000-000000000000")
        labels = {"route": "/api/v1/tasks/{task_id}", "method": "GET", "status": "401"}

        def counted() -> float:
            return api.metric("orgo_http_requests_total", labels) - before

        # A request is counted just after its response is sent, so the last may lag a little.
        wait_until(lambda: counted() >= REQUESTS, 10, f"{REQUESTS} requests counted")
        assert counted() == REQUESTS
        count = api.metric(
            "orgo_http_request_duration_seconds_count", {"route": "/api/v1/tasks/{task_id}"}
        )
        assert count == REQUESTS
    finally:
        api.stop()

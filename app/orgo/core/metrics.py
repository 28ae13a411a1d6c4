"""Prometheus metrics of the API and the worker.

With PROMETHEUS_MULTIPROC_DIR set (several uvicorn workers), values are written to that
directory and aggregated at scrape time, so every worker process is counted.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from orgo import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "orgo_http_requests_total",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "orgo_http_request_duration_seconds",
    "Time from request received to response sent, by method, route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
CACHE_REQUESTS = Counter(
    "orgo_cache_requests_total",
    "Task cache look-ups: hit, miss, or bypass (Redis unreachable, served from the database).",
    ["result"],
)
CACHE_LOCAL_HITS = Counter(
    "orgo_cache_local_hits_total",
    "Task cache hits served from the API process's own copy, without asking Redis "
    '(also counted as result="hit" in orgo_cache_requests_total).',
)
OUTBOX_PENDING = Gauge(
    "orgo_outbox_pending_events",
    "Outbox events written but not yet published to the broker.",
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "orgo_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox event (0 when none is pending).",
    multiprocess_mode="mostrecent",
)
EVENTS_PUBLISHED = Counter(
    "orgo_events_published_total",
    "Outbox events handed to the broker, by outcome (success = confirmed by the broker).",
    ["outcome"],
)
EVENTS_CONSUMED = Counter(
    "orgo_events_consumed_total",
    "Events received by the worker, by type and outcome.",
    ["event_type", "outcome"],
)
DEAD_LETTER_MESSAGES = Gauge(
    "orgo_dead_letter_queue_messages",
    "Messages waiting in the dead-letter queue.",
    multiprocess_mode="mostrecent",
)
EVENT_PROCESSING_DURATION = Histogram(
    "orgo_worker_event_processing_duration_seconds",
    "Time the worker spends applying one event, by type.",
    ["event_type"],
    buckets=LATENCY_BUCKETS,
)
PERIODIC_JOB_RUNS = Counter(
    "orgo_periodic_job_runs_total",
    "Periodic job runs won by this replica, by job name and outcome.",
    ["job_name", "outcome"],
)


BUILD_INFO = Gauge(
    "orgo_build_info",
    "Always 1; labels carry the version of the running Orgo service.",
    ["version", "service"],
    multiprocess_mode="max",
)


def record_build_info(service: str) -> None:
    BUILD_INFO.labels(__version__, service).set(1)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric of this process (or all processes)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST

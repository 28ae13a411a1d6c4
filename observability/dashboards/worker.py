"""Orgo worker and queues: outbox, publish and consume rates, dead letters, processing
time, periodic jobs."""

from __future__ import annotations

from observability.config import Config
from observability.dashboards.spec import (
    DashboardSpec,
    PanelSpec,
    Row,
    Target,
    Threshold,
    matchers,
    ok_warn_bad,
)
from observability.rules.orgo import PERIODIC_JOB_LABEL

RATE = "[$__rate_interval]"
DEAD_LETTERED = 'outcome="dead_lettered"'


def _outbox(config: Config) -> Row:
    # The outbox gauges come from the API, which owns the transaction that writes them.
    api = matchers(config, config.jobs.api)
    age_limit = config.thresholds.outbox_oldest_age_seconds
    return Row(
        "Outbox",
        (
            PanelSpec(
                "Pending outbox events",
                (Target(f"max(orgo_outbox_pending_events{api})", "pending"),),
                unit="short",
                min=0,
            ),
            PanelSpec(
                "Oldest pending event age",
                (Target(f"max(orgo_outbox_oldest_pending_age_seconds{api})", "age"),),
                unit="s",
                min=0,
                thresholds=ok_warn_bad(age_limit / 2, age_limit),
                description=f"OrgoOutboxLagging fires above {age_limit:g}s.",
            ),
        ),
    )


def _events(config: Config) -> Row:
    worker = matchers(config, config.jobs.worker)
    dead = matchers(config, config.jobs.worker, DEAD_LETTERED)
    return Row(
        "Events",
        (
            PanelSpec(
                "Published to RabbitMQ by outcome",
                (
                    Target(
                        f"sum by (outcome) (rate(orgo_events_published_total{worker}{RATE}))",
                        "{{outcome}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Consumed by type and outcome",
                (
                    Target(
                        f"sum by (event_type, outcome) "
                        f"(rate(orgo_events_consumed_total{worker}{RATE}))",
                        "{{event_type}} {{outcome}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Dead-lettered by type",
                (
                    Target(
                        f"sum by (event_type) (rate(orgo_events_consumed_total{dead}{RATE}))",
                        "{{event_type}}",
                        may_be_empty=True,
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Dead-letter queue",
                (Target(f"max(orgo_dead_letter_queue_messages{worker})", "messages"),),
                unit="short",
                min=0,
                thresholds=(Threshold(float("-inf"), "green"), Threshold(1, "red")),
                description="Messages in orgo.worker.dead; each needs a decision (runbook).",
            ),
        ),
    )


def _processing(config: Config) -> Row:
    worker = matchers(config, config.jobs.worker)
    buckets = f"orgo_worker_event_processing_duration_seconds_bucket{worker}"
    runs = f"orgo_periodic_job_runs_total{worker}"
    return Row(
        "Processing",
        (
            PanelSpec(
                "Processing time by event type",
                tuple(
                    Target(
                        f"histogram_quantile({q}, sum by (le, event_type) (rate({buckets}{RATE})))",
                        f"p{p} {{{{event_type}}}}",
                    )
                    for q, p in ((0.5, 50), (0.99, 99))
                ),
                unit="s",
                # An event is one transaction, like a request: slow past the API's SLO threshold.
                thresholds=(
                    Threshold(float("-inf"), "green"),
                    Threshold(config.slo.latency_threshold_seconds, "red"),
                ),
            ),
            PanelSpec(
                "Periodic job runs",
                (
                    Target(
                        f"sum by ({PERIODIC_JOB_LABEL}, outcome) (increase({runs}{RATE}))",
                        f"{{{{{PERIODIC_JOB_LABEL}}}}} {{{{outcome}}}}",
                    ),
                ),
                unit="short",
            ),
        ),
    )


def dashboard(config: Config) -> DashboardSpec:
    return DashboardSpec(
        uid="orgo-worker",
        title="Orgo / Worker and queues",
        description="Outbox, event publishing and consumption, dead letters, periodic jobs.",
        instance_jobs=(config.jobs.worker, config.jobs.api),
        rows=(_outbox(config), _events(config), _processing(config)),
    )

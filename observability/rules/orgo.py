"""Alerts on the Orgo API and worker themselves: down, outbox lag, dead letters, jobs."""

from __future__ import annotations

from observability.config import Config
from observability.rules.model import Alert, Group

# The app's label naming a periodic job (`job` itself is the scrape job's).
PERIODIC_JOB_LABEL = "job_name"


def _env(config: Config) -> str:
    return "{{ $labels." + config.environment_label + " }}"


def _down(config: Config, name: str, job: str, what: str) -> Alert:
    return Alert(
        name=name,
        # absent(): no target at all (scaled to zero, lost from service discovery) is down too.
        expr=(
            f'sum by ({config.environment_label}, job) (up{{job="{job}"}}) == 0\n'
            f'or\nabsent(up{{job="{job}"}})\n'
        ),
        for_=config.timing.down_for,
        severity="critical",
        summary=f"Every Orgo {what} instance is down.",
        description=(
            f"Prometheus has not scraped any instance of job {job}"
            f"{{{{ if $labels.{config.environment_label} }}}} in {_env(config)}{{{{ end }}}} "
            f"for {config.timing.down_for}, or has no target for it at all."
        ),
    )


def group(config: Config) -> Group:
    jobs, limits, timing = config.jobs, config.thresholds, config.timing
    env = config.environment_label
    rules = (
        _down(config, "OrgoApiDown", jobs.api, "API"),
        _down(config, "OrgoWorkerDown", jobs.worker, "worker"),
        Alert(
            name="OrgoOutboxLagging",
            expr=(
                f"max by ({env}, job) (orgo_outbox_oldest_pending_age_seconds"
                f'{{job="{jobs.api}"}}) > {limits.outbox_oldest_age_seconds:g}'
            ),
            for_=timing.symptom_for,
            severity="warning",
            summary="Outbox events are waiting too long to be published.",
            description=(
                f"In {_env(config)} the oldest unpublished outbox event is "
                "{{ $value | humanizeDuration }} old (threshold "
                f"{limits.outbox_oldest_age_seconds:g}s): the relay is not publishing."
            ),
        ),
        Alert(
            name="OrgoEventPublishFailing",
            expr=(
                f"sum by ({env}, job) (rate(orgo_events_published_total"
                f'{{job="{jobs.worker}",outcome="failure"}}[5m])) > 0'
            ),
            for_=timing.symptom_for,
            severity="warning",
            summary="The outbox relay fails to publish events to RabbitMQ.",
            description=(
                f"In {_env(config)} {{{{ $value | humanize }}}} publishes per second fail."
            ),
        ),
        Alert(
            name="OrgoDeadLetterQueueNotEmpty",
            expr=(
                f"max by ({env}, job) (orgo_dead_letter_queue_messages"
                f'{{job="{jobs.worker}"}}) > {limits.dead_letter_messages:g}'
            ),
            for_=timing.symptom_for,
            severity="warning",
            summary="Events were dead-lettered and need a decision.",
            description=(
                f"In {_env(config)} the queue orgo.worker.dead holds {{{{ $value }}}} "
                "messages the worker gave up on."
            ),
        ),
        Alert(
            name="OrgoPeriodicJobFailing",
            expr=(
                f"sum by ({env}, job, {PERIODIC_JOB_LABEL}) (increase(orgo_periodic_job_runs_total"
                f'{{job="{jobs.worker}",outcome="failure"}}[15m])) > 0'
            ),
            for_=timing.symptom_for,
            severity="warning",
            summary="A periodic worker job keeps failing.",
            description=(
                f"In {_env(config)} the periodic job {{{{ $labels.{PERIODIC_JOB_LABEL} }}}} "
                "failed {{ $value | humanize }} times in the last 15 minutes."
            ),
        ),
    )
    return Group(file="orgo", name="orgo-app", rules=rules)

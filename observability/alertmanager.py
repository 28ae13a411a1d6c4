"""Alertmanager routing: by severity, grouped per alert and environment, with causes
inhibiting their symptoms. Receivers are referenced by name only; each deployment
supplies `receivers:` (and any secrets) next to this file, never in git."""

from __future__ import annotations

from observability.config import Config

# Receiver names every deployment must define.
RECEIVERS = ("default", "critical", "warning")


def _inhibit(
    config: Config, causes: list[str], symptoms: list[str], *equal: str
) -> dict[str, object]:
    return {
        "source_matchers": [f'alertname=~"{"|".join(causes)}"'],
        "target_matchers": [f'alertname=~"{"|".join(symptoms)}"'],
        "equal": [config.environment_label, *equal],
    }


def inhibit_rules(config: Config) -> list[dict[str, object]]:
    burn = [
        f"OrgoApi{sli}{speed}Burn"
        for sli in ("Availability", "Latency")
        for speed in ("Fast", "Slow")
    ]
    return [
        # A component that is down explains its own scrape failure.
        _inhibit(config, ["OrgoApiDown", "OrgoWorkerDown", "RabbitmqDown"], ["TargetDown"], "job"),
        # The worker runs the outbox relay and the periodic jobs.
        _inhibit(
            config,
            ["OrgoWorkerDown"],
            ["OrgoOutboxLagging", "OrgoEventPublishFailing", "OrgoPeriodicJobFailing"],
        ),
        # A broker that is gone or blocking publishers explains lag and publish failures.
        _inhibit(
            config,
            ["RabbitmqDown", "RabbitmqResourceAlarm"],
            [
                "OrgoOutboxLagging",
                "OrgoEventPublishFailing",
                "RabbitmqMemoryHigh",
                "RabbitmqDiskSpaceLow",
            ],
        ),
        # Without the database the API fails and jobs fail; page once, for the cause.
        _inhibit(
            config,
            ["PostgresDown"],
            [*burn, "OrgoOutboxLagging", "OrgoPeriodicJobFailing", "PostgresConnectionsHigh"],
        ),
        _inhibit(config, ["OrgoApiDown"], burn),
        # A fast burn already pages; the slow burn of the same SLI adds nothing.
        _inhibit(config, ["OrgoApiAvailabilityFastBurn"], ["OrgoApiAvailabilitySlowBurn"]),
        _inhibit(config, ["OrgoApiLatencyFastBurn"], ["OrgoApiLatencySlowBurn"]),
    ]


def routes(config: Config) -> dict[str, object]:
    """The `route:` tree and `inhibit_rules:` of alertmanager.yml."""
    return {
        "route": {
            "receiver": "default",
            "group_by": ["alertname", config.environment_label, "job"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "receiver": "critical",
                    "matchers": ['severity="critical"'],
                    "group_wait": "10s",
                    "repeat_interval": "1h",
                },
                {
                    "receiver": "warning",
                    "matchers": ['severity="warning"'],
                    "repeat_interval": "12h",
                },
            ],
        },
        "inhibit_rules": inhibit_rules(config),
    }

"""Bad config values fail early with a message naming the key and what is allowed."""

from __future__ import annotations

import re

import pytest

from observability.config import Config, ConfigError, Logs, Slo, Timing


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Config(slo=Slo(availability_target=1.5)), "slo.availability_target=1.5"),
        (lambda: Config(slo=Slo(latency_threshold_seconds=0.3)), "one of the API histogram"),
        (lambda: Config(timing=Timing(down_for="2 minutes")), "timing.down_for='2 minutes'"),
        (lambda: Config(environment_label="my-env"), "not a Prometheus label name"),
        (lambda: Config(logs=Logs(data_stream="orgo")), "must start with 'logs-orgo-'"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(make, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make()


def test_shortened_timings_reach_the_rules() -> None:
    from observability.rules import alerts

    config = Config(timing=Timing(evaluation_interval="1s", down_for="5s"))
    worker_down = next(a for a in alerts(config) if a.name == "OrgoWorkerDown")
    assert worker_down.to_dict(config)["for"] == "5s"

"""The checks `make verify` runs, assembled from the dev render, over a stand-in for the
cluster that answers with the rendered objects themselves (no API server runs here)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components import monitoring
from verify import cli
from verify.expectations import label
from verify.report import run_checks

from .conftest import STACKS, expected

DEPLOYED = {
    "observedGeneration": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
}


class RenderedCluster:
    """Returns each rendered object as the live one, with `statuses` by label; objects
    named in `missing` do not exist."""

    def __init__(self, statuses: dict[str, dict[str, Any]], missing: set[str]) -> None:
        self.statuses, self.missing = statuses, missing
        self.api = None

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        if label(obj) in self.missing:
            return None
        return {**obj, "status": self.statuses.get(label(obj), {})}


def object_results(cluster: RenderedCluster) -> dict[str, Any]:
    checks = cli.checks(cluster, expected("dev"))  # type: ignore[arg-type]
    names = {label(o) for o, _ in expected("dev").judged()} | {"rendered objects exist"}
    return run_checks([c for c in checks if c.name in names])


def test_one_row_per_judged_object_and_the_service_checks() -> None:
    names = [c.name for c in cli.checks(RenderedCluster({}, set()), expected("dev"))]  # type: ignore[arg-type]
    assert names[0] == "rendered objects exist"
    assert {label(o) for o, _ in expected("dev").judged()} <= set(names)
    assert "prometheus job orgo-api up" in names
    assert names[-5:] == [
        "grafana dashboards",
        "api /healthz via Gateway",
        "api login (throwaway user)",
        "api task create",
        "worker activity entry",
    ]


def test_a_missing_object_and_an_unready_deployment_are_named() -> None:
    cluster = RenderedCluster(
        {"Deployment orgo/orgo-worker": DEPLOYED}, {"StatefulSet redis/orgo-redis"}
    )
    results = object_results(cluster)
    assert results["rendered objects exist"].reason.startswith(
        "missing: StatefulSet redis/orgo-redis"
    )
    assert results["StatefulSet redis/orgo-redis"].reason == "does not exist"
    assert results["Deployment orgo/orgo-worker"].ok
    assert results["Deployment orgo/orgo-api"].reason == (
        "updatedReplicas 0/1, readyReplicas 0/1, availableReplicas 0/1"
    )


def test_a_finished_job_removed_after_its_ttl_passes() -> None:
    results = object_results(RenderedCluster({}, {"Job orgo/orgo-migrate"}))
    assert results["Job orgo/orgo-migrate"].ok
    assert "ttlSecondsAfterFinished" in results["Job orgo/orgo-migrate"].reason
    count = len(expected("dev").objects)
    assert results["rendered objects exist"].reason == f"all {count} rendered objects exist"


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_is_asked_where_the_render_serves_it(stack: str) -> None:
    """The Service and port the prometheus checks go through exist in the stack's render and
    lead to the stack's Prometheus (kube-prometheus-stack names them)."""
    [service] = [
        o
        for o in expected(stack).objects
        if o["kind"] == "Service"
        and o["metadata"]["name"] == monitoring.PROMETHEUS_SERVICE
        and o["metadata"]["namespace"] == cli.MONITORING
    ]
    assert monitoring.PROMETHEUS_PORT in [p["port"] for p in service["spec"]["ports"]]
    [prometheus] = [o for o in expected(stack).objects if o["kind"] == "Prometheus"]
    assert (
        service["spec"]["selector"]["operator.prometheus.io/name"] == prometheus["metadata"]["name"]
    )

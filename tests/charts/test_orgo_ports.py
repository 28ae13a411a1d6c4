"""The API port and the worker metrics port: one definition each. In the chart, the value
(service.port, worker.metricsPort) reaches the app's setting, the container, the Service and
the NetworkPolicy; the chart's and the Ansible role's defaults are the app's own."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from orgo.core.config import Settings
from tests.charts.test_orgo_chart import CHART, by_kind, render, settings_of

ROLE_DEFAULTS = CHART.parents[1] / "playbooks" / "roles" / "orgo" / "defaults" / "main.yml"


def container_ports(deployment: dict[str, Any]) -> set[int]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return {port["containerPort"] for c in containers for port in c.get("ports", [])}


def policy_ports(objects: list[dict[str, Any]]) -> set[int]:
    return {
        port["port"]
        for policy in by_kind(objects, "NetworkPolicy").values()
        for rule in policy["spec"].get("ingress", [])
        for port in rule.get("ports", [])
    }


@pytest.mark.parametrize(("api", "metrics"), [(None, None), (8081, 9999)], ids=["default", "set"])
def test_each_port_value_reaches_setting_container_service_and_policy(
    api: int | None, metrics: int | None
) -> None:
    sets = ["--set", f"service.port={api}", "--set", f"worker.metricsPort={metrics}"]
    objects = render(*(sets if api else ()))
    api = api or Settings.model_fields["port"].default
    metrics = metrics or Settings.model_fields["worker_metrics_port"].default
    settings = settings_of(objects)
    assert (settings["ORGO_PORT"], settings["ORGO_WORKER_METRICS_PORT"]) == (str(api), str(metrics))
    deployments = by_kind(objects, "Deployment")
    assert container_ports(deployments["orgo-api"]) == {api}
    assert container_ports(deployments["orgo-worker"]) == {metrics}
    service_ports = {
        p["port"] for s in by_kind(objects, "Service").values() for p in s["spec"]["ports"]
    }
    assert {api, metrics} <= service_ports
    assert {api, metrics} <= policy_ports(objects)


def test_the_role_defaults_are_the_app_defaults() -> None:
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text())
    assert defaults["orgo_api_port"] == Settings.model_fields["port"].default
    assert (
        defaults["orgo_worker_metrics_port"] == Settings.model_fields["worker_metrics_port"].default
    )

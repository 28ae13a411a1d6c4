"""Grafana reads no Secret: its sidecars get a Role in the monitoring namespace for ConfigMaps
only (no ClusterRole), and the dashboards live there. Checked on a real render of the
pinned kube-prometheus-stack with the values the program passes (infra.artefacts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra import observability
from infra.artefacts import artefact
from infra.components.monitoring import GRAFANA_SIDECAR_ROLE, NAMESPACE
from infra.helm import helm_template

Objects = Callable[[str], list[dict[str, Any]]]
STACKS = ("dev", "staging")
GRAFANA_ACCOUNT = {"kind": "ServiceAccount", "name": "monitoring-grafana", "namespace": NAMESPACE}
SIDECARS = ("grafana-sc-dashboard", "grafana-sc-datasources")


def stack_values(charts: Objects, stack: str) -> dict[str, Any]:
    values: dict[str, Any] = next(c for c in charts(stack) if c["resource"] == "monitoring-stack")[
        "values"
    ]
    return values


def render_stack(values: dict[str, Any]) -> list[dict[str, Any]]:
    key = "kube-prometheus-stack"
    return helm_template(key, artefact(key).path, NAMESPACE, values)


def grafana_bindings(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and GRAFANA_ACCOUNT in o.get("subjects", [])
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_is_bound_to_our_configmap_role_only(charts: Objects, stack: str) -> None:
    objects = render_stack(stack_values(charts, stack))
    bindings = grafana_bindings(objects)
    assert [(b["kind"], b["metadata"].get("namespace"), b["roleRef"]) for b in bindings] == [
        (
            "RoleBinding",
            NAMESPACE,
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": GRAFANA_SIDECAR_ROLE},
        )
    ]
    grafana_roles = [
        o["metadata"]["name"]
        for o in objects
        if o["kind"] in ("ClusterRole", "Role") and "grafana" in o["metadata"]["name"]
    ]
    assert grafana_roles == [], "the Grafana chart must not make a role of its own"


@pytest.mark.parametrize("stack", STACKS)
def test_the_sidecars_watch_configmaps_of_their_namespace(charts: Objects, stack: str) -> None:
    objects = render_stack(stack_values(charts, stack))
    [grafana] = [
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "monitoring-grafana"
    ]
    containers = {c["name"]: c for c in grafana["spec"]["template"]["spec"]["containers"]}
    for name in SIDECARS:
        env = {e["name"]: e.get("value") for e in containers[name]["env"]}
        assert env["RESOURCE"] == "configmap", name
        assert env.get("NAMESPACE", NAMESPACE) == NAMESPACE, name


def test_the_check_sees_the_cluster_wide_secret_reader(charts: Objects) -> None:
    """The values of before (searchNamespace ALL, RBAC not namespaced) give Grafana a
    ClusterRole on every Secret of the cluster: the render shows it."""
    values = stack_values(charts, "dev")
    grafana = dict(values["grafana"])
    grafana.pop("rbac", None)
    grafana["sidecar"] = {"dashboards": {"enabled": True, "searchNamespace": "ALL"}}
    objects = render_stack({**values, "grafana": grafana})
    [binding] = grafana_bindings(objects)
    assert binding["roleRef"]["kind"] == "ClusterRole"
    [role] = [o for o in objects if o["metadata"]["name"] == binding["roleRef"]["name"]]
    assert {"secrets"} <= set(role["rules"][0]["resources"])


@pytest.mark.parametrize("stack", STACKS)
def test_our_role_reads_configmaps_and_nothing_else(objects: Objects, stack: str) -> None:
    [role] = [
        o
        for o in objects(stack)
        if o["kind"] == "Role" and o["metadata"]["name"] == GRAFANA_SIDECAR_ROLE
    ]
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_dashboards_live_where_the_sidecar_reads(objects: Objects, stack: str) -> None:
    dashboards = [
        o
        for o in objects(stack)
        if o["kind"] == "ConfigMap"
        and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    assert len(dashboards) == len(observability.dashboards()) > 0
    assert {d["metadata"]["namespace"] for d in dashboards} == {NAMESPACE}

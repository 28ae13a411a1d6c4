"""The shared rules and dashboards (observability/) select series by scrape job and filter on
the environment label: on Kubernetes every job they use must be produced by a monitor of
the rendered stack, every target must carry the label, and the renamed CloudNativePG
series must cover the PostgreSQL exporter names they use."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from infra.versions import REPO_ROOT
from observability.config import Config
from observability.queries import (
    all_queries,
    kubernetes_jobs,
    not_on_kubernetes,
    selected_jobs,
)

Objects = Callable[[str], list[dict[str, Any]]]
STACKS = ("dev", "staging")
CONTRACT = Config()
PG_SERIES = re.compile(r"\bpg_[a-z_]+\b")
# The backup outcome times: orgo-backup's on hosts, CloudNativePG's renamed on Kubernetes.
BACKUP_SERIES = re.compile(r"\borgo_backup_[a-z_]+\b")
NOT_ON_KUBERNETES = not_on_kubernetes(CONTRACT)
# kube-prometheus-stack components with replicas: (replicas path, PDB values path).
CHART_REPLICATED = (
    ("prometheus.prometheusSpec.replicas", "prometheus.podDisruptionBudget"),
    ("alertmanager.alertmanagerSpec.replicas", "alertmanager.podDisruptionBudget"),
    ("grafana.replicas", "grafana.podDisruptionBudget"),
)


def expressions() -> Iterator[str]:
    """Every PromQL expression of the rules and the dashboards' panels."""
    return (query.expr for query in all_queries(CONTRACT))


def environment(stack: str) -> str:
    stack_file = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return str(stack_file["config"]["orgo:platform"]["environment"])


def monitoring_values(charts: Objects, stack: str) -> dict[str, Any]:
    return next(c for c in charts(stack) if c["resource"] == "monitoring-stack")["values"]


def lookup(values: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        values = values.get(key, {})
    return values


def named_jobs(relabelings: list[dict[str, Any]]) -> set[str]:
    """Jobs that relabelings set for every target (no source labels or regex to match)."""
    return {
        r["replacement"]
        for r in relabelings
        if r.get("targetLabel") == "job"
        and r.get("action", "replace") == "replace"
        and not {"sourceLabels", "regex"} & set(r)
    }


def _relabeling_lists(node: Any) -> Iterator[list[dict[str, Any]]]:
    """Every `relabelings` list inside a chart's values or a custom resource."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "relabelings" and isinstance(value, list):
                yield value
            else:
                yield from _relabeling_lists(value)
    elif isinstance(node, list):
        for item in node:
            yield from _relabeling_lists(item)


def scrape_sources(objects: Objects, charts: Objects, stack: str) -> set[str]:
    """Jobs named by the stack's ServiceMonitors, PodMonitors, CloudNativePG's PodMonitor
    (the Cluster's monitoring section) and the remote charts' monitor values."""
    jobs: set[str] = set()
    for obj in objects(stack):
        if obj["kind"] in ("ServiceMonitor", "PodMonitor"):
            for relabelings in _relabeling_lists(obj["spec"]):
                jobs |= named_jobs(relabelings)
        if obj["kind"] == "Cluster" and obj["spec"].get("monitoring", {}).get("enablePodMonitor"):
            jobs |= named_jobs(obj["spec"]["monitoring"].get("podMonitorRelabelings", []))
    for chart in charts(stack):
        for relabelings in _relabeling_lists(chart.get("values", {})):
            jobs |= named_jobs(relabelings)
    return jobs


def test_the_shared_rules_select_jobs() -> None:
    jobs = selected_jobs(CONTRACT)
    expected = {CONTRACT.jobs.node, CONTRACT.jobs.postgres, CONTRACT.jobs.redis}
    assert expected | {CONTRACT.jobs.rabbitmq} <= jobs, jobs
    assert set(NOT_ON_KUBERNETES) <= jobs, "an exception names a job no rule uses any more"


@pytest.mark.parametrize("stack", STACKS)
def test_every_selected_job_has_a_scrape_source(
    objects: Objects, charts: Objects, stack: str
) -> None:
    missing = kubernetes_jobs(CONTRACT) - scrape_sources(objects, charts, stack)
    assert not missing, f"{stack}: no ServiceMonitor/PodMonitor/chart value names job {missing}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_target_gets_the_environment_label(
    objects: Objects, charts: Objects, stack: str
) -> None:
    spec = monitoring_values(charts, stack)["prometheus"]["prometheusSpec"]
    default = [c for c in spec.get("scrapeClasses", []) if c.get("default")]
    assert len(default) == 1, "one default scrape class applies to every monitor"
    assert {
        "action": "replace",
        "targetLabel": CONTRACT.environment_label,
        "replacement": environment(stack),
    } in default[0]["relabelings"]
    opted_out = [
        o["metadata"]["name"]
        for o in objects(stack)
        if o["kind"] in ("ServiceMonitor", "PodMonitor") and "scrapeClass" in o["spec"]
    ]
    assert not opted_out, f"monitors leaving the default scrape class: {opted_out}"


def test_postgres_series_carry_the_exporter_names(objects: Objects) -> None:
    """CloudNativePG exports cnpg_*; every pg_* series the rules and dashboards use must be
    a rename target of the Cluster's PodMonitor."""
    used = {name for expr in expressions() for name in PG_SERIES.findall(expr)}
    cluster = next(o for o in objects("staging") if o["kind"] == "Cluster")
    renames = cluster["spec"]["monitoring"]["podMonitorMetricRelabelings"]
    renamed = {r["replacement"] for r in renames if r["targetLabel"] == "__name__"}
    assert used, "the rules no longer select any PostgreSQL series: update this test"
    assert used <= renamed, f"pg_* series without a CloudNativePG source: {used - renamed}"


def test_backup_series_come_from_cloudnative_pg(objects: Objects) -> None:
    """The backup alerts and panel read orgo-backup's series on hosts; on Kubernetes the
    Cluster's PodMonitor must produce each of them from a CloudNativePG series."""
    used = {name for expr in expressions() for name in BACKUP_SERIES.findall(expr)}
    cluster = next(o for o in objects("staging") if o["kind"] == "Cluster")
    renames = cluster["spec"]["monitoring"]["podMonitorMetricRelabelings"]
    sources = {
        r["replacement"]: r["regex"].split(";")[0]
        for r in renames
        if r["targetLabel"] == "__name__"
    }
    assert used, "the rules no longer select any backup series: update this test"
    assert used <= set(sources), (
        f"backup series without a CloudNativePG source: {used - set(sources)}"
    )
    assert all(sources[name].startswith("cnpg_collector_") for name in used), sources


@pytest.mark.parametrize("stack", STACKS)
def test_replicated_chart_components_have_disruption_budgets(charts: Objects, stack: str) -> None:
    values = monitoring_values(charts, stack)
    for replicas_path, budget_path in CHART_REPLICATED:
        replicas = int(lookup(values, replicas_path))
        budget = lookup(values, budget_path)
        enabled = bool(budget) and budget.get("enabled", True)
        if replicas == 1:
            assert not enabled, f"{budget_path}: a PDB on one replica blocks node drains"
            continue
        assert enabled, f"{budget_path}: {replicas} replicas without a PodDisruptionBudget"
        allowed_down = (
            replicas - int(budget["minAvailable"])
            if "minAvailable" in budget
            else int(budget["maxUnavailable"])
        )
        assert allowed_down == 1, f"{budget_path}: {allowed_down} pods may go at once"


def test_staging_replicates_the_chart_components(charts: Objects) -> None:
    """The PDB test above only means something if staging has replicas to protect."""
    values = monitoring_values(charts, "staging")
    assert all(int(lookup(values, path)) > 1 for path, _ in CHART_REPLICATED)

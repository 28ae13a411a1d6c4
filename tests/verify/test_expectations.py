"""The verifier's expectations come from each stack's render, by kind, not from a list."""

from __future__ import annotations

import pytest

from infra.validation import CrdSchemas, is_core_kind
from observability.queries import kubernetes_jobs
from verify import health
from verify.expectations import label

from .conftest import STACKS, expected


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_of_the_render_is_judged(stack: str) -> None:
    expect = expected(stack)
    judged = {label(obj) for obj, _ in expect.judged()}
    workloads = {label(o) for o in expect.objects if o["kind"] in health.WORKLOADS}
    assert workloads, f"{stack} renders no workload"
    assert workloads <= judged


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_kind_has_a_health_rule_or_a_reason(stack: str) -> None:
    """A kind the render gains (an operator chart's CRs) must be given a rule here."""
    objects = list(expected(stack).objects)
    crds = CrdSchemas.from_objects(objects)
    kinds = {(health.group_of(o), str(o["kind"])) for o in objects if not is_core_kind(o, crds)}
    unjudged = {
        kind
        for kind in kinds
        if kind not in health.CUSTOM_RESOURCES
        and kind[0] not in health.READY_CONDITION_GROUPS
        and kind not in health.EXISTENCE_ONLY
    }
    assert unjudged == set()


def test_the_dev_stack_checks_the_platforms_custom_resources() -> None:
    judged = {label(obj) for obj, _ in expected("dev").judged()}
    assert {
        "Cluster postgres/orgo-postgres",
        "RabbitmqCluster rabbitmq/orgo-rabbitmq",
        "Elasticsearch elastic/orgo",
        "Kibana elastic/orgo",
        "Certificate edge/orgo",
        "Gateway edge/orgo",
        "HTTPRoute orgo/orgo",
        "Deployment orgo/orgo-api",
        "StatefulSet redis/orgo-redis",
    } <= judged


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_jobs_and_dashboards_are_those_of_observability(stack: str) -> None:
    expect = expected(stack)
    assert expect.jobs == kubernetes_jobs()
    assert {"orgo-api", "orgo-worker"} <= expect.jobs
    assert {"orgo-api", "orgo-worker"} <= expect.dashboards


def test_aws_stacks_judge_only_what_runs_in_their_cluster() -> None:
    """prod runs PostgreSQL on RDS: no CloudNativePG Cluster to wait for."""
    kinds = {o["kind"] for o in expected("prod").objects}
    assert "Cluster" not in kinds
    assert "RabbitmqCluster" not in kinds
    assert expected("prod").domain == "orgo.example.com"

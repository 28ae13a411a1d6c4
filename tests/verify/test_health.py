"""Health rules over rendered objects given the status blocks each controller documents."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.edge import CLIENT_TLS_POLICY
from verify import health
from verify.expectations import label

from .conftest import expected, rendered


def cond(kind: str, status: str = "True", reason: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason}


def live(obj: dict[str, Any], status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {**obj, "spec": {**obj.get("spec", {}), **spec}, "status": status}


def rule_of(stack: str, kind: str, name: str) -> Any:
    """A rendered object and the health rule the verifier derived for it."""
    obj = rendered(stack, kind, name)
    (rule,) = [r for o, r in expected(stack).judged() if label(o) == label(obj)]
    return obj, rule


ROLLED_OUT = {"observedGeneration": 2, "updatedReplicas": 1, "readyReplicas": 1,
              "availableReplicas": 1}  # fmt: skip


def test_a_rolled_out_deployment_passes() -> None:
    obj, rule = rule_of("dev", "Deployment", "orgo-api")
    assert rule(live(obj, ROLLED_OUT)) == health.Health(
        True, "1/1 replicas updated, ready and available"
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({**ROLLED_OUT, "observedGeneration": 1}, "has not seen generation 2 yet (at 1)"),
        ({**ROLLED_OUT, "readyReplicas": 0, "availableReplicas": 0}, "readyReplicas 0/1"),
        ({"observedGeneration": 2}, "updatedReplicas 0/1"),
    ],
)
def test_a_deployment_not_rolled_out_fails(status: dict[str, Any], reason: str) -> None:
    obj, rule = rule_of("dev", "Deployment", "orgo-api")
    result = rule(live(obj, status))
    assert not result.ok
    assert reason in result.reason


def test_staging_declares_three_api_replicas_and_one_is_not_enough() -> None:
    """The staging chart leaves spec.replicas to its HPA: the HPA's minReplicas is declared."""
    obj, rule = rule_of("staging", "Deployment", "orgo-api")
    assert not rule(live(obj, ROLLED_OUT, replicas=1)).ok  # scaled below what the stack says
    three = {k: 3 if k != "observedGeneration" else 2 for k in ROLLED_OUT}
    assert rule(live(obj, three, replicas=3)).ok  # the HPA's minReplicas, set by the HPA
    assert rule(live(obj, {**three, "readyReplicas": 2}, replicas=3)).reason == "readyReplicas 2/3"
    assert rule(live(obj, ROLLED_OUT, replicas=1)).reason == (
        "spec.replicas is 1, the stack declares 3"
    )


def test_statefulset_waits_for_its_update_revision() -> None:
    obj, rule = rule_of("dev", "StatefulSet", "orgo-redis")
    done = {**ROLLED_OUT, "currentRevision": "r2", "updateRevision": "r2"}
    assert rule(live(obj, done)).ok
    rolling = rule(live(obj, {**done, "currentRevision": "r1"}))
    assert rolling == health.Health(False, "rolling from revision r1 to r2")


def test_daemonset_on_every_scheduled_node() -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "n", "generation": 1}}
    ok = {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
          "numberReady": 3, "numberAvailable": 3}  # fmt: skip
    assert health.daemonset(live(ds, ok), 1).ok
    assert health.daemonset(live(ds, {**ok, "numberReady": 2}), 1).reason == "numberReady 2/3"
    assert health.daemonset(live(ds, {"observedGeneration": 1}), 1).reason == "scheduled on no node"


def test_job_complete_or_failed() -> None:
    obj, rule = rule_of("dev", "Job", "orgo-migrate")
    assert rule(live(obj, {"conditions": [cond("Complete")]})).ok
    failed = rule(live(obj, {"conditions": [cond("Failed", reason="BackoffLimitExceeded")]}))
    assert failed == health.Health(False, "failed: BackoffLimitExceeded")
    assert rule(live(obj, {"active": 1})).reason == "not complete (1 active)"


def test_cloudnative_pg_cluster_healthy_and_not() -> None:
    obj, rule = rule_of("dev", "Cluster", "orgo-postgres")
    healthy = {"phase": "Cluster in healthy state", "readyInstances": 1,
               "conditions": [cond("Ready")]}  # fmt: skip
    assert rule(live(obj, healthy)).ok
    creating = {"phase": "Setting up primary", "conditions": [cond("Ready", "False")]}
    assert rule(live(obj, creating)).reason == "phase 'Setting up primary'"
    assert not rule(live(obj, {**healthy, "conditions": [cond("Ready", "False", "x")]})).ok


def test_cloudnative_pg_pooler_instances() -> None:
    obj, rule = rule_of("dev", "Pooler", "orgo-postgres-pooler-rw")
    assert rule(live(obj, {"instances": 1})).ok
    assert rule(live(obj, {"instances": 0})).reason == "0/1 PgBouncer instances"


def test_rabbitmq_cluster_needs_all_replicas_ready_and_available() -> None:
    obj, rule = rule_of("dev", "RabbitmqCluster", "orgo-rabbitmq")
    ok = {"conditions": [cond("AllReplicasReady"), cond("ClusterAvailable"),
                         cond("ReconcileSuccess")]}  # fmt: skip
    assert rule(live(obj, ok)).ok
    down = {"conditions": [cond("AllReplicasReady", "False", "NotAllPodsReady"),
                           cond("ClusterAvailable")]}  # fmt: skip
    assert rule(live(obj, down)) == health.Health(
        False, "AllReplicasReady is False: NotAllPodsReady"
    )
    assert rule(live(obj, {})).reason == "no AllReplicasReady condition yet"


def test_rabbitmq_topology_objects_report_ready() -> None:
    obj, rule = rule_of("dev", "User", "orgo-user")
    assert rule(live(obj, {"conditions": [cond("Ready")]})).ok
    assert not rule(live(obj, {"conditions": [cond("Ready", "False", "FailedCreateOrUpdate")]})).ok


def test_elasticsearch_green_and_single_node_yellow() -> None:
    obj, rule = rule_of("dev", "Elasticsearch", "orgo")
    assert rule(live(obj, {"health": "green"})).ok
    yellow = rule(live(obj, {"health": "yellow"}))
    assert yellow.ok and "one node" in yellow.reason
    assert rule(live(obj, {"health": "red"})) == health.Health(False, "health 'red'")


def test_elasticsearch_yellow_with_three_nodes_fails() -> None:
    obj, rule = rule_of("staging", "Elasticsearch", "orgo")
    assert rule(live(obj, {"health": "yellow"})) == health.Health(False, "health 'yellow'")


def test_kibana_and_beat_green() -> None:
    for kind in ("Kibana", "Beat"):
        obj, rule = rule_of("dev", kind, "orgo")
        assert rule(live(obj, {"health": "green"})).ok
        assert not rule(live(obj, {"health": "red"})).ok


def test_certificate_and_issuer_ready() -> None:
    for kind, name in (("Certificate", "orgo"), ("ClusterIssuer", "orgo-issuer")):
        obj, rule = rule_of("dev", kind, name)
        assert rule(live(obj, {"conditions": [cond("Ready")]})).ok
        issuing = rule(live(obj, {"conditions": [cond("Ready", "False", "Issuing")]}))
        assert issuing == health.Health(False, "Ready is False: Issuing")


def test_gateway_accepted_and_programmed() -> None:
    obj, rule = rule_of("dev", "Gateway", "orgo")
    assert rule(live(obj, {"conditions": [cond("Accepted"), cond("Programmed")]})).ok
    no_address = {"conditions": [cond("Accepted"), cond("Programmed", "False",
                                                         "AddressNotAssigned")]}  # fmt: skip
    assert rule(live(obj, no_address)).reason == "Programmed is False: AddressNotAssigned"


def test_httproute_accepted_with_resolved_refs_at_every_parent() -> None:
    obj, rule = rule_of("dev", "HTTPRoute", "orgo")
    parent = {"parentRef": {"name": "orgo"}, "controllerName": "gateway.envoyproxy.io/x"}
    good = {"parents": [{**parent, "conditions": [cond("Accepted"), cond("ResolvedRefs")]}]}
    assert rule(live(obj, good)).ok
    unresolved = [cond("Accepted"), cond("ResolvedRefs", "False", "BackendNotFound")]
    broken = {"parents": [{**parent, "conditions": unresolved}]}
    assert rule(live(obj, broken)).reason == "parent orgo: ResolvedRefs is False: BackendNotFound"
    assert rule(live(obj, {})).reason == "no parent has reported on it yet"


def test_envoy_gateway_policy_accepted_by_its_gateway() -> None:
    obj, rule = rule_of("dev", "ClientTrafficPolicy", CLIENT_TLS_POLICY)
    ancestor = {"ancestorRef": {"name": "orgo"}, "conditions": [cond("Accepted")]}
    assert rule(live(obj, {"ancestors": [ancestor]})).ok
    refused = {**ancestor, "conditions": [cond("Accepted", "False", "Invalid")]}
    assert not rule(live(obj, {"ancestors": [refused]})).ok

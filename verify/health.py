"""Is one live object healthy? Pure functions of the object as the API server returns it.

Workloads: rolled out at their replicas (observedGeneration caught up; updated, ready and
available replicas all there). Custom resources: each operator's own documented status
(CloudNativePG, RabbitMQ, ECK, cert-manager, Gateway API, Envoy Gateway). Kinds without a
documented health status only have to exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str


def _ok(reason: str) -> Health:
    return Health(True, reason)


def _bad(reason: str) -> Health:
    return Health(False, reason)


def group_of(obj: Obj) -> str:
    return str(obj["apiVersion"]).rpartition("/")[0]


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _generation_seen(obj: Obj) -> Health | None:
    """None when the controller has seen the object's latest spec."""
    generation = obj.get("metadata", {}).get("generation")
    observed = _status(obj).get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return _bad(f"controller has not seen generation {generation} yet (at {observed})")
    return None


def conditions_true(conditions: list[Mapping[str, Any]] | None, *types: str) -> Health:
    """Every condition of `types` present with status True."""
    found = {c.get("type"): c for c in conditions or []}
    for kind in types:
        condition = found.get(kind)
        if condition is None:
            return _bad(f"no {kind} condition yet")
        if condition.get("status") != "True":
            why = condition.get("reason") or condition.get("message") or condition.get("status")
            return _bad(f"{kind} is {condition.get('status')}: {why}")
    return _ok(", ".join(f"{t}=True" for t in types))


def _replicas(obj: Obj, declared: int, *fields: str) -> Health:
    stale = _generation_seen(obj)
    if stale:
        return stale
    wanted = int(obj.get("spec", {}).get("replicas", 1))
    if wanted < declared:
        return _bad(f"spec.replicas is {wanted}, the stack declares {declared}")
    status = _status(obj)
    short = [f"{field} {status.get(field, 0)}/{wanted}" for field in fields]
    short = [s for s, f in zip(short, fields, strict=True) if int(status.get(f, 0)) < wanted]
    if short:
        return _bad(", ".join(short))
    return _ok(f"{wanted}/{wanted} replicas updated, ready and available")


def deployment(obj: Obj, declared: int) -> Health:
    return _replicas(obj, declared, "updatedReplicas", "readyReplicas", "availableReplicas")


def statefulset(obj: Obj, declared: int) -> Health:
    health = _replicas(obj, declared, "updatedReplicas", "readyReplicas", "availableReplicas")
    status = _status(obj)
    if health.ok and status.get("currentRevision") != status.get("updateRevision"):
        current, update = status.get("currentRevision"), status.get("updateRevision")
        return _bad(f"rolling from revision {current} to {update}")
    return health


def daemonset(obj: Obj, _: int) -> Health:
    stale = _generation_seen(obj)
    if stale:
        return stale
    status = _status(obj)
    desired = int(status.get("desiredNumberScheduled", 0))
    if desired == 0:
        return _bad("scheduled on no node")
    fields = ("updatedNumberScheduled", "numberReady", "numberAvailable")
    short = [f"{f} {status.get(f, 0)}/{desired}" for f in fields if status.get(f, 0) < desired]
    return _bad(", ".join(short)) if short else _ok(f"on {desired}/{desired} nodes")


def job(obj: Obj, _: int) -> Health:
    conditions = {c.get("type"): c for c in _status(obj).get("conditions") or []}
    failed = conditions.get("Failed", {})
    if failed.get("status") == "True":
        return _bad(f"failed: {failed.get('reason') or failed.get('message')}")
    if conditions.get("Complete", {}).get("status") == "True":
        return _ok("complete")
    return _bad(f"not complete ({_status(obj).get('active', 0)} active)")


# kind -> (declared replicas -> health)
WORKLOADS: dict[str, Callable[[Obj, int], Health]] = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "Job": job,
}


def cnpg_cluster(obj: Obj) -> Health:
    # CloudNativePG: phase "Cluster in healthy state" and the Ready condition.
    status = _status(obj)
    phase = status.get("phase")
    if phase != "Cluster in healthy state":
        return _bad(f"phase {phase!r}")
    ready = conditions_true(status.get("conditions"), "Ready")
    instances = int(obj.get("spec", {}).get("instances", 1))
    if ready.ok and int(status.get("readyInstances", 0)) < instances:
        return _bad(f"readyInstances {status.get('readyInstances', 0)}/{instances}")
    return _ok(f"{phase}, {instances}/{instances} instances ready") if ready.ok else ready


def cnpg_pooler(obj: Obj) -> Health:
    wanted = int(obj.get("spec", {}).get("instances", 1))
    running = int(_status(obj).get("instances", 0))
    if running < wanted:
        return _bad(f"{running}/{wanted} PgBouncer instances")
    return _ok(f"{wanted}/{wanted} PgBouncer instances")


def rabbitmq_cluster(obj: Obj) -> Health:
    return conditions_true(_status(obj).get("conditions"), "AllReplicasReady", "ClusterAvailable")


def ready_condition(obj: Obj) -> Health:
    return conditions_true(_status(obj).get("conditions"), "Ready")


def _eck_green(obj: Obj) -> Health:
    health = _status(obj).get("health")
    return _ok("health green") if health == "green" else _bad(f"health {health!r}")


def elasticsearch(obj: Obj) -> Health:
    """Green; yellow only on a single node: a replica shard can never be placed on the node
    holding its primary, so one node is yellow as soon as any index asks for a replica,
    while every primary (all data) is assigned. Red is never accepted."""
    health = _status(obj).get("health")
    nodes = sum(int(s.get("count", 0)) for s in obj.get("spec", {}).get("nodeSets", []))
    if health == "yellow" and nodes == 1:
        return _ok("health yellow: one node, every primary assigned (replicas cannot be)")
    return _eck_green(obj)


def gateway(obj: Obj) -> Health:
    return conditions_true(_status(obj).get("conditions"), "Accepted", "Programmed")


def gateway_class(obj: Obj) -> Health:
    return conditions_true(_status(obj).get("conditions"), "Accepted")


def _per_parent(entries: list[Mapping[str, Any]] | None, what: str, *types: str) -> Health:
    if not entries:
        return _bad(f"no {what} has reported on it yet")
    for entry in entries:
        health = conditions_true(entry.get("conditions"), *types)
        if not health.ok:
            ref = entry.get("parentRef") or entry.get("ancestorRef") or {}
            return _bad(f"{what} {ref.get('name')}: {health.reason}")
    return _ok(f"{', '.join(f'{t}=True' for t in types)} at {len(entries)} {what}(s)")


def http_route(obj: Obj) -> Health:
    return _per_parent(_status(obj).get("parents"), "parent", "Accepted", "ResolvedRefs")


def envoy_policy(obj: Obj) -> Health:
    """Envoy Gateway's policies report per ancestor (the Gateway they attach to)."""
    return _per_parent(_status(obj).get("ancestors"), "ancestor", "Accepted")


# (API group, kind) -> health from the operator's documented status. RabbitMQ's topology
# objects (User, Vhost, Permission, Queue, ...) all report a Ready condition.
CUSTOM_RESOURCES: dict[tuple[str, str], Callable[[Obj], Health]] = {
    ("postgresql.cnpg.io", "Cluster"): cnpg_cluster,
    ("postgresql.cnpg.io", "Pooler"): cnpg_pooler,
    ("rabbitmq.com", "RabbitmqCluster"): rabbitmq_cluster,
    ("elasticsearch.k8s.elastic.co", "Elasticsearch"): elasticsearch,
    ("kibana.k8s.elastic.co", "Kibana"): _eck_green,
    ("beat.k8s.elastic.co", "Beat"): _eck_green,
    ("cert-manager.io", "Certificate"): ready_condition,
    ("cert-manager.io", "Issuer"): ready_condition,
    ("cert-manager.io", "ClusterIssuer"): ready_condition,
    ("gateway.networking.k8s.io", "Gateway"): gateway,
    ("gateway.networking.k8s.io", "GatewayClass"): gateway_class,
    ("gateway.networking.k8s.io", "HTTPRoute"): http_route,
    ("gateway.envoyproxy.io", "ClientTrafficPolicy"): envoy_policy,
    ("gateway.envoyproxy.io", "BackendTrafficPolicy"): envoy_policy,
    ("gateway.envoyproxy.io", "SecurityPolicy"): envoy_policy,
}
READY_CONDITION_GROUPS = {"rabbitmq.com"}


def prometheus_operator(obj: Obj) -> Health:
    """Prometheus and Alertmanager objects: Available (pods up) and Reconciled."""
    return conditions_true(_status(obj).get("conditions"), "Available", "Reconciled")


CUSTOM_RESOURCES |= {
    ("monitoring.coreos.com", "Prometheus"): prometheus_operator,
    ("monitoring.coreos.com", "Alertmanager"): prometheus_operator,
}
# Custom resources whose operators document no health status: they only have to exist
# (their effect is checked elsewhere: scraped jobs, loaded rules, the proxies' rollout).
EXISTENCE_ONLY = {
    ("monitoring.coreos.com", "ServiceMonitor"): "Prometheus's up per job",
    ("monitoring.coreos.com", "PodMonitor"): "Prometheus's up per job",
    ("monitoring.coreos.com", "PrometheusRule"): "Prometheus's rule health",
    ("gateway.envoyproxy.io", "EnvoyProxy"): "the Gateway's Programmed condition",
    # Its status only records schedule times; the backup alerts watch the outcomes.
    ("postgresql.cnpg.io", "ScheduledBackup"): "the PostgreSQL backup alerts",
}


def rule_for(obj: Obj) -> Callable[[Obj], Health] | None:
    """The health rule of a custom resource's kind; None: existing is all it documents."""
    key = (group_of(obj), str(obj["kind"]))
    if key in CUSTOM_RESOURCES:
        return CUSTOM_RESOURCES[key]
    return ready_condition if key[0] in READY_CONDITION_GROUPS else None

"""The pods a rendered object makes: pod templates inside workloads and the custom
resources whose operators build pods from what we declare, and what they request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class PodSpec:
    """A pod template found in an object, how many pods it makes, and where."""

    owner: str  # Kind/name
    kind: str
    namespace: str
    spec: dict[str, Any]
    replicas: int
    native: bool  # a Kubernetes workload (not a custom resource's template overlay)


def _replicas(obj: dict[str, Any], key: str = "replicas") -> int:
    return int(obj.get("spec", {}).get(key, 1))


def pod_specs(obj: dict[str, Any]) -> Iterator[PodSpec]:
    kind, spec = obj["kind"], obj.get("spec", {})
    owner = f"{kind}/{obj['metadata']['name']}"
    namespace = obj["metadata"].get("namespace", "")

    def found(pod: dict[str, Any] | None, replicas: int, native: bool = False) -> Iterator[PodSpec]:
        if pod:
            yield PodSpec(owner, kind, namespace, pod, replicas, native)

    if kind in ("Deployment", "StatefulSet"):
        yield from found(spec["template"]["spec"], _replicas(obj), native=True)
    elif kind in ("DaemonSet", "Job"):
        yield from found(spec["template"]["spec"], 1, native=True)
    elif kind == "Pooler":
        yield from found(spec.get("template", {}).get("spec"), _replicas(obj, "instances"))
    elif kind == "Elasticsearch":
        for node_set in spec["nodeSets"]:
            yield from found(node_set.get("podTemplate", {}).get("spec"), node_set["count"])
    elif kind == "Kibana":
        yield from found(spec.get("podTemplate", {}).get("spec"), _replicas(obj, "count"))
    elif kind == "Beat":
        yield from found(spec.get("daemonSet", {}).get("podTemplate", {}).get("spec"), 1)
    elif kind == "RabbitmqCluster":
        override = spec.get("override", {}).get("statefulSet", {}).get("spec", {})
        yield from found(override.get("template", {}).get("spec"), _replicas(obj))


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


@dataclass(frozen=True)
class Sized:
    """Resources of one container (or of a custom resource's main container) x pods."""

    owner: str  # Kind/name[/container]
    resources: dict[str, Any]
    pods: int
    init: bool = False  # an init container: runs before, not beside, the others


# Custom resources whose operator sizes the main container from a `resources` field:
# (kind, path to the resources, field holding the pod count).
SIZED_BY_SPEC = {
    "Cluster": (("resources",), "instances"),
    "RabbitmqCluster": (("resources",), "replicas"),
    "Prometheus": (("resources",), "replicas"),
    "Alertmanager": (("resources",), "replicas"),
}


def sized(obj: dict[str, Any]) -> Iterator[Sized]:
    """Every container size an object declares, with the number of pods it runs in."""
    spec, name = obj.get("spec", {}), f"{obj['kind']}/{obj['metadata']['name']}"
    if obj["kind"] in SIZED_BY_SPEC:
        path, count = SIZED_BY_SPEC[obj["kind"]]
        node: Any = spec
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        yield Sized(name, node or {}, int(spec.get(count, 1)))
        if obj["kind"] == "RabbitmqCluster":
            return  # its override template only tightens security, sizes come from above
    if obj["kind"] == "EnvoyProxy":
        deployment = spec["provider"]["kubernetes"]["envoyDeployment"]
        yield Sized(
            f"{name}/envoy", deployment["container"].get("resources", {}), deployment["replicas"]
        )
        return
    for pod in pod_specs(obj):
        for container in pod.spec.get("initContainers", []):
            yield Sized(
                f"{name}/{container['name']}", container.get("resources", {}), pod.replicas, True
            )
        for container in pod.spec.get("containers", []):
            yield Sized(f"{name}/{container['name']}", container.get("resources", {}), pod.replicas)


UNITS = {"m": Decimal("0.001"), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30)}


def quantity(value: Any) -> Decimal:
    text = str(value)
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * factor
    return Decimal(text)

"""Pod Security per namespace: each namespace's enforced level, and every pod spec we write
(workloads and the custom resources' pod templates) allowed by its namespace's level.
Upstream charts' own pods are rendered and checked by tests/infra/test_platform_manifests.py;
here, the values we pass them where the restricted level depends on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.infra import k8s_support as ks

Objects = Callable[[str], list[dict[str, Any]]]
STACKS = ("dev", "staging")
ENFORCE = "pod-security.kubernetes.io/enforce"
# Namespaces below restricted, and why (the components say so where they declare them).
NOT_RESTRICTED = {
    "orgo-logs": "Filebeat reads the node's container logs: hostPath /var/log, as root",
    "monitoring": "node-exporter uses the host's network and PID namespaces",
}
# The restricted profile's volume types (Kubernetes Pod Security Standards).
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def restricted_violations(pod: dict[str, Any]) -> Iterator[str]:
    """What the Pod Security Standards' restricted level refuses in a pod spec."""
    pod_ctx = pod.get("securityContext", {})
    for key in HOST_NAMESPACES:
        if pod.get(key):
            yield f"{key}: true"
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {volume['name']}: {sorted(kinds - RESTRICTED_VOLUMES)}"
    for container in ks.containers(pod):
        name = container["name"]
        ctx = container.get("securityContext", {})
        if ctx.get("privileged"):
            yield f"{name}: privileged"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{name}: allowPrivilegeEscalation must be false"
        capabilities = ctx.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            yield f"{name}: capabilities.drop must include ALL"
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            yield f"{name}: capabilities.add beyond NET_BIND_SERVICE"
        if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
            yield f"{name}: runAsNonRoot must be true"
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            yield f"{name}: runAsUser 0"
        seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            yield f"{name}: seccompProfile RuntimeDefault or Localhost"
        if any(port.get("hostPort") for port in container.get("ports", [])):
            yield f"{name}: hostPort"


def namespaces(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["labels"][ENFORCE]
        for o in objects
        if o["kind"] == "Namespace"
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_is_restricted_unless_stated(objects: Objects, stack: str) -> None:
    levels = namespaces(objects(stack))
    assert levels["elastic"] == "restricted"
    assert levels["orgo-logs"] == "privileged"
    below = {name for name, level in levels.items() if level != "restricted"}
    assert below == set(NOT_RESTRICTED)


@pytest.mark.parametrize("stack", STACKS)
def test_our_pods_meet_their_namespace_level(objects: Objects, stack: str) -> None:
    levels = namespaces(objects(stack))
    pods = [p for o in objects(stack) for p in ks.pod_specs(o)]
    restricted = [p for p in pods if levels[p.namespace] == "restricted"]
    assert {p.namespace for p in restricted} >= {"elastic", "orgo"}
    problems = [f"{p.owner}: {v}" for p in restricted for v in restricted_violations(p.spec)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_only_filebeat_runs_in_the_privileged_logs_namespace(objects: Objects, stack: str) -> None:
    pods = [p for o in objects(stack) for p in ks.pod_specs(o) if p.namespace == "orgo-logs"]
    assert [p.owner for p in pods] == ["Beat/orgo"]
    [beat] = pods
    assert list(restricted_violations(beat.spec)), "Filebeat needs the privileged namespace"


def test_the_check_refuses_what_restricted_refuses() -> None:
    pod = {
        "hostNetwork": True,
        "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
        "containers": [{"name": "c", "securityContext": {"runAsUser": 0}}],
    }
    found = list(restricted_violations(pod))
    assert found == [
        "hostNetwork: true",
        "volume logs: ['hostPath']",
        "c: allowPrivilegeEscalation must be false",
        "c: capabilities.drop must include ALL",
        "c: runAsNonRoot must be true",
        "c: runAsUser 0",
        "c: seccompProfile RuntimeDefault or Localhost",
    ]


def test_eck_operator_values_meet_restricted(charts: Objects) -> None:
    """The operator chart's own pod security context lacks seccomp: ours adds it; it manages
    Filebeat's namespace too (the Beat's association with Elasticsearch across namespaces)."""
    values = next(c for c in charts("dev") if c["resource"] == "elastic-operator")["values"]
    assert values["podSecurityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert values["managedNamespaces"] == ["elastic", "orgo-logs"]


def test_filebeat_reaches_elasticsearch_across_namespaces(objects: Objects) -> None:
    dev = objects("dev")
    [beat] = [o for o in dev if o["kind"] == "Beat"]
    assert beat["spec"]["elasticsearchRef"] == {"name": "orgo", "namespace": "elastic"}
    [baseline] = [
        o
        for o in dev
        if o["kind"] == "NetworkPolicy"
        and o["metadata"] == {"name": "baseline-ingress", "namespace": "elastic"}
    ]
    sources = baseline["spec"]["ingress"][0]["from"]
    allowed = {
        value
        for source in sources
        for expression in source.get("namespaceSelector", {}).get("matchExpressions", [])
        for value in expression["values"]
    }
    assert beat["metadata"]["namespace"] in allowed


def test_kibana_init_container_is_restricted(objects: Objects) -> None:
    [kibana] = [o for o in objects("dev") if o["kind"] == "Kibana"]
    [init] = kibana["spec"]["podTemplate"]["spec"]["initContainers"]
    assert init["name"] == "elastic-internal-init"
    assert not [v for v in restricted_violations(kibana["spec"]["podTemplate"]["spec"])]

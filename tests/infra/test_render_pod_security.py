"""Pod Security over every pod of the render, operators included: the Kubernetes
"restricted" profile, or a documented exception per workload that only a namespace
enforcing "privileged" admits; and RBAC of the Grafana release."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.render import Render
from infra.workloads import PodSpec, containers, pod_specs

Platform = Callable[[str], Render]
STACKS = ("dev", "staging", "prod")
ENFORCE = "pod-security.kubernetes.io/enforce"
# Volume types the restricted profile allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
# The only workloads that may break the restricted profile, each rule it breaks with the
# reason. They must run in a namespace that enforces "privileged".
EXCEPTIONS: dict[str, dict[str, str]] = {
    "DaemonSet/monitoring-stack-prometheus-node-exporter": {
        "hostNetwork": "node metrics are the host's network interfaces",
        "hostPID": "per-process metrics of the host",
        "hostPath": "reads the host's /proc, /sys and root filesystem (read-only)",
    },
    "Beat/orgo": {
        "runAsNonRoot": "Filebeat reads the kubelet's root-owned container logs",
        "runAsUser=0": "Filebeat reads the kubelet's root-owned container logs",
        "hostPath": "the container logs live on the node (/var/log, read-only)",
    },
}


def violations(pod: PodSpec) -> Iterator[str]:
    """The restricted-profile rules `pod` breaks (pod and container levels together)."""
    spec, pod_ctx = pod.spec, pod.spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield field
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            yield "hostPath"
        elif not kinds <= RESTRICTED_VOLUMES:
            yield f"volume type {sorted(kinds - RESTRICTED_VOLUMES)}"
    for sysctl in pod_ctx.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            yield f"sysctl {sysctl['name']}"
    for container in containers(spec):
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            yield "privileged"
        if any(p.get("hostPort") for p in container.get("ports", [])):
            yield "hostPorts"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield "allowPrivilegeEscalation"
        if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
            yield "runAsNonRoot"
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            yield "runAsUser=0"
        seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            yield "seccompProfile"
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield "capabilities.drop ALL"
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield "capabilities.add"
        if ctx.get("procMount", "Default") != "Default":
            yield "procMount"


def pods(stack_render: Render) -> list[PodSpec]:
    return [p for obj in stack_render.objects for p in pod_specs(obj)]


def enforced(stack_render: Render) -> dict[str, str]:
    return {
        o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(ENFORCE, "privileged")
        for o in stack_render.objects
        if o["kind"] == "Namespace"
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_is_restricted_or_a_documented_exception(platform: Platform, stack: str) -> None:
    stack_render = platform(stack)
    levels = enforced(stack_render)
    problems = []
    for pod in pods(stack_render):
        broken = sorted(set(violations(pod)))
        allowed = EXCEPTIONS.get(pod.owner, {})
        unexplained = [rule for rule in broken if rule not in allowed]
        if unexplained:
            problems.append(f"{pod.namespace}/{pod.owner}: {', '.join(unexplained)}")
        if broken and levels.get(pod.namespace) != "privileged":
            level = levels.get(pod.namespace)
            problems.append(f"{pod.namespace}/{pod.owner}: needs privileged, {level} enforced")
    assert not problems, "\n".join(problems)


def test_the_exceptions_are_still_needed(platform: Platform) -> None:
    """An exception whose workload no longer breaks the rule is removed, not kept."""
    by_owner = {p.owner: set(violations(p)) for p in pods(platform("dev"))}
    for owner, rules in EXCEPTIONS.items():
        assert owner in by_owner, f"{owner}: no such workload in the render"
        assert set(rules) <= by_owner[owner], f"{owner}: {set(rules) - by_owner[owner]} unused"


def test_the_check_sees_a_privileged_container(platform: Platform) -> None:
    pod = next(p for p in pods(platform("dev")) if p.owner == "Deployment/orgo-api")
    assert not list(violations(pod))
    spec: dict[str, Any] = {
        **pod.spec,
        "hostPID": True,
        "containers": [
            {**c, "securityContext": {**c["securityContext"], "privileged": True}}
            for c in pod.spec["containers"]
        ],
    }
    tampered = PodSpec(pod.owner, pod.kind, pod.namespace, spec, 1, True)
    assert {"hostPID", "privileged"} <= set(violations(tampered))


READ_VERBS = {"get", "list", "watch", "*"}


def secret_readers(objects: list[dict[str, Any]], release: str) -> list[str]:
    """ClusterRoles of a release that may read Secrets in every namespace."""
    found = []
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        if obj["kind"] != "ClusterRole" or labels.get("app.kubernetes.io/name") != release:
            continue
        for rule in obj.get("rules") or []:
            resources = set(rule.get("resources") or [])
            if resources & {"secrets", "*"} and READ_VERBS & set(rule.get("verbs") or []):
                found.append(f"{obj['metadata']['name']}: {sorted(rule['verbs'])} on secrets")
    return found


def test_the_rbac_check_finds_a_cluster_wide_secret_reader(platform: Platform) -> None:
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "grafana"}},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
    }
    assert secret_readers([role], "grafana") == ["x: ['list'] on secrets"]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_grafana_reads_no_secrets_cluster_wide(platform: Platform, stack: str) -> None:
    readers = secret_readers(platform(stack).objects, "grafana")
    assert not readers, "\n".join(readers)

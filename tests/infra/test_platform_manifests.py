"""Every object `make manifests` writes: strict schemas, policies, footprint, HA, checkov."""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.render import Run, write_manifests
from infra.validation import validate
from tests.infra import k8s_support as ks

Objects = Callable[[str], list[dict[str, Any]]]
STACKS = ("dev", "staging")
# Every stack file, the AWS ones included: all must render strictly valid objects.
ALL_STACKS = sorted(p.name.split(".")[1] for p in ks.REPO_ROOT.glob("Pulumi.*.yaml"))


def kubernetes_version(stack: str) -> str:
    """The stack's targeted Kubernetes minor, as kubernetes-validate names it."""
    stack_file = yaml.safe_load((ks.REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    minor = stack_file["config"]["orgo:platform"].get("kubernetesVersion", "1.33")
    return f"{minor}.0"


# Deviations from the restricted profile we accept, each with its reason.
SECURITY_EXCEPTIONS: dict[tuple[str, str], dict[str, str]] = {
    ("Elasticsearch", "elasticsearch"): {
        "readOnlyRootFilesystem": "ECK writes keystore and config into the image's paths"
    },
    ("Kibana", "kibana"): {
        "readOnlyRootFilesystem": "Kibana writes optimizer bundles under its install dir"
    },
    ("Beat", "filebeat"): {
        "runAsNonRoot": "reads the kubelet's root-owned /var/log/containers (read-only)"
    },
}
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
}
CHECKOV_SKIPS = Path(__file__).parent / "checkov-skips.yaml"


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_object_is_strictly_valid(objects: Objects, stack: str) -> None:
    dirs = ks.schema_dirs()
    version = kubernetes_version(stack)
    problems = [p for obj in objects(stack) for p in validate(obj, version, dirs)]
    assert not problems, "\n".join(problems)


def test_validation_catches_typos(objects: Objects) -> None:
    dirs = ks.schema_dirs()
    for kind in ("Deployment", "Cluster", "HTTPRoute", "RabbitmqCluster"):
        obj = json.loads(json.dumps(next(o for o in objects("dev") if o["kind"] == kind)))
        obj["spec"]["replicaz"] = 2
        assert any("replicaz" in p for p in validate(obj, "1.33.0", dirs)), kind
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "no JSON schema" in validate(unknown, "1.33.0", dirs)[0]


def pods(objects: list[dict[str, Any]]) -> list[ks.PodSpec]:
    return [p for obj in objects for p in ks.pod_specs(obj)]


@pytest.mark.parametrize("stack", STACKS)
def test_restricted_security_context(objects: Objects, stack: str) -> None:
    problems = []
    for pod in pods(objects(stack)):
        pod_ctx = pod.spec.get("securityContext", {})
        for container in ks.containers(pod.spec):
            ctx = container.get("securityContext", {})
            allowed = SECURITY_EXCEPTIONS.get((pod.kind, container["name"]), {})
            effective = {**{k: pod_ctx[k] for k in ("runAsNonRoot",) if k in pod_ctx}, **ctx}
            for key, want in RESTRICTED.items():
                if effective.get(key) != want and key not in allowed:
                    problems.append(f"{pod.owner}/{container['name']}: {key} must be {want}")
            if ctx.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{pod.owner}/{container['name']}: capabilities.drop must be [ALL]")
            seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                problems.append(f"{pod.owner}/{container['name']}: seccompProfile RuntimeDefault")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_resources_and_probes(objects: Objects, stack: str) -> None:
    problems = []
    for pod in pods(objects(stack)):
        for container in pod.spec.get("containers", []):
            label = f"{pod.owner}/{container['name']}"
            if pod.kind == "RabbitmqCluster":
                continue  # sized by spec.resources, checked below
            res = container.get("resources", {})
            if not {"cpu", "memory"} <= set(res.get("requests", {})) or "memory" not in res.get(
                "limits", {}
            ):
                problems.append(f"{label}: requests cpu+memory and a memory limit")
            long_running = pod.native and pod.kind != "Job"
            if long_running and not {"livenessProbe", "readinessProbe"} <= set(container):
                problems.append(f"{label}: liveness and readiness probes")
    for obj in objects(stack):
        if obj["kind"] in ("RabbitmqCluster", "Cluster"):
            assert {"cpu", "memory"} <= set(obj["spec"]["resources"]["requests"]), obj["kind"]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_images_are_pinned(objects: Objects, charts: Objects, stack: str) -> None:
    images = [
        (path, value)
        for doc in [*objects(stack), *charts(stack)]
        for path, value in ks.walk(doc)
        if re.search(r"(^|\.)(image|imageName)$", path) and isinstance(value, str)
    ]
    assert images
    for path, image in images:
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert tag not in ("", "latest"), f"{path}: {image} is not pinned"


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_has_a_network_policy(objects: Objects, stack: str) -> None:
    namespaces = {o["metadata"]["name"] for o in objects(stack) if o["kind"] == "Namespace"}
    covered = {
        o["metadata"]["namespace"]
        for o in objects(stack)
        if o["kind"] == "NetworkPolicy" and o["spec"]["podSelector"] == {}
    }
    assert namespaces, "no namespaces rendered"
    assert namespaces <= covered, f"without a namespace-wide NetworkPolicy: {namespaces - covered}"


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_only_by_reference(objects: Objects, stack: str) -> None:
    sensitive = re.compile(r"PASSWORD|SECRET|TOKEN|_URL$")
    for pod in pods(objects(stack)):
        for container in ks.containers(pod.spec):
            for env in container.get("env", []):
                if sensitive.search(env["name"]):
                    assert "valueFrom" in env, f"{pod.owner}: {env['name']} must come from a Secret"
    for obj in objects(stack):
        if obj["kind"] == "ConfigMap":
            text = json.dumps(obj.get("data", {}))
            assert not re.search(r"://[^/\s:@]+:[^@\s]+@", text), (
                f"credentials in {obj['metadata']}"
            )


def replicated(objects: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    """(kind, namespace, name, replicas) of everything that runs more than one pod."""
    hpa_min = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicas"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    found = []
    for obj in objects:
        name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace", "")
        spec = obj.get("spec", {})
        count = {
            "Deployment": hpa_min.get(name, spec.get("replicas", 1)),
            "StatefulSet": spec.get("replicas", 1),
            "Pooler": spec.get("instances", 1),
            "RabbitmqCluster": spec.get("replicas", 1),
            "Kibana": spec.get("count", 1),
            "Cluster": spec.get("instances", 1),
            "Elasticsearch": sum(n["count"] for n in spec.get("nodeSets", [])),
        }.get(obj["kind"], 1)
        if count > 1:
            found.append((obj["kind"], namespace, name, count))
    return found


# Operators that make their own PodDisruptionBudgets.
OPERATOR_PDBS = {"Cluster": "enablePDB", "Elasticsearch": "ECK default PDB"}


@pytest.mark.parametrize("stack", STACKS)
def test_pdb_for_everything_replicated(objects: Objects, stack: str) -> None:
    pdbs = defaultdict(list)
    for obj in objects(stack):
        if obj["kind"] == "PodDisruptionBudget":
            pdbs[obj["metadata"]["namespace"]].append(obj["metadata"]["name"])
    for kind, namespace, name, _ in replicated(objects(stack)):
        if kind in OPERATOR_PDBS:
            continue
        assert any(p.startswith(name) for p in pdbs[namespace]), f"{kind}/{name}: no PDB"


def test_production_shaped_stack_is_ha(objects: Objects, charts: Objects) -> None:
    staging = {(k, n): r for k, _, n, r in replicated(objects("staging"))}
    for key in [
        ("Deployment", "orgo-api"),
        ("Deployment", "orgo-worker"),
        ("Cluster", "orgo-postgres"),
        ("RabbitmqCluster", "orgo-rabbitmq"),
        ("Elasticsearch", "orgo"),
        ("Pooler", "orgo-postgres-pooler-rw"),
    ]:
        assert staging.get(key, 0) >= 3, f"{key} needs >= 3 replicas"
    cluster = next(o for o in objects("staging") if o["kind"] == "Cluster")
    assert cluster["spec"]["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["spec"]["enablePDB"] is True
    for pod in pods(objects("staging")):
        if pod.replicas > 1:
            spread = pod.spec.get("affinity", {}).get("podAntiAffinity") or pod.spec.get(
                "topologySpreadConstraints"
            )
            assert spread, f"{pod.owner}: replicas without anti-affinity or spread"
    values = {c["resource"]: c.get("values", {}) for c in charts("staging")}
    envoy_proxy = next(o for o in objects("staging") if o["kind"] == "EnvoyProxy")
    proxy = envoy_proxy["spec"]["provider"]["kubernetes"]
    assert proxy["envoyDeployment"]["replicas"] >= 3 and proxy["envoyPDB"]["minAvailable"] >= 2
    assert proxy["envoyDeployment"]["pod"]["affinity"]["podAntiAffinity"]
    monitoring = values["monitoring-stack"]
    assert monitoring["prometheus"]["prometheusSpec"]["replicas"] >= 2
    assert monitoring["alertmanager"]["alertmanagerSpec"]["replicas"] == 3


def quantity(value: str) -> Decimal:
    units = {"m": Decimal("0.001"), "Mi": Decimal(2**20), "Gi": Decimal(2**30)}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return Decimal(value[: -len(suffix)]) * factor
    return Decimal(value)


# Pods whose requests nothing here declares: the RabbitMQ Cluster and Topology operators
# (release manifests), the Envoy proxy's shutdown-manager sidecar, Grafana's sidecars.
# Their upstream defaults, rounded up; everything else is summed from declared requests.
UNDECLARED_ALLOWANCE = {"cpu": Decimal("0.4"), "memory": Decimal(768 * 2**20)}


def requested(objects: list[dict[str, Any]], charts: list[dict[str, Any]]) -> dict[str, Decimal]:
    total = dict(UNDECLARED_ALLOWANCE)

    def add(resources: dict[str, Any], times: int) -> None:
        for key in ("cpu", "memory"):
            total[key] += quantity(str(resources.get("requests", {}).get(key, "0"))) * times

    def add_values(node: Any, replicas: int) -> None:
        """Chart values: every `resources` with requests, times the nearest replica count."""
        if not isinstance(node, dict):
            return
        count = node.get("replicas", node.get("replicaCount", replicas))
        if isinstance(node.get("resources"), dict) and "requests" in node["resources"]:
            add(node["resources"], count)
        for key, child in node.items():
            if key != "resources":
                add_values(child, count)

    for pod in pods(objects):
        for container in ks.containers(pod.spec):
            add(container.get("resources", {}), pod.replicas)
    for obj in objects:
        if obj["kind"] == "RabbitmqCluster":
            add(obj["spec"]["resources"], obj["spec"]["replicas"])
        if obj["kind"] == "Cluster":
            add(obj["spec"]["resources"], obj["spec"]["instances"])
        if obj["kind"] == "EnvoyProxy":
            proxy = obj["spec"]["provider"]["kubernetes"]["envoyDeployment"]
            add(proxy["container"]["resources"], proxy["replicas"])
    for chart in charts:
        add_values(chart.get("values", {}), 1)
    return total


def test_dev_stack_fits_a_laptop(objects: Objects, charts: Objects) -> None:
    total = requested(objects("dev"), charts("dev"))
    print(f"dev requests: {total['cpu']} CPU, {total['memory'] / 2**30:.2f} GiB")
    assert total["cpu"] <= 4
    assert total["memory"] <= 8 * 2**30


def test_manifests_are_deterministic(rendered: Callable[[str], Run], tmp_path: Path) -> None:
    from infra.render import run

    first = write_manifests("dev", rendered("dev").resources, tmp_path / "a")
    second = write_manifests("dev", run("dev").resources, tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) > 50
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    charts = yaml.safe_load((first / "_charts.yaml").read_text())
    assert {c["chart"] for c in charts if c["kind"] == "helm-chart"} >= {
        "cloudnative-pg",
        "eck-operator",
    }


def test_render_cli_writes_manifests_and_plan(tmp_path: Path) -> None:
    result = subprocess.run(
        ["python", "-m", "infra.render", "plan", "--stack", "staging"],
        cwd=ks.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads((ks.REPO_ROOT / "build" / "plan" / "staging.json").read_text())
    assert any(r["type"] == "orgo:platform:Orgo" for r in plan)
    missing = subprocess.run(
        ["python", "-m", "infra.render", "manifests", "--stack", "nope"],
        cwd=ks.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no stack file Pulumi.nope.yaml (stacks: dev," in missing.stderr
    assert "staging" in missing.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_passes(rendered: Callable[[str], Run], stack: str, tmp_path: Path) -> None:
    folder = write_manifests(stack, rendered(stack).resources, tmp_path)
    (folder / "_charts.yaml").unlink()  # inputs of remote charts, not Kubernetes objects
    skips = yaml.safe_load(CHECKOV_SKIPS.read_text())
    result = subprocess.run(
        [
            ks.checkov(),
            "--directory",
            folder,
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
            "--skip-check",
            ",".join(skips),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    assert summary["passed"] > 100, "checkov did not scan the manifests"
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)

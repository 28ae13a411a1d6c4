"""Every object `make manifests` writes, the operators' included: strict schemas of the
oldest and newest supported Kubernetes minor and of the render's own CRDs, policies,
footprint, HA, determinism."""

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

from infra.artefacts import mirror_dir
from infra.footprint import footprints, total
from infra.render import Render, render_stack, write_manifests
from infra.validation import CrdSchemas, validate
from infra.versions import versions
from tests.infra import k8s_support as ks

Platform = Callable[[str], Render]
STACKS = ("dev", "staging")
# Every stack file, the AWS ones included: all must render strictly valid objects.
ALL_STACKS = sorted(p.name.split(".")[1] for p in ks.REPO_ROOT.glob("Pulumi.*.yaml"))
SUPPORTED = versions().kubernetes
RANGE_ENDS = sorted({SUPPORTED.oldest, SUPPORTED.newest})


@pytest.mark.parametrize("minor", RANGE_ENDS)
@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_object_is_strictly_valid(platform: Platform, stack: str, minor: str) -> None:
    objects = platform(stack).objects
    crds = CrdSchemas.from_objects(objects)
    problems = [p for obj in objects for p in validate(obj, f"{minor}.0", crds)]
    assert not problems, "\n".join(problems)


def test_the_render_holds_the_operators(platform: Platform) -> None:
    """Not only what the program declares: CRDs, operator Deployments, webhooks, RBAC and
    kube-prometheus-stack's own workloads come from the pinned charts and manifests."""
    objects = platform("dev").objects
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for expected in [
        ("CustomResourceDefinition", "clusters.postgresql.cnpg.io"),
        ("CustomResourceDefinition", "rabbitmqclusters.rabbitmq.com"),
        ("CustomResourceDefinition", "elasticsearches.elasticsearch.k8s.elastic.co"),
        ("CustomResourceDefinition", "prometheuses.monitoring.coreos.com"),
        ("CustomResourceDefinition", "certificates.cert-manager.io"),
        ("CustomResourceDefinition", "httproutes.gateway.networking.k8s.io"),
        ("CustomResourceDefinition", "envoyproxies.gateway.envoyproxy.io"),
        ("Deployment", "postgres-operator-cloudnative-pg"),
        ("Deployment", "rabbitmq-cluster-operator"),
        ("StatefulSet", "elastic-operator"),
        ("Deployment", "monitoring-grafana"),
        ("Deployment", "monitoring-stack-kube-state-metrics"),
        ("DaemonSet", "monitoring-stack-prometheus-node-exporter"),
        ("Prometheus", "monitoring-prometheus"),
        ("Alertmanager", "monitoring-alertmanager"),
        ("ValidatingWebhookConfiguration", "edge-cert-manager-webhook"),
    ]:
        assert expected in names, expected
    assert sum(o["kind"] == "CustomResourceDefinition" for o in objects) > 60


def test_validation_catches_typos(platform: Platform) -> None:
    objects = platform("dev").objects
    crds = CrdSchemas.from_objects(objects)
    for kind in ("Deployment", "Cluster", "HTTPRoute", "RabbitmqCluster", "EnvoyProxy"):
        obj = json.loads(json.dumps(next(o for o in objects if o["kind"] == kind)))
        obj["spec"]["replicaz"] = 2
        assert any("replicaz" in p for p in validate(obj, f"{SUPPORTED.newest}.0", crds)), kind
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "no CRD in the render" in validate(unknown, f"{SUPPORTED.newest}.0", crds)[0]


def pods(objects: list[dict[str, Any]]) -> list[ks.PodSpec]:
    return [p for obj in objects for p in ks.pod_specs(obj)]


# Upstream containers that ship without any probe, and why that is acceptable.
WITHOUT_PROBES = {
    "cert-manager-cainjector": "cert-manager's CA injector serves no health endpoint",
    "manager": "the ECK operator (StatefulSet elastic-operator) defines no probe upstream",
    "grafana-sc-dashboard": "Grafana's dashboard sidecar: a file copier without endpoints",
    "grafana-sc-datasources": "Grafana's datasource sidecar: a file copier without endpoints",
}


@pytest.mark.parametrize("stack", STACKS)
def test_long_running_containers_have_probes(platform: Platform, stack: str) -> None:
    problems = []
    for pod in pods(platform(stack).objects):
        if not pod.native or pod.kind == "Job":
            continue
        for container in pod.spec.get("containers", []):
            if container["name"] in WITHOUT_PROBES:
                continue
            if not {"livenessProbe", "readinessProbe"} & set(container):
                problems.append(f"{pod.namespace}/{pod.owner}/{container['name']}")
    assert not problems, "containers without a liveness or readiness probe:\n" + "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_images_are_pinned(platform: Platform, stack: str) -> None:
    images = [
        (path, value)
        for doc in platform(stack).objects
        for path, value in ks.walk(doc)
        if re.search(r"(^|\.)(image|imageName)$", path) and isinstance(value, str)
    ]
    assert len(images) > 20
    for path, image in images:
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert tag not in ("", "latest"), f"{path}: {image} is not pinned"


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_has_a_network_policy(platform: Platform, stack: str) -> None:
    objects = platform(stack).objects
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    covered = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["spec"]["podSelector"] == {}
    }
    assert namespaces, "no namespaces rendered"
    assert namespaces <= covered, f"without a namespace-wide NetworkPolicy: {namespaces - covered}"


# Namespaces every cluster has (kube-prometheus-stack puts the Services it scrapes the
# control plane through into kube-system).
CLUSTER_NAMESPACES = {"kube-system", "default"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespaced_object_has_its_namespace(platform: Platform, stack: str) -> None:
    objects = platform(stack).objects
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    used = {o["metadata"].get("namespace") for o in objects} - {None} - CLUSTER_NAMESPACES
    assert used <= namespaces, f"objects in namespaces nothing creates: {used - namespaces}"


# Environment variables whose name looks sensitive but whose value is a Secret's *name*.
SECRET_NAMES_IN_ENV = {("StatefulSet/elastic-operator", "WEBHOOK_SECRET")}


CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^@\s]+@")


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_only_by_reference(platform: Platform, stack: str) -> None:
    sensitive = re.compile(r"PASSWORD|SECRET|TOKEN")
    for pod in pods(platform(stack).objects):
        for container in ks.containers(pod.spec):
            for env in container.get("env", []):
                value, label = str(env.get("value", "")), f"{pod.owner}: {env['name']}"
                assert not CREDENTIALS_IN_URL.search(value), f"{label}: credentials in a URL"
                if (pod.owner, env["name"]) in SECRET_NAMES_IN_ENV:
                    continue
                if sensitive.search(env["name"]):
                    assert not value, f"{label} must come from a Secret"
    for obj in platform(stack).objects:
        if obj["kind"] == "ConfigMap":
            text = json.dumps(obj.get("data", {}))
            assert not CREDENTIALS_IN_URL.search(text), f"credentials in {obj['metadata']}"


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
def test_pdb_for_everything_replicated(platform: Platform, stack: str) -> None:
    objects = platform(stack).declared
    pdbs = defaultdict(list)
    for obj in objects:
        if obj["kind"] == "PodDisruptionBudget":
            pdbs[obj["metadata"]["namespace"]].append(obj["metadata"]["name"])
    for kind, namespace, name, _ in replicated(objects):
        if kind in OPERATOR_PDBS:
            continue
        assert any(p.startswith(name) for p in pdbs[namespace]), f"{kind}/{name}: no PDB"


def test_production_shaped_stack_is_ha(platform: Platform) -> None:
    objects = platform("staging").declared
    staging = {(k, n): r for k, _, n, r in replicated(objects)}
    for key in [
        ("Deployment", "orgo-api"),
        ("Deployment", "orgo-worker"),
        ("Cluster", "orgo-postgres"),
        ("RabbitmqCluster", "orgo-rabbitmq"),
        ("Elasticsearch", "orgo"),
        ("Pooler", "orgo-postgres-pooler-rw"),
    ]:
        assert staging.get(key, 0) >= 3, f"{key} needs >= 3 replicas"
    cluster = next(o for o in objects if o["kind"] == "Cluster")
    assert cluster["spec"]["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["spec"]["enablePDB"] is True
    for pod in pods(objects):
        if pod.replicas > 1:
            spread = pod.spec.get("affinity", {}).get("podAntiAffinity") or pod.spec.get(
                "topologySpreadConstraints"
            )
            assert spread, f"{pod.owner}: replicas without anti-affinity or spread"
    envoy_proxy = next(o for o in objects if o["kind"] == "EnvoyProxy")
    proxy = envoy_proxy["spec"]["provider"]["kubernetes"]
    assert proxy["envoyDeployment"]["replicas"] >= 3 and proxy["envoyPDB"]["minAvailable"] >= 2
    assert proxy["envoyDeployment"]["pod"]["affinity"]["podAntiAffinity"]
    rendered = platform("staging").objects
    by_kind = {o["kind"]: o for o in rendered if o["kind"] in ("Prometheus", "Alertmanager")}
    assert by_kind["Prometheus"]["spec"]["replicas"] >= 2
    assert by_kind["Alertmanager"]["spec"]["replicas"] == 3


def component_footprints(stack_render: Render) -> list[Any]:
    return footprints((stack_render.component(p.owner), p.obj) for p in stack_render.placed)


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_requests_cpu_and_memory_and_limits_memory(
    platform: Platform, stack: str
) -> None:
    unsized = total(component_footprints(platform(stack))).unsized
    assert not unsized, "\n".join(unsized)


def test_dev_stack_fits_a_laptop(platform: Platform) -> None:
    """The sum over every container of the render (operators included, DaemonSets on one
    node), from what each one declares."""
    dev = total(component_footprints(platform("dev")))
    print(f"dev requests: {dev.cpu} CPU, {dev.memory / 2**30:.2f} GiB")
    assert dev.cpu <= 4
    assert dev.memory <= 8 * 2**30
    assert dev.cpu > Decimal("1.5"), "the sum misses most of the platform"


def test_manifests_are_deterministic(platform: Platform, tmp_path: Path) -> None:
    first = write_manifests(platform("dev"), tmp_path / "a")
    second = write_manifests(render_stack("dev"), tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) > 300
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    charts = yaml.safe_load((first / "_charts.yaml").read_text())
    assert {c.get("chart") for c in charts if c["kind"] == "helm-chart"} >= {
        "cloudnative-pg",
        "eck-operator",
        "kube-prometheus-stack",
        "cert-manager",
        "gateway-helm",
    }
    mirror = mirror_dir()
    for chart in charts:  # the mirror's index, or the upstream URL it was downloaded from
        expected = str(mirror / "index.json") if mirror else ("http", "oci://")
        assert chart["source"].startswith(expected), chart["resource"]


def test_render_cli_writes_manifests_and_plan() -> None:
    result = subprocess.run(
        ["python", "-m", "infra.render", "plan", "--stack", "staging"],
        cwd=ks.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CustomResourceDefinition" in result.stdout
    assert "| **total** |" in result.stdout
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


def test_metrics_server_only_where_the_stack_asks_for_it(platform: Platform) -> None:
    def api_services(stack: str) -> list[str]:
        return [o["metadata"]["name"] for o in platform(stack).objects if o["kind"] == "APIService"]

    assert api_services("dev") == ["v1beta1.metrics.k8s.io"]
    assert api_services("staging") == []
    deployment = next(
        o
        for o in platform("dev").objects
        if o["kind"] == "Deployment" and o["metadata"]["namespace"] == "metrics-server"
    )
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--kubelet-insecure-tls" in args  # kind's self-signed kubelet certificates


# Secrets an operator creates for the custom resource it runs.
OPERATOR_SECRETS = {("elastic", "orgo-es-http-certs-public"): "ECK, for Elasticsearch orgo"}


def missing_mounted_secrets(objects: list[dict[str, Any]]) -> list[str]:
    """Secrets a workload mounts (not optional) that neither a Secret nor a cert-manager
    Certificate of the render creates (Helm hooks made some, and Helm v4 Chart skips hooks)."""
    made = {
        (o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in objects
        if o["kind"] == "Secret"
    }
    made |= {
        (o["metadata"].get("namespace"), o["spec"]["secretName"])
        for o in objects
        if o["kind"] == "Certificate"
    }
    made |= set(OPERATOR_SECRETS)
    missing = []
    for pod in pods(objects):
        if not pod.native:
            continue
        for volume in pod.spec.get("volumes", []):
            secret = volume.get("secret") or {}
            if (
                secret
                and not secret.get("optional")
                and (pod.namespace, secret["secretName"]) not in made
            ):
                missing.append(f"{pod.namespace}/{pod.owner} mounts {secret['secretName']}")
    return missing


@pytest.mark.parametrize("stack", STACKS)
def test_every_mounted_secret_is_created(platform: Platform, stack: str) -> None:
    missing = missing_mounted_secrets(platform(stack).objects)
    assert not missing, "\n".join(missing)


def test_the_mounted_secret_check_sees_a_secret_nothing_makes(platform: Platform) -> None:
    """Without the Certificate that edge.py declares in place of Envoy Gateway's certgen
    hook, the controller mounts a Secret nothing creates."""
    objects = [
        o
        for o in platform("dev").objects
        if not (o["kind"] == "Certificate" and o["metadata"]["name"] == "envoy-gateway")
    ]
    assert missing_mounted_secrets(objects) == [
        "edge/Deployment/envoy-gateway mounts envoy-gateway"
    ]

"""The Orgo chart on its own: lint, render, strict schemas, policies, bad values, checkov."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.validation import validate
from infra.versions import versions
from tests.infra import k8s_support as ks

CHART = ks.REPO_ROOT / "charts" / "orgo-api"
PRODUCTION = CHART / "ci" / "production-values.yaml"
KUBERNETES_VERSION = "1.33.0"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def helm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not ks.HELM.exists():
        pytest.fail(f"{ks.HELM} missing: run `make helm`")
    return subprocess.run([ks.HELM, *args], capture_output=True, text=True, check=False)


def render(*args: str | Path) -> list[dict[str, Any]]:
    result = helm("template", "orgo", CHART, "--namespace", "orgo", *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("values", [(), ("--values", PRODUCTION)], ids=["default", "production"])
def test_lint_strict(values: tuple[str | Path, ...]) -> None:
    result = helm("lint", "--strict", CHART, *values)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", [(), ("--values", PRODUCTION)], ids=["default", "production"])
def test_rendered_objects_are_strictly_valid_and_restricted(values: tuple[str | Path, ...]) -> None:
    objects = render(*values)
    crds = ks.pinned_crds()
    problems = [p for obj in objects for p in validate(obj, KUBERNETES_VERSION, crds)]
    assert not problems, "\n".join(problems)
    assert all(o["metadata"]["namespace"] == "orgo" for o in objects)
    assert not [o for o in objects if o["kind"] == "Secret"], "the chart must not create Secrets"
    for pod in (p for o in objects for p in ks.pod_specs(o)):
        assert pod.spec["securityContext"]["runAsNonRoot"] is True
        assert pod.spec["automountServiceAccountToken"] is False
        for container in ks.containers(pod.spec):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            if pod.kind == "Deployment":
                assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_default_values_are_a_single_replica_without_extras() -> None:
    objects = render()
    assert by_kind(objects, "Deployment")["orgo-api"]["spec"]["replicas"] == 1
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "HTTPRoute", "ServiceMonitor"):
        assert not by_kind(objects, kind), kind
    settings = by_kind(objects, "ConfigMap")["orgo-settings"]["data"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in settings
    job = by_kind(objects, "Job")["orgo-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    inline = {e["name"]: e["value"] for e in env if "value" in e}
    assert inline == settings, "the migration hook carries the same settings inline"


def settings_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = by_kind(objects, "ConfigMap")["orgo-settings"]["data"]
    return data


def test_app_settings_for_the_edge() -> None:
    """Body limit, trusted proxies and docs reach the app as its ORGO_* settings."""
    default = settings_of(render())
    assert default["ORGO_MAX_BODY_BYTES"] == "1048576"
    assert default["ORGO_DOCS_ENABLED"] == "false"
    assert "ORGO_FORWARDED_ALLOW_IPS" not in default, "no proxy in front: the app's loopback"
    custom = settings_of(
        render(
            "--set",
            "maxBodyBytes=2097152",
            "--set",
            "docs.enabled=true",
            "--set-json",
            'forwardedAllowIps=["10.244.0.0/16","fd00:10:244::/56"]',
        )
    )
    assert custom["ORGO_MAX_BODY_BYTES"] == "2097152"
    assert custom["ORGO_DOCS_ENABLED"] == "true"
    assert custom["ORGO_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16,fd00:10:244::/56"
    production = settings_of(render("--values", PRODUCTION))
    assert production["ORGO_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16"


def test_default_environment_is_prod() -> None:
    """Only dev lets the app fall back to its built-in JWT secret, which is public."""
    assert settings_of(render())["ORGO_ENV"] == "prod"


@pytest.mark.parametrize("values", [(), ("--values", PRODUCTION)], ids=["default", "production"])
def test_every_pod_requires_the_jwt_secret_key(values: tuple[str | Path, ...]) -> None:
    """envFrom skips a missing key silently; a secretKeyRef that is not optional makes the
    kubelet refuse to start the container, so no pod runs without ORGO_JWT_SECRET."""
    objects = render("--set", "envSecretName=orgo-secrets", *values)
    pods = [p for o in objects for p in ks.pod_specs(o)]
    assert {p.owner for p in pods} == {
        "Deployment/orgo-api",
        "Deployment/orgo-worker",
        "Job/orgo-migrate",
    }
    for pod in pods:
        for container in ks.containers(pod.spec):
            refs = [e for e in container.get("env", []) if e["name"] == "ORGO_JWT_SECRET"]
            assert refs == [
                {
                    "name": "ORGO_JWT_SECRET",
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": "orgo-secrets",
                            "key": "ORGO_JWT_SECRET",
                            "optional": False,
                        }
                    },
                }
            ], f"{pod.owner}/{container['name']}"


def test_production_values_give_ha_autoscaling_and_monitoring() -> None:
    objects = render("--values", PRODUCTION)
    assert "replicas" not in by_kind(objects, "Deployment")["orgo-api"]["spec"]  # the HPA owns it
    assert by_kind(objects, "HorizontalPodAutoscaler")["orgo-api"]["spec"]["minReplicas"] == 3
    assert set(by_kind(objects, "PodDisruptionBudget")) == {"orgo-api", "orgo-worker"}
    monitors = by_kind(objects, "ServiceMonitor")
    jobs = {m["spec"]["endpoints"][0]["relabelings"][0]["replacement"] for m in monitors.values()}
    assert jobs == {"orgo-api", "orgo-worker"}
    assert (
        by_kind(objects, "PrometheusRule")["orgo-example"]["spec"]["groups"][0]["name"]
        == "orgo-example"
    )
    dashboard = by_kind(objects, "ConfigMap")["orgo-dashboard-example"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["example.json"])["title"] == "Orgo example"
    settings = by_kind(objects, "ConfigMap")["orgo-settings"]["data"]
    assert settings["PROMETHEUS_MULTIPROC_DIR"] == "/tmp"
    policies = by_kind(objects, "NetworkPolicy")
    assert policies["orgo-default-deny"]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress_ports = [
        p["port"] for rule in policies["orgo-egress"]["spec"]["egress"] for p in rule["ports"]
    ]
    assert egress_ports == [5432, 6379, 5672]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "api.replicas=0"], "at '/api/replicas': minimum: got 0, want 1"),
        (["--set", "replicaCount=2"], "additional properties 'replicaCount' not allowed"),
        (["--set", "api.resources.requests.cpu=lots"], "at '/api/resources/requests/cpu'"),
        (["--set", "image.tag=latest"], "image.tag: 'latest' is not allowed"),
        (["--set", "environment=production"], "at '/environment'"),
        (["--set", "envSecretName=Not_A_Name"], "at '/envSecretName'"),
        (["--set", "service.port=80"], "at '/service/port': minimum: got 80, want 1,024"),
        (
            ["--set-json", 'networkPolicy.egress=[{"name":"db","ports":[5432]}]'],
            "at '/networkPolicy/egress/0'",
        ),
        (
            ["--set", "httpRoute.enabled=true"],
            "at '/httpRoute/parentRefs': minItems: got 0, want 1",
        ),
        (
            ["--set", "ingress.enabled=true", "--set-json", 'forwardedAllowIps=["10.244.0.0/16"]'],
            "ingress.host is required",
        ),
        (["--set-json", 'forwardedAllowIps=["*"]'], "at '/forwardedAllowIps/0'"),
        (["--set-json", 'forwardedAllowIps=["0.0.0.0/0"]'], "at '/forwardedAllowIps/0'"),
        (["--set-json", 'forwardedAllowIps=["::/0"]'], "at '/forwardedAllowIps/0'"),
        (["--set-json", 'forwardedAllowIps=["10.0.0.0/33"]'], "at '/forwardedAllowIps/0'"),
        (
            ["--set", "ingress.enabled=true", "--set", "ingress.host=orgo.example.com"],
            "forwardedAllowIps is required with httpRoute or ingress",
        ),
        (
            [
                "--set",
                "httpRoute.enabled=true",
                "--set-json",
                'httpRoute.parentRefs=[{"name":"g"}]',
            ],
            "forwardedAllowIps is required with httpRoute or ingress",
        ),
        (["--set", "maxBodyBytes=100"], "at '/maxBodyBytes': minimum: got 100, want 1,024"),
        (["--set", "docs.enabled=yes"], "at '/docs/enabled'"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(arguments: list[str], message: str) -> None:
    result = helm("template", "orgo", CHART, *arguments)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_checkov_helm_runner(tmp_path: Path) -> None:
    shared = ks.REPO_ROOT / "tests" / "infra" / "checkov-skips.yaml"
    skips = {**load_yaml(shared), **load_yaml(Path(__file__).parent / "checkov-skips.yaml")}
    env = {**os.environ, "PATH": f"{ks.HELM.parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [
            ks.checkov(),
            "--directory",
            CHART,
            "--framework",
            "helm",
            "--skip-download",
            "--output",
            "json",
            "--quiet",
            "--skip-check",
            ",".join(skips),
            "--var-file",
            PRODUCTION,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    helm_reports = [r for r in reports if r.get("check_type") == "helm"]
    assert helm_reports, (
        f"checkov's Helm runner did not run: {result.stdout[:500]} {result.stderr[:500]}"
    )
    assert helm_reports[0]["summary"]["passed"] > 20
    failed = [
        f"{c['check_id']} {c['resource']}"
        for r in helm_reports
        for c in r["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_chart_pins_the_image_of_versions_yaml() -> None:
    """versions.yaml is the one place for the pin; the chart's defaults must follow it."""
    pin = versions().images["orgo"]
    values = load_yaml(CHART / "values.yaml")["image"]
    assert (values["repository"], values["tag"]) == (pin.repository, pin.tag)
    assert load_yaml(CHART / "Chart.yaml")["appVersion"] == pin.tag

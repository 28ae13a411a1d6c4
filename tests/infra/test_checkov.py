"""checkov over the whole render of a stack, operators included (checked to have run).

Checks skipped everywhere are in checkov-skips.yaml; the ones waived for named upstream
objects only are below, each with its reason: a new object failing them still fails.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.render import Render, write_manifests
from tests.infra import k8s_support as ks

Platform = Callable[[str], Render]
CHECKOV_SKIPS = Path(__file__).parent / "checkov-skips.yaml"
OPERATORS = [
    "Deployment.edge.edge-cert-manager",
    "Deployment.edge.edge-cert-manager-cainjector",
    "Deployment.edge.edge-cert-manager-webhook",
    "Deployment.edge.envoy-gateway",
    "StatefulSet.elastic.elastic-operator",
    "Deployment.monitoring.monitoring-operator",
    "Deployment.monitoring.monitoring-stack-kube-state-metrics",
    "Deployment.monitoring.monitoring-grafana",
    "Deployment.postgres.postgres-operator-cloudnative-pg",
    "Deployment.rabbitmq-system.rabbitmq-cluster-operator",
    "Deployment.rabbitmq-system.messaging-topology-operator",
    "Deployment.metrics-server.metrics-server-chart",
]
# check id -> (reason, the upstream objects it is waived for).
WAIVED: dict[str, tuple[str, list[str]]] = {
    "CKV_K8S_38": (
        "operators, controllers and Grafana's sidecars watch the API server: they need"
        " their service account token",
        OPERATORS,
    ),
    "CKV_K8S_40": (
        "upstream images run as their own fixed non-root uid (65532, 1000, 1001, 472);"
        " Pod Security restricted still holds (tests/infra/test_render_pod_security.py)",
        [
            "Deployment.edge.edge-cert-manager",
            "Deployment.edge.edge-cert-manager-cainjector",
            "Deployment.edge.edge-cert-manager-webhook",
            "StatefulSet.elastic.elastic-operator",
            "Deployment.rabbitmq-system.rabbitmq-cluster-operator",
            "Deployment.rabbitmq-system.messaging-topology-operator",
            "Deployment.monitoring.monitoring-grafana",
        ],
    ),
    "CKV_K8S_155": (
        "operators that run admission webhooks patch their own webhook configurations"
        " (CA bundle injection)",
        [
            "ClusterRole.default.postgres-operator-cloudnative-pg",
            "ClusterRole.default.elastic-operator",
            "ClusterRole.default.edge-cert-manager-cainjector",
        ],
    ),
    "CKV_K8S_49": (
        "the Prometheus operator manages every monitoring.coreos.com resource (wildcard"
        " on its own API group, as upstream)",
        ["ClusterRole.default.monitoring-operator"],
    ),
    "CKV_K8S_22": (
        "the RabbitMQ cluster operator and Grafana write to their image's paths (upstream"
        " defaults); every container of ours has a read-only root",
        [
            "Deployment.rabbitmq-system.rabbitmq-cluster-operator",
            "Deployment.monitoring.monitoring-grafana",
        ],
    ),
    "CKV_K8S_8": (
        "the ECK operator, cert-manager's CA injector and Grafana's sidecars define no"
        " liveness probe upstream (tests/infra/test_platform_manifests.py WITHOUT_PROBES)",
        [
            "StatefulSet.elastic.elastic-operator",
            "Deployment.edge.edge-cert-manager-cainjector",
            "Deployment.monitoring.monitoring-grafana",
        ],
    ),
    "CKV_K8S_9": (
        "as CKV_K8S_8, for readiness; cert-manager's controller has a liveness probe only",
        [
            "StatefulSet.elastic.elastic-operator",
            "Deployment.edge.edge-cert-manager",
            "Deployment.edge.edge-cert-manager-cainjector",
            "Deployment.monitoring.monitoring-grafana",
        ],
    ),
    "CKV_K8S_31": (
        "seccomp is set at pod level (RuntimeDefault), which checkov reads only from"
        " annotations for these; node-exporter: see the Pod Security exception",
        [
            "StatefulSet.elastic.elastic-operator",
            "DaemonSet.monitoring.monitoring-stack-prometheus-node-exporter",
        ],
    ),
    **{
        check: (
            "node-exporter: the documented Pod Security exception (host network, PID,"
            " paths; tests/infra/test_render_pod_security.py EXCEPTIONS)",
            ["DaemonSet.monitoring.monitoring-stack-prometheus-node-exporter"],
        )
        for check in ("CKV_K8S_17", "CKV_K8S_19", "CKV_K8S_20", "CKV_K8S_28", "CKV_K8S_37")
    },
}


def run_checkov(folder: Path) -> list[dict[str, Any]]:
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
    reports: list[dict[str, Any]] = report if isinstance(report, list) else [report]
    return reports


def unwaived(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in r["results"]["failed_checks"]
        if c["resource"] not in WAIVED.get(c["check_id"], ("", []))[1]
    ]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_checkov_passes_over_the_whole_render(
    platform: Platform, stack: str, tmp_path: Path
) -> None:
    folder = write_manifests(platform(stack), tmp_path)
    (folder / "_charts.yaml").unlink()  # the installs' record, not a Kubernetes object
    reports = run_checkov(folder)
    summary = reports[0]["summary"]
    print(f"checkov {stack}: {summary}")
    assert summary["resource_count"] >= len(platform(stack).objects) - 5, "did not scan all"
    assert summary["passed"] > 1000, "checkov did not scan the manifests"
    failed = unwaived(reports)
    assert not failed, "\n".join(failed)


def test_a_waiver_does_not_cover_other_objects() -> None:
    report = {
        "results": {
            "failed_checks": [
                {
                    "check_id": "CKV_K8S_38",
                    "resource": "Deployment.orgo.orgo-api",
                    "check_name": "x",
                },
                {"check_id": "CKV_K8S_38", "resource": OPERATORS[0], "check_name": "x"},
            ]
        }
    }
    assert unwaived([report]) == ["CKV_K8S_38 Deployment.orgo.orgo-api: x"]

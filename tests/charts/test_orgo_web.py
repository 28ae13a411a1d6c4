"""The chart's web UI (web.enabled): a Deployment of the web image and its Service, as
restricted as the API's pods, reached from the edge namespaces only and reaching nothing,
and left out of the policies that open the API's pods to monitoring, DNS and data services."""

from __future__ import annotations

from typing import Any

import pytest

from infra.validation import validate
from tests.charts.test_orgo_chart import CHART, KUBERNETES_VERSION, by_kind, helm, render
from tests.infra import k8s_support as ks

EDGE = ("--set-json", 'networkPolicy.ingressNamespaces=["edge"]')
EGRESS = (
    "--set-json",
    'networkPolicy.egress=[{"name":"db","namespace":"postgres","ports":[5432]}]',
)
WEB = ("--set", "web.enabled=true", *EDGE, *EGRESS)
WEB_POD = {
    "app.kubernetes.io/name": "orgo-api",
    "app.kubernetes.io/instance": "orgo",
    "app.kubernetes.io/component": "web",
}
API_POD = {**WEB_POD, "app.kubernetes.io/component": "api"}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions In/NotIn) against a pod's labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        inside = value in expression["values"]
        if (expression["operator"] == "In") != inside:
            return False
    return True


def policies_of(objects: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        policy
        for policy in by_kind(objects, "NetworkPolicy").values()
        if selects(policy["spec"]["podSelector"], labels)
    ]


def test_the_web_ui_is_a_restricted_deployment_behind_its_service() -> None:
    objects = render(*WEB, "--set", "web.image.tag=1.2.3", "--set", "web.replicas=2")
    crds = ks.pinned_crds()
    problems = [p for obj in objects for p in validate(obj, KUBERNETES_VERSION, crds)]
    assert not problems, "\n".join(problems)
    deployment = by_kind(objects, "Deployment")["orgo-web"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "ghcr.io/orgo-platform/orgo-web:1.2.3"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container)
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert selects({"matchLabels": deployment["spec"]["selector"]["matchLabels"]}, WEB_POD)
    service = by_kind(objects, "Service")["orgo-web"]
    assert service["spec"]["selector"] == WEB_POD
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert "orgo-web" in by_kind(objects, "PodDisruptionBudget")
    assert pod["topologySpreadConstraints"]


def test_the_edge_reaches_the_web_pods_on_their_port_and_they_reach_nothing() -> None:
    policies = policies_of(render(*WEB), WEB_POD)
    assert {p["metadata"]["name"] for p in policies} == {"orgo-default-deny", "orgo-web-ingress"}
    ingress = [
        (peer, port["port"])
        for policy in policies
        for rule in policy["spec"].get("ingress", [])
        for peer in rule["from"]
        for port in rule["ports"]
    ]
    assert ingress == [
        (
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["edge"]}
                    ]
                }
            },
            8080,
        )
    ]
    assert not [p for p in policies if p["spec"].get("egress")], "the web pods open nothing"


def test_the_api_pods_keep_their_policies() -> None:
    with_web = {p["metadata"]["name"] for p in policies_of(render(*WEB), API_POD)}
    without = {p["metadata"]["name"] for p in policies_of(render(*EDGE, *EGRESS), API_POD)}
    assert with_web == without == {"orgo-default-deny", "orgo-dns", "orgo-ingress", "orgo-egress"}


def test_without_web_enabled_nothing_of_it_is_rendered() -> None:
    objects = render(*EDGE)
    assert not [o for o in objects if o["metadata"]["name"].startswith("orgo-web")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "web.image.tag=latest"], "web.image.tag: 'latest' is not allowed"),
        (["--set", "web.replicas=0"], "at '/web/replicas': minimum: got 0, want 1"),
        (["--set", "web.service=orgo-static"], "additional properties 'service' not allowed"),
    ],
)
def test_bad_web_values_are_refused(arguments: list[str], message: str) -> None:
    result = helm("template", "orgo", CHART, "--set", "web.enabled=true", *arguments)
    assert result.returncode != 0
    assert message in result.stderr

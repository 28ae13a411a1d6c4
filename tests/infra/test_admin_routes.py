"""Grafana and Kibana through the Gateway: only behind a SecurityPolicy allowing the stack's
`edge.adminCidrs`, and with no route at all when none are configured (the default)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.program import PORT_FORWARDS
from infra.render import Run, kubernetes_objects, run, stack_config_values
from infra.validation import validate
from tests.infra import k8s_support as ks
from tests.infra.route_matching import backend_for, http_route_rules

Objects = Callable[[str], list[dict[str, Any]]]
# (namespace, Service) of each operations UI
ADMIN_UIS = {"grafana": ("monitoring", "monitoring-grafana"), "kibana": ("elastic", "orgo-kb-http")}
DEV_CIDRS = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in objects
        if o["kind"] == kind
    }


def routed_services(objects: list[dict[str, Any]]) -> set[str | None]:
    """Where `/` goes by each route of the UIs' namespaces."""
    namespaces = {namespace for namespace, _ in ADMIN_UIS.values()}
    return {
        backend_for(http_route_rules(route), "/")
        for (namespace, _), route in of_kind(objects, "HTTPRoute").items()
        if namespace in namespaces
    }


def test_allowed_clients_reach_the_uis_through_an_allow_list(objects: Objects) -> None:
    dev = objects("dev")
    routes, policies = of_kind(dev, "HTTPRoute"), of_kind(dev, "SecurityPolicy")
    for app, (namespace, service) in ADMIN_UIS.items():
        route = routes[(namespace, service)]
        assert route["spec"]["hostnames"] == [f"{app}.orgo.localtest.me"]
        assert backend_for(http_route_rules(route), "/") == service
        [policy] = [
            p
            for (ns, _), p in policies.items()
            if ns == namespace and p["spec"]["targetRefs"][0]["name"] == service
        ]
        assert policy["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": service}
        ]
        authorization = policy["spec"]["authorization"]
        assert authorization["defaultAction"] == "Deny"
        assert authorization["rules"] == [
            {"name": "admin-cidrs", "action": "Allow", "principal": {"clientCIDRs": DEV_CIDRS}}
        ]
        assert validate(policy, "1.36.0", ks.pinned_crds()) == []
    certificate = of_kind(dev, "Certificate")[("edge", "orgo")]  # the Gateway's
    assert certificate["spec"]["dnsNames"] == [
        "orgo.localtest.me",
        "grafana.orgo.localtest.me",
        "kibana.orgo.localtest.me",
    ]


def test_no_route_to_the_uis_without_an_allow_list(
    objects: Objects, rendered: Callable[[str], Run]
) -> None:
    staging = objects("staging")
    services = {service for _, service in ADMIN_UIS.values()}
    assert not routed_services(staging) & services
    assert not of_kind(staging, "SecurityPolicy")
    certificate = of_kind(staging, "Certificate")[("edge", "orgo")]
    assert certificate["spec"]["dnsNames"] == ["orgo.staging.example.com"]
    outputs = rendered("staging").stack_outputs
    assert outputs["grafanaUrl"] == PORT_FORWARDS["grafana"]
    assert outputs["kibanaUrl"] == PORT_FORWARDS["kibana"]
    assert "port-forward svc/monitoring-grafana" in outputs["grafanaUrl"]


@pytest.mark.parametrize("stack", ["prod", "prod-lite"])
def test_aws_stacks_keep_the_uis_private(stack: str) -> None:
    from tests.infra.aws.conftest import get_run

    objects = kubernetes_objects(get_run("stack", stack).resources)
    assert not routed_services(objects) & {service for _, service in ADMIN_UIS.values()}


def test_the_allow_list_comes_from_the_stack_config() -> None:
    values = stack_config_values("staging")[0]
    platform = json.loads(values["orgo:platform"])
    platform["edge"]["adminCidrs"] = ["203.0.113.0/24", "2001:db8::/48"]
    result = run("staging", values={**values, "orgo:platform": json.dumps(platform)})
    policies = of_kind(kubernetes_objects(result.resources), "SecurityPolicy")
    assert {ns for ns, _ in policies} == {"monitoring", "elastic"}
    for policy in policies.values():
        [rule] = policy["spec"]["authorization"]["rules"]
        assert rule["principal"]["clientCIDRs"] == ["203.0.113.0/24", "2001:db8::/48"]
    assert result.stack_outputs["grafanaUrl"] == "https://grafana.orgo.staging.example.com"


@pytest.mark.parametrize(
    "value", [["*"], ["any"], ["10.0.0.1/8"]], ids=["star", "word", "host-bits"]
)
def test_bad_admin_cidrs_name_the_key(value: list[str]) -> None:
    platform = json.loads(stack_config_values("dev")[0]["orgo:platform"])
    platform["edge"]["adminCidrs"] = value
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"platform": platform})
    assert "orgo:platform.edge.adminCidrs.0: value is not a valid IPv4 or IPv6 network" in str(
        error.value
    )

"""What each stack exposes of the API and how: the settings the Gateway's side of the app
needs (trusted proxies, body limit, docs), per stack type."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, parse_stack_config
from infra.program import pod_networks
from infra.render import kubernetes_objects, run, stack_config_values
from infra.validation import validate
from infra.versions import REPO_ROOT
from tests.infra import k8s_support as ks
from tests.infra.aws.conftest import get_run
from tests.infra.route_matching import backend_for, http_route_rules

Objects = Callable[[str], list[dict[str, Any]]]


def settings(objects: list[dict[str, Any]]) -> dict[str, str]:
    [config_map] = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "orgo-settings"
    ]
    data: dict[str, str] = config_map["data"]
    return data


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind]
    return found


def stack_platform(stack: str) -> dict[str, Any]:
    raw = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(raw["config"]["orgo:platform"])


@pytest.mark.parametrize(("stack", "docs"), [("dev", "true"), ("staging", "false")])
def test_any_cluster_trusts_the_kind_pod_network(objects: Objects, stack: str, docs: str) -> None:
    app = settings(objects(stack))
    assert app["ORGO_FORWARDED_ALLOW_IPS"] == "10.244.0.0/16"
    assert app["ORGO_MAX_BODY_BYTES"] == "1048576"
    assert app["ORGO_DOCS_ENABLED"] == docs


OPS_PATHS = ["/metrics", "/readyz", "/"]
DOCS_PATHS = ["/docs", "/openapi.json"]


@pytest.mark.parametrize(("stack", "docs_routed"), [("dev", True), ("staging", False)])
def test_the_gateway_forwards_only_client_paths(
    objects: Objects, stack: str, docs_routed: bool
) -> None:
    [route] = [
        o for o in objects(stack) if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "orgo"
    ]
    rules = http_route_rules(route)
    assert {backend_for(rules, p) for p in ["/api/v1/tasks", "/healthz"]} == {"orgo-api"}
    # Every other path is the web UI's (whose nginx answers the API's paths with 404).
    assert {backend_for(rules, p) for p in OPS_PATHS} == {"orgo-web"}
    docs = {backend_for(rules, p) for p in DOCS_PATHS}
    assert docs == ({"orgo-api"} if docs_routed else {"orgo-web"})


@pytest.mark.parametrize("stack", ["prod", "prod-lite"])
def test_eks_trusts_the_vpc(stack: str) -> None:
    """The VPC CNI gives pods addresses of the VPC's subnets: the Envoy proxies among them."""
    run = get_run("stack", stack)
    app = settings(kubernetes_objects(run.resources))
    assert app["ORGO_FORWARDED_ALLOW_IPS"] == str(run.config.network.vpc_cidr)
    assert app["ORGO_DOCS_ENABLED"] == "false"


def test_pod_cidrs_and_body_limit_from_the_stack_config() -> None:
    platform = stack_platform("staging")
    platform["podCidrs"] = ["10.42.0.0/16", "fd00:10:42::/56"]
    platform["orgo"]["maxBodyBytes"] = 2 * 1024 * 1024
    cfg = parse_stack_config({"platform": platform})
    assert pod_networks(cfg) == ("10.42.0.0/16", "fd00:10:42::/56")
    assert cfg.platform.orgo.max_body_bytes == 2097152


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["*"], "orgo:platform.podCidrs.0: value is not a valid IPv4 or IPv6 network"),
        (["0.0.0.0/0"], "orgo:platform.podCidrs.0: Value error, a /0 network would trust every"),
        (["::/0"], "a /0 network would trust every client"),
        (["10.244.0.1/16"], "orgo:platform.podCidrs.0: value is not a valid IPv4 or IPv6 network"),
        ([], "orgo:platform.podCidrs: Tuple should have at least 1 item"),
    ],
)
def test_bad_pod_cidrs_name_the_key(value: list[str], expected: str) -> None:
    platform = stack_platform("dev")
    platform["podCidrs"] = value
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"platform": platform})
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100, "orgo:platform.orgo.maxBodyBytes: Input should be greater than or equal to 1024"),
        (2**27, "orgo:platform.orgo.maxBodyBytes: Input should be less than or equal to 67108864"),
    ],
)
def test_bad_body_limit_names_the_key(value: int, expected: str) -> None:
    platform = stack_platform("dev")
    platform["orgo"]["maxBodyBytes"] = value
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"platform": platform})
    assert expected in str(error.value)


def test_one_body_limit_for_the_app_and_the_gateway() -> None:
    """orgo.maxBodyBytes sets ORGO_MAX_BODY_BYTES and the Gateway's limit on the API's
    route; the policy is valid for Envoy Gateway's CRD (the mirrored release)."""
    values = stack_config_values("staging")[0]
    platform = json.loads(values["orgo:platform"])
    platform["orgo"]["maxBodyBytes"] = 4 * 1024 * 1024
    objects = kubernetes_objects(
        run("staging", values={**values, "orgo:platform": json.dumps(platform)}).resources
    )
    policy = one(objects, "BackendTrafficPolicy")
    route = next(o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "orgo")
    assert policy["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "orgo"}
    ]
    assert policy["metadata"]["namespace"] == route["metadata"]["namespace"]
    assert policy["spec"]["requestBuffer"]["limit"] == 4194304
    assert settings(objects)["ORGO_MAX_BODY_BYTES"] == "4194304"
    assert validate(policy, "1.36.0", ks.pinned_crds()) == []


def selects_namespace(source: dict[str, Any], namespace: str) -> bool:
    """Does a NetworkPolicy peer admit every pod of `namespace` (by its name label)?"""
    selector = source.get("namespaceSelector")
    if selector is None or source.get("podSelector", {}) != {}:
        return False
    name_label = "kubernetes.io/metadata.name"
    if selector.get("matchLabels", {}).get(name_label) == namespace:
        return True
    return any(
        e["key"] == name_label and e["operator"] == "In" and namespace in e["values"]
        for e in selector.get("matchExpressions", [])
    )


API_POD_LABELS = {
    "app.kubernetes.io/name": "orgo-api",
    "app.kubernetes.io/instance": "orgo",
    "app.kubernetes.io/component": "api",
}


def ports_open_to(objects: list[dict[str, Any]], target: str, source: str) -> set[int | str]:
    """Ports of the API pods in `target` that pods of namespace `source` may connect to
    (policies are additive: the union of every rule admitting them; "all" for a rule
    without ports)."""
    ports: set[int | str] = set()
    for policy in objects:
        if policy["kind"] != "NetworkPolicy" or policy["metadata"]["namespace"] != target:
            continue
        selected = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selected.items() <= API_POD_LABELS.items():
            continue
        for rule in policy["spec"].get("ingress", []):
            if any(selects_namespace(peer, source) for peer in rule.get("from", [])):
                ports |= {p["port"] for p in rule.get("ports", [])} or {"all"}
    return ports


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_edge_and_monitoring_reach_only_their_ports(objects: Objects, stack: str) -> None:
    """The namespace's baseline must not widen the chart's per-port rules (review I3)."""
    assert ports_open_to(objects(stack), "orgo", "edge") == {8000}
    assert ports_open_to(objects(stack), "orgo", "monitoring") == {8000, 9464}
    assert ports_open_to(objects(stack), "orgo", "elastic") == set()


def test_egress_to_managed_services_stays_in_the_vpc() -> None:
    run_ = get_run("stack", "prod")
    [egress] = [
        o
        for o in kubernetes_objects(run_.resources)
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "orgo-egress"
    ]
    destinations = {
        peer["ipBlock"]["cidr"] for rule in egress["spec"]["egress"] for peer in rule["to"]
    }
    assert destinations == {str(run_.config.network.vpc_cidr)}

"""The edge on any cluster (dev, staging): the EnvoyProxy behind the GatewayClass, Envoy
Gateway's control-plane certificates (made by cert-manager, since Helm v4 Chart never runs
the chart's certgen hook), the ACME solver each stack uses, and the errors of a bad
`edge.acme` config. The AWS stacks'
edge (Route 53 DNS-01, NLB) is tested in tests/infra/aws/test_aws_edge.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from infra.components import k8s as kb
from infra.components.edge import PROXY_CONFIG, PROXY_RESOURCES, EdgeArgs, _proxy_spec
from infra.config import ConfigError, EdgeConfig, parse_stack_config
from infra.render import Render
from infra.versions import REPO_ROOT

Objects = Callable[[str], list[dict[str, Any]]]
Platform = Callable[[str], Render]
# What Envoy Gateway v1.9 reads by fixed name in its own namespace and its certgen Job
# makes under Helm (upstream internal/provider/kubernetes/secrets.go): Secret -> keys.
CERTGEN_SECRETS = {
    "envoy-gateway": {"ca.crt", "tls.crt", "tls.key"},
    "envoy": {"ca.crt", "tls.crt", "tls.key"},
    "envoy-rate-limit": {"ca.crt", "tls.crt", "tls.key"},
    "envoy-oidc-hmac": {"hmac-secret"},
}


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def proxy_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "EnvoyProxy", PROXY_CONFIG)["spec"]
    assert spec["provider"]["type"] == "Kubernetes"
    return dict(spec["provider"]["kubernetes"])


@pytest.mark.parametrize(("stack", "replicas"), [("dev", 1), ("staging", 3)])
def test_proxy_deployment_follows_gateway_replicas(
    objects: Objects, stack: str, replicas: int
) -> None:
    proxy = proxy_of(objects(stack))
    deployment = proxy["envoyDeployment"]
    assert deployment["replicas"] == replicas
    assert deployment["container"]["resources"] == kb.resources(PROXY_RESOURCES)
    pod = deployment["pod"]
    if replicas > 1:
        assert proxy["envoyPDB"] == {"minAvailable": replicas - 1}
        assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert pod["topologySpreadConstraints"]
    else:
        assert "envoyPDB" not in proxy
        assert "affinity" not in pod
    # not on AWS: the cluster's default LoadBalancer, keeping the client's address
    assert proxy["envoyService"] == {"externalTrafficPolicy": "Local"}


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_proxy_pods_are_restricted(objects: Objects, stack: str) -> None:
    deployment = proxy_of(objects(stack))["envoyDeployment"]
    pod_ctx = deployment["pod"]["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    container_ctx = deployment["container"]["securityContext"]
    assert container_ctx["allowPrivilegeEscalation"] is False
    assert container_ctx["capabilities"] == {"drop": ["ALL"]}
    namespace = one(objects(stack), "Namespace", "edge")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_gateway_class_points_at_the_envoy_proxy(objects: Objects, stack: str) -> None:
    gateway_class = one(objects(stack), "GatewayClass")
    proxy = one(objects(stack), "EnvoyProxy")["metadata"]
    assert gateway_class["spec"]["parametersRef"] == {
        "group": "gateway.envoyproxy.io",
        "kind": "EnvoyProxy",
        "name": proxy["name"],
        "namespace": proxy["namespace"],
    }
    gateway = one(objects(stack), "Gateway")["spec"]
    assert gateway["gatewayClassName"] == gateway_class["metadata"]["name"]


def test_acme_solver_per_stack(objects: Objects) -> None:
    assert one(objects("dev"), "ClusterIssuer")["spec"] == {"selfSigned": {}}
    acme = one(objects("staging"), "ClusterIssuer")["spec"]["acme"]
    [solver] = acme["solvers"]
    [parent] = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    gateway = one(objects("staging"), "Gateway")
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert parent["name"] == gateway["metadata"]["name"]
    assert listeners[parent["sectionName"]]["port"] == 80
    redirect = one(objects("staging"), "HTTPRoute", "https-redirect")["spec"]
    assert redirect["parentRefs"][0]["sectionName"] == parent["sectionName"]


def test_proxy_service_on_aws_asks_for_a_tagged_nlb() -> None:
    args = EdgeArgs(
        EdgeConfig(gateway_replicas=2),
        "orgo.example.com",
        (),
        "sg-0123",
        {"Project": "orgo", "Environment": "prod"},
    )
    service = _proxy_spec(args)["provider"]["kubernetes"]["envoyService"]
    assert service["externalTrafficPolicy"] == "Local", "the NLB's clients keep their address"
    annotations = service["annotations"]
    assert annotations == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": (
            "Environment=prod,Project=orgo"
        ),
    }


def staging_with_acme(acme: dict[str, Any]) -> dict[str, Any]:
    stack = yaml.safe_load((REPO_ROOT / "Pulumi.staging.yaml").read_text(encoding="utf-8"))
    platform = copy.deepcopy(stack["config"]["orgo:platform"])
    platform["edge"]["acme"] = acme
    return {"platform": platform}


@pytest.mark.parametrize(
    ("acme", "expected"),
    [
        (
            {"solver": "dns01"},
            "orgo:platform.edge.acme.solver: Input should be 'http01' or 'route53'",
        ),
        (
            {"solver": "route53", "region": "eu-west-1"},
            "orgo:platform.edge.acme: Value error, solver 'route53' requires hostedZoneId and "
            "region",
        ),
        (
            {"solver": "http01", "hostedZoneId": "Z0EXAMPLE12345ORGO"},
            "orgo:platform.edge.acme: Value error, hostedZoneId and region are allowed only "
            "with solver 'route53'",
        ),
        (
            {"solver": "route53", "hostedZoneId": "orgo.example.com", "region": "eu-west-1"},
            "orgo:platform.edge.acme.hostedZoneId: String should match pattern",
        ),
        ({"solvr": "route53"}, "allowed keys: hostedZoneId, region, solver"),
    ],
)
def test_bad_acme_config_names_the_key(acme: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(staging_with_acme(acme))
    assert expected in str(error.value)


def test_route53_solver_config_is_accepted() -> None:
    acme = {"solver": "route53", "hostedZoneId": "Z0EXAMPLE12345ORGO", "region": "eu-west-1"}
    cfg = parse_stack_config(staging_with_acme(acme)).platform.edge.acme
    assert (cfg.solver, cfg.hosted_zone_id, cfg.region) == tuple(acme.values())


def made_in(objects: list[dict[str, Any]], namespace: str) -> dict[str, set[str]]:
    """Secret name -> its keys, for the Secrets of `namespace` that the render declares or
    that its Certificates make (cert-manager writes ca.crt, tls.crt and tls.key)."""
    made: dict[str, set[str]] = {}
    for obj in objects:
        if obj["metadata"].get("namespace") != namespace:
            continue
        if obj["kind"] == "Secret":
            made[obj["metadata"]["name"]] = {
                *(obj.get("data") or {}),
                *(obj.get("stringData") or {}),
            }
        elif obj["kind"] == "Certificate":
            made[obj["spec"]["secretName"]] = {"ca.crt", "tls.crt", "tls.key"}
    return made


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_secret_certgen_would_make_is_made(platform: Platform, stack: str) -> None:
    made = made_in(platform(stack).objects, "edge")
    assert {name: made.get(name) for name in CERTGEN_SECRETS} == CERTGEN_SECRETS


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_control_plane_certificates_match_what_envoy_gateway_checks(
    platform: Platform, stack: str
) -> None:
    """The proxies verify the controller by the DNS name `envoy-gateway`; the controller and
    the rate limiter accept any certificate of the CA their own Secret carries, so all three
    come from one CA, which keeps its key when cert-manager renews it."""
    objects = platform(stack).objects
    service = one(objects, "Service", "envoy-gateway")["metadata"]  # the chart's controller
    [container] = one(objects, "Deployment", "envoy-gateway")["spec"]["template"]["spec"][
        "containers"
    ]
    domain = {e["name"]: e.get("value") for e in container["env"]}["KUBERNETES_CLUSTER_DOMAIN"]
    certificates = {
        o["spec"]["secretName"]: o["spec"] for o in objects if o["kind"] == "Certificate"
    }
    namespace = service["namespace"]
    controller = certificates["envoy-gateway"]["dnsNames"]
    assert "envoy-gateway" in controller
    assert f"{service['name']}.{namespace}.svc.{domain}" in controller
    for client in ("envoy", "envoy-rate-limit"):
        assert certificates[client]["dnsNames"] == [f"*.{namespace}"]
    [ca_issuer] = [
        o
        for o in objects
        if o["kind"] == "Issuer" and o["metadata"]["namespace"] == namespace and "ca" in o["spec"]
    ]
    ca = certificates[ca_issuer["spec"]["ca"]["secretName"]]
    assert ca["isCA"] is True
    assert ca["privateKey"]["rotationPolicy"] == "Never"
    for name in ("envoy-gateway", "envoy", "envoy-rate-limit"):
        assert certificates[name]["issuerRef"] == {
            "group": "cert-manager.io",
            "kind": "Issuer",
            "name": ca_issuer["metadata"]["name"],
        }


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_the_topology_injector_is_off_and_nothing_needs_it(platform: Platform, stack: str) -> None:
    """Its MutatingWebhookConfiguration is a Helm hook (never applied under Helm v4 Chart),
    and it only feeds zone-aware load balancing, which no BackendTrafficPolicy asks for."""
    objects = platform(stack).objects
    config_map = one(objects, "ConfigMap", "envoy-gateway-config")
    config = yaml.safe_load(config_map["data"]["envoy-gateway.yaml"])
    assert config["proxyTopologyInjector"] == {"disabled": True}
    policies = [o for o in objects if o["kind"] == "BackendTrafficPolicy"]
    assert policies, "no BackendTrafficPolicy rendered: the check below checks nothing"
    assert not [p for p in policies if "zoneAware" in (p["spec"].get("loadBalancer") or {})]

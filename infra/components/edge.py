"""Edge: cert-manager (self-signed or ACME issuer), Envoy Gateway (Gateway API) with one
Gateway terminating TLS 1.3 only for the app, Grafana and Kibana hostnames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kb
from infra.components import remote
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.config import EdgeConfig

NAMESPACE = "edge"
GATEWAY = "orgo"
ISSUER = "orgo-issuer"
TLS_SECRET = "orgo-tls"  # noqa: S105 (a Secret's name)
# Envoy proxies listen on unprivileged ports 10080/10443 behind the Service's 80/443.
PROXY_PORTS = (10080, 10443)


AWS_LB_SECURITY_GROUPS = "service.beta.kubernetes.io/aws-load-balancer-security-groups"


@dataclass(frozen=True)
class EdgeArgs:
    config: EdgeConfig
    domain: str
    route_namespaces: tuple[str, ...]  # namespaces allowed to attach HTTPRoutes
    # The cloud layer's load balancer security group, if any (see infra/external.py).
    load_balancer_security_group: pulumi.Input[str] | None = None


class Edge(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Edge", name, None, opts)
        cfg = args.config
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                name=NAMESPACE,
                pod_security="baseline",
                allow_from=("monitoring",),
                open_ports=(10250, *PROXY_PORTS),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        cert_manager = remote.chart(
            f"{name}-cert-manager",
            "cert-manager",
            NAMESPACE,
            {
                "crds": {"enabled": True},
                "replicaCount": min(cfg.gateway_replicas, 2),
                "config": {
                    "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                    "kind": "ControllerConfiguration",
                    "enableGatewayAPI": True,  # ACME HTTP-01 answered through the Gateway
                },
                "resources": kb.resources(kb.OPERATOR_RESOURCES),
                "webhook": {"resources": kb.resources(kb.SIDECAR_RESOURCES)},
                "cainjector": {"resources": kb.resources(kb.OPERATOR_RESOURCES)},
            },
            after_ns,
        )
        gateway = remote.chart(
            f"{name}-envoy-gateway",
            "envoy-gateway",
            NAMESPACE,
            {
                "deployment": {
                    "replicas": min(cfg.gateway_replicas, 2),
                    "envoyGateway": {"resources": kb.resources(kb.OPERATOR_RESOURCES)},
                }
            },
            after_ns,
        )
        after_charts = pulumi.ResourceOptions(parent=self, depends_on=[cert_manager, gateway])
        hostnames = [args.domain, f"grafana.{args.domain}", f"kibana.{args.domain}"]
        self._cr(
            "issuer",
            "cert-manager.io/v1",
            "ClusterIssuer",
            ISSUER,
            None,
            _issuer_spec(cfg),
            after_charts,
        )
        self._cr(
            "certificate",
            "cert-manager.io/v1",
            "Certificate",
            "orgo",
            NAMESPACE,
            {
                "secretName": TLS_SECRET,
                "dnsNames": hostnames,
                "issuerRef": {"kind": "ClusterIssuer", "name": ISSUER},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
            after_charts,
        )
        self._cr(
            "gatewayclass",
            "gateway.networking.k8s.io/v1",
            "GatewayClass",
            "envoy",
            None,
            {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
            after_charts,
        )
        self._cr(
            "gateway",
            "gateway.networking.k8s.io/v1",
            "Gateway",
            GATEWAY,
            NAMESPACE,
            _gateway_spec(args),
            after_charts,
        )
        self._cr(
            "tls13",
            "gateway.envoyproxy.io/v1alpha1",
            "ClientTrafficPolicy",
            "tls13-only",
            NAMESPACE,
            {
                "targetRefs": [
                    {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY}
                ],
                "tls": {"minVersion": "1.3"},
            },
            after_charts,
        )
        # Plain HTTP answers only ACME challenges (cert-manager's more specific route);
        # everything else is redirected to HTTPS.
        self._cr(
            "https-redirect",
            "gateway.networking.k8s.io/v1",
            "HTTPRoute",
            "https-redirect",
            NAMESPACE,
            {
                "parentRefs": [{"name": GATEWAY, "sectionName": "http"}],
                "rules": [
                    {
                        "filters": [
                            {
                                "type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301},
                            }
                        ]
                    }
                ],
            },
            after_charts,
        )
        self.register_outputs({})

    def _cr(
        self,
        suffix: str,
        api_version: str,
        kind: str,
        obj_name: str,
        namespace: str | None,
        spec: Any,
        opts: pulumi.ResourceOptions,
    ) -> None:
        metadata = {"name": obj_name, **({"namespace": namespace} if namespace else {})}
        k8s.apiextensions.CustomResource(
            f"{self._name}-{suffix}",
            api_version=api_version,
            kind=kind,
            metadata=metadata,
            spec=spec,
            opts=opts,
        )


def _issuer_spec(cfg: EdgeConfig) -> Any:
    if cfg.issuer == "selfsigned":
        return {"selfSigned": {}}
    return {
        "acme": {
            "email": cfg.acme_email,
            "server": cfg.acme_server,
            "privateKeySecretRef": {"name": f"{ISSUER}-account"},
            "solvers": [
                {
                    "http01": {
                        "gatewayHTTPRoute": {
                            "parentRefs": [
                                {
                                    "name": GATEWAY,
                                    "namespace": NAMESPACE,
                                    "kind": "Gateway",
                                    "sectionName": "http",
                                }
                            ],
                        }
                    }
                }
            ],
        }
    }


def _gateway_spec(args: EdgeArgs) -> Any:
    allowed = {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": sorted({NAMESPACE, *args.route_namespaces}),
                    }
                ]
            },
        }
    }
    spec: dict[str, Any] = {
        "gatewayClassName": "envoy",
        "listeners": [
            # Plain HTTP only for ACME challenges; app routes attach to https.
            {
                "name": "http",
                "protocol": "HTTP",
                "port": 80,
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            },
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": 443,
                "allowedRoutes": allowed,
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}],
                },
            },
        ],
    }
    if args.load_balancer_security_group is not None:
        # Envoy Gateway copies these annotations onto the proxy's LoadBalancer Service.
        spec["infrastructure"] = {
            "annotations": {AWS_LB_SECURITY_GROUPS: args.load_balancer_security_group}
        }
    return spec


def http_route(
    resource_name: str,
    namespace: str,
    hostname: str,
    service: str,
    port: int,
    opts: pulumi.ResourceOptions,
) -> None:
    """An HTTPRoute from the Gateway's https listener to a Service (Grafana, Kibana)."""
    k8s.apiextensions.CustomResource(
        resource_name,
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata={"name": service, "namespace": namespace},
        spec={
            "parentRefs": [{"name": GATEWAY, "namespace": NAMESPACE, "sectionName": "https"}],
            "hostnames": [hostname],
            "rules": [{"backendRefs": [{"name": service, "port": port}]}],
        },
        opts=opts,
    )

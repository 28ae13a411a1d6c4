"""Edge: cert-manager (self-signed or ACME issuer, HTTP-01 or Route 53 DNS-01), Envoy
Gateway (Gateway API) with one Gateway terminating TLS 1.3 only (TLS 1.2 with AEAD suites
too when CloudFront is its client) for the app's hostname (and
Grafana's and Kibana's when clients may reach them), its proxies sized, spread and budgeted
by an EnvoyProxy. Grafana and Kibana get routes only behind an IP allow-list.

Helm v4 Chart applies no Helm hooks, so Envoy Gateway's certgen Job never runs: its
control-plane Secrets come from cert-manager here (docs/kubernetes.md, "Helm hooks")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components import k8s as kb
from infra.components import remote
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import EdgeConfig, Resources

NAMESPACE = "edge"
GATEWAY = "orgo"
GATEWAY_CLASS = "envoy"
PROXY_CONFIG = "orgo-proxy"  # the EnvoyProxy the GatewayClass points at
ISSUER = "orgo-issuer"
TLS_SECRET = "orgo-tls"  # noqa: S105 (a Secret's name)
CLIENT_TLS_POLICY = "client-tls"
# cert-manager's controller runs as this service account (the AWS layer binds the Route 53
# role to it through Pod Identity).
CERT_MANAGER_SERVICE_ACCOUNT = "cert-manager"
# The Envoy Gateway controller's Service (fixed by the chart) and the cluster's DNS domain
# (the chart's `kubernetesClusterDomain`): the names the controller's certificate carries.
CONTROLLER_SERVICE = "envoy-gateway"
CLUSTER_DOMAIN = "cluster.local"
# The Secrets Envoy Gateway v1.9 reads by fixed name in its own namespace (its certgen Job
# makes them under Helm): the controller's xDS server certificate, the proxies' client
# certificate, the rate limiter's, all from one CA, and the OAuth2 filters' HMAC key.
CONTROLLER_TLS_SECRET = "envoy-gateway"  # noqa: S105 (a Secret's name)
PROXY_TLS_SECRET = "envoy"  # noqa: S105 (a Secret's name)
RATE_LIMIT_TLS_SECRET = "envoy-rate-limit"  # noqa: S105 (a Secret's name)
OIDC_HMAC_SECRET = "envoy-oidc-hmac"  # noqa: S105 (a Secret's name)
CONTROL_PLANE_CA = "envoy-gateway-ca"
# certgen's lifetime (5 years, never renewed); cert-manager renews at two thirds of it. The
# CA lives twice as long and keeps its key on renewal, so certificates issued before a
# renewal still verify against the CA the others carry.
CONTROL_PLANE_CERT_HOURS = 5 * 8760
CONTROL_PLANE_CA_HOURS = 10 * 8760
# Envoy proxies listen on unprivileged ports 10080/10443 behind the Service's 80/443.
PROXY_PORTS = (10080, 10443)
# Labels Envoy Gateway puts on the proxy pods of a Gateway.
PROXY_SELECTOR = {
    "app.kubernetes.io/component": "proxy",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
    "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE,
}
# Envoy container of each proxy pod (Envoy Gateway's default asks 100m / 512Mi; one
# Gateway with a handful of routes needs far less memory).
PROXY_RESOURCES = Resources(cpu="100m", memory="256Mi")
# Envoy's image runs as the distroless "nonroot" user.
PROXY_UID = 65532

AWS_LB_SECURITY_GROUPS = "service.beta.kubernetes.io/aws-load-balancer-security-groups"
# No AWS Load Balancer Controller runs on the cluster: the cloud controller's in-tree
# NLB support makes the load balancer (instance targets, internet-facing by default).
AWS_LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
AWS_LB_TAGS = "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"


# The operations UIs the Gateway can route to, each on its own hostname under the domain.
ADMIN_APPS = ("grafana", "kibana")


@dataclass(frozen=True)
class AdminAccess:
    """How clients reach an operations UI through the Gateway: its hostname and the client
    networks allowed (`edge.adminCidrs`); none: no route to it at all."""

    hostname: str
    client_cidrs: tuple[str, ...]


def admin_access(app: str, domain: str, cfg: EdgeConfig) -> AdminAccess:
    return AdminAccess(f"{app}.{domain}", tuple(str(cidr) for cidr in cfg.admin_cidrs))


@dataclass(frozen=True)
class EdgeArgs:
    config: EdgeConfig
    domain: str
    route_namespaces: tuple[str, ...]  # namespaces allowed to attach HTTPRoutes
    # The cloud layer's load balancer security group, if any (see infra/external.py).
    # Its presence means the AWS layer: the proxies' Service asks for an NLB tagged with
    # `load_balancer_tags`, and the Gateway listens on 443 only.
    load_balancer_security_group: pulumi.Input[str] | None = None
    load_balancer_tags: Mapping[str, str] | None = None
    # CloudFront forwards the web UI's API paths here (infra/aws/cdn.py).
    behind_cloudfront: bool = False

    @property
    def on_aws(self) -> bool:
        return self.load_balancer_security_group is not None


# CloudFront's connections to an origin go up to TLS 1.2 (its origin protocols end at
# TLSv1.2), so behind it the Gateway also admits TLS 1.2, with forward-secret AEAD suites
# only; everywhere else it admits TLS 1.3 alone.
CLOUDFRONT_ORIGIN_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
)


def _client_tls(args: EdgeArgs) -> dict[str, object]:
    if args.behind_cloudfront:
        return {"minVersion": "1.2", "ciphers": list(CLOUDFRONT_ORIGIN_CIPHERS)}
    return {"minVersion": "1.3"}


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
                # cert-manager, Envoy Gateway and the proxies (EnvoyProxy below) all run
                # non-root, no privilege escalation, all capabilities dropped, seccomp.
                pod_security="restricted",
                allow_from=("monitoring",),
                open_ports=(10250, *PROXY_PORTS),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        after_ns = child_options(self, opts, namespace)
        cert_manager = remote.chart(
            f"{name}-cert-manager", "cert-manager", NAMESPACE, _cert_manager_values(cfg), after_ns
        )
        control_plane = self._control_plane_secrets(child_options(self, opts, cert_manager))
        gateway = remote.chart(
            f"{name}-envoy-gateway",
            "envoy-gateway",
            NAMESPACE,
            _envoy_gateway_values(cfg),
            child_options(self, opts, namespace, *control_plane),
        )
        after_charts = child_options(self, opts, cert_manager, gateway)
        admin = [admin_access(app, args.domain, cfg) for app in ADMIN_APPS]
        hostnames = [args.domain, *(a.hostname for a in admin if a.client_cidrs)]
        self._cr(
            "issuer",
            "cert-manager.io/v1",
            "ClusterIssuer",
            ISSUER,
            None,
            _issuer_spec(cfg, args.domain),
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
            "proxy",
            "gateway.envoyproxy.io/v1alpha1",
            "EnvoyProxy",
            PROXY_CONFIG,
            NAMESPACE,
            _proxy_spec(args),
            after_charts,
        )
        self._cr(
            "gatewayclass",
            "gateway.networking.k8s.io/v1",
            "GatewayClass",
            GATEWAY_CLASS,
            None,
            {
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": PROXY_CONFIG,
                    "namespace": NAMESPACE,
                },
            },
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
            "client-tls",
            "gateway.envoyproxy.io/v1alpha1",
            "ClientTrafficPolicy",
            CLIENT_TLS_POLICY,
            NAMESPACE,
            {
                "targetRefs": [
                    {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY}
                ],
                "tls": _client_tls(args),
            },
            after_charts,
        )
        if not args.on_aws:
            self._redirect(after_charts)
        self.register_outputs({})

    def _control_plane_secrets(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What Envoy Gateway's certgen hook would have made: a CA, the controller's, the
        proxies' and the rate limiter's certificates (Pulumi waits until each is Ready, so
        its Secret exists before the controller starts) and the OIDC HMAC key."""
        issuer = {"group": "cert-manager.io", "kind": "Issuer"}
        self._cr(
            "control-plane-selfsigned",
            "cert-manager.io/v1",
            "Issuer",
            f"{CONTROL_PLANE_CA}-selfsigned",
            NAMESPACE,
            {"selfSigned": {}},
            opts,
        )
        self._cr(
            "control-plane-ca",
            "cert-manager.io/v1",
            "Certificate",
            CONTROL_PLANE_CA,
            NAMESPACE,
            {
                "isCA": True,
                "commonName": CONTROL_PLANE_CA,
                "secretName": CONTROL_PLANE_CA,
                "duration": f"{CONTROL_PLANE_CA_HOURS}h",
                "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Never"},
                "issuerRef": {**issuer, "name": f"{CONTROL_PLANE_CA}-selfsigned"},
            },
            opts,
        )
        self._cr(
            "control-plane-issuer",
            "cert-manager.io/v1",
            "Issuer",
            CONTROL_PLANE_CA,
            NAMESPACE,
            {"ca": {"secretName": CONTROL_PLANE_CA}},
            opts,
        )
        signed_by = {**issuer, "name": CONTROL_PLANE_CA}
        certificates = [
            k8s.apiextensions.CustomResource(
                f"{self._name}-{secret}-certificate",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=kb.awaited({"name": secret, "namespace": NAMESPACE}, "Ready"),
                spec={**spec, "issuerRef": signed_by},
                opts=opts,
            )
            for secret, spec in control_plane_certificates().items()
        ]
        hmac_key = random.RandomPassword(
            f"{self._name}-oidc-hmac",
            length=64,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        hmac = k8s.core.v1.Secret(
            f"{self._name}-oidc-hmac",
            metadata={"name": OIDC_HMAC_SECRET, "namespace": NAMESPACE},
            string_data={"hmac-secret": hmac_key.result},
            opts=opts,
        )
        return [*certificates, hmac]

    def _redirect(self, opts: pulumi.ResourceOptions) -> None:
        """Plain HTTP answers only ACME challenges (cert-manager's more specific route);
        everything else is redirected to HTTPS."""
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
            opts,
        )

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


def _cert_manager_values(cfg: EdgeConfig) -> Any:
    return {
        "crds": {"enabled": True},
        "serviceAccount": {"name": CERT_MANAGER_SERVICE_ACCOUNT},
        "replicaCount": min(cfg.gateway_replicas, 2),
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "enableGatewayAPI": True,  # ACME HTTP-01 answered through the Gateway
        },
        "resources": kb.resources(kb.OPERATOR_RESOURCES),
        "webhook": {
            "resources": kb.resources(kb.SIDECAR_RESOURCES),
            "validatingWebhookConfigurationAnnotations": kb.WAIT_FOR_CA_BUNDLE,
            "mutatingWebhookConfigurationAnnotations": kb.WAIT_FOR_CA_BUNDLE,
        },
        "cainjector": {"resources": kb.resources(kb.OPERATOR_RESOURCES)},
    }


def _envoy_gateway_values(cfg: EdgeConfig) -> Any:
    return {
        "kubernetesClusterDomain": CLUSTER_DOMAIN,
        "deployment": {
            "replicas": min(cfg.gateway_replicas, 2),
            "envoyGateway": {"resources": kb.resources(kb.OPERATOR_RESOURCES)},
        },
        # The injector's webhook configuration is a Helm hook (never applied here) and
        # only feeds zone-aware routing, which no route uses (tests/infra/test_edge.py).
        "topologyInjector": {"enabled": False},
    }


def control_plane_certificates() -> dict[str, Any]:
    """Secret name -> Certificate spec (without issuer) of Envoy Gateway's control plane,
    with the names and key usages certgen gives them: the proxies check the controller's
    DNS name `envoy-gateway`; the controller and the rate limiter check only the CA."""
    service = CONTROLLER_SERVICE
    leaf = {
        "duration": f"{CONTROL_PLANE_CERT_HOURS}h",
        "privateKey": {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"},
        "usages": [
            "digital signature",
            "data encipherment",
            "key encipherment",
            "content commitment",
        ],
    }
    in_namespace = {"commonName": "*", "dnsNames": [f"*.{NAMESPACE}"]}
    return {
        CONTROLLER_TLS_SECRET: {
            **leaf,
            "secretName": CONTROLLER_TLS_SECRET,
            "commonName": service,
            "dnsNames": [
                service,
                f"{service}.{NAMESPACE}",
                f"{service}.{NAMESPACE}.svc",
                f"{service}.{NAMESPACE}.svc.{CLUSTER_DOMAIN}",
            ],
        },
        PROXY_TLS_SECRET: {**leaf, **in_namespace, "secretName": PROXY_TLS_SECRET},
        RATE_LIMIT_TLS_SECRET: {**leaf, **in_namespace, "secretName": RATE_LIMIT_TLS_SECRET},
    }


def _issuer_spec(cfg: EdgeConfig, domain: str) -> Any:
    if cfg.issuer == "selfsigned":
        return {"selfSigned": {}}
    return {
        "acme": {
            "email": cfg.acme_email,
            "server": cfg.acme_server,
            "privateKeySecretRef": {"name": f"{ISSUER}-account"},
            "solvers": [_acme_solver(cfg, domain)],
        }
    }


def _acme_solver(cfg: EdgeConfig, domain: str) -> Any:
    acme = cfg.acme
    if acme.solver == "route53":
        # Ambient credentials: cert-manager's Pod Identity role (infra/aws/dns.py).
        return {
            "selector": {"dnsZones": [domain]},
            "dns01": {"route53": {"hostedZoneID": acme.hosted_zone_id, "region": acme.region}},
        }
    parent = {"name": GATEWAY, "namespace": NAMESPACE, "kind": "Gateway", "sectionName": "http"}
    return {"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}


def _proxy_spec(args: EdgeArgs) -> Any:
    """The proxy Deployment carrying all traffic: `gatewayReplicas` restricted pods with
    stated resources, spread over nodes and zones, a PDB when there is more than one."""
    replicas = args.config.gateway_replicas
    # The restricted profile with a writable root filesystem, as Envoy Gateway's default.
    container_security = {
        k: v for k, v in kb.RESTRICTED_CONTAINER.items() if k != "readOnlyRootFilesystem"
    }
    kubernetes: dict[str, Any] = {
        "envoyDeployment": {
            "replicas": replicas,
            "pod": {
                "securityContext": kb.restricted_pod(PROXY_UID),
                **kb.spread_and_anti_affinity(PROXY_SELECTOR, replicas),
            },
            "container": {
                "resources": kb.resources(PROXY_RESOURCES),
                "securityContext": container_security,
            },
        },
    }
    if replicas > 1:
        kubernetes["envoyPDB"] = {"minAvailable": replicas - 1}
    # Local (Envoy Gateway's default, stated because security rests on it): the load
    # balancer's traffic reaches a proxy on the same node without kube-proxy's SNAT, so
    # Envoy sees the client's own address: the address it appends to X-Forwarded-For for
    # the API, and the one the SecurityPolicy allow-lists of Grafana and Kibana match.
    service: dict[str, Any] = {"externalTrafficPolicy": "Local"}
    if args.on_aws:
        tags = args.load_balancer_tags or {}
        service["annotations"] = {
            AWS_LB_TYPE: "nlb",
            AWS_LB_TAGS: ",".join(f"{k}={v}" for k, v in sorted(tags.items())),
        }
    kubernetes["envoyService"] = service
    return {"provider": {"type": "Kubernetes", "kubernetes": kubernetes}}


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
    # Plain HTTP only for ACME challenges and the redirect; app routes attach to https.
    # On AWS the NLB has no security group (in-tree controller): every listener would be
    # public, so only 443 exists there and ACME uses DNS-01.
    plain_http = {
        "name": "http",
        "protocol": "HTTP",
        "port": 80,
        "allowedRoutes": {"namespaces": {"from": "Same"}},
    }
    spec: dict[str, Any] = {
        "gatewayClassName": GATEWAY_CLASS,
        "listeners": [
            *([] if args.on_aws else [plain_http]),
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
        # The in-tree NLB ignores it (NLB security groups need the AWS Load Balancer
        # Controller); kept so the planned group applies once such a controller runs.
        spec["infrastructure"] = {
            "annotations": {AWS_LB_SECURITY_GROUPS: args.load_balancer_security_group}
        }
    return spec


def admin_route(
    resource_name: str,
    namespace: str,
    access: AdminAccess,
    service: str,
    port: int,
    opts: pulumi.ResourceOptions,
) -> None:
    """An HTTPRoute from the Gateway's https listener to an operations UI's Service, with a
    SecurityPolicy that lets only `access.client_cidrs` through (403 for everyone else).
    Without client networks nothing is declared: the UI has no route from outside."""
    if not access.client_cidrs:
        return
    k8s.apiextensions.CustomResource(
        resource_name,
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata={"name": service, "namespace": namespace},
        spec={
            "parentRefs": [{"name": GATEWAY, "namespace": NAMESPACE, "sectionName": "https"}],
            "hostnames": [access.hostname],
            "rules": [{"backendRefs": [{"name": service, "port": port}]}],
        },
        opts=opts,
    )
    # The client address is the connection's (Envoy trusts no X-Forwarded-For hop), which
    # the proxies' Service keeps (externalTrafficPolicy: Local).
    k8s.apiextensions.CustomResource(
        f"{resource_name}-allow-list",
        api_version="gateway.envoyproxy.io/v1alpha1",
        kind="SecurityPolicy",
        metadata={"name": f"{service}-allow-list", "namespace": namespace},
        spec={
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": service}
            ],
            "authorization": {
                "defaultAction": "Deny",
                "rules": [
                    {
                        "name": "admin-cidrs",
                        "action": "Allow",
                        "principal": {"clientCIDRs": list(access.client_cidrs)},
                    }
                ],
            },
        },
        opts=opts,
    )

"""A namespace with its Pod Security level and a baseline ingress NetworkPolicy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class NamespaceArgs:
    name: str
    # Pod Security admission level; anything below "restricted" says why at the call site.
    pod_security: Literal["restricted", "baseline", "privileged"] = "restricted"
    # Namespaces whose pods may open connections into this one (besides itself).
    allow_from: tuple[str, ...] = ()
    # Ports open to any source: admission webhooks called by the API server, gateways.
    open_ports: tuple[int, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


class PlatformNamespace(pulumi.ComponentResource):
    """Namespace + NetworkPolicy denying ingress except from itself and `allow_from`."""

    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Namespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        level = args.pod_security
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.name,
                "labels": {
                    **args.labels,
                    "pod-security.kubernetes.io/enforce": level,
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            },
            opts=child,
        )
        sources: list[Any] = [{"podSelector": {}}]
        if args.allow_from:
            sources.append(
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/metadata.name",
                                "operator": "In",
                                "values": sorted(args.allow_from),
                            }
                        ]
                    }
                }
            )
        rules: list[Any] = [{"from": sources}]
        if args.open_ports:
            rules.append({"ports": [{"port": p, "protocol": "TCP"} for p in args.open_ports]})
        spec: Any = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": rules}
        k8s.networking.v1.NetworkPolicy(
            f"{name}-baseline",
            metadata={"name": "baseline-ingress", "namespace": args.name},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        self.name = namespace.metadata.apply(lambda m: str(m["name"]))
        self.register_outputs({"name": self.name})

"""metrics-server from its pinned chart: the resource metrics API (metrics.k8s.io) that the
HPA reads, for clusters that come without one (kind). EKS gets the managed add-on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components import k8s as kb
from infra.components import remote
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import MetricsServerConfig, Resources

NAMESPACE = "metrics-server"
SECURE_PORT = 10250  # the API server's aggregation layer calls it here
RESOURCES = Resources(cpu="50m", memory="64Mi")
UID = 10001  # a high uid of its own (the chart's default, 1000, may be a host user's)


@dataclass(frozen=True)
class MetricsServerArgs:
    config: MetricsServerConfig


class MetricsServer(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:MetricsServer", name, None, opts)
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(name=NAMESPACE, open_ports=(SECURE_PORT,)),
            pulumi.ResourceOptions(parent=self),
        )
        remote.chart(
            f"{name}-chart",
            "metrics-server",
            NAMESPACE,
            chart_values(args.config),
            child_options(self, opts, namespace),
        )
        self.register_outputs({})


def chart_values(cfg: MetricsServerConfig) -> Any:
    # kind's kubelets serve self-signed certificates: only there is skipping their
    # verification acceptable (metricsServer.kubeletInsecureTls).
    args = ["--kubelet-insecure-tls"] if cfg.kubelet_insecure_tls else []
    return {
        "args": args,
        "containerPort": SECURE_PORT,
        "resources": kb.resources(RESOURCES),
        "podSecurityContext": kb.restricted_pod(UID),
        "securityContext": {**kb.RESTRICTED_CONTAINER, "runAsUser": UID},
    }

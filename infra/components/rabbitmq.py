"""RabbitMQ: Cluster Operator + RabbitmqCluster (rabbitmq_prometheus, scraped through a
PodMonitor), and the app's vhost, user and permissions through the Messaging Topology
Operator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kb
from infra.components import remote
from infra.components.monitoring import CONTRACT, scrape_monitor
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import RabbitmqConfig
from infra.versions import versions

NAMESPACE = "rabbitmq"
CLUSTER = "orgo-rabbitmq"
VHOST = "orgo"
USERNAME = "orgo"
OPERATORS_NAMESPACE = "rabbitmq-system"
WEBHOOK_PORT = 9443  # both operators' admission webhooks, called by the API server


@dataclass(frozen=True)
class RabbitmqArgs:
    config: RabbitmqConfig
    password: pulumi.Input[str]  # the app user's password (a Pulumi secret)
    client_namespaces: tuple[str, ...]
    storage_class: str | None = None


class Rabbitmq(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: int = 5672
    vhost: str = VHOST
    username: str = USERNAME

    def __init__(
        self, name: str, args: RabbitmqArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Rabbitmq", name, None, opts)
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                name=NAMESPACE,
                # the operators' release manifests install into rabbitmq-system
                allow_from=(*args.client_namespaces, OPERATORS_NAMESPACE),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        after_ns = child_options(self, opts, namespace)
        # Both release manifests declare the rabbitmq-system Namespace (with different
        # labels): it is ours instead, with Pod Security labels and a baseline policy.
        operators_namespace = PlatformNamespace(
            f"{name}-operators-ns",
            NamespaceArgs(name=OPERATORS_NAMESPACE, open_ports=(WEBHOOK_PORT,)),
            pulumi.ResourceOptions(parent=self),
        )
        without_namespace = frozenset({"Namespace"})
        # Their webhooks' CA comes from cert-manager's cainjector: a custom resource created
        # before it is there would fail, so Pulumi waits for it.
        await_ca = {kind: kb.WAIT_FOR_CA_BUNDLE for kind in kb.WEBHOOK_CONFIGURATION_KINDS}
        cluster_operator = remote.manifest(
            f"{name}-cluster-operator",
            "rabbitmq-cluster-operator",
            child_options(self, opts, namespace, operators_namespace),
            without_namespace,
            await_ca,
        )
        topology_operator = remote.manifest(
            f"{name}-topology-operator",
            "rabbitmq-messaging-topology-operator",
            child_options(self, opts, cluster_operator),
            without_namespace,
            await_ca,
        )
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="rabbitmq.com/v1beta1",
            kind="RabbitmqCluster",
            metadata=kb.awaited({"name": CLUSTER, "namespace": NAMESPACE}, "AllReplicasReady"),
            spec=self._cluster_spec(args),
            opts=child_options(self, opts, cluster_operator),
        )
        selector = {"app.kubernetes.io/name": CLUSTER}
        if args.config.replicas > 1:
            kb.disruption_budget(CLUSTER, NAMESPACE, selector, after_ns)
        # rabbitmq_prometheus serves /metrics on the container port the operator names
        # "prometheus" (15692); the operator itself creates no monitor.
        scrape_monitor(
            f"{name}-podmonitor",
            "PodMonitor",
            {"name": CLUSTER, "namespace": NAMESPACE},
            (selector, "prometheus", CONTRACT.jobs.rabbitmq),
            after_ns,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-app-credentials",
            metadata={"name": f"{CLUSTER}-app-credentials", "namespace": NAMESPACE},
            string_data={"username": USERNAME, "password": args.password},
            opts=after_ns,
        )
        topology = child_options(self, opts, topology_operator, cluster)
        reference = {"name": CLUSTER}
        self._topology(
            "vhost", "Vhost", {"name": VHOST, "rabbitmqClusterReference": reference}, topology
        )
        self._topology(
            "user",
            "User",
            {
                "rabbitmqClusterReference": reference,
                "importCredentialsSecret": {"name": credentials.metadata["name"]},
            },
            topology,
        )
        self._topology(
            "permission",
            "Permission",
            {
                "vhost": VHOST,
                "user": USERNAME,
                "rabbitmqClusterReference": reference,
                "permissions": {"configure": ".*", "write": ".*", "read": ".*"},
            },
            topology,
        )
        self.host = pulumi.Output.from_input(f"{CLUSTER}.{NAMESPACE}.svc")
        self.register_outputs({"host": self.host})

    def _topology(self, suffix: str, kind: str, spec: Any, opts: pulumi.ResourceOptions) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{suffix}",
            api_version="rabbitmq.com/v1beta1",
            kind=kind,
            metadata={"name": f"orgo-{suffix}", "namespace": NAMESPACE},
            spec=spec,
            opts=opts,
        )

    @staticmethod
    def _cluster_spec(args: RabbitmqArgs) -> Any:
        cfg = args.config
        persistence: dict[str, Any] = {"storage": cfg.storage}
        if args.storage_class:
            persistence["storageClassName"] = args.storage_class
        return {
            "replicas": cfg.replicas,
            "image": versions().images["rabbitmq"].ref,
            "resources": kb.resources(cfg.resources),
            "persistence": persistence,
            "rabbitmq": {"additionalPlugins": ["rabbitmq_prometheus"]},
            # The operator's pod template is not restricted by default: tighten it.
            "override": {
                "statefulSet": {
                    "spec": {
                        "template": {
                            "spec": {
                                "securityContext": kb.restricted_pod(999),
                                **kb.spread_and_anti_affinity(
                                    {"app.kubernetes.io/name": CLUSTER}, cfg.replicas
                                ),
                                "containers": [
                                    {"name": "rabbitmq", "securityContext": kb.RESTRICTED_CONTAINER}
                                ],
                                "initContainers": [
                                    {
                                        "name": "setup-container",
                                        "securityContext": kb.RESTRICTED_CONTAINER,
                                    }
                                ],
                            }
                        }
                    }
                }
            },
        }

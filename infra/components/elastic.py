"""Elastic stack: ECK operator, Elasticsearch, Kibana, Filebeat shipping the app's ECS logs,
and a Job loading the index template, ILM policy and Kibana objects from observability/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import observability
from infra.components import edge, remote
from infra.components import k8s as kb
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.config import ElasticConfig, Resources
from infra.versions import versions

NAMESPACE = "elastic"
ES = "orgo"
ELASTIC_UID = 1000
FILEBEAT_RESOURCES = Resources(cpu="100m", memory="200Mi")
SETUP_RESOURCES = Resources(cpu="50m", memory="64Mi")
SETUP_SCRIPT = Path(__file__).with_name("elastic_setup.sh")


@dataclass(frozen=True)
class ElasticArgs:
    config: ElasticConfig
    kibana_hostname: str
    storage_class: str | None = None


class Elastic(pulumi.ComponentResource):
    kibana_service: str = f"{ES}-kb-http"

    def __init__(
        self, name: str, args: ElasticArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Elastic", name, None, opts)
        cfg = args.config
        # Privileged: Filebeat reads the node's container logs through a hostPath.
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                name=NAMESPACE,
                pod_security="privileged",
                allow_from=("edge", "monitoring"),
                open_ports=(9443,),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        operator = remote.chart(
            f"{name}-operator",
            "eck-operator",
            NAMESPACE,
            {"managedNamespaces": [NAMESPACE], "resources": kb.resources(kb.OPERATOR_RESOURCES)},
            pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[operator])
        version = versions().images["elasticsearch"].tag
        self._cr(
            "elasticsearch",
            "elasticsearch.k8s.elastic.co/v1",
            "Elasticsearch",
            self._es_spec(args, version),
            after,
        )
        self._cr(
            "kibana",
            "kibana.k8s.elastic.co/v1",
            "Kibana",
            {
                "version": version,
                "image": versions().images["kibana"].ref,
                "count": cfg.kibana_replicas,
                "elasticsearchRef": {"name": ES},
                # Plain HTTP inside the cluster: TLS ends at the gateway.
                "http": {"tls": {"selfSignedCertificate": {"disabled": True}}},
                "podTemplate": _pod_template("kibana", cfg.kibana_resources, cfg.kibana_replicas),
            },
            after,
        )
        self._cr(
            "filebeat", "beat.k8s.elastic.co/v1beta1", "Beat", self._filebeat_spec(version), after
        )
        # ECK makes the Elasticsearch PDB itself, not Kibana's.
        if cfg.kibana_replicas > 1:
            selector = {"kibana.k8s.elastic.co/name": ES}
            kb.disruption_budget(f"{ES}-kibana", NAMESPACE, selector, after)
        edge.http_route(
            f"{name}-kibana-route",
            NAMESPACE,
            args.kibana_hostname,
            self.kibana_service,
            5601,
            after,
        )
        assets = observability.elastic_assets()
        if assets:
            self._setup_job(assets, after)
        self.register_outputs({})

    def _cr(
        self, suffix: str, api_version: str, kind: str, spec: Any, opts: pulumi.ResourceOptions
    ) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{suffix}",
            api_version=api_version,
            kind=kind,
            metadata={"name": ES, "namespace": NAMESPACE},
            spec=spec,
            opts=opts,
        )

    @staticmethod
    def _es_spec(args: ElasticArgs, version: str) -> Any:
        cfg = args.config
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": cfg.storage}},
        }
        if args.storage_class:
            claim["storageClassName"] = args.storage_class
        return {
            "version": version,
            "image": versions().images["elasticsearch"].ref,
            "nodeSets": [
                {
                    "name": "default",
                    "count": cfg.elasticsearch_nodes,
                    # No mmap: no privileged sysctl init container is needed.
                    "config": {"node.store.allow_mmap": False},
                    "podTemplate": _pod_template(
                        "elasticsearch", cfg.elasticsearch_resources, cfg.elasticsearch_nodes
                    ),
                    "volumeClaimTemplates": [
                        {"metadata": {"name": "elasticsearch-data"}, "spec": claim}
                    ],
                }
            ],
        }

    @staticmethod
    def _filebeat_spec(version: str) -> Any:
        # The Orgo pods' stdout is already ECS JSON: parse it, keep only the orgo namespace.
        config = {
            "filebeat.inputs": [
                {
                    "type": "filestream",
                    "id": "orgo-containers",
                    "paths": ["/var/log/containers/*_orgo_*.log"],
                    "parsers": [
                        {"container": {}},
                        {"ndjson": {"target": "", "overwrite_keys": True}},
                    ],
                }
            ],
            "setup.ilm.enabled": False,
            "setup.template.enabled": False,
            "output.elasticsearch.index": "orgo-logs-%{+yyyy.MM.dd}",
        }
        return {
            "type": "filebeat",
            "version": version,
            "image": versions().images["filebeat"].ref,
            "elasticsearchRef": {"name": ES},
            "config": config,
            "daemonSet": {
                "podTemplate": {
                    "spec": {
                        "automountServiceAccountToken": False,
                        "containers": [
                            {
                                "name": "filebeat",
                                "resources": kb.resources(FILEBEAT_RESOURCES),
                                # Root (read-only) is needed to read the kubelet's log files.
                                "securityContext": {
                                    **kb.RESTRICTED_CONTAINER,
                                    "runAsNonRoot": False,
                                    "runAsUser": 0,
                                },
                                "volumeMounts": [
                                    {"name": "varlog", "mountPath": "/var/log", "readOnly": True}
                                ],
                            }
                        ],
                        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
                    }
                }
            },
        }

    def _setup_job(self, assets: dict[str, str], opts: pulumi.ResourceOptions) -> None:
        config_map = k8s.core.v1.ConfigMap(
            f"{self._name}-setup-assets",
            metadata={"name": "orgo-elastic-setup", "namespace": NAMESPACE},
            data={**assets, "setup.sh": SETUP_SCRIPT.read_text(encoding="utf-8")},
            opts=opts,
        )
        container = {
            "name": "setup",
            "image": versions().images["curl"].ref,
            "command": ["sh", "/assets/setup.sh"],
            "env": [
                {
                    "name": "ELASTIC_PASSWORD",
                    "valueFrom": {
                        "secretKeyRef": {"name": f"{ES}-es-elastic-user", "key": "elastic"}
                    },
                }
            ],
            "resources": kb.resources(SETUP_RESOURCES),
            "securityContext": kb.RESTRICTED_CONTAINER,
            "volumeMounts": [
                {"name": "assets", "mountPath": "/assets"},
                {"name": "certs", "mountPath": "/certs"},
            ],
        }
        spec: Any = {
            "backoffLimit": 10,
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": kb.restricted_pod(10001),
                    "containers": [container],
                    "volumes": [
                        {"name": "assets", "configMap": {"name": config_map.metadata["name"]}},
                        {"name": "certs", "secret": {"secretName": f"{ES}-es-http-certs-public"}},
                    ],
                }
            },
        }
        k8s.batch.v1.Job(
            f"{self._name}-setup",
            metadata={"name": "orgo-elastic-setup", "namespace": NAMESPACE},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[config_map]),
        )


def _pod_template(container: str, size: Resources, replicas: int) -> Any:
    selector = {"app.kubernetes.io/component": container}
    return {
        "metadata": {"labels": selector},
        "spec": {
            "securityContext": kb.restricted_pod(ELASTIC_UID),
            "containers": [
                {
                    "name": container,
                    "resources": kb.resources(size),
                    "securityContext": {**kb.RESTRICTED_CONTAINER, "readOnlyRootFilesystem": False},
                }
            ],
            **kb.spread_and_anti_affinity(selector, replicas),
        },
    }

"""Elastic stack: ECK operator, Elasticsearch, Kibana, Filebeat shipping the app's ECS logs,
and a Job loading the index template, ILM policy and Kibana objects from observability/.
Given an S3 bucket, the Job also registers a snapshot repository and a nightly SLM policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import observability
from infra.components import edge, remote
from infra.components import k8s as kb
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import ElasticConfig, Resources
from infra.versions import versions
from observability.config import DEFAULT
from observability.logs.filebeat import kubernetes_filebeat

NAMESPACE = "elastic"
# Filebeat's own namespace: the only Elastic pods that need the node (hostPath, root).
LOGS_NAMESPACE = "orgo-logs"
# ECK's init container of the Kibana pods. ECK before 3.4 gives it no security context
# (elastic/cloud-on-k8s#9218), which the restricted profile refuses: ours is merged in.
KIBANA_INIT_CONTAINER = "elastic-internal-init"
ES = "orgo"
ELASTIC_UID = 1000
FILEBEAT_RESOURCES = Resources(cpu="100m", memory="200Mi")
SETUP_RESOURCES = Resources(cpu="50m", memory="64Mi")
# Kibana's init container only prepares its config and data directories.
INIT_RESOURCES = Resources(cpu="10m", memory="64Mi")
SETUP_SCRIPT = Path(__file__).with_name("elastic_setup.sh")
# Snapshots: the service account the AWS layer binds to its role for the bucket's
# elasticsearch/ prefix (infra.aws.storage), the repository and the SLM policy.
SNAPSHOT_SERVICE_ACCOUNT = "orgo-elasticsearch"
SNAPSHOT_BASE_PATH = "elasticsearch"
SNAPSHOT_REPOSITORY = "orgo-s3"
SNAPSHOT_POLICY = "orgo-nightly"
SNAPSHOT_SCHEDULE = "0 30 1 * * ?"  # every night at 01:30 UTC (Elasticsearch cron)
SNAPSHOT_RETENTION = {"expire_after": "30d", "min_count": 7, "max_count": 60}
# Elasticsearch 9 lets the S3 client read a token file only at this config-relative path,
# so the Pod Identity token is projected there and the AWS SDK pointed at it.
S3_CONFIG_DIR = "/usr/share/elasticsearch/config/repository-s3"
S3_IDENTITY_FILE = "aws-web-identity-token-file"
POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"


@dataclass(frozen=True)
class SnapshotTarget:
    """The S3 bucket (and its region) Elasticsearch snapshots go to, under elasticsearch/."""

    bucket: pulumi.Input[str]
    region: pulumi.Input[str]


@dataclass(frozen=True)
class ElasticArgs:
    config: ElasticConfig
    kibana: edge.AdminAccess
    storage_class: str | None = None
    # None (a plain cluster): no snapshot repository.
    snapshots: SnapshotTarget | None = None


class Elastic(pulumi.ComponentResource):
    kibana_service: str = f"{ES}-kb-http"

    def __init__(
        self, name: str, args: ElasticArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Elastic", name, None, opts)
        cfg = args.config
        # Restricted: the operator, Elasticsearch, Kibana and the setup Job run non-root
        # with no privilege escalation, no capabilities and seccomp (mmap off: no sysctl
        # init container). Filebeat's readers come in from their own namespace.
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                name=NAMESPACE,
                allow_from=("edge", "monitoring", LOGS_NAMESPACE),
                open_ports=(9443,),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        # Privileged, and nothing else in it: Filebeat reads the node's container logs
        # through a hostPath, as root. Nothing connects to it.
        logs_namespace = PlatformNamespace(
            f"{name}-logs-ns",
            NamespaceArgs(name=LOGS_NAMESPACE, pod_security="privileged"),
            pulumi.ResourceOptions(parent=self),
        )
        operator = remote.chart(
            f"{name}-operator",
            "eck-operator",
            NAMESPACE,
            {
                "managedNamespaces": [NAMESPACE, LOGS_NAMESPACE],
                "resources": kb.resources(kb.OPERATOR_RESOURCES),
                # The chart's default lacks the seccomp profile the restricted level asks for.
                "podSecurityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            },
            child_options(self, opts, namespace, logs_namespace),
        )
        after = child_options(self, opts, operator)
        version = versions().images["elasticsearch"].tag
        if args.snapshots is not None:
            k8s.core.v1.ServiceAccount(
                f"{name}-snapshot-account",
                metadata={"name": SNAPSHOT_SERVICE_ACCOUNT, "namespace": NAMESPACE},
                automount_service_account_token=False,
                opts=child_options(self, opts, namespace),
            )
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
                "podTemplate": _kibana_pod_template(cfg),
            },
            after,
        )
        self._cr(
            "filebeat",
            "beat.k8s.elastic.co/v1beta1",
            "Beat",
            _filebeat_spec(version),
            after,
            LOGS_NAMESPACE,
        )
        # ECK makes the Elasticsearch PDB itself, not Kibana's.
        if cfg.kibana_replicas > 1:
            selector = {"kibana.k8s.elastic.co/name": ES}
            kb.disruption_budget(f"{ES}-kibana", NAMESPACE, selector, after)
        edge.admin_route(
            f"{name}-kibana-route",
            NAMESPACE,
            args.kibana,
            self.kibana_service,
            5601,
            after,
        )
        assets: dict[str, pulumi.Input[str]] = {**observability.elastic_assets()}
        if args.snapshots is not None:
            assets |= _snapshot_assets(args.snapshots.bucket)
        if assets:
            self._setup_job(assets, after)
        self.register_outputs({})

    def _cr(
        self,
        suffix: str,
        api_version: str,
        kind: str,
        spec: Any,
        opts: pulumi.ResourceOptions,
        namespace: str = NAMESPACE,
    ) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{suffix}",
            api_version=api_version,
            kind=kind,
            metadata={"name": ES, "namespace": namespace},
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
        # No mmap: no privileged sysctl init container is needed.
        node_config: dict[str, Any] = {"node.store.allow_mmap": False}
        pod = _pod_template("elasticsearch", cfg.elasticsearch_resources, cfg.elasticsearch_nodes)
        if args.snapshots is not None:
            node_config["s3.client.default.region"] = args.snapshots.region
            _with_snapshot_identity(pod)
        return {
            "version": version,
            "image": versions().images["elasticsearch"].ref,
            "nodeSets": [
                {
                    "name": "default",
                    "count": cfg.elasticsearch_nodes,
                    "config": node_config,
                    "podTemplate": pod,
                    "volumeClaimTemplates": [
                        {"metadata": {"name": "elasticsearch-data"}, "spec": claim}
                    ],
                }
            ],
        }

    def _setup_job(
        self, assets: dict[str, pulumi.Input[str]], opts: pulumi.ResourceOptions
    ) -> None:
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
                },
                {"name": "SNAPSHOT_REPOSITORY", "value": SNAPSHOT_REPOSITORY},
                {"name": "SNAPSHOT_POLICY", "value": SNAPSHOT_POLICY},
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


def _kibana_pod_template(cfg: ElasticConfig) -> Any:
    pod = _pod_template("kibana", cfg.kibana_resources, cfg.kibana_replicas)
    pod["spec"]["initContainers"] = [
        {
            "name": KIBANA_INIT_CONTAINER,
            "securityContext": kb.RESTRICTED_CONTAINER,
            "resources": kb.resources(INIT_RESOURCES),
        }
    ]
    return pod


def _filebeat_spec(version: str) -> Any:
    # The Orgo pods' stdout is ECS JSON: the same decoding and data stream as on hosts.
    config = kubernetes_filebeat(DEFAULT)
    return {
        "type": "filebeat",
        "version": version,
        "image": versions().images["filebeat"].ref,
        "elasticsearchRef": {"name": ES, "namespace": NAMESPACE},
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


def _snapshot_assets(bucket: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The repository (bucket + elasticsearch/ prefix) and the SLM policy, for the Job."""
    repository = pulumi.Output.from_input(bucket).apply(
        lambda name: json.dumps(
            {"type": "s3", "settings": {"bucket": name, "base_path": SNAPSHOT_BASE_PATH}}
        )
    )
    policy = {
        "schedule": SNAPSHOT_SCHEDULE,
        "name": f"<{SNAPSHOT_POLICY}-{{now/d}}>",
        "repository": SNAPSHOT_REPOSITORY,
        "config": {"include_global_state": True},
        "retention": SNAPSHOT_RETENTION,
    }
    return {"snapshot-repository.json": repository, "slm-policy.json": json.dumps(policy)}


def _with_snapshot_identity(pod: Any) -> None:
    """Runs Elasticsearch as the snapshot service account, with its Pod Identity token
    where the S3 client may read it (the agent's URL comes from EKS's own injection)."""
    token = f"{S3_CONFIG_DIR}/{S3_IDENTITY_FILE}"
    projected = {
        "serviceAccountToken": {
            "audience": POD_IDENTITY_AUDIENCE,
            "expirationSeconds": 86400,
            "path": S3_IDENTITY_FILE,
        }
    }
    spec = pod["spec"]
    spec["serviceAccountName"] = SNAPSHOT_SERVICE_ACCOUNT
    spec["volumes"] = [{"name": "aws-token", "projected": {"sources": [projected]}}]
    container = spec["containers"][0]
    container["env"] = [{"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": token}]
    container["volumeMounts"] = [
        {"name": "aws-token", "mountPath": S3_CONFIG_DIR, "readOnly": True}
    ]

"""Redis protocol cache: a small StatefulSet of our own on the Valkey image (maintained,
BSD-licensed, no operator), with password auth, optional persistence and a Prometheus
exporter sidecar (redis_exporter speaks to Valkey as to Redis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kb
from infra.components.monitoring import CONTRACT, scrape_monitor
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import RedisConfig, Resources
from infra.versions import versions

NAMESPACE = "redis"
NAME = "orgo-redis"
REDIS_UID = 10001  # any uid works: the data volume is group-owned through fsGroup
EXPORTER_RESOURCES = Resources(cpu="20m", memory="32Mi")


@dataclass(frozen=True)
class RedisArgs:
    config: RedisConfig
    password: pulumi.Input[str]
    client_namespaces: tuple[str, ...]
    storage_class: str | None = None


class Redis(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: int = 6379

    def __init__(
        self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Redis", name, None, opts)
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(name=NAMESPACE, allow_from=args.client_namespaces),
            pulumi.ResourceOptions(parent=self),
        )
        child = child_options(self, opts, namespace)
        selector = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": NAME}
        secret = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata={"name": f"{NAME}-auth", "namespace": NAMESPACE},
            string_data={"password": args.password},
            opts=child,
        )
        service: Any = {
            "selector": selector,
            "ports": [
                {"name": "redis", "port": 6379, "targetPort": "redis"},
                {"name": "metrics", "port": 9121, "targetPort": "metrics"},
            ],
        }
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": NAME, "namespace": NAMESPACE, "labels": selector},
            spec=service,
            opts=child,
        )
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": NAME, "namespace": NAMESPACE, "labels": selector},
            spec=self._statefulset_spec(args, selector, secret),
            opts=child,
        )
        scrape_monitor(
            f"{name}-servicemonitor",
            "ServiceMonitor",
            {"name": NAME, "namespace": NAMESPACE},
            (selector, "metrics", CONTRACT.jobs.redis),
            child,
        )
        self.host = pulumi.Output.from_input(f"{NAME}.{NAMESPACE}.svc")
        self.register_outputs({"host": self.host})

    @staticmethod
    def _statefulset_spec(
        args: RedisArgs, selector: dict[str, str], secret: k8s.core.v1.Secret
    ) -> Any:
        cfg = args.config
        password_env = {
            "name": "REDIS_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": secret.metadata["name"], "key": "password"}},
        }
        redis = {
            "name": "redis",
            "image": versions().images["redis"].ref,
            # $(REDIS_PASSWORD) is expanded by the kubelet from the Secret reference.
            "args": [
                "--requirepass",
                "$(REDIS_PASSWORD)",
                "--dir",
                "/data",
                "--appendonly",
                "yes" if cfg.persistence else "no",
                "--save",
                "",
            ],
            "env": [password_env],
            "ports": [{"name": "redis", "containerPort": 6379}],
            "resources": kb.resources(cfg.resources),
            "securityContext": kb.RESTRICTED_CONTAINER,
            "startupProbe": {
                "tcpSocket": {"port": "redis"},
                "periodSeconds": 2,
                "failureThreshold": 30,
            },
            "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10},
            "readinessProbe": {
                "exec": {
                    "command": [
                        "sh",
                        "-c",
                        'valkey-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG',
                    ]
                },
                "periodSeconds": 5,
            },
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        }
        exporter = {
            "name": "exporter",
            "image": versions().images["redis-exporter"].ref,
            "env": [{"name": "REDIS_ADDR", "value": "redis://127.0.0.1:6379"}, password_env],
            "ports": [{"name": "metrics", "containerPort": 9121}],
            "resources": kb.resources(EXPORTER_RESOURCES),
            "securityContext": kb.RESTRICTED_CONTAINER,
            "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}},
            "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}},
        }
        spec: dict[str, Any] = {
            "serviceName": NAME,
            "replicas": 1,  # a cache: the app reads through to PostgreSQL when it is away
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": kb.restricted_pod(REDIS_UID),
                    "containers": [redis, exporter],
                },
            },
        }
        if cfg.persistence:
            claim: dict[str, Any] = {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": cfg.storage}},
            }
            if args.storage_class:
                claim["storageClassName"] = args.storage_class
            spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": claim}]
        else:
            spec["template"]["spec"]["volumes"] = [
                {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}
            ]
        return spec

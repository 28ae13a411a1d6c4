"""Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana). Our rules and
dashboards ship with the Orgo chart; Alertmanager routes come from observability/ and its
receivers (with secret webhook URLs) from the stack config.

The rules and dashboards select scrape jobs by the names in observability/config.py and
filter on its environment label: every target Prometheus scrapes gets that label from a
default scrape class, and each data service's monitor names its job with `job_relabeling`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import observability
from infra.components import edge, remote
from infra.components import k8s as kb
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import CONFIG_NAMESPACE, MonitoringConfig
from observability.config import Config as ObservabilityConfig

NAMESPACE = "monitoring"
# kube-prometheus-stack names its objects `<fullnameOverride>-...`: its Prometheus is served
# by the Service `monitoring-prometheus` on the chart's default web port (the verifier asks
# it through the API server's service proxy; tests/verify/test_checks.py reads the render).
STACK_FULLNAME = "monitoring"
PROMETHEUS_SERVICE = f"{STACK_FULLNAME}-prometheus"
PROMETHEUS_PORT = 9090
GRAFANA_SERVICE = "monitoring-grafana"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 (a Secret's name)
# The Role of Grafana's dashboard and datasource sidecars: read ConfigMaps in this namespace,
# nothing else (the Grafana chart's own Role would add every Secret of the namespace).
GRAFANA_SIDECAR_ROLE = "grafana-sidecar"
# The scrape contract of observability/: job names and the environment label.
CONTRACT = ObservabilityConfig()


def job_relabeling(job: str) -> list[dict[str, str]]:
    """Relabelings of a ServiceMonitor/PodMonitor endpoint that name its scrape job `job`."""
    return [{"action": "replace", "targetLabel": "job", "replacement": job}]


def scrape_monitor(
    name: str,
    kind: Literal["PodMonitor", "ServiceMonitor"],
    metadata: dict[str, str],
    endpoint: tuple[dict[str, str], str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A PodMonitor or ServiceMonitor scraping `endpoint` (selector labels, port name, the job
    name the shared rules expect)."""
    selector, port, job = endpoint
    endpoints = "podMetricsEndpoints" if kind == "PodMonitor" else "endpoints"
    return k8s.apiextensions.CustomResource(
        name,
        api_version="monitoring.coreos.com/v1",
        kind=kind,
        metadata=metadata,
        spec={
            "selector": {"matchLabels": selector},
            endpoints: [{"port": port, "relabelings": job_relabeling(job)}],
        },
        opts=opts,
    )


@dataclass(frozen=True)
class MonitoringArgs:
    config: MonitoringConfig
    grafana: edge.AdminAccess
    environment: str
    storage_class: str | None = None


class Monitoring(pulumi.ComponentResource):
    grafana_service: str = GRAFANA_SERVICE

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Monitoring", name, None, opts)
        # Privileged: node-exporter needs the host's network and PID namespaces.
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                name=NAMESPACE,
                pod_security="privileged",
                allow_from=("edge",),
                open_ports=(10250, 9100),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        child = child_options(self, opts, namespace)
        admin_password = random.RandomPassword(
            f"{name}-grafana-admin",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": NAMESPACE},
            string_data={"admin-user": "admin", "admin-password": admin_password.result},
            opts=child,
        )
        read_configmaps: Any = {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get", "list", "watch"],
        }
        sidecar_role = k8s.rbac.v1.Role(
            f"{name}-grafana-sidecar",
            metadata={"name": GRAFANA_SIDECAR_ROLE, "namespace": NAMESPACE},
            rules=[read_configmaps],
            opts=child,
        )
        remote.chart(
            f"{name}-stack",
            "kube-prometheus-stack",
            NAMESPACE,
            self._values(args),
            child_options(self, opts, namespace, admin, sidecar_role),
        )
        edge.admin_route(
            f"{name}-grafana-route",
            NAMESPACE,
            args.grafana,
            self.grafana_service,
            80,
            child,
        )
        self.register_outputs({})

    @staticmethod
    def _values(args: MonitoringArgs) -> Any:
        cfg = args.config
        storage: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": cfg.storage}},
        }
        if args.storage_class:
            storage["storageClassName"] = args.storage_class
        return {
            "fullnameOverride": STACK_FULLNAME,
            "prometheus": {
                "podDisruptionBudget": _chart_disruption_budget(cfg.prometheus_replicas),
                "prometheusSpec": {
                    "replicas": cfg.prometheus_replicas,
                    "retention": cfg.retention,
                    "resources": kb.resources(cfg.prometheus_resources),
                    "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
                    # Select all ServiceMonitors, PodMonitors and rules, not only the chart's.
                    "ruleSelectorNilUsesHelmValues": False,
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    # Every ServiceMonitor/PodMonitor without a scrape class of its own (all
                    # of them) gets the environment label the rules and dashboards filter on.
                    "scrapeClasses": [
                        {
                            "name": "orgo-environment",
                            "default": True,
                            "relabelings": [
                                {
                                    "action": "replace",
                                    "targetLabel": CONTRACT.environment_label,
                                    "replacement": args.environment,
                                }
                            ],
                        }
                    ],
                },
            },
            "alertmanager": {
                "podDisruptionBudget": _chart_disruption_budget(cfg.alertmanager_replicas),
                "alertmanagerSpec": {
                    "replicas": cfg.alertmanager_replicas,
                    "resources": kb.resources(kb.SIDECAR_RESOURCES),
                },
                "config": alertmanager_config(cfg),
            },
            "prometheusOperator": {
                "resources": kb.resources(kb.SIDECAR_RESOURCES),
                # The webhook's certificate from cert-manager (Edge): the chart's own way
                # makes it with Helm hook Jobs, which Helm v4 Chart does not run.
                "admissionWebhooks": {
                    "certManager": {"enabled": True},
                    "validatingWebhookConfiguration": {"annotations": kb.WAIT_FOR_CA_BUNDLE},
                    "mutatingWebhookConfiguration": {"annotations": kb.WAIT_FOR_CA_BUNDLE},
                },
            },
            "kube-state-metrics": {"resources": kb.resources(kb.SIDECAR_RESOURCES)},
            "prometheus-node-exporter": {
                "resources": kb.resources(kb.SIDECAR_RESOURCES),
                # Host namespaces and paths are its Pod Security exception; nothing else.
                "containerSecurityContext": kb.RESTRICTED_CONTAINER,
                "prometheus": {"monitor": {"relabelings": job_relabeling(CONTRACT.jobs.node)}},
            },
            # The chart's node-exporter rules select job="node-exporter", which the job name
            # above replaces: observability/rules/hosts.py alerts on the nodes instead.
            "defaultRules": {
                "rules": {"nodeExporterAlerting": False, "nodeExporterRecording": False}
            },
            "grafana": {
                "fullnameOverride": GRAFANA_SERVICE,
                "replicas": cfg.grafana_replicas,
                # the Grafana chart renders a PDB when this is not empty
                "podDisruptionBudget": {"maxUnavailable": 1} if cfg.grafana_replicas > 1 else {},
                "resources": kb.resources(kb.OPERATOR_RESOURCES),
                "admin": {"existingSecret": GRAFANA_ADMIN_SECRET},
                # A Role in this namespace instead of a ClusterRole that reads every Secret
                # of the cluster; the sidecars watch this namespace's ConfigMaps only: our
                # dashboards (the Orgo chart renders them here) and the chart's datasources.
                "rbac": {"namespaced": True, "useExistingRole": GRAFANA_SIDECAR_ROLE},
                "sidecar": {
                    "resources": kb.resources(kb.SIDECAR_RESOURCES),
                    "dashboards": {
                        "enabled": True,
                        "label": "grafana_dashboard",
                        "labelValue": "1",
                        "searchNamespace": [NAMESPACE],
                        "resource": "configmap",
                    },
                    "datasources": {"resource": "configmap"},
                },
            },
        }


def _chart_disruption_budget(replicas: int) -> dict[str, Any]:
    """kube-prometheus-stack's PDB values for a replicated Prometheus or Alertmanager: at
    most one pod down (the chart's own default, minAvailable 1, would let 2 of 3 go)."""
    return {"enabled": replicas > 1, "minAvailable": max(replicas - 1, 1)}


def alertmanager_config(cfg: MonitoringConfig) -> Any:
    """observability/alertmanager/routes.yml + the stack's receivers (secret URLs).

    A receiver the routes name but the stack does not configure stays empty (drops alerts).
    """
    routes = observability.alertmanager_routes() or {"route": {"receiver": "default"}}
    secrets = pulumi.Config(CONFIG_NAMESPACE)
    configured: dict[str, Any] = {
        r.name: {
            "name": r.name,
            "slack_configs": [
                {
                    "channel": r.channel,
                    "send_resolved": True,
                    "api_url": secrets.require_secret(r.webhook_url_secret),
                }
            ],
        }
        for r in cfg.receivers
    }
    named = {r["name"] for r in routes.get("receivers", [])} | _route_receivers(routes["route"])
    receivers = [configured.get(n, {"name": n}) for n in sorted(named | set(configured))]
    return {**routes, "receivers": receivers}


def _route_receivers(route: dict[str, Any]) -> set[str]:
    """Every receiver the routing tree names, nested routes included."""
    names = {route["receiver"]} if "receiver" in route else set()
    for child in route.get("routes", []):
        names |= _route_receivers(child)
    return names

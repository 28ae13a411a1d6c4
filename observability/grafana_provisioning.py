"""Grafana provisioning for hosts: the Prometheus data source and a file provider that
loads the generated dashboards. No role installs Grafana on hosts (no Grafana package in
Debian): these files are for the team's own Grafana, which copies them and the dashboards
as docs/observability.md describes. (On Kubernetes the chart ships the same dashboard JSON
as ConfigMaps for the kube-prometheus-stack sidecar instead.)"""

from __future__ import annotations

# Where the file provider reads the dashboards: copy observability/grafana/dashboards/*.json
# there on the Grafana host.
DASHBOARDS_DIR = "/var/lib/grafana/dashboards/orgo"


def datasources() -> dict[str, object]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": "prometheus",
                "type": "prometheus",
                "access": "proxy",
                # The hosts' Prometheus (port orgo_prometheus_port) with Grafana on the same
                # machine and Prometheus listening on loopback; otherwise change the address.
                "url": "http://127.0.0.1:9090",
                "isDefault": True,
                "jsonData": {"timeInterval": "15s"},
            }
        ],
    }


def dashboard_providers() -> dict[str, object]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "orgo",
                "folder": "Orgo",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": DASHBOARDS_DIR},
            }
        ],
    }

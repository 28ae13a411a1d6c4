"""Grafana provisioning for hosts: the Prometheus data source and a file provider that
loads the generated dashboards. (On Kubernetes the chart ships the same dashboard JSON as
ConfigMaps for the kube-prometheus-stack sidecar instead.)"""

from __future__ import annotations

# Where the Ansible role installs observability/grafana/dashboards/*.json on a host.
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
                # Prometheus on the same host, as the Ansible roles install it.
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

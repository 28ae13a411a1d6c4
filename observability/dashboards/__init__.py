"""Grafana dashboards, one module per dashboard, built from specs by `builder`."""

from __future__ import annotations

from typing import Any

from observability.config import Config
from observability.dashboards import api, data_services, hosts, worker
from observability.dashboards.builder import build
from observability.dashboards.spec import DashboardSpec

_DASHBOARDS = (api, worker, data_services, hosts)


def specs(config: Config) -> list[DashboardSpec]:
    return [module.dashboard(config) for module in _DASHBOARDS]


def dashboard_files(config: Config) -> dict[str, dict[str, Any]]:
    """{"orgo-api.json": <dashboard JSON>, ...}"""
    return {f"{spec.uid}.json": build(config, spec) for spec in specs(config)}

"""Every Prometheus rule group, one module per area, and their rule files."""

from __future__ import annotations

from observability.config import Config
from observability.rules import data_services, hosts, orgo, platform, slo
from observability.rules.model import Alert, Group

_AREAS = (slo, orgo, data_services, hosts, platform)


def groups(config: Config) -> list[Group]:
    return [area.group(config) for area in _AREAS]


def alerts(config: Config) -> list[Alert]:
    return [alert for group in groups(config) for alert in group.alerts()]


def rule_files(config: Config) -> dict[str, dict[str, object]]:
    """{"orgo-slo.yml": {"groups": [...]}, ...} as Prometheus reads them."""
    files: dict[str, list[dict[str, object]]] = {}
    for group in groups(config):
        files.setdefault(f"{group.file}.yml", []).append(group.to_dict(config))
    return {name: {"groups": content} for name, content in files.items()}

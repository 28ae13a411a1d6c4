"""Reads the observability sources (observability/) for the Kubernetes target.

Helm cannot read files outside a chart, so the Pulumi program passes these contents as
chart values (rules, dashboards), Alertmanager config and a ConfigMap (Elastic assets).
Every reader copes with a missing directory: the platform then ships without them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infra.versions import REPO_ROOT

OBSERVABILITY = REPO_ROOT / "observability"
ELASTIC_ASSETS = ("index-template.json", "ilm-policy.json", "kibana-objects.ndjson")


def _object_name(path: Path) -> str:
    """A file stem as a Kubernetes name: api_latency.yml -> api-latency."""
    return re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-")


def rule_files(root: Path = OBSERVABILITY) -> dict[str, Any]:
    """Prometheus rule files: name -> {"groups": [...]}."""
    files = sorted((root / "prometheus" / "rules").glob("*.yml"))
    return {_object_name(f): yaml.safe_load(f.read_text(encoding="utf-8")) for f in files}


def dashboards(root: Path = OBSERVABILITY) -> dict[str, str]:
    """Grafana dashboards: name -> JSON text."""
    files = sorted((root / "grafana" / "dashboards").glob("*.json"))
    return {_object_name(f): f.read_text(encoding="utf-8") for f in files}


def alertmanager_routes(root: Path = OBSERVABILITY) -> dict[str, Any] | None:
    """Alertmanager routing (route tree, inhibit rules, receiver names), if written."""
    path = root / "alertmanager" / "routes.yml"
    if not path.exists():
        return None
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def elastic_assets(root: Path = OBSERVABILITY) -> dict[str, str]:
    """Index template, ILM policy and Kibana saved objects that exist: file -> text."""
    folder = root / "elastic"
    return {
        name: (folder / name).read_text(encoding="utf-8")
        for name in ELASTIC_ASSETS
        if (folder / name).exists()
    }

"""Dashboards: every panel query parses as PromQL, reads the selected data source and
honours the environment and instance variables; units and ids are set."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from observability.config import DEFAULT
from observability.generate import DASHBOARDS_DIR, PACKAGE_DIR
from observability.queries import dashboard_queries
from tests.observability.conftest import tool

DASHBOARDS = sorted((PACKAGE_DIR / DASHBOARDS_DIR).glob("*.json"))


def _panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_every_panel_query_parses(tmp_path: Path) -> None:
    """promtool parses each query as a rule expression (Grafana variables filled in)."""
    rules = [
        {"record": f"check:query_{i}", "expr": query.promql()}
        for i, query in enumerate(dashboard_queries(DEFAULT))
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_filterable_and_readable(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "env", "instance"}
    assert variables["env"]["allValue"] == ".*"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']}: no unit"
        assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"], panel["title"]
        for target in panel["targets"]:
            assert '=~"$env"' in target["expr"], f"{panel['title']}: ignores $env"


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids)) == 4

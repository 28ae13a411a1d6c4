"""Dashboards: every panel query parses as PromQL, reads the selected data source and
honours the environment and instance variables; units, thresholds and ids are set; the
Grafana provisioning for hosts points at the dashboards and a Prometheus data source."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from observability import grafana_provisioning
from observability.config import DEFAULT
from observability.generate import DASHBOARDS_DIR, PACKAGE_DIR
from observability.queries import dashboard_queries
from tests.observability.conftest import REPO, RULES_DIR, tool

DASHBOARDS = sorted((PACKAGE_DIR / DASHBOARDS_DIR).glob("*.json"))
PROVISIONING_DIR = PACKAGE_DIR / "grafana" / "provisioning"
# Units of panels that show a ratio or a duration: they need a step that marks "bad".
RATIO_UNITS = {"percentunit", "percent"}
DURATION_UNITS = {"s", "ms", "µs", "ns", "dtdurations", "dtdurationms"}
# metric{matchers} in an expression (label values in these dashboards never hold braces).
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def _panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _recording_rules_with_instance() -> set[str]:
    """Recording rules whose series keep the instance label (they aggregate by it)."""
    kept = set()
    for path in RULES_DIR.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                by = re.findall(r"\bby \(([^)]*)\)", rule.get("expr", ""))
                if "record" in rule and by and all("instance" in labels for labels in by):
                    kept.add(rule["record"])
    return kept


def _instance_jobs(dashboard: dict) -> set[str]:
    """Jobs whose instances the dashboard's $instance variable offers."""
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "instance")
    jobs = re.search(r'job=~"([^"]+)"', variable["query"])
    assert jobs, f"instance variable without a job filter: {variable['query']}"
    return set(jobs.group(1).split("|"))


def _unfiltered_instance_selectors(dashboard: dict) -> list[str]:
    """Selectors of series that carry an instance offered by $instance, without $instance."""
    jobs, with_instance = _instance_jobs(dashboard), _recording_rules_with_instance()
    missing = []
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            for metric, matchers in SELECTOR.findall(target["expr"]):
                job = re.search(r'job="([^"]+)"', matchers)
                if ":" in metric and metric not in with_instance:
                    continue  # aggregated away: nothing to filter
                assert job, f"{panel['title']}: {metric} selects no job"
                if job.group(1) in jobs and 'instance=~"$instance"' not in matchers:
                    missing.append(f"{panel['title']}: {metric}{{{matchers}}}")
    return missing


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
        for target in panel["targets"]:
            assert '=~"$env"' in target["expr"], f"{panel['title']}: ignores $env"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_ratio_and_duration_panels_mark_bad_values(path: Path) -> None:
    """Beyond the base colour (value null) there is a step where the value turns bad."""
    for panel in _panels(json.loads(path.read_text())):
        defaults = panel["fieldConfig"]["defaults"]
        if defaults["unit"] in RATIO_UNITS | DURATION_UNITS:
            steps = [s for s in defaults["thresholds"]["steps"] if s["value"] is not None]
            assert steps, f"{panel['title']} ({defaults['unit']}): only the base threshold"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_queries_honour_the_instance_variable(path: Path) -> None:
    """A query reading series of a job that $instance offers filters on $instance (other
    jobs, e.g. blackbox probes on the hosts dashboard, have instances it does not offer)."""
    assert _unfiltered_instance_selectors(json.loads(path.read_text())) == []


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids)) == 4


def test_grafana_provisioning_for_hosts_matches_the_dashboards() -> None:
    """The provisioning files parse, load the dashboards from the documented directory and
    define the default data source of the type the dashboards' $datasource offers, on the
    port and scrape interval of the hosts' Prometheus (playbooks/)."""
    providers = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "orgo.yml").read_text())
    sources = yaml.safe_load((PROVISIONING_DIR / "datasources" / "orgo.yml").read_text())
    assert providers["apiVersion"] == sources["apiVersion"] == 1
    [provider] = providers["providers"]
    assert (provider["type"], provider["options"]["path"]) == (
        "file",
        grafana_provisioning.DASHBOARDS_DIR,
    )
    [source] = sources["datasources"]
    for path in DASHBOARDS:
        variables = json.loads(path.read_text())["templating"]["list"]
        [picker] = [v for v in variables if v["type"] == "datasource"]
        assert (source["type"], source["isDefault"]) == (picker["query"], True), path.name
    orgo = yaml.safe_load((REPO / "playbooks/roles/orgo/defaults/main.yml").read_text())
    prometheus = yaml.safe_load((REPO / "playbooks/roles/prometheus/defaults/main.yml").read_text())
    assert source["url"] == f"http://127.0.0.1:{orgo['orgo_prometheus_port']}"
    assert source["jsonData"]["timeInterval"] == prometheus["prometheus_scrape_interval"]

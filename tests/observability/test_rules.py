"""Prometheus rules: promtool accepts them, every alert has a unit test that proves it
fires and stays silent, and every alert carries severity, summary, description and a
runbook that exists."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

import pytest
import yaml

from observability.config import DEFAULT
from observability.rules import alerts
from tests.observability.conftest import RULE_TESTS_DIR, RULES_DIR, RUNBOOKS_DIR, tool

ALERTS = alerts(DEFAULT)


def test_promtool_check_rules() -> None:
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    files = sorted(str(p.name) for p in RULE_TESTS_DIR.glob("*.test.yml"))
    result = subprocess.run(
        [tool("promtool"), "test", "rules", *files],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def _unit_test_cases() -> dict[str, set[str]]:
    """alertname -> {"fires", "silent"} seen in the promtool unit tests."""
    seen: dict[str, set[str]] = defaultdict(set)
    for path in RULE_TESTS_DIR.glob("*.test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                seen[case["alertname"]].add("fires" if case.get("exp_alerts") else "silent")
    return seen


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a.name)
def test_every_alert_has_a_firing_and_a_silent_unit_test(alert) -> None:
    assert _unit_test_cases()[alert.name] == {"fires", "silent"}, (
        f"{alert.name} needs promtool cases in {RULE_TESTS_DIR} that fire and stay silent"
    )


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a.name)
def test_every_alert_is_routable_and_has_a_runbook(alert) -> None:
    rule = alert.to_dict(DEFAULT)
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"].endswith(".")
    assert annotations["description"]
    runbook = RUNBOOKS_DIR / f"{alert.runbook_slug()}.md"
    assert annotations["runbook_url"].endswith(f"/docs/runbooks/{runbook.name}")
    assert runbook.is_file(), f"missing runbook {runbook}"
    assert f"# {alert.name}" in runbook.read_text(), f"{runbook} must be titled {alert.name}"


def test_alert_names_are_unique() -> None:
    names = [alert.name for alert in ALERTS]
    assert len(names) == len(set(names))


def test_rules_only_select_the_agreed_scrape_jobs() -> None:
    jobs = set(vars(DEFAULT.jobs).values())
    for path in RULES_DIR.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for job in _job_matchers(rule["expr"]):
                    assert job in jobs, f"{path.name}: unknown job {job!r}, allowed {jobs}"


def _job_matchers(expr: str) -> list[str]:
    return re.findall(r'\bjob="([^"]+)"', expr)

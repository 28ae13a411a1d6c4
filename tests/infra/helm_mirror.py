"""The offline chart mirror beside the repository (../shared/helm-mirror, read-only): real
renders of the upstream charts with our values, and their CRDs' schemas, for the tests that
check what our objects and values mean to those charts and operators."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from infra.mocks import HELM
from infra.versions import REPO_ROOT, versions

MIRROR = REPO_ROOT.parent / "shared" / "helm-mirror"


def chart_archive(key: str) -> Path:
    """The mirrored package of the chart versions.yaml pins under `key`; when the mirror
    holds another version of it (the mirror moves ahead of the pins), that one."""
    pin = versions().charts[key]
    folder = MIRROR / "charts"
    pinned = folder / f"{pin.chart}-{pin.version}.tgz"
    if pinned.exists():
        return pinned
    found = sorted(folder.glob(f"{pin.chart}-v[0-9]*.tgz")) + sorted(
        folder.glob(f"{pin.chart}-[0-9]*.tgz")
    )
    if len(found) != 1:
        raise FileNotFoundError(f"{pin.chart}: {pinned.name} is not in {folder} (found {found})")
    print(f"{pin.chart} {pin.version} is not mirrored: using {found[0].name}")
    return found[0]


def render(
    key: str, namespace: str, values: dict[str, Any], include_crds: bool = False
) -> list[dict[str, Any]]:
    """`helm template` of the mirrored chart as release `key`. Parsed with libyaml: these
    renders are megabytes (Envoy Gateway's CRDs alone are 4 MB)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values_file:
        json.dump(values, values_file)
        values_file.flush()
        command = [HELM, "template", key, chart_archive(key), "--namespace", namespace]
        command += ["--values", values_file.name, *(["--include-crds"] if include_crds else [])]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"helm template {key} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.load_all(result.stdout, Loader=yaml.CSafeLoader) if doc]


def write_crd_schemas(key: str, folder: Path) -> Path:
    """The chart's CRD schemas written into `folder` in infra.validation's layout
    (`<group>/<kind>_<version>.json`)."""
    for crd in render(key, "default", {}, include_crds=True):
        if crd["kind"] != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            name = f"{spec['names']['kind'].lower()}_{version['name']}.json"
            path = folder / spec["group"] / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(version["schema"]["openAPIV3Schema"]), encoding="utf-8")
    return folder

"""Render a stack without a cluster or the Pulumi CLI: `python -m infra.render manifests|plan`.

The program runs under Pulumi mocks (infra.mocks) with the stack's Pulumi.<stack>.yaml
config. `manifests` writes one YAML file per Kubernetes object to build/manifests/<stack>/
and the remote charts / operator manifests (not renderable offline) with their inputs to
build/manifests/<stack>/_charts.yaml. `plan` writes every resource with its inputs
(secrets masked) to build/plan/<stack>.json, plus the manifests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import get_root_resource

from infra.config import ConfigError, StackConfig, load_stack_config
from infra.mocks import PlatformMocks, RecordingMonitor, RegisteredResource
from infra.versions import REPO_ROOT

BUILD_DIR = REPO_ROOT / "build"
# Resources that install something we cannot render offline: listed in _charts.yaml.
REMOTE_INSTALL_TYPES = {
    "kubernetes:helm.sh/v4:Chart": "helm-chart",
    "kubernetes:helm.sh/v3:Release": "helm-release",
    "kubernetes:yaml/v2:ConfigFile": "manifest",
}


def project_name() -> str:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(project["name"])


def stack_config_values(stack: str) -> tuple[dict[str, str], list[str]]:
    """Pulumi.<stack>.yaml as the engine hands config to a program: JSON strings.

    `secure:` values cannot be decrypted without the Pulumi CLI; they become a mask
    marked secret, so the program sees a secret of the right shape.
    """
    path = REPO_ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name.split(".")[1] for p in REPO_ROOT.glob("Pulumi.*.yaml"))
        raise ConfigError(f"no stack file {path.name} (stacks: {', '.join(stacks)})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (raw.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = "[secret]"
            secret_keys.append(key)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret_keys


@dataclass(frozen=True)
class Run:
    """What one mocked run of the program declared."""

    resources: list[RegisteredResource]
    stack_outputs: dict[str, Any]


def run(
    stack: str,
    program: Callable[[StackConfig], None] | None = None,
    values: Mapping[str, str] | None = None,
) -> Run:
    """Runs `program` (default: the platform) for `stack` under mocks, with the stack
    file's config or `values` (config key -> JSON text) instead."""
    from infra.program import deploy

    mocks = PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=project_name(), stack=stack, preview=False, monitor=monitor
    )
    file_values, secret_keys = stack_config_values(stack)
    set_all_config(dict(file_values if values is None else values), secret_keys)
    chosen = program or deploy
    exported: dict[str, Any] = {}

    def body() -> pulumi.Output[None]:
        chosen(load_stack_config())
        # Mocks finish the root stack before the program runs: read its exports directly.
        root: Any = get_root_resource()
        return pulumi.Output.from_input(dict(root.outputs)).apply(exported.update)

    pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    return Run(sorted(monitor.registered, key=lambda r: r.urn), exported)


def run_program(stack: str) -> list[RegisteredResource]:
    """Runs the platform program for `stack` under mocks; every registered resource."""
    return run(stack).resources


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


def is_kubernetes_object(resource: RegisteredResource) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type not in REMOTE_INSTALL_TYPES
    )


def kubernetes_objects(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """The Kubernetes objects of a run, as they would be applied (secrets masked)."""
    objects = [_prune_nulls(r.masked_inputs) for r in resources if is_kubernetes_object(r)]
    return sorted(objects, key=manifest_filename)


def manifest_filename(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace") or "cluster"
    return f"{namespace}.{obj['kind'].lower()}.{metadata['name']}.yaml"


def remote_installs(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """Charts and manifests installed from outside the repository, with their inputs."""
    installs = []
    for resource in resources:
        kind = REMOTE_INSTALL_TYPES.get(resource.type)
        if kind is None:
            continue
        inputs = _prune_nulls(resource.masked_inputs)
        installs.append({"resource": resource.name, "kind": kind, **inputs})
    return sorted(installs, key=lambda i: str(i["resource"]))


def write_manifests(
    stack: str, resources: list[RegisteredResource], build_dir: Path = BUILD_DIR
) -> Path:
    out = build_dir / "manifests" / stack
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for obj in kubernetes_objects(resources):
        (out / manifest_filename(obj)).write_text(
            yaml.safe_dump(obj, sort_keys=True), encoding="utf-8"
        )
    charts = yaml.safe_dump(remote_installs(resources), sort_keys=True)
    (out / "_charts.yaml").write_text(charts, encoding="utf-8")
    return out


def write_plan(
    stack: str, resources: list[RegisteredResource], build_dir: Path = BUILD_DIR
) -> Path:
    out = build_dir / "plan" / f"{stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = [
        {"urn": r.urn, "type": r.type, "name": r.name, "inputs": _prune_nulls(r.masked_inputs)}
        for r in resources
    ]
    out.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.render", description=__doc__)
    parser.add_argument("what", choices=["manifests", "plan"])
    parser.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    try:
        resources = run_program(args.stack)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    manifests = write_manifests(args.stack, resources)
    print(f"wrote {manifests.relative_to(REPO_ROOT)}/")
    if args.what == "plan":
        print(f"wrote {write_plan(args.stack, resources).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render a stack without a cluster or the Pulumi CLI: `python -m infra.render manifests|plan`.

The program runs under Pulumi mocks (infra.mocks) with the stack's Pulumi.<stack>.yaml
config; the pinned charts and operator manifests it installs are expanded with the values
it passed (infra.installs). `manifests` writes one YAML file per Kubernetes object, the
operators' included, to build/manifests/<stack>/, the installs (chart, version, source,
values) to build/manifests/<stack>/_charts.yaml, and prints the objects by kind and the
requests per component. `plan` writes every resource with its inputs (secrets masked) to
build/plan/<stack>.json, plus the manifests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import get_root_resource

from infra.artefacts import ArtefactError
from infra.config import ConfigError, StackConfig, load_stack_config
from infra.footprint import footprints, table
from infra.installs import CHART_TYPE, INSTALL_TYPES, Install, expand
from infra.mocks import PlatformMocks, RecordingMonitor, RegisteredResource
from infra.versions import REPO_ROOT, versions

BUILD_DIR = REPO_ROOT / "build"


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
    config: StackConfig
    stack: str


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
    loaded: list[StackConfig] = []

    def body() -> pulumi.Output[None]:
        loaded.append(load_stack_config())
        chosen(loaded[0])
        # Mocks finish the root stack before the program runs: read its exports directly.
        root: Any = get_root_resource()
        return pulumi.Output.from_input(dict(root.outputs)).apply(exported.update)

    pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    return Run(sorted(monitor.registered, key=lambda r: r.urn), exported, loaded[0], stack)


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
        and resource.type not in INSTALL_TYPES
    )


def kubernetes_objects(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """The Kubernetes objects the program declares itself (secrets masked)."""
    objects = [_prune_nulls(r.masked_inputs) for r in resources if is_kubernetes_object(r)]
    return sorted(objects, key=manifest_filename)


@dataclass(frozen=True)
class Placed:
    """A rendered object and the resource that applies it: itself, or its install."""

    obj: dict[str, Any]
    owner: RegisteredResource


@dataclass(frozen=True)
class Render:
    """Everything `pulumi up` would apply for a stack: the program's own objects and the
    objects of every chart and manifest it installs."""

    run: Run
    installs: list[Install]
    placed: list[Placed]

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [p.obj for p in self.placed]

    @property
    def declared(self) -> list[dict[str, Any]]:
        """The objects the program declares itself (not those of its installs)."""
        return [p.obj for p in self.placed if p.owner.type not in INSTALL_TYPES]

    @property
    def kubernetes_version(self) -> str:
        return self.run.config.platform.kubernetes_version

    def component(self, resource: RegisteredResource) -> str:
        """The name of the outermost platform component (orgo:platform:*) holding it."""
        by_urn = {r.urn: r for r in self.run.resources}
        found, current = "stack", resource
        while True:
            if current.type.startswith("orgo:platform:"):
                found = current.name
            if current.parent not in by_urn:
                return found
            current = by_urn[current.parent]


def render(run_: Run) -> Render:
    """The run's objects with every install expanded (see infra.installs)."""
    installs = expand(run_.resources, run_.config.platform.kubernetes_version)
    own = [
        Placed(_prune_nulls(r.masked_inputs), r) for r in run_.resources if is_kubernetes_object(r)
    ]
    placed = own + [Placed(o, i.resource) for i in installs for o in i.objects]
    return Render(run_, installs, sorted(placed, key=lambda p: manifest_filename(p.obj)))


def render_stack(stack: str) -> Render:
    return render(run(stack))


def manifest_filename(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace") or "cluster"
    return f"{namespace}.{obj['kind'].lower()}.{metadata['name']}.yaml"


def install_records(installs: list[Install]) -> list[dict[str, Any]]:
    """Each chart and manifest install: the pin, where its file came from, the values."""
    pins = versions()
    records = []
    for install in installs:
        key = install.artefact.key
        record: dict[str, Any] = {
            "resource": install.resource.name,
            "kind": _install_kind(install.resource),
            "version": install.artefact.version,
            "source": install.artefact.source,
        }
        if key in pins.charts:
            pin = pins.charts[key]
            record |= {"chart": pin.chart, "repo": pin.repo, "release": install.release}
            record |= {"namespace": install.namespace, "values": _prune_nulls(install.values)}
        else:
            record |= {"manifest": key, "url": pins.operators[key].download_url}
        records.append(record)
    return sorted(records, key=lambda r: str(r["resource"]))


def remote_installs(resources: list[RegisteredResource]) -> list[dict[str, Any]]:
    """The charts and manifests the program installs, with the inputs it gave them."""
    installs = []
    for resource in resources:
        if resource.type in INSTALL_TYPES:
            inputs = _prune_nulls(resource.masked_inputs)
            installs.append({"resource": resource.name, "kind": _install_kind(resource), **inputs})
    return sorted(installs, key=lambda i: str(i["resource"]))


def _install_kind(resource: RegisteredResource) -> str:
    return "helm-chart" if resource.type == CHART_TYPE else "manifest"


class DuplicateObjectError(ValueError):
    """Two objects of a render are the same Kubernetes object."""


def write_manifests(stack_render: Render, build_dir: Path = BUILD_DIR) -> Path:
    out = build_dir / "manifests" / stack_render.run.stack
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    written: dict[str, Placed] = {}
    for placed in stack_render.placed:
        name = manifest_filename(placed.obj)
        if name in written:
            raise DuplicateObjectError(
                f"{name}: declared by {written[name].owner.name} and by {placed.owner.name}"
            )
        written[name] = placed
        (out / name).write_text(yaml.safe_dump(placed.obj, sort_keys=True), encoding="utf-8")
    charts = yaml.safe_dump(install_records(stack_render.installs), sort_keys=True)
    (out / "_charts.yaml").write_text(charts, encoding="utf-8")
    return out


def summary(stack_render: Render) -> str:
    """Objects by kind and the requests per component, for the `manifests` output."""
    kinds = Counter(o["kind"] for o in stack_render.objects)
    lines = [f"{len(stack_render.objects)} objects:"]
    lines += [f"  {count:4d} {kind}" for kind, count in sorted(kinds.items())]
    rows = footprints((stack_render.component(p.owner), p.obj) for p in stack_render.placed)
    lines += ["requests per component (DaemonSets on one node):", table(rows)]
    unsized = [u for row in rows for u in row.unsized]
    if unsized:
        lines += ["containers without CPU/memory requests or a memory limit:"]
        lines += [f"  {u}" for u in unsized]
    return "\n".join(lines)


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
    started = time.monotonic()
    try:
        stack_render = render_stack(args.stack)
        manifests = write_manifests(stack_render)
    except (ConfigError, ArtefactError, DuplicateObjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(stack_render))
    seconds = time.monotonic() - started
    print(f"wrote {manifests.relative_to(REPO_ROOT)}/ in {seconds:.1f} s")
    if args.what == "plan":
        resources = stack_render.run.resources
        print(f"wrote {write_plan(args.stack, resources).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

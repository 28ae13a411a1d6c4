"""What a render asks of the cluster: CPU and memory requests per component, and every
container that states no CPU/memory request or no memory limit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infra.workloads import quantity, sized


@dataclass
class Footprint:
    component: str
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)  # bytes
    containers: int = 0
    unsized: list[str] = field(default_factory=list)  # containers missing a request/limit


def unsized_reason(resources: dict[str, Any]) -> str | None:
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
    missing += [] if "memory" in limits else ["limits.memory"]
    return ", ".join(missing) or None


def footprints(objects: Iterable[tuple[str, dict[str, Any]]]) -> list[Footprint]:
    """(component, object) pairs -> one Footprint per component, sorted by name. A
    DaemonSet counts once (one node); init containers count towards `unsized` only."""
    rows: dict[str, Footprint] = defaultdict(lambda: Footprint(""))
    for component, obj in objects:
        row = rows[component]
        row.component = component
        for size in sized(obj):
            reason = unsized_reason(size.resources)
            if reason:
                row.unsized.append(f"{size.owner}: {reason}")
            if size.init:
                continue
            requests = size.resources.get("requests") or {}
            row.cpu += quantity(requests.get("cpu", 0)) * size.pods
            row.memory += quantity(requests.get("memory", 0)) * size.pods
            row.containers += size.pods
    return sorted(rows.values(), key=lambda r: r.component)


def total(rows: Iterable[Footprint]) -> Footprint:
    result = Footprint("total")
    for row in rows:
        result.cpu += row.cpu
        result.memory += row.memory
        result.containers += row.containers
        result.unsized += row.unsized
    return result


def table(rows: list[Footprint]) -> str:
    """A Markdown table: component, containers, CPU (cores) and memory (GiB) requested."""
    lines = ["| component | containers | CPU | memory (GiB) |", "| --- | ---: | ---: | ---: |"]
    for row in [*rows, total(rows)]:
        name = f"**{row.component}**" if row.component == "total" else row.component
        gib = row.memory / 2**30
        lines.append(f"| {name} | {row.containers} | {row.cpu.normalize():f} | {gib:.2f} |")
    return "\n".join(lines)

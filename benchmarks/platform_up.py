"""The single-host platform's figures: a cold `make up`, an idempotent re-run, idle memory.

    make bench-up     (or: uv run python -m benchmarks.platform_up)

Runs scripts/up.sh exactly as `make up` does, twice, then lets the host settle and reads
its memory from the container's cgroup; finally removes the platform (scripts/down.sh).
It refuses to start when a local platform (container orgo-local) already exists, so it
never touches one of yours. Results go to benchmarks/results/platform_up.{json,md} with
PASS/MISS per target. A benchmark reports: it never fails the build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.harness.processes import free_port
from tests.playbooks.hosts import IMAGE, PODMAN_ENV, REPO, Run, podman

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "orgo-local"  # scripts/up.sh's container, and its host in inventories/local
GIB = 1024**3


@dataclass(frozen=True)
class UpRun:
    seconds: float
    ok: int
    changed: int
    failed: int


@dataclass(frozen=True)
class Memory:
    current_bytes: int  # the cgroup's usage: everything, page cache included
    working_set_bytes: int  # usage minus inactive file pages, as kubelet counts it


def up(env: dict[str, str]) -> UpRun:
    started = time.monotonic()
    result = subprocess.run(
        [str(REPO / "scripts" / "up.sh")], env=env, capture_output=True, text=True, check=False
    )
    seconds = round(time.monotonic() - started, 1)
    if result.returncode != 0:
        sys.exit(f"make up failed after {seconds} s:\n{result.stdout[-3000:]}{result.stderr}")
    recap = Run(result.returncode, result.stdout).recap(NAME)
    return UpRun(seconds, recap["ok"], recap["changed"], recap["failed"])


# (usage file, memory.stat key of inactive page cache) for cgroup v2 and for cgroup v1
CGROUP_MEMORY = (
    ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat", "inactive_file"),
    (
        "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        "/sys/fs/cgroup/memory/memory.stat",
        "total_inactive_file",
    ),
)


def memory() -> Memory:
    """The host container's memory, read from its cgroup (v2 or v1)."""
    for usage_file, stat_file, inactive_key in CGROUP_MEMORY:
        usage = podman("exec", NAME, "cat", usage_file, check=False)
        if usage.returncode == 0:
            stat = podman("exec", NAME, "cat", stat_file).stdout.splitlines()
            inactive = int(dict(line.split() for line in stat)[inactive_key])
            return Memory(int(usage.stdout), int(usage.stdout) - inactive)
    sys.exit(f"no memory cgroup readable in {NAME}")


def markdown(
    meta: dict[str, object],
    cold: UpRun,
    rerun: UpRun,
    idle: Memory,
    verdicts: list[dict[str, object]],
) -> str:
    lines = [
        "# Single-host platform: make up",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs, load average before the run {meta['loadavg']}; "
        f"host image {meta['image']}; memory read {meta['settle_seconds']} s after the re-run.",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| cold make up | {cold.seconds:.0f} s (changed={cold.changed}) |",
        f"| idempotent re-run | {rerun.seconds:.0f} s (changed={rerun.changed}) |",
        f"| idle memory, working set | {idle.working_set_bytes / GIB:.2f} GiB |",
        f"| idle memory, with page cache | {idle.current_bytes / GIB:.2f} GiB |",
        "",
        "| target | value | result |",
        "| --- | ---: | --- |",
    ]
    for v in verdicts:
        lines.append(f"| {v['target']} | {v['value']} | {'PASS' if v['met'] else 'MISS'} |")
    return "\n".join(lines) + "\n"


def run(settle_seconds: int) -> None:
    if podman("container", "exists", NAME, check=False).returncode == 0:
        sys.exit(f"{NAME} exists: this benchmark needs a machine without a local platform")
    image_present = podman("image", "exists", IMAGE, check=False).returncode == 0
    env = {
        **PODMAN_ENV,
        "HTTPS_PORT": str(free_port()),
        "PROMETHEUS_PORT": str(free_port()),
        "ALERTMANAGER_PORT": str(free_port()),
    }
    meta: dict[str, object] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "image": "reused" if image_present else "built by the run",
        "settle_seconds": settle_seconds,
    }
    try:
        print("cold make up", flush=True)
        cold = up(env)
        print(f"  {cold}\nre-run", flush=True)
        rerun = up(env)
        print(f"  {rerun}\nsettling {settle_seconds} s", flush=True)
        time.sleep(settle_seconds)
        idle = memory()
    finally:
        subprocess.run([str(REPO / "scripts" / "down.sh")], env={**env, "FORCE": "1"}, check=False)
    verdicts = [
        {"target": "re-run <= 60 s", "value": rerun.seconds, "met": rerun.seconds <= 60},
        {"target": "re-run changes nothing", "value": rerun.changed, "met": rerun.changed == 0},
        {
            "target": "idle working set <= 1.5 GiB",
            "value": round(idle.working_set_bytes / GIB, 2),
            "met": idle.working_set_bytes <= 1.5 * GIB,
        },
    ]
    report = {
        "meta": meta,
        "cold_up": asdict(cold),
        "rerun": asdict(rerun),
        "idle_memory": asdict(idle),
        "targets": verdicts,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "platform_up.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(meta, cold, rerun, idle, verdicts)
    (RESULTS / "platform_up.md").write_text(table)
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--settle", type=int, default=120, help="seconds to wait before reading idle memory"
    )
    run(parser.parse_args().settle)


if __name__ == "__main__":
    main()

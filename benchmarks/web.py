"""The web UI: gzipped JavaScript of the build, and the time from navigation to the task list
being visible in Chromium, each the median of 5.

    make bench-web    (or: uv run python -m benchmarks.web [--runs 5])

Served as `make run` serves it: `orgo api` on the embedded SQLite default with the UI built
from this checkout (ORGO_WEB_DIR), a user with 20 tasks. The time is the page's own mark
`orgo:task-list-visible` (web/src/pages/TasksPage.tsx), set when the first page of tasks is
rendered, in Chromium's performance timeline (milliseconds from the navigation's start): it
covers loading the assets, the token refresh a returning user's page makes, the profile and
the task list. Cold: a new browser profile each time (nothing cached); warm: reloads of one
page (assets from the cache, as `Cache-Control: immutable` allows). Results go to
benchmarks/results/web.{json,md} with PASS/MISS per target. A benchmark reports: it never
fails the build.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, sync_playwright

from tests.harness.orgo import FAST_HASHING, OrgoProcess, orgo, orgo_env
from tests.harness.web import (
    NODE_BIN,
    REFRESH_TOKEN_KEY,
    build_ui,
    chromium_launch_options,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MARK = "orgo:task-list-visible"
EMAIL = "bench@example.com"
TASKS = 20
# What a benchmark run should show; MISS is reported, never raised.
JS_GZIP_BUDGET = 100 * 1024
COLD_BUDGET_MS = 1000.0


def js_sizes(dist: Path) -> tuple[int, int]:
    """Bytes of the build's JavaScript, as built and gzipped (level 9, as servers precompress)."""
    scripts = sorted((dist / "assets").glob("*.js"))
    raw = sum(path.stat().st_size for path in scripts)
    packed = sum(len(gzip.compress(path.read_bytes(), 9, mtime=0)) for path in scripts)
    return raw, packed


@contextmanager
def served_ui(dist: Path, workdir: Path) -> Iterator[tuple[OrgoProcess, str]]:
    """`orgo api` as make run starts it (SQLite, events in-process), serving `dist`."""
    env = orgo_env(
        f"sqlite+aiosqlite:///{workdir / 'orgo.db'}",
        ORGO_ENV="dev",
        ORGO_WEB_DIR=str(dist),
    )
    for key in FAST_HASHING:  # make run's Argon2 cost: the default
        env.pop(key)
    orgo(env, "migrate")
    password = secrets.token_urlsafe(16)
    orgo(env, "user", "create", "--email", EMAIL, stdin=password + "\n")
    api = OrgoProcess("api", env).start()
    try:
        yield api, password
    finally:
        api.stop()


def refresh_token(api: OrgoProcess, password: str) -> str:
    response = httpx.post(
        f"{api.url}/api/v1/auth/token", data={"username": EMAIL, "password": password}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["refresh_token"]
    return token


def seed(api: OrgoProcess, password: str) -> None:
    response = httpx.post(
        f"{api.url}/api/v1/auth/token", data={"username": EMAIL, "password": password}, timeout=30
    )
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    for number in range(TASKS):
        httpx.post(
            f"{api.url}/api/v1/tasks",
            json={"title": f"Benchmark task {number + 1}"},
            headers=headers,
            timeout=10,
        ).raise_for_status()


def visible_after(page: Any) -> float:
    """Milliseconds from the navigation's start to the task list's mark."""
    page.wait_for_function(f"() => performance.getEntriesByName({json.dumps(MARK)}).length > 0")
    start: float = page.evaluate(
        f"() => performance.getEntriesByName({json.dumps(MARK)})[0].startTime"
    )
    return round(start, 1)


def cold_runs(browser: Browser, api: OrgoProcess, password: str, runs: int) -> list[float]:
    """A returning user on a new profile: a session in storage, nothing in the cache."""
    times = []
    for _ in range(runs):
        context = browser.new_context()
        token = json.dumps(refresh_token(api, password))
        context.add_init_script(f"localStorage.setItem({json.dumps(REFRESH_TOKEN_KEY)}, {token})")
        page = context.new_page()
        page.goto(f"{api.url}/tasks")
        times.append(visible_after(page))
        context.close()
    return times


def warm_runs(browser: Browser, api: OrgoProcess, password: str, runs: int) -> list[float]:
    """Reloads of one page: the assets come from the browser's cache."""
    context = browser.new_context()
    token = json.dumps(refresh_token(api, password))
    page = context.new_page()
    page.goto(f"{api.url}/tasks")
    page.evaluate(f"() => localStorage.setItem({json.dumps(REFRESH_TOKEN_KEY)}, {token})")
    page.reload()
    visible_after(page)
    times = []
    for _ in range(runs):
        page.reload()
        times.append(visible_after(page))
    context.close()
    return times


def markdown(report: dict[str, Any]) -> str:
    meta, figures = report["meta"], report["figures"]
    lines = [
        "# Web UI: bundle size and time to the task list",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs, load average before the run {meta['loadavg']}; "
        f"Chromium {meta['chromium']}, Node.js {meta['node']}; served by `orgo api` as "
        f"`make run` does (SQLite, loopback), {TASKS} tasks; medians of {meta['runs']}.",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| JavaScript, gzipped | {figures['js_gzip_bytes'] / 1024:.1f} KiB |",
        f"| JavaScript, as built | {figures['js_raw_bytes'] / 1024:.1f} KiB |",
        f"| navigation to task list visible, cold profile | {figures['cold_ms']:.0f} ms |",
        f"| navigation to task list visible, warm cache | {figures['warm_ms']:.0f} ms |",
        "",
        "| target | value | result |",
        "| --- | ---: | --- |",
    ]
    for target in report["targets"]:
        lines.append(
            f"| {target['target']} | {target['value']} | {'PASS' if target['met'] else 'MISS'} |"
        )
    return "\n".join(lines) + "\n"


def run(runs: int) -> None:
    meta: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "node": subprocess.run(
            [str(NODE_BIN / "node"), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "runs": runs,
    }
    with tempfile.TemporaryDirectory(prefix="orgo-bench-web-") as tmp:
        work = Path(tmp)
        sizes = [js_sizes(build_ui(work / f"dist-{n}")) for n in range(runs)]
        dist = work / "dist-0"
        with served_ui(dist, work) as (api, password), sync_playwright() as playwright:
            seed(api, password)
            browser = playwright.chromium.launch(**chromium_launch_options())
            meta["chromium"] = browser.version
            cold = cold_runs(browser, api, password, runs)
            warm = warm_runs(browser, api, password, runs)
            browser.close()
    figures = {
        "js_raw_bytes": int(statistics.median(raw for raw, _ in sizes)),
        "js_gzip_bytes": int(statistics.median(packed for _, packed in sizes)),
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm),
    }
    report = {
        "meta": meta,
        "figures": figures,
        "samples": {"js_sizes": sizes, "cold_ms": cold, "warm_ms": warm},
        "targets": [
            {
                "target": f"JavaScript gzipped <= {JS_GZIP_BUDGET // 1024} KiB",
                "value": round(figures["js_gzip_bytes"] / 1024, 1),
                "met": figures["js_gzip_bytes"] <= JS_GZIP_BUDGET,
            },
            {
                "target": f"task list visible, cold, <= {COLD_BUDGET_MS:.0f} ms",
                "value": figures["cold_ms"],
                "met": figures["cold_ms"] <= COLD_BUDGET_MS,
            },
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (RESULTS / "web.md").write_text(table)
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measurements per figure")
    run(parser.parse_args().runs)


if __name__ == "__main__":
    main()

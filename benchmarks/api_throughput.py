"""API throughput on loopback: a bare FastAPI baseline, a cached task GET and a task POST.

    make bench        (or: uv run python -m benchmarks.api_throughput [--duration 15])

PostgreSQL and Redis are throwaway harness instances; the baseline and the Orgo API run
with the same number of uvicorn workers; wrk drives each for a warm-up and then a measured
run at a fixed connection count. Results go to benchmarks/results/api_throughput.{json,md}
with PASS/MISS per target. A benchmark reports: it never fails the build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import free_port, require_binary, stop_process, wait_until
from tests.harness.services import PostgresServer, RedisServer

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WRK_SCRIPT = HERE / "wrk_report.lua"
USER_EMAIL = "bench@example.com"
TASK_FIELDS = {"title": "benchmark task", "description": "written by wrk"}


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk pushes each scenario."""

    workers: int
    connections: int
    threads: int
    warmup_seconds: int
    duration_seconds: int
    rounds: int


@dataclass(frozen=True)
class Scenario:
    name: str
    url: str
    method: str = "GET"
    body: str = ""
    token: str = ""


@dataclass(frozen=True)
class Result:
    name: str
    method: str
    requests: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int
    socket_errors: int
    # CPU the server's processes spent per request: comparable even on a busy machine.
    server_cpu_ms_per_request: float
    ratio_to_baseline: float | None = None


# (what, scenario it applies to, metric, bound, "min" or "max")
TARGETS = (
    ("cached GET >= 40% of baseline req/s", "cached_get", "ratio_to_baseline", 0.40, "min"),
    ("POST >= 20% of baseline req/s", "post", "ratio_to_baseline", 0.20, "min"),
    ("cached GET p99 <= 50 ms", "cached_get", "p99_ms", 50.0, "max"),
    ("POST p99 <= 50 ms", "post", "p99_ms", 50.0, "max"),
)


def wrk(scenario: Scenario, load: Load, seconds: int) -> dict[str, int]:
    env = {
        **os.environ,
        "WRK_METHOD": scenario.method,
        "WRK_BODY": scenario.body,
        "WRK_TOKEN": scenario.token,
    }
    output = subprocess.run(
        [
            require_binary("wrk", "wrk"),
            f"--threads={load.threads}",
            f"--connections={load.connections}",
            f"--duration={seconds}s",
            "--timeout=5s",
            f"--script={WRK_SCRIPT}",
            scenario.url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return report


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a server process and its direct children (uvicorn workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(scenario: Scenario, load: Load, server_pid: int) -> Result:
    wrk(scenario, load, load.warmup_seconds)
    cpu_before = cpu_seconds(server_pid)
    raw = wrk(scenario, load, load.duration_seconds)
    cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / max(raw["requests"], 1)
    print(f"  {scenario.name}: {raw}", flush=True)
    return Result(
        name=scenario.name,
        method=scenario.method,
        requests=raw["requests"],
        requests_per_second=round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non_2xx_3xx=raw["non_2xx_3xx"],
        socket_errors=raw["socket_errors"],
        server_cpu_ms_per_request=round(cpu_ms, 2),
    )


@contextmanager
def uvicorn_server(
    app: str, workers: int, ready_path: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """An ASGI app of benchmarks/ under uvicorn with the API's worker count and options."""
    port = free_port()
    options = [f"--workers={workers}", f"--port={port}", "--host=127.0.0.1"]
    quiet = ["--no-access-log", "--no-server-header", "--log-level=warning"]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, *options, *quiet], env=env or dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(url + ready_path).status_code == 200, 60, app)
        yield url, process.pid
    finally:
        stop_process(process)


class MeasuredApi(OrgoProcess):
    """The harness's API process, with the pid whose CPU time the benchmark reads."""

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the API is not running")
        return self._proc.pid


@contextmanager
def orgo_api(workers: int) -> Iterator[tuple[MeasuredApi, str]]:
    """The Orgo API on PostgreSQL + Redis with one user; yields it and the user's token."""
    postgres, redis = PostgresServer(), RedisServer()
    metrics_dir = tempfile.mkdtemp(prefix="orgo-bench-metrics-")
    env = orgo_env(
        postgres.url,
        redis.url,
        ORGO_WEB_CONCURRENCY=str(workers),
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
        # The task stays cached through every scenario, the stack floor's included.
        ORGO_CACHE_TTL_SECONDS="3600",
    )
    api = MeasuredApi("api", env)
    try:
        orgo(env, "migrate")
        password = os.urandom(12).hex()
        orgo(env, "user", "create", "--email", USER_EMAIL, stdin=password)
        # A loaded machine can take over a minute to fork and import the uvicorn workers.
        api.start(wait=False)
        wait_until(lambda: httpx.get(f"{api.url}/healthz").status_code == 200, 180, "the API")
        token = httpx.post(
            f"{api.url}/api/v1/auth/token", data={"username": USER_EMAIL, "password": password}
        ).raise_for_status()
        yield api, token.json()["access_token"]
    finally:
        api.stop()
        redis.destroy()
        postgres.destroy()


def orgo_scenarios(api: OrgoProcess, token: str) -> list[Scenario]:
    headers = {"Authorization": f"Bearer {token}"}
    task = httpx.post(f"{api.url}/api/v1/tasks", json=TASK_FIELDS, headers=headers)
    task_url = f"{api.url}/api/v1/tasks/{task.raise_for_status().json()['id']}"
    httpx.get(task_url, headers=headers).raise_for_status()  # now it is in the cache
    return [
        Scenario("cached_get", task_url, token=token),
        Scenario("post", f"{api.url}/api/v1/tasks", "POST", json.dumps(TASK_FIELDS), token),
    ]


@contextmanager
def stack_floor(api: OrgoProcess, get: Scenario, workers: int) -> Iterator[tuple[str, int]]:
    """benchmarks.stack_floor on the API's PostgreSQL and Redis, reading the cached task."""
    headers = {"Authorization": f"Bearer {get.token}"}
    me = httpx.get(f"{api.url}/api/v1/users/me", headers=headers).raise_for_status().json()
    env = {
        **os.environ,
        "FLOOR_DATABASE_URL": api.env["ORGO_DATABASE_URL"].replace("+asyncpg", ""),
        "FLOOR_REDIS_URL": api.env["ORGO_REDIS_URL"],
        "FLOOR_OWNER_ID": me["id"],
        "FLOOR_CACHE_KEY": "orgo:task:" + get.url.rsplit("/", 1)[1],
    }
    with uvicorn_server("benchmarks.stack_floor:app", workers, "/cached", env) as server:
        yield server


def judge(results: dict[str, Result]) -> list[dict[str, object]]:
    verdicts: list[dict[str, object]] = []
    for what, name, metric, bound, kind in TARGETS:
        value = getattr(results[name], metric)
        met = value >= bound if kind == "min" else value <= bound
        verdicts.append({"target": what, "value": value, "bound": bound, "met": met})
    return verdicts


def markdown(
    results: list[Result], verdicts: list[dict[str, object]], meta: dict[str, object], load: Load
) -> str:
    lines = [
        "# API throughput",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs, load average before the run {meta['loadavg']}; "
        f"{load.workers} uvicorn workers, {load.connections} connections, "
        f"{load.rounds} rounds of every scenario in turn, each {load.duration_seconds} s after "
        f"{load.warmup_seconds} s warm-up (wrk, loopback); medians over the rounds, and each "
        "ratio is the median of the rounds' ratios to the baseline measured just before.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | ratio to baseline | server CPU ms/req | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = "" if r.ratio_to_baseline is None else f"{r.ratio_to_baseline:.0%}"
        lines.append(
            f"| {r.name} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {ratio} | {r.server_cpu_ms_per_request:.2f} | {r.non_2xx_3xx} |"
        )
    lines += [
        "",
        "`floor_get` and `floor_post` do the same I/O as `cached_get` and `post` and nothing "
        "else (no authentication, access log, metrics or ORM; `benchmarks/stack_floor.py`): "
        "what this stack can reach on this machine.",
        "",
        "| target | value | result |",
        "| --- | ---: | --- |",
    ]
    for v in verdicts:
        lines.append(f"| {v['target']} | {v['value']:.2f} | {'PASS' if v['met'] else 'MISS'} |")
    return "\n".join(lines) + "\n"


def median_result(name: str, rounds: list[Result], ratios: list[float] | None) -> Result:
    """One scenario's figures over the rounds: the median of each (counts: the sums)."""

    def mid(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    return Result(
        name=name,
        method=rounds[0].method,
        requests=sum(r.requests for r in rounds),
        requests_per_second=mid([r.requests_per_second for r in rounds]),
        p50_ms=mid([r.p50_ms for r in rounds]),
        p90_ms=mid([r.p90_ms for r in rounds]),
        p99_ms=mid([r.p99_ms for r in rounds]),
        max_ms=max(r.max_ms for r in rounds),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in rounds),
        socket_errors=sum(r.socket_errors for r in rounds),
        server_cpu_ms_per_request=mid([r.server_cpu_ms_per_request for r in rounds]),
        ratio_to_baseline=None if ratios is None else mid(ratios),
    )


def run(load: Load) -> None:
    meta: dict[str, object] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": platform.platform(),
        "load": asdict(load),
    }
    print(
        f"bare FastAPI, the Orgo API on PostgreSQL + Redis and the stack floor on the same, "
        f"{load.workers} uvicorn workers each, {load.rounds} rounds",
        flush=True,
    )
    # All servers stay up (idle ones cost nothing) so that every round measures each
    # scenario right after the baseline: the machine's speed drifts between minutes.
    with (
        uvicorn_server("benchmarks.hello:app", load.workers, "/hello") as (hello, hello_pid),
        orgo_api(load.workers) as (api, token),
    ):
        get, post = orgo_scenarios(api, token)
        with stack_floor(api, get, load.workers) as (floor, floor_pid):
            plan = [
                (Scenario("baseline", f"{hello}/hello"), hello_pid),
                (get, api.pid),
                (post, api.pid),
                (Scenario("floor_get", f"{floor}/cached"), floor_pid),
                (
                    Scenario("floor_post", f"{floor}/tasks", "POST", json.dumps(TASK_FIELDS)),
                    floor_pid,
                ),
            ]
            rounds = [[measure(s, load, pid) for s, pid in plan] for _ in range(load.rounds)]
    baselines = [measured[0].requests_per_second for measured in rounds]
    results = [median_result("baseline", [measured[0] for measured in rounds], None)]
    for index, (scenario, _) in enumerate(plan[1:], start=1):
        per_round = [measured[index] for measured in rounds]
        ratios = [r.requests_per_second / b for r, b in zip(per_round, baselines, strict=True)]
        results.append(median_result(scenario.name, per_round, ratios))
    verdicts = judge({r.name: r for r in results})
    RESULTS.mkdir(exist_ok=True)
    report = {
        "meta": meta,
        "results": [asdict(r) for r in results],
        "rounds": [[asdict(r) for r in measured] for measured in rounds],
        "targets": verdicts,
    }
    (RESULTS / "api_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(results, verdicts, meta, load)
    (RESULTS / "api_throughput.md").write_text(table)
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (both servers)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each measurement")
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every scenario")
    args = parser.parse_args()
    load = Load(
        args.workers, args.connections, args.threads, args.warmup, args.duration, args.rounds
    )
    run(load)


if __name__ == "__main__":
    main()

"""The table, the exit codes, --wait, and the message when there is no cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.harness.processes import free_port
from verify.health import Health
from verify.report import Check, run_checks, summary, table


class Clock:
    """Time that moves only when the runner sleeps: --wait without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def flaky(passes_on: int) -> Check:
    calls = {"n": 0}

    def run() -> Health:
        calls["n"] += 1
        return Health(calls["n"] >= passes_on, f"attempt {calls['n']}")

    return Check(f"passes on attempt {passes_on}", run)


def test_table_and_exit_code_name_what_failed() -> None:
    results = {"good": Health(True, "fine"), "bad one": Health(False, "readyReplicas 0/1")}
    lines = table(results).splitlines()
    assert lines[0].split() == ["check", "result", "reason"]
    assert lines[2].split()[:2] == ["good", "pass"]
    assert lines[3].startswith("bad one  FAIL    readyReplicas 0/1")
    assert summary(results) == (1, "1 passed, 1 failed: bad one")
    assert summary({"good": Health(True, "fine")}) == (0, "1 passed, 0 failed")


def test_without_wait_each_check_runs_once() -> None:
    clock = Clock()
    results = run_checks([flaky(2)], 0, clock=clock, sleep=clock.sleep)
    assert results["passes on attempt 2"] == Health(False, "attempt 1")
    assert clock.sleeps == 0


def test_wait_reruns_only_failing_checks_until_they_pass() -> None:
    clock = Clock()
    steady, late = flaky(1), flaky(3)
    results = run_checks([steady, late], 600, interval=10, clock=clock, sleep=clock.sleep)
    assert results[late.name] == Health(True, "attempt 3")
    assert results[steady.name] == Health(True, "attempt 1")  # not run again
    assert clock.sleeps == 2


def test_wait_gives_up_at_the_timeout() -> None:
    clock = Clock()
    results = run_checks([flaky(100)], 30, interval=10, clock=clock, sleep=clock.sleep)
    assert results["passes on attempt 100"] == Health(False, "attempt 4")
    assert clock.now == 30


def test_a_check_that_raises_fails_with_the_error() -> None:
    def broken() -> Health:
        raise LookupError("Gateway edge/orgo has no address yet")

    results = run_checks([Check("api", broken)])
    assert results["api"] == Health(False, "LookupError: Gateway edge/orgo has no address yet")


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: kind-orgo, context: {cluster: c, user: u}}]\n"
        "current-context: kind-orgo\n"
    )
    return path


def verify(*args: str, stack: str = "dev") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify", "--stack", stack, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unreachable_cluster_fails_at_once_naming_kubeconfig_and_context(
    tmp_path: Path,
) -> None:
    server = f"https://127.0.0.1:{free_port()}"
    config = kubeconfig(tmp_path / "config", server)
    result = verify("--kubeconfig", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: cannot reach the Kubernetes API at {server} "
        f"(kubeconfig {config}, context kind-orgo): "
    )
    assert "Connection refused" in result.stderr
    assert result.stdout == ""


def test_a_missing_kubeconfig_or_context_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = verify("--kubeconfig", str(missing))
    assert result.returncode == 2
    assert f"cannot load the cluster's config (kubeconfig {missing}" in result.stderr
    config = kubeconfig(tmp_path / "config", "https://127.0.0.1:1")
    result = verify("--kubeconfig", str(config), "--context", "kind-other")
    assert result.returncode == 2
    assert "context kind-other" in result.stderr and "kind-other" in result.stderr


def test_an_unknown_stack_is_named(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "config", "https://127.0.0.1:1")
    result = verify("--kubeconfig", str(config), stack="nostack")
    assert result.returncode == 2
    assert "error: no stack file Pulumi.nostack.yaml (stacks: dev, " in result.stderr

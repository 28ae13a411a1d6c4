"""Running checks: a table of pass/fail with the reason, re-running the failing ones
until they pass or the time is up (`--wait`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from verify.health import Health


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Health]


def attempt(check: Check) -> Health:
    """A check that raises fails with the error as its reason, instead of stopping the run."""
    try:
        return check.run()
    except Exception as exc:  # any failure of one check is that check's result
        return Health(False, f"{type(exc).__name__}: {exc}")


def run_checks(
    checks: Sequence[Check],
    wait_seconds: float = 0,
    interval: float = 10,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Health]:
    """Every check once; with `wait_seconds`, the failing ones again every `interval`
    until all pass or the deadline passes. The last result of each check."""
    deadline = clock() + wait_seconds
    results = {check.name: attempt(check) for check in checks}
    while clock() < deadline:
        failing = [c for c in checks if not results[c.name].ok]
        if not failing:
            break
        sleep(interval)
        results.update({check.name: attempt(check) for check in failing})
    return results


def table(results: dict[str, Health]) -> str:
    width = max((len(name) for name in results), default=5)
    lines = [f"{'check':<{width}}  result  reason", f"{'-' * width}  ------  ------"]
    lines += [
        f"{name:<{width}}  {'pass' if h.ok else 'FAIL':<6}  {h.reason}"
        for name, h in results.items()
    ]
    return "\n".join(lines)


def summary(results: dict[str, Health]) -> tuple[int, str]:
    """Exit code and the closing line: 0 when every check passed, 1 naming the failures."""
    failed = [name for name, h in results.items() if not h.ok]
    if not failed:
        return 0, f"{len(results)} passed, 0 failed"
    return 1, f"{len(results) - len(failed)} passed, {len(failed)} failed: {', '.join(failed)}"

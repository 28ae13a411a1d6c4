"""The suite's tiers, decided here and nowhere else (README "Tests").

- fast (no marker): in-process unit and contract tests. They may run the pinned tools
  already installed (helm from `make helm`, promtool/amtool from `make system-deps`) and
  SQLite, but start no server, container or browser.
- `services`: starts a server process: PostgreSQL, Redis, RabbitMQ, or the API/worker.
- `system`: containers (podman), image builds, host converges, a browser, a live stack.

`make test-fast` deselects both markers; `make test` runs everything.
"""

from __future__ import annotations

import pytest

SERVICE_FIXTURES = frozenset({"postgres", "redis_server", "rabbitmq"})
# Modules whose own fixtures start the API or worker (tests/harness/orgo.OrgoProcess).
SERVICE_MODULES = frozenset(
    {
        "tests/app/test_body_limit.py",
        "tests/app/test_logs.py",
        "tests/app/test_proxy_clients.py",
        "tests/app/test_metrics.py",
        "tests/app/test_local_cache.py",
    }
)
SYSTEM_FIXTURES = frozenset({"host_image"})
SYSTEM_MODULES = frozenset(
    {
        "tests/app/test_image.py",
        "tests/app/test_fuzz.py",
        "tests/app/test_fault_drills.py",
        "tests/observability/test_live.py",
        "tests/scripts/test_image_digests.py",
        "tests/verify/test_probes.py",
        "tests/web/test_e2e.py",
        "tests/web/test_web_image.py",
        "tests/playbooks/test_single_host.py",
        "tests/playbooks/test_three_hosts.py",
        "tests/playbooks/test_host_keys.py",
    }
)


def tier_of(item: pytest.Item, module: str) -> str | None:
    """The marker `item` gets, or None for the fast tier."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if module in SYSTEM_MODULES or fixtures & SYSTEM_FIXTURES:
        return "system"
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend_settings") if callspec else None
    if module in SERVICE_MODULES or fixtures & SERVICE_FIXTURES or backend == "postgres":
        return "services"
    return None


def mark_tiers(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        tier = tier_of(item, module)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))

"""Fixtures of the Kubernetes platform tests: each stack rendered once per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.render import Run, kubernetes_objects, remote_installs, run

STACKS = ("dev", "staging")


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], Run]:
    cache: dict[str, Run] = {}

    def get(stack: str) -> Run:
        if stack not in cache:
            cache[stack] = run(stack)
        return cache[stack]

    return get


@pytest.fixture(scope="session")
def objects(rendered: Callable[[str], Run]) -> Callable[[str], list[dict[str, Any]]]:
    return lambda stack: kubernetes_objects(rendered(stack).resources)


@pytest.fixture(scope="session")
def charts(rendered: Callable[[str], Run]) -> Callable[[str], list[dict[str, Any]]]:
    return lambda stack: remote_installs(rendered(stack).resources)

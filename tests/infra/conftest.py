"""Fixtures of the Kubernetes platform tests: each stack rendered once per session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from infra.render import Render, Run, kubernetes_objects, remote_installs, render, run

STACKS = ("dev", "staging")


@pytest.fixture(scope="session", autouse=True)
def event_loop_for_pulumi() -> None:
    """Pulumi's mocks need a current event loop; async tests that ran earlier in the same
    session (pytest-asyncio) leave the main thread without one."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


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


@pytest.fixture(scope="session")
def platform(rendered: Callable[[str], Run]) -> Callable[[str], Render]:
    """Everything `pulumi up` would apply for a stack: its objects and the objects of the
    charts and manifests it installs (infra.render.render), once per stack."""
    cache: dict[str, Render] = {}

    def get(stack: str) -> Render:
        if stack not in cache:
            cache[stack] = render(rendered(stack))
        return cache[stack]

    return get

"""Runs the AWS layer under the platform's Pulumi mocks (infra.mocks, infra.render).

Two graphs per stack: `foundation_run` declares `AwsFoundation` alone with the stack's
config (components under mocks), `stack_run` runs the whole program with
`infra.render.run_program` (what `make plan` writes). Both are cached per stack.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockResourceArgs

from infra import render
from infra.aws.config import AwsConfig
from infra.aws.foundation import AwsFoundation
from infra.aws.mock_outputs import computed_outputs
from infra.config import load_stack_config
from infra.mocks import PlatformMocks, RecordingMonitor, RegisteredResource

AWS_STACKS = ("prod", "prod-lite")


class AwsAwareMocks(PlatformMocks):
    """The platform's mocks plus the attributes AWS computes that the AWS layer reads."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ.startswith("aws:"):
            outputs = {**outputs, **computed_outputs(args.typ, args.name, args.inputs)}
        return resource_id, outputs


@dataclass(frozen=True)
class Run:
    config: AwsConfig
    resources: list[RegisteredResource]

    def of_type(self, resource_type: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == resource_type]

    def one(self, resource_type: str) -> RegisteredResource:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, got {[r.name for r in found]}"
        return found[0]

    def named(self, resource_type: str, name: str) -> RegisteredResource:
        return next(r for r in self.of_type(resource_type) if r.name == name)


def mock_stack(stack: str, values: Mapping[str, str] | None = None) -> RecordingMonitor:
    """Mocks as `infra.render.run_program` sets them, with `stack`'s config or `values`."""
    mocks = AwsAwareMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=render.project_name(), stack=stack, preview=False, monitor=monitor
    )
    file_values, secret_keys = render.stack_config_values(stack)
    set_all_config(dict(values if values is not None else file_values), secret_keys)
    return monitor


def declare_foundation(stack: str, inspect: Callable[[AwsFoundation], Any] | None = None) -> None:
    """Declares AwsFoundation from the stack config, as infra.program does.

    `inspect` runs inside the program with the component; an Output it returns is
    awaited, so assertions in an `apply` run before this returns.
    """

    def program() -> Any:
        cfg = load_stack_config()
        assert cfg.aws is not None, f"Pulumi.{stack}.yaml has no orgo:aws"
        foundation = AwsFoundation("orgo", cfg.aws, cfg.platform)
        return inspect(foundation) if inspect else None

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]


def run_foundation(stack: str) -> list[RegisteredResource]:
    monitor = mock_stack(stack)
    declare_foundation(stack)
    return sorted(monitor.registered, key=lambda r: r.urn)


@functools.cache
def _foundation(stack: str) -> Run:
    config = load_config(stack)
    return Run(config, run_foundation(stack))


@functools.cache
def _whole_stack(stack: str) -> Run:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "PlatformMocks", AwsAwareMocks)
        resources = render.run_program(stack)
    return Run(load_config(stack), resources)


def load_config(stack: str) -> AwsConfig:
    raw = render.stack_config_values(stack)[0]["orgo:aws"]
    return AwsConfig.model_validate_json(raw)


def get_run(kind: str, stack: str) -> Run:
    if kind == "foundation":
        return _foundation(stack)
    run = _whole_stack(stack)
    foundations = [r for r in run.resources if r.type == "orgo:aws:Foundation"]
    assert len(foundations) == 1, f"infra.program.deploy must compose AwsFoundation for {stack}"
    return run


@pytest.fixture(params=AWS_STACKS)
def foundation_run(request: pytest.FixtureRequest) -> Run:
    """The AWS component graph of each AWS stack."""
    return get_run("foundation", request.param)


@pytest.fixture(params=AWS_STACKS)
def stack_run(request: pytest.FixtureRequest) -> Run:
    """The whole program of each AWS stack, as `make plan` runs it."""
    return get_run("stack", request.param)


@pytest.fixture(
    params=[(kind, stack) for kind in ("foundation", "stack") for stack in AWS_STACKS],
    ids=lambda param: "-".join(param),
)
def any_run(request: pytest.FixtureRequest) -> Run:
    """Both graphs: the policies hold for the component and for the whole plan."""
    kind, stack = request.param
    return get_run(kind, stack)

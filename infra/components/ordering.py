"""Resource options for a component's children that keep the component's ordering.

Pulumi does not pass a component's `depends_on` on to its children: a custom resource
inside a component that was told to wait for the operators would otherwise be created
at once (tests/infra/test_ordering.py checks the graph).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi


def child_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, *depends_on: pulumi.Resource
) -> pulumi.ResourceOptions:
    """Options of a child of `parent`: waiting for `depends_on` and for everything the
    parent's own options (`opts`) wait for."""
    inherited = pulumi.ResourceOptions(depends_on=opts.depends_on if opts else None)
    own = pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))
    return pulumi.ResourceOptions.merge(inherited, own)


def waiting_for(*resources: pulumi.Resource) -> Callable[[Any, pulumi.ResourceOptions], None]:
    """A Helm v3 Chart transformation making each of the chart's objects (its children,
    which do not get the chart's own options) wait for `resources` too."""

    def transform(_obj: Any, opts: pulumi.ResourceOptions) -> None:
        given = opts.depends_on if isinstance(opts.depends_on, list) else []
        opts.depends_on = list(dict.fromkeys([*given, *resources]))

    return transform

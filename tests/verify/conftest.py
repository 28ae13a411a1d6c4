"""Each stack's render, once per session: the verifier's expectations come from it."""

from __future__ import annotations

import functools

from verify import expectations
from verify.expectations import Expectations

STACKS = ("dev", "staging", "prod", "prod-lite")


@functools.cache
def expected(stack: str) -> Expectations:
    return expectations.for_stack(stack)


def rendered(stack: str, kind: str, name: str) -> dict:  # type: ignore[type-arg]
    """A rendered object of `stack`, copied: tests add a status block as the API server would."""
    obj = next(
        o for o in expected(stack).objects if o["kind"] == kind and o["metadata"]["name"] == name
    )
    return {**obj, "metadata": {**obj["metadata"], "generation": 2}}

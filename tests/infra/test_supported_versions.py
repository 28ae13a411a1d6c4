"""The supported Kubernetes range (versions.yaml kubernetes:) lies inside every pinned
operator's own compatibility statement and upstream's support, and every stack targets it."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from infra.config import ConfigError, parse_stack_config
from infra.helm import run_helm
from infra.versions import REPO_ROOT, minor_number, versions

SUPPORTED = versions().kubernetes
# Upstream end of life of each minor (kubernetes.io/releases), and the date the pins
# were reviewed: a range minor past its end of life then fails here.
UPSTREAM_END_OF_LIFE = {"1.35": date(2027, 2, 28), "1.36": date(2027, 6, 28)}
REVIEWED = date(2026, 12, 3)


def range_minors() -> list[str]:
    oldest, newest = minor_number(SUPPORTED.oldest), minor_number(SUPPORTED.newest)
    return [f"1.{n}" for n in range(oldest, newest + 1)]


def test_the_range_is_inside_every_operators_statement() -> None:
    pins = versions().charts
    for minor in range_minors():
        outside = [
            f"{k} supports {p.kubernetes}"
            for k, p in pins.items()
            if not p.kubernetes.covers(minor)
        ]
        assert not outside, f"{minor}: " + "; ".join(outside)


def test_every_minor_of_the_range_is_in_upstream_support() -> None:
    for minor in range_minors():
        assert minor in UPSTREAM_END_OF_LIFE, f"{minor}: no upstream end of life recorded"
        assert UPSTREAM_END_OF_LIFE[minor] > REVIEWED, f"{minor} is past upstream support"


@pytest.mark.parametrize("minor", [SUPPORTED.oldest, SUPPORTED.newest])
def test_every_chart_accepts_the_range_ends(minor: str) -> None:
    """The charts' own kubeVersion constraints (helm refuses to render otherwise)."""
    from infra.artefacts import artefact

    for key in versions().charts:
        rendered = run_helm(
            "template", key, str(artefact(key).path), "--kube-version", f"{minor}.0"
        )
        assert rendered.returncode == 0, f"{key} at {minor}: {rendered.stderr}"


def stack_minor(stack: str) -> str:
    raw = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return str(raw["config"]["orgo:platform"].get("kubernetesVersion", SUPPORTED.default))


@pytest.mark.parametrize(
    "stack",
    ["dev", "staging", "prod", "prod-lite"],
)
def test_every_stack_targets_the_supported_range(stack: str) -> None:
    assert SUPPORTED.covers(stack_minor(stack)), f"{stack}: {stack_minor(stack)} not in {SUPPORTED}"


def test_the_default_is_in_the_range_and_stacks_default_to_it() -> None:
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    platform = {k: v for k, v in raw["config"]["orgo:platform"].items() if k != "kubernetesVersion"}
    assert (
        parse_stack_config({"platform": platform}).platform.kubernetes_version == SUPPORTED.default
    )
    assert SUPPORTED.covers(SUPPORTED.default)


def test_an_unsupported_minor_is_refused_with_the_range() -> None:
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    platform = {**raw["config"]["orgo:platform"], "kubernetesVersion": "1.34"}
    with pytest.raises(
        ConfigError, match=r"kubernetesVersion: 1.34 is outside the supported range 1.35-1.36"
    ):
        parse_stack_config({"platform": platform})

"""What a dashboard is made of, independent of Grafana's JSON: the specs are what the
builder turns into dashboards and what `observability.queries` hands to live checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from observability.config import Config


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    # True when a healthy system legitimately has no series (error-only queries).
    may_be_empty: bool = False


@dataclass(frozen=True)
class Threshold:
    value: float
    color: str


@dataclass(frozen=True)
class PanelSpec:
    title: str
    targets: tuple[Target, ...]
    unit: str
    description: str = ""
    kind: str = "timeseries"  # or "stat"
    thresholds: tuple[Threshold, ...] = ()
    min: float | None = None
    max: float | None = None
    width: int = 12


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    # Jobs whose instances the $instance variable offers.
    instance_jobs: tuple[str, ...]
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = field(default=("orgo",))


def matchers(config: Config, job: str, *extra: str) -> str:
    """Label matchers for one job, filtered by the dashboard's $env and $instance."""
    parts = [f'job="{job}"', f'{config.environment_label}=~"$env"', 'instance=~"$instance"']
    return "{" + ",".join([*parts, *extra]) + "}"


def env_matchers(config: Config, *extra: str) -> str:
    """Label matchers for aggregated series (recording rules) that have no instance."""
    return "{" + ",".join([f'{config.environment_label}=~"$env"', *extra]) + "}"


# Traffic-light steps used by several panels.
def ok_warn_bad(warn: float, bad: float) -> tuple[Threshold, ...]:
    return (Threshold(float("-inf"), "green"), Threshold(warn, "orange"), Threshold(bad, "red"))


def bad_warn_ok(bad: float, warn: float) -> tuple[Threshold, ...]:
    """For values where lower is worse (availability, free space)."""
    return (Threshold(float("-inf"), "red"), Threshold(bad, "orange"), Threshold(warn, "green"))

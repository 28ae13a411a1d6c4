"""Orgo API: traffic, errors, latency, SLOs and error budget, cache."""

from __future__ import annotations

from observability.config import Config
from observability.dashboards.spec import (
    DashboardSpec,
    PanelSpec,
    Row,
    Target,
    Threshold,
    bad_warn_ok,
    env_matchers,
    matchers,
    ok_warn_bad,
)
from observability.rules.slo import AVAILABILITY, LATENCY, sli_record

RATE = "[$__rate_interval]"
SERVER_ERROR = 'status=~"5.."'
NOT_SERVER_ERROR = 'status!~"5.."'
CLIENT_ERROR = 'status=~"4.."'
CACHE_HIT = 'result="hit"'


def _requests(config: Config, *extra: str) -> str:
    return f"orgo_http_requests_total{matchers(config, config.jobs.api, *extra)}"


def _traffic(config: Config) -> Row:
    requests = _requests(config)
    return Row(
        "Traffic",
        (
            PanelSpec(
                "Requests by route",
                (
                    Target(
                        f"sum by (method, route) (rate({requests}{RATE}))", "{{method}} {{route}}"
                    ),
                ),
                unit="reqps",
            ),
            PanelSpec(
                "Requests by status",
                (Target(f"sum by (status) (rate({requests}{RATE}))", "{{status}}"),),
                unit="reqps",
            ),
        ),
    )


def _errors(config: Config) -> Row:
    total = f"sum(rate({_requests(config)}{RATE}))"
    ok = f"sum(rate({_requests(config, NOT_SERVER_ERROR)}{RATE}))"
    budget = 1 - config.slo.availability_target
    return Row(
        "Errors",
        (
            PanelSpec(
                "Server error ratio (5xx)",
                (Target(f"1 - ({ok} / {total})", "5xx ratio"),),
                unit="percentunit",
                min=0,
                thresholds=ok_warn_bad(budget, 10 * budget),
                description=f"Share of requests answered with 5xx; the SLO allows {budget:.2%} "
                f"over {config.slo.period}.",
            ),
            PanelSpec(
                "5xx by route",
                (
                    Target(
                        f"sum by (route, status) (rate({_requests(config, SERVER_ERROR)}{RATE}))",
                        "{{route}} {{status}}",
                        may_be_empty=True,
                    ),
                ),
                unit="reqps",
            ),
            PanelSpec(
                "4xx by route",
                (
                    Target(
                        f"sum by (route, status) (rate({_requests(config, CLIENT_ERROR)}{RATE}))",
                        "{{route}} {{status}}",
                        may_be_empty=True,
                    ),
                ),
                unit="reqps",
                width=24,
                description="Client errors: bad input, auth failures.",
            ),
        ),
    )


def _latency(config: Config) -> Row:
    buckets = f"orgo_http_request_duration_seconds_bucket{matchers(config, config.jobs.api)}"
    threshold = config.slo.latency_threshold_seconds
    steps = (Threshold(float("-inf"), "green"), Threshold(threshold, "red"))
    return Row(
        "Latency",
        (
            PanelSpec(
                "Latency percentiles",
                tuple(
                    Target(f"histogram_quantile({q}, sum by (le) (rate({buckets}{RATE})))", f"p{p}")
                    for q, p in ((0.5, 50), (0.9, 90), (0.99, 99))
                ),
                unit="s",
                thresholds=steps,
                description=f"The latency SLO counts requests under {threshold}s.",
            ),
            PanelSpec(
                "p99 latency by route",
                (
                    Target(
                        f"histogram_quantile(0.99, sum by (le, route) (rate({buckets}{RATE})))",
                        "{{route}}",
                    ),
                ),
                unit="s",
                thresholds=steps,
            ),
        ),
    )


def _slo_stats(config: Config, sli: str, target: float) -> tuple[PanelSpec, ...]:
    period = config.slo.period
    errors = f"max({sli_record(sli, period)}{env_matchers(config)})"
    budget = 1 - target
    return (
        PanelSpec(
            f"{sli.capitalize()} ({period})",
            (Target(f"1 - {errors}", sli),),
            unit="percentunit",
            kind="stat",
            width=6,
            thresholds=bad_warn_ok(target, target + budget / 2),
            description=f"SLO: {target:.2%} of requests over {period}.",
        ),
        PanelSpec(
            f"{sli.capitalize()} error budget left",
            (Target(f"1 - ({errors} / {budget:g})", "budget left"),),
            unit="percentunit",
            kind="stat",
            width=6,
            thresholds=bad_warn_ok(0, 0.25),
            description=f"Share of the {period} error budget not yet spent.",
        ),
    )


def _burn_rates(config: Config, sli: str, target: float) -> PanelSpec:
    windows = config.slo.fast_burn
    fast = windows[0].factor
    return PanelSpec(
        f"{sli.capitalize()} burn rate",
        tuple(
            Target(
                f"max({sli_record(sli, window)}{env_matchers(config)}) / {1 - target:g}",
                f"{window} window",
            )
            for window in (windows[0].short, windows[0].long)
        ),
        unit="none",
        min=0,
        thresholds=ok_warn_bad(1, fast),
        description=f"1 spends the budget exactly over {config.slo.period}; {fast:g} pages.",
    )


def _slo(config: Config) -> Row:
    slo = config.slo
    return Row(
        "SLO and error budget",
        (
            *_slo_stats(config, AVAILABILITY, slo.availability_target),
            *_slo_stats(config, LATENCY, slo.latency_target),
            _burn_rates(config, AVAILABILITY, slo.availability_target),
            _burn_rates(config, LATENCY, slo.latency_target),
        ),
    )


def _cache(config: Config) -> Row:
    m = matchers(config, config.jobs.api)
    lookups = f"orgo_cache_requests_total{m}"
    hits = f"orgo_cache_requests_total{matchers(config, config.jobs.api, CACHE_HIT)}"
    return Row(
        "Cache",
        (
            PanelSpec(
                "Cache lookups by result",
                (
                    Target(f"sum by (result) (rate({lookups}{RATE}))", "{{result}}"),
                    Target(f"sum(rate(orgo_cache_local_hits_total{m}{RATE}))", "hit, local copy"),
                ),
                unit="ops",
                description="bypass: Redis unavailable or not configured. hit, local copy: "
                "the hits an API process served from its own copy, without Redis.",
            ),
            PanelSpec(
                "Cache hit ratio",
                (Target(f"sum(rate({hits}{RATE})) / sum(rate({lookups}{RATE}))", "hit ratio"),),
                unit="percentunit",
                min=0,
                max=1,
                # Below half the reads hit, the cache saves the database little.
                thresholds=bad_warn_ok(0.5, 0.8),
            ),
        ),
    )


def dashboard(config: Config) -> DashboardSpec:
    return DashboardSpec(
        uid="orgo-api",
        title="Orgo / API",
        description="Traffic, errors, latency and SLOs of the Orgo API.",
        instance_jobs=(config.jobs.api,),
        rows=(_traffic(config), _errors(config), _latency(config), _slo(config), _cache(config)),
    )

"""API SLOs: error-ratio recording rules per window and multi-window, multi-burn-rate alerts.

Each SLI is written as `1 - good/total`, so it has a value whenever there is traffic
(0 when nothing failed) instead of vanishing when there are no errors.
"""

from __future__ import annotations

from observability.config import BurnWindow, Config
from observability.promql import eq, selector
from observability.rules.model import Alert, Group, Recording

AVAILABILITY = "availability"
LATENCY = "latency"


def sli_record(sli: str, window: str) -> str:
    return f"orgo:api_{sli}_errors:ratio_rate{window}"


def api_matchers(config: Config) -> tuple[str, ...]:
    """The requests an SLO counts: API traffic, without probes and scrapes."""
    routes = "|".join(config.slo.excluded_routes)
    return (eq("job", config.jobs.api), f'route!~"{routes}"')


def _by(config: Config) -> str:
    return f"sum by ({config.environment_label}, job)"


def _error_ratio(config: Config, sli: str, window: str) -> str:
    matchers = api_matchers(config)
    by = _by(config)
    if sli == AVAILABILITY:
        good = selector("orgo_http_requests_total", *matchers, 'status!~"5.."')
        total = selector("orgo_http_requests_total", *matchers)
    else:
        le = f'le="{config.slo.latency_threshold_seconds}"'
        good = selector("orgo_http_request_duration_seconds_bucket", *matchers, le)
        total = selector("orgo_http_request_duration_seconds_count", *matchers)
    return f"1 - (\n  {by} (rate({good}[{window}]))\n/\n  {by} (rate({total}[{window}]))\n)\n"


def _target(config: Config, sli: str) -> float:
    slo = config.slo
    return slo.availability_target if sli == AVAILABILITY else slo.latency_target


def _burn_condition(config: Config, sli: str, windows: tuple[BurnWindow, ...]) -> str:
    budget = f"(1 - {_target(config, sli)})"
    parts = [
        f"(\n  {sli_record(sli, w.long)} > ({w.factor} * {budget})\nand\n"
        f"  {sli_record(sli, w.short)} > ({w.factor} * {budget})\n)"
        for w in windows
    ]
    return "\nor\n".join(parts) + "\n"


def _burn_alert(config: Config, sli: str, speed: str) -> Alert:
    fast = speed == "Fast"
    windows = config.slo.fast_burn if fast else config.slo.slow_burn
    target = _target(config, sli)
    what = (
        "failed (5xx)"
        if sli == AVAILABILITY
        else (f"took longer than {config.slo.latency_threshold_seconds}s")
    )
    env = "{{ $labels." + config.environment_label + " }}"
    return Alert(
        name=f"OrgoApi{sli.capitalize()}{speed}Burn",
        expr=_burn_condition(config, sli, windows),
        for_=config.timing.burn_for,
        severity="critical" if fast else "warning",
        summary=f"Orgo API {sli} error budget is burning {speed.lower()}.",
        description=(
            f"In {env}, {{{{ $value | humanizePercentage }}}} of API requests {what} "
            f"over the last {windows[0].long} or {windows[-1].long}; the {sli} SLO of "
            f"{target:.2%} over {config.slo.period} will be missed if this continues."
        ),
    )


def group(config: Config) -> Group:
    rules: list[Recording | Alert] = []
    for sli in (AVAILABILITY, LATENCY):
        for window in config.slo.windows():
            rules.append(Recording(sli_record(sli, window), _error_ratio(config, sli, window)))
    for sli in (AVAILABILITY, LATENCY):
        rules.extend(_burn_alert(config, sli, speed) for speed in ("Fast", "Slow"))
    return Group(file="orgo-slo", name="orgo-api-slo", rules=tuple(rules))

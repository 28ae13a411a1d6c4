from __future__ import annotations

from observability.promql import metric_names


def test_metric_names_skip_functions_labels_keywords_and_durations() -> None:
    expr = (
        'sum by (env, job) (rate(orgo_http_requests_total{job="a",status!~"5.."}[5m]))\n'
        "/ on (env) group_left max without (instance) (up offset 1h) > 14.4 * (1 - 0.995)\n"
        "and orgo:api_availability_errors:ratio_rate5m > 1e-3"
    )
    assert metric_names(expr) == {
        "orgo_http_requests_total",
        "up",
        "orgo:api_availability_errors:ratio_rate5m",
    }


def test_grafana_variables_are_not_metric_names() -> None:
    expr = 'rate(x_total{env=~"$env"}[$__rate_interval])'
    assert metric_names(expr) == {"x_total"}

"""Every PromQL query this package ships, for live checks against a real Prometheus.

    from observability.queries import all_queries
    for query in all_queries():
        result = prometheus_instant_query(query.promql())
        assert result or query.may_be_empty, query.source
        # for an empty one: every name in query.metric_names() must exist

Alert expressions are conditions, empty while the system is healthy; they are marked
`may_be_empty`. Queries that only exist on one target (e.g. cert-manager on Kubernetes)
say so in `targets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from observability import dashboards, rules
from observability.config import DEFAULT, Config
from observability.promql import metric_names
from observability.rules.model import ALL_TARGETS, Alert


@dataclass(frozen=True)
class Query:
    source: str  # "rule <file>/<name>" or "dashboard <uid>/<panel title>"
    expr: str  # as shipped; dashboard queries still hold Grafana variables
    may_be_empty: bool
    targets: tuple[str, ...] = ALL_TARGETS

    def promql(self, rate_interval: str = "1m") -> str:
        """The expression as Grafana would send it with every variable set to "All"."""
        return (
            self.expr.replace("$__rate_interval", rate_interval)
            .replace("$env", ".*")
            .replace("$instance", ".*")
        )

    def metric_names(self) -> set[str]:
        return metric_names(self.expr)


def rule_queries(config: Config) -> list[Query]:
    found = []
    for group in rules.groups(config):
        for rule in group.rules:
            if isinstance(rule, Alert):
                found.append(Query(f"rule {group.file}/{rule.name}", rule.expr, True, rule.targets))
            else:
                found.append(
                    Query(f"rule {group.file}/{rule.record}", rule.expr, rule.may_be_empty)
                )
    return found


def dashboard_queries(config: Config) -> list[Query]:
    return [
        Query(f"dashboard {spec.uid}/{panel.title} #{index}", target.expr, target.may_be_empty)
        for spec in dashboards.specs(config)
        for row in spec.rows
        for panel in row.panels
        for index, target in enumerate(panel.targets, start=1)
    ]


def all_queries(config: Config = DEFAULT) -> list[Query]:
    return rule_queries(config) + dashboard_queries(config)


JOB_SELECTOR = re.compile(r'\bjob=~?"([^"]+)"')


def selected_jobs(config: Config = DEFAULT) -> set[str]:
    """Scrape jobs the rules and dashboards select, `job=~"a|b"` split into its alternatives."""
    return {
        job
        for query in all_queries(config)
        for match in JOB_SELECTOR.findall(query.expr)
        for job in match.split("|")
    }


def not_on_kubernetes(config: Config = DEFAULT) -> dict[str, str]:
    """Selected jobs that have no scrape target on Kubernetes, and why."""
    return {
        config.jobs.blackbox: "no blackbox exporter on Kubernetes: the Gateway's certificates "
        "are cert-manager Certificates, renewed by cert-manager",
        config.jobs.prometheus: "kube-prometheus-stack names Prometheus's own job "
        "monitoring-prometheus and its Prometheus alerts (PrometheusRuleFailures among them) "
        "select that name; renaming it would silence them",
    }


def kubernetes_jobs(config: Config = DEFAULT) -> set[str]:
    """The jobs a Kubernetes platform must scrape for the rules and dashboards to work."""
    return selected_jobs(config) - set(not_on_kubernetes(config))

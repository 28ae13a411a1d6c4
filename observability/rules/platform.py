"""Alerts on the monitoring itself and on what every target shares: scrape targets,
rule evaluation, certificates."""

from __future__ import annotations

from observability.config import Config
from observability.rules.model import Alert, Group


def group(config: Config) -> Group:
    env = config.environment_label
    limits = config.thresholds
    rules = (
        Alert(
            name="TargetDown",
            expr="up == 0",
            for_=config.timing.target_down_for,
            severity="warning",
            summary="Prometheus cannot scrape a target.",
            description=(
                "{{ $labels.job }} target {{ $labels.instance }} in {{ $labels."
                + env
                + " }} has been down for "
                + config.timing.target_down_for
                + "."
            ),
        ),
        Alert(
            name="PrometheusRuleEvaluationFailures",
            expr=(
                f"sum by ({env}, job, instance) (increase("
                f'prometheus_rule_evaluation_failures_total{{job="{config.jobs.prometheus}"}}'
                "[5m])) > 0"
            ),
            for_=config.timing.symptom_for,
            severity="critical",
            summary="Prometheus fails to evaluate rules; alerts may be missing.",
            description=(
                "{{ $labels.instance }} failed {{ $value | humanize }} rule evaluations "
                "in the last 5 minutes."
            ),
        ),
        Alert(
            name="CertificateExpiringSoon",
            expr=(
                "certmanager_certificate_expiration_timestamp_seconds - time()\n< "
                f"{limits.certificate_days:g} * 86400\n"
            ),
            for_=config.timing.symptom_for,
            severity="warning",
            summary="A TLS certificate expires soon and is not being renewed.",
            description=(
                "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in "
                "{{ $value | humanizeDuration }}; cert-manager should have renewed it."
            ),
            # cert-manager exports this; hosts use the blackbox probe below.
            targets=("kubernetes",),
        ),
        Alert(
            name="TlsEndpointCertificateExpiringSoon",
            expr=(
                f'probe_ssl_earliest_cert_expiry{{job="{config.jobs.blackbox}"}} - time()\n< '
                f"{limits.certificate_days:g} * 86400\n"
            ),
            for_=config.timing.symptom_for,
            severity="warning",
            summary="A TLS endpoint serves a certificate that expires soon.",
            description=(
                "{{ $labels.instance }} in {{ $labels." + env + " }} presents a certificate "
                "that expires in {{ $value | humanizeDuration }}."
            ),
        ),
    )
    return Group(file="platform", name="platform", rules=rules)

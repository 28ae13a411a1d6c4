"""Observability as code for Orgo: one config, from which Prometheus rules, Alertmanager
routing, Grafana dashboards and the Elastic log schema are generated.

`python -m observability.generate` writes every generated file; `observability.queries`
lists every query for live checks.
"""

"""`python -m verify --stack dev [--context C] [--kubeconfig F] [--wait [--timeout S]]`:
is the platform of a stack healthy? Prints a table of checks; exits 0 when all pass, 1
naming the failures, 2 when there is no cluster to ask or the stack is invalid."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from infra.components import edge, monitoring
from infra.components.orgo import NAMESPACE as ORGO_NAMESPACE
from infra.config import ConfigError
from infra.program import MONITORING
from infra.render import stack_config_values
from verify import expectations, health, probes
from verify.cluster import Cluster, ServiceProxy, UnreachableError
from verify.expectations import Expectations, label
from verify.http import Http, UrlHttp
from verify.report import Check, run_checks, summary, table

API_DEPLOYMENT = "orgo-api"

Obj = Mapping[str, Any]
Rule = Callable[[Obj], health.Health]


def existing(cluster: Cluster, objects: tuple[Obj, ...]) -> health.Health:
    missing = []
    for obj in objects:
        if cluster.get(obj) is None and not _cleaned_up_job(obj):
            missing.append(label(obj))
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return health.Health(False, f"missing: {', '.join(missing[:5])}{more}")
    return health.Health(True, f"all {len(objects)} rendered objects exist")


def _cleaned_up_job(obj: Obj) -> bool:
    """A finished Job with a TTL is deleted by Kubernetes: gone is then what success looks like."""
    return obj["kind"] == "Job" and "ttlSecondsAfterFinished" in obj.get("spec", {})


def judge(cluster: Cluster, obj: Obj, rule: Rule) -> health.Health:
    live = cluster.get(obj)
    if live is None:
        if _cleaned_up_job(obj):
            return health.Health(True, "finished and removed after its ttlSecondsAfterFinished")
        return health.Health(False, "does not exist")
    return rule(live)


def _judging(cluster: Cluster, obj: Obj, rule: Rule) -> Callable[[], health.Health]:
    return partial(judge, cluster, obj, rule)


def _find(objects: tuple[Obj, ...], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


class Gateway:
    """Https to the Gateway's address with a hostname it serves (SNI and Host)."""

    def __init__(self, cluster: Cluster, expected: Expectations) -> None:
        self._cluster = cluster
        self._gateway = _find(expected.objects, "Gateway", edge.GATEWAY)
        issuers = [o for o in expected.objects if o["kind"] in ("ClusterIssuer", "Issuer")]
        # A self-signed issuer's certificate chains to nothing a client trusts.
        self.verify = not any("selfSigned" in o.get("spec", {}) for o in issuers)

    def http(self, host: str) -> Http:
        live = self._cluster.get(self._gateway) or {}
        addresses = (live.get("status") or {}).get("addresses") or []
        if not addresses:
            raise LookupError(f"Gateway {edge.NAMESPACE}/{edge.GATEWAY} has no address yet")
        return UrlHttp(f"https://{addresses[0]['value']}", host=host, verify=self.verify)


class LazyHttp:
    """An Http made on first use (the Gateway may get its address only later)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._http: Http | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            self._http = self._make()
        return self._http.request(method, path, **kwargs)


def checks(cluster: Cluster, expected: Expectations) -> list[Check]:
    found = [Check("rendered objects exist", lambda: existing(cluster, expected.objects))]
    found += [Check(label(obj), _judging(cluster, obj, rule)) for obj, rule in expected.judged()]
    prometheus = ServiceProxy(
        cluster, MONITORING, monitoring.PROMETHEUS_SERVICE, monitoring.PROMETHEUS_PORT
    )
    found += [
        Check(f"prometheus job {job} up", partial(probes.prometheus_job_up, prometheus, job))
        for job in sorted(expected.jobs)
    ]
    found.append(Check("prometheus rules", lambda: probes.prometheus_rules_evaluate(prometheus)))
    gateway = Gateway(cluster, expected)
    grafana = LazyHttp(lambda: gateway.http(f"grafana.{expected.domain}"))

    def dashboards() -> health.Health:
        admin = cluster.secret(MONITORING, monitoring.GRAFANA_ADMIN_SECRET)
        user, password = admin["admin-user"], admin["admin-password"]
        return probes.grafana_dashboards(grafana, user, password, expected.dashboards)

    found.append(Check("grafana dashboards", dashboards))
    api_pods = _find(expected.objects, "Deployment", API_DEPLOYMENT)["spec"]["selector"]
    selector = ",".join(f"{k}={v}" for k, v in api_pods["matchLabels"].items())

    def create_user(email: str, password: str) -> None:
        command = ["orgo", "user", "create", "--email", email]
        cluster.exec(ORGO_NAMESPACE, selector, command, password + "\n")

    smoke = probes.ApiSmoke(LazyHttp(lambda: gateway.http(expected.domain)), create_user)
    found += [
        Check("api /healthz via Gateway", smoke.healthz),
        Check("api login (throwaway user)", smoke.login),
        Check("api task create", smoke.create_task),
        Check("worker activity entry", smoke.worker_activity),
    ]
    return found


def stack_context(stack: str) -> str | None:
    """`kubernetes:context` of Pulumi.<stack>.yaml (the provider's own key), if set."""
    return stack_config_values(stack)[0].get("kubernetes:context")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__)
    parser.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml")
    parser.add_argument("--kubeconfig", help="default: $KUBECONFIG or ~/.kube/config")
    parser.add_argument("--context", help="default: the stack's kubernetes:context, or current")
    parser.add_argument("--wait", action="store_true", help="re-run failing checks until --timeout")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for --wait (900)")
    args = parser.parse_args(argv)
    try:
        context = args.context or stack_context(args.stack)
        cluster = Cluster(args.kubeconfig, context)
        expected = expectations.for_stack(args.stack)
    except (UnreachableError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = run_checks(checks(cluster, expected), args.timeout if args.wait else 0)
    print(table(results))
    code, closing = summary(results)
    print(closing)
    return code

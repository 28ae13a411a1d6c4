"""What a healthy platform of a stack looks like, derived from that stack's render (the
objects `make manifests` writes), never listed by hand: each rendered object must exist;
workloads and custom resources are judged by their kind (verify.health); Prometheus must
scrape every job the shared rules and dashboards select; Grafana must hold every
dashboard of observability/."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra import observability
from infra.render import render, run
from observability.queries import kubernetes_jobs
from verify import health

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Expectations:
    objects: tuple[Obj, ...]
    domain: str
    jobs: frozenset[str]  # Prometheus jobs that must be up
    dashboards: frozenset[str]  # Grafana dashboard uids

    def judged(self) -> list[tuple[Obj, Callable[[Obj], health.Health]]]:
        """The objects that have a health of their own, with the rule for their kind."""
        found = []
        for obj in self.objects:
            rule = self._rule(obj)
            if rule is not None:
                found.append((obj, rule))
        return found

    def _rule(self, obj: Obj) -> Callable[[Obj], health.Health] | None:
        workload = health.WORKLOADS.get(str(obj["kind"]))
        if workload is None:
            return health.rule_for(obj)
        declared = self.declared_replicas(obj)
        return lambda live: workload(live, declared)

    def declared_replicas(self, obj: Obj) -> int:
        """spec.replicas, or the minReplicas of the HorizontalPodAutoscaler that owns it
        (the chart then leaves spec.replicas to the autoscaler)."""
        for hpa in self.objects:
            target = hpa.get("spec", {}).get("scaleTargetRef", {})
            same = hpa["metadata"].get("namespace") == obj["metadata"].get("namespace")
            if (
                hpa["kind"] == "HorizontalPodAutoscaler"
                and same
                and (
                    target.get("kind"),
                    target.get("name"),
                )
                == (obj["kind"], obj["metadata"]["name"])
            ):
                return int(hpa["spec"].get("minReplicas", 1))
        return int(obj.get("spec", {}).get("replicas", 1))


def label(obj: Obj) -> str:
    metadata = obj.get("metadata", {})
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj['kind']} {where}{metadata['name']}"


def dashboard_uids() -> frozenset[str]:
    return frozenset(json.loads(text)["uid"] for text in observability.dashboards().values())


def for_objects(objects: list[dict[str, Any]], domain: str) -> Expectations:
    return Expectations(tuple(objects), domain, frozenset(kubernetes_jobs()), dashboard_uids())


def for_stack(stack: str) -> Expectations:
    """Renders `stack` in-process (infra.render under Pulumi mocks, real helm), the charts
    and manifests it installs included: the operators are judged like our own workloads."""
    rendered = run(stack)
    domain = str(rendered.stack_outputs["apiUrl"]).removeprefix("https://")
    return for_objects(render(rendered).objects, domain)

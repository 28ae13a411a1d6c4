"""Small builders shared by the components: container resources, security contexts, labels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.config import Resources

# Makes Pulumi wait until cert-manager's cainjector has put the CA into a webhook
# configuration: before that the API server cannot call the webhook (x509 errors), and
# Pulumi does not retry such a create (cert-manager's own webhooks in place of its
# startupapicheck hook; the Prometheus operator's and the RabbitMQ operators' webhooks).
WAIT_FOR_CA_BUNDLE = {"pulumi.com/waitFor": "jsonpath={.webhooks[*].clientConfig.caBundle}"}
WEBHOOK_CONFIGURATION_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")

# The Pod Security "restricted" profile, for every container we define.
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def restricted_pod(uid: int) -> dict[str, Any]:
    """Pod-level securityContext: a fixed non-root uid/gid owning the volumes."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def awaited(metadata: dict[str, Any], condition: str) -> dict[str, Any]:
    """Metadata that makes Pulumi wait for the custom resource's status `condition`.

    Pulumi considers a custom resource ready once the API server accepts it; whatever
    depends on the component (the Orgo chart's migration Job) must wait for the service.
    """
    annotations = {
        **metadata.get("annotations", {}),
        "pulumi.com/waitFor": f"condition={condition}",
    }
    return {**metadata, "annotations": annotations}


def cpu_limit(cpu: str) -> str:
    """Twice the request: room for bursts (startup, JIT) without starving neighbours."""
    if cpu.endswith("m"):
        return f"{int(cpu[:-1]) * 2}m"
    return str(Decimal(cpu) * 2)


def resources(spec: Resources) -> dict[str, Any]:
    return {
        "requests": {"cpu": spec.cpu, "memory": spec.memory},
        "limits": {"cpu": cpu_limit(spec.cpu), "memory": spec.memory},
    }


def labels(component: str, part_of: str = "orgo-platform") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": part_of,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def spread_and_anti_affinity(selector: dict[str, str], replicas: int) -> dict[str, Any]:
    """Pod spec fields that put replicas on different nodes and zones (nothing for one)."""
    if replicas < 2:
        return {}
    match = {"matchLabels": selector}
    return {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": match, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": match,
            }
        ],
    }


# Fixed sizes for the light parts (PgBouncer, operators, chart side components): stated
# so the dev footprint is computed from what is declared, not guessed.
POOLER_RESOURCES = Resources(cpu="50m", memory="64Mi")
OPERATOR_RESOURCES = Resources(cpu="100m", memory="192Mi")
SIDECAR_RESOURCES = Resources(cpu="20m", memory="64Mi")


def disruption_budget(
    name: str, namespace: str, selector: dict[str, str], opts: pulumi.ResourceOptions
) -> None:
    """At most one pod of a replicated service down at a time for voluntary disruptions."""
    spec: Any = {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb", metadata={"name": name, "namespace": namespace}, spec=spec, opts=opts
    )

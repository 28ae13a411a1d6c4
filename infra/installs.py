"""The objects of the charts and operator manifests the program installs.

Under mocks, Helm v4 Chart and yaml.v2 ConfigFile resources register without children.
This module expands each one as the provider would apply it: `helm template` of the
resolved chart file with the values the program passed (CRDs included; Helm hooks left out,
as Helm v4 Chart leaves them out, and kept aside for review), or the manifest file's
documents, and the release namespace on namespaced objects that do not name one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.artefacts import Artefact, owning
from infra.helm import helm_template, is_hook, load_all
from infra.mocks import SECRET_MASK, RegisteredResource

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
MANIFEST_TYPE = "kubernetes:yaml/v2:ConfigFile"
INSTALL_TYPES = (CHART_TYPE, MANIFEST_TYPE)
# Built-in kinds that are not namespaced (CRDs say so themselves: spec.scope).
CLUSTER_SCOPED = {
    "APIService",
    "ClusterRole",
    "ClusterRoleBinding",
    "CSIDriver",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
}


@dataclass(frozen=True)
class Install:
    """One chart or manifest the program installs, and the objects it applies."""

    resource: RegisteredResource
    artefact: Artefact
    namespace: str | None
    values: dict[str, Any]  # as passed by the program, secrets masked
    objects: list[dict[str, Any]]
    # The chart's Helm hooks, which Helm would run around the install and Pulumi never
    # applies (tests/infra/test_chart_hooks.py reviews each).
    hooks: list[dict[str, Any]]

    @property
    def release(self) -> str:
        return str(self.resource.inputs.get("name") or self.resource.name)


def expand(resources: Iterable[RegisteredResource], kube_version: str) -> list[Install]:
    """Every chart and manifest install among `resources`, with its objects."""
    resources = list(resources)
    installs = [_expand(r, kube_version) for r in resources if r.type in INSTALL_TYPES]
    scopes = crd_scopes(o for i in installs for o in i.objects)
    for install in installs:
        default = install.namespace or "default"
        for obj in install.objects:
            namespaced = scopes.get(obj["kind"], obj["kind"] not in CLUSTER_SCOPED)
            if namespaced:
                obj["metadata"].setdefault("namespace", default)
    return installs


def _expand(resource: RegisteredResource, kube_version: str) -> Install:
    inputs = resource.masked_inputs
    if resource.type == CHART_TYPE:
        found = owning(str(inputs["chart"]))
        namespace = inputs.get("namespace")
        values = inputs.get("values") or {}
        release = str(inputs.get("name") or resource.name)
        rendered = helm_template(
            release, found.path, namespace or "default", values, kube_version=kube_version
        )
        objects = [_masked(o) for o in rendered if not is_hook(o)]
        return Install(
            resource, found, namespace, values, objects, [o for o in rendered if is_hook(o)]
        )
    path = Path(str(inputs["file"]))
    return Install(resource, owning(str(path)), None, {}, load_manifest(path), [])


def load_manifest(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return [doc for doc in load_all(text) if doc]


def _masked(obj: dict[str, Any]) -> dict[str, Any]:
    """A chart's Secret with its values hidden: charts generate keys and passwords at
    render time, which must not be written out (and differ from render to render)."""
    if obj.get("kind") != "Secret":
        return obj
    for field in ("data", "stringData"):
        if isinstance(obj.get(field), dict):
            obj[field] = dict.fromkeys(obj[field], SECRET_MASK)
    return obj


def crd_scopes(objects: Iterable[dict[str, Any]]) -> dict[str, bool]:
    """Kind -> namespaced, for the custom resources the CRDs among `objects` define."""
    return {
        o["spec"]["names"]["kind"]: o["spec"].get("scope") == "Namespaced"
        for o in objects
        if o.get("kind") == "CustomResourceDefinition"
    }

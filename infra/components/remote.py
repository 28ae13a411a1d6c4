"""Installs of the pinned charts and operator manifests (versions.yaml), from the checked
local files infra.artefacts resolves (a mirror, or the upstream download cache)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.artefacts import artefact, derived_manifest


def chart(
    name: str, key: str, namespace: pulumi.Input[str], values: Any, opts: pulumi.ResourceOptions
) -> k8s.helm.v4.Chart:
    """A Helm chart rendered by Pulumi (Helm v4 Chart), CRDs and objects applied in order.
    The release is named after the resource (`name`), as Helm v4 Chart does by default."""
    return k8s.helm.v4.Chart(
        name, chart=str(artefact(key).path), namespace=namespace, values=values, opts=opts
    )


def manifest(
    name: str,
    key: str,
    opts: pulumi.ResourceOptions,
    drop_kinds: frozenset[str] = frozenset(),
    annotate: Mapping[str, Mapping[str, str]] | None = None,
) -> k8s.yaml.v2.ConfigFile:
    """An operator's release manifest, applied as-is but for its objects of `drop_kinds`
    (which another resource applies, e.g. a Namespace two manifests share) and the
    annotations `annotate` adds per kind (e.g. what Pulumi should wait for)."""
    changed = bool(drop_kinds or annotate)
    path = derived_manifest(key, drop_kinds, annotate) if changed else artefact(key).path
    return k8s.yaml.v2.ConfigFile(name, file=str(path), opts=opts)

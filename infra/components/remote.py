"""Installs of remote, pinned charts and operator manifests (versions.yaml)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.versions import versions


def chart(
    name: str, key: str, namespace: pulumi.Input[str], values: Any, opts: pulumi.ResourceOptions
) -> k8s.helm.v4.Chart:
    """A Helm chart rendered by Pulumi (Helm v4 Chart), CRDs and objects applied in order."""
    pin = versions().charts[key]
    oci = pin.repo.startswith("oci://")
    return k8s.helm.v4.Chart(
        name,
        chart=f"{pin.repo}/{pin.chart}" if oci else pin.chart,
        version=pin.version,
        repository_opts=None if oci else {"repo": pin.repo},
        namespace=namespace,
        values=values,
        opts=opts,
    )


def manifest(name: str, key: str, opts: pulumi.ResourceOptions) -> k8s.yaml.v2.ConfigFile:
    """An operator's release manifest, applied as-is."""
    return k8s.yaml.v2.ConfigFile(name, file=versions().operators[key].url, opts=opts)

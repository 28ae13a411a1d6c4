"""The platform: one component per capability, wired together. Stack config decides sizes."""

from __future__ import annotations

from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.config import StackConfig


def deploy(cfg: StackConfig) -> None:
    PlatformNamespace("orgo", NamespaceArgs(name="orgo"))

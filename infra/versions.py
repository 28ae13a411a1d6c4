"""The Kubernetes range, chart, operator-manifest and image pins of versions.yaml, typed."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent

Minor = Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")]


def minor_number(minor: str) -> int:
    """ "1.36" -> 36, for comparing Kubernetes minors."""
    return int(minor.split(".")[1])


class _Pin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MinorRange(_Pin):
    """Kubernetes minors from `oldest` to `newest` (None: no upper bound stated)."""

    oldest: Minor
    newest: Minor | None = None

    def covers(self, minor: str) -> bool:
        above = minor_number(minor) >= minor_number(self.oldest)
        return above and (self.newest is None or minor_number(minor) <= minor_number(self.newest))

    def __str__(self) -> str:
        return f"{self.oldest}-{self.newest}" if self.newest else f"{self.oldest}+"


class KubernetesPins(MinorRange):
    newest: Minor
    default: Minor

    @model_validator(mode="after")
    def _default_in_range(self) -> KubernetesPins:
        if not self.covers(self.default):
            raise ValueError(f"default {self.default} is outside {self}")
        return self


class ChartPin(_Pin):
    repo: str
    chart: str
    version: str
    kubernetes: MinorRange  # the minors the chart's application supports (its docs)


class ManifestPin(_Pin):
    version: str
    url: str  # `{version}` stands for the version

    @property
    def download_url(self) -> str:
        return self.url.replace("{version}", self.version)


class ImagePin(_Pin):
    repository: str
    tag: str
    digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None

    @property
    def ref(self) -> str:
        """What a pod pulls: `repository:tag`, pinned to the digest when one is given."""
        base = f"{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


class Versions(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    kubernetes: KubernetesPins
    charts: dict[str, ChartPin]
    operators: dict[str, ManifestPin]
    images: dict[str, ImagePin]


@functools.cache
def versions() -> Versions:
    raw = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))
    return Versions.model_validate(raw)

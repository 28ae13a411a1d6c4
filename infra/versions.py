"""The chart, operator-manifest and image pins of versions.yaml, typed."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class ChartPin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str
    chart: str
    version: str


class ManifestPin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str


class ImagePin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


class Versions(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    charts: dict[str, ChartPin]
    operators: dict[str, ManifestPin]
    images: dict[str, ImagePin]


@functools.cache
def versions() -> Versions:
    raw = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text(encoding="utf-8"))
    return Versions.model_validate(raw)

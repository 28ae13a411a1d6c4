"""Versions of the AWS layer, read from the `aws:` section of versions.yaml (the one place)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

VERSIONS_FILE = Path(__file__).resolve().parents[2] / "versions.yaml"


class AwsPins(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    eks_version: str
    eks_addons: dict[str, str]
    postgres_engine: str
    postgres_parameter_family: str
    redis_engine: str
    redis_parameter_family: str
    rabbitmq_engine: str


@cache
def aws_pins() -> AwsPins:
    with VERSIONS_FILE.open(encoding="utf-8") as handle:
        return AwsPins.model_validate(yaml.safe_load(handle)["aws"])

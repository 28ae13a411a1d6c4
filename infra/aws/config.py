"""Typed config of the AWS layer (stack config key `orgo:aws`)."""

from pydantic import BaseModel, ConfigDict


class AwsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str

"""The app image's ECR repository: immutable tags, scanned on push, untagged images
expire, its URL a stack output, and the AWS stacks deploy from it."""

from __future__ import annotations

import json

import pytest

from infra import render
from infra.aws.config import AwsConfig
from infra.config import parse_stack_config

from .conftest import AWS_STACKS, AwsAwareMocks, Run
from .test_aws_config import stack_file

REPOSITORY = "aws:ecr/repository:Repository"


def test_tags_are_immutable_and_images_scanned_on_push(foundation_run: Run) -> None:
    repository = foundation_run.one(REPOSITORY).inputs
    assert repository["name"] == f"{foundation_run.config.name}/orgo"
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["forceDelete"] is False


def test_untagged_images_expire_and_releases_stay(foundation_run: Run) -> None:
    (policy,) = foundation_run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    rules = json.loads(policy.inputs["policy"])["rules"]
    assert [(r["selection"]["tagStatus"], r["action"]["type"]) for r in rules] == [
        ("untagged", "expire")
    ]
    assert rules[0]["selection"]["countType"] == "sinceImagePushed"
    assert policy.inputs["repository"] == foundation_run.one(REPOSITORY).inputs["name"]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_repository_url_is_a_stack_output(stack: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "PlatformMocks", AwsAwareMocks)
        outputs = render.run(stack).stack_outputs
    name = AwsConfig.model_validate(stack_file(stack)["aws"]).name
    assert outputs["imageRepositoryUrl"].endswith(f".amazonaws.com/{name}/orgo")
    assert outputs["clusterName"] == name


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_aws_stacks_deploy_the_image_from_their_repository(stack: str) -> None:
    """ECR's URL is <account>.dkr.ecr.<region>.amazonaws.com/<repository name>."""
    config = parse_stack_config(stack_file(stack))
    assert config.aws is not None
    aws = config.aws
    expected = f"{aws.account_id}.dkr.ecr.{aws.region}.amazonaws.com/{aws.name}/orgo"
    assert config.platform.orgo.image.repository == expected

"""ECR: the app image's repository in the stack's account and region (docs/aws.md)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.tags import resource_tags

# Untagged images are what an overwritten multi-arch push or a failed build leaves behind;
# tagged ones are releases (tags are immutable) and stay until someone deletes them.
UNTAGGED_EXPIRY_DAYS = 14


def _untagged_expiry() -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"untagged images go after {UNTAGGED_EXPIRY_DAYS} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_EXPIRY_DAYS,
                    },
                    "action": {"type": "expire"},
                }
            ]
        },
        sort_keys=True,
    )


class ImageRepository(pulumi.ComponentResource):
    """`<project>-<environment>/orgo`: immutable tags, scanned on push, encrypted with the
    data key. The nodes pull from it with their role (AmazonEC2ContainerRegistryPullOnly)
    through the VPC's ECR endpoints."""

    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        data_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:ImageRepository", name, None, opts)
        repository = aws.ecr.Repository(
            name,
            name=f"{config.name}/orgo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=data_key_arn
                )
            ],
            # Released images are kept: deleting the stack must not delete them with it.
            force_delete=False,
            tags=resource_tags(config.tags, name),
            opts=pulumi.ResourceOptions(parent=self, protect=config.protection.deletion_protection),
        )
        aws.ecr.LifecyclePolicy(
            name,
            repository=repository.name,
            policy=_untagged_expiry(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = repository.repository_url
        self.register_outputs({"url": self.url})

"""Customer-managed KMS keys: one for data at rest, one for Kubernetes Secrets in etcd."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.iam import policy_document
from infra.aws.tags import resource_tags


def _key_policy(config: AwsConfig, *, for_logs_and_nodes: bool) -> str:
    account = f"arn:aws:iam::{config.account_id}"
    statements: list[dict[str, object]] = [
        # Without this the key becomes unmanageable; IAM policies then grant the rest.
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if for_logs_and_nodes:
        statements += [
            {
                "Sid": "CloudWatchLogsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{config.region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:aws:logs:{config.region}:{config.account_id}:*"
                        )
                    }
                },
            },
            # Node groups launch encrypted root volumes through the Auto Scaling service role.
            {
                "Sid": "AutoScalingEncryptsNodeVolumes",
                "Effect": "Allow",
                "Principal": {
                    "AWS": f"{account}:role/aws-service-role/autoscaling.amazonaws.com/"
                    "AWSServiceRoleForAutoScaling"
                },
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                    "kms:CreateGrant",
                ],
                "Resource": "*",
            },
        ]
    return policy_document(statements)


class EncryptionKeys(pulumi.ComponentResource):
    """`data`: S3, RDS, ElastiCache, EBS, logs. `eks_secrets`: envelope encryption of Secrets."""

    def __init__(
        self, name: str, config: AwsConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:aws:EncryptionKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.data = self._key(f"{name}-data", config, "Orgo data at rest", True, child)
        self.eks_secrets = self._key(
            f"{name}-eks-secrets", config, "Orgo EKS Secrets envelope", False, child
        )
        self.register_outputs({"data": self.data.arn, "eks_secrets": self.eks_secrets.arn})

    @staticmethod
    def _key(
        name: str, config: AwsConfig, description: str, shared: bool, opts: pulumi.ResourceOptions
    ) -> aws.kms.Key:
        key = aws.kms.Key(
            name,
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_key_policy(config, for_logs_and_nodes=shared),
            tags=resource_tags(config.tags, name),
            opts=opts,
        )
        aws.kms.Alias(name, name=f"alias/{name}", target_key_id=key.key_id, opts=opts)
        return key

"""S3 for the app's files and for backups, and the Pod Identity roles that reach them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig, ServiceAccountRef
from infra.aws.iam import pod_identity_role, policy_document
from infra.aws.tags import resource_tags
from infra.components import elastic, postgres

# Each role reaches only one key prefix of its bucket, and only its service account gets
# it: the app under app/ of the files bucket; CloudNativePG (base backups and WAL) under
# postgres/ and Elasticsearch snapshots under elasticsearch/ of the backups bucket.
APP_PREFIX = "app/"
POSTGRES_PREFIX = "postgres/"
ELASTICSEARCH_PREFIX = f"{elastic.SNAPSHOT_BASE_PATH}/"
# CloudNativePG names the cluster's pods' service account after the cluster.
POSTGRES_ACCOUNT = ServiceAccountRef(namespace=postgres.NAMESPACE, name=postgres.CLUSTER)
ELASTICSEARCH_ACCOUNT = ServiceAccountRef(
    namespace=elastic.NAMESPACE, name=elastic.SNAPSHOT_SERVICE_ACCOUNT
)
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
# Backups move to infrequent access after a month; restores are rare.
BACKUP_INFREQUENT_ACCESS_DAYS = 30


def bucket_name(config: AwsConfig, purpose: str) -> str:
    """Bucket names are global: account and region make this one unique and findable."""
    return f"{config.name}-{purpose}-{config.account_id}-{config.region}"


def postgres_backup_destination(config: AwsConfig) -> str:
    """Where CloudNativePG's barman writes (base backups and WAL) when on AWS."""
    return f"s3://{bucket_name(config, 'backups')}/{POSTGRES_PREFIX.rstrip('/')}"


def postgres_backup_retention(config: AwsConfig) -> str:
    """barman's recovery window, which closes before S3 expires what it needs: the oldest
    (daily) base backup in the window and the WAL after it, with a day to spare."""
    return f"{config.storage.backup_expiry_days - 2}d"


class SecureBucket(pulumi.ComponentResource):
    """SSE-KMS (or SSE-S3), versioned, owner-enforced, no public access, TLS-only,
    lifecycle-managed."""

    bucket: aws.s3.Bucket

    def __init__(
        self,
        name: str,
        purpose: str,
        config: AwsConfig,
        key_arn: pulumi.Input[str] | None,
        rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs],
        opts: pulumi.ResourceOptions | None = None,
        grants: Callable[[pulumi.Output[str]], pulumi.Input[list[Any]]] | None = None,
    ) -> None:
        """`key_arn` None: SSE-S3 (AES-256). `grants`: the bucket's ARN -> Allow statements
        added to the policy after the TLS-only denial."""
        super().__init__("orgo:aws:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name(config, purpose),
            force_destroy=False,
            tags=resource_tags(config.tags, name),
            opts=pulumi.ResourceOptions(parent=self, protect=config.protection.deletion_protection),
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256" if key_arn is None else "aws:kms",
                        kms_master_key_id=key_arn,
                    ),
                    bucket_key_enabled=key_arn is not None,
                )
            ],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            name,
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=list(rules),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=pulumi.Output.all(
                self.bucket.arn, grants(self.bucket.arn) if grants else []
            ).apply(lambda arn_grants: _tls_only_policy(arn_grants[0], arn_grants[1])),
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


def _tls_only_policy(bucket_arn: str, grants: Sequence[Any]) -> str:
    return policy_document(
        [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            *grants,
        ]
    )


def lifecycle_rules(
    noncurrent_days: int, expire: tuple[str, int] | None
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Every object: stale uploads aborted, old versions dropped. `expire` (prefix, days):
    objects under that prefix are deleted after `days`. Never Elasticsearch's prefix: its
    snapshots share files across days and SLM retention deletes what no snapshot needs."""
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=noncurrent_days
            ),
        )
    ]
    if expire is None:
        return rules
    prefix, days = expire
    transitions = None
    if days > BACKUP_INFREQUENT_ACCESS_DAYS:
        transitions = [
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=BACKUP_INFREQUENT_ACCESS_DAYS, storage_class="STANDARD_IA"
            )
        ]
    rules.append(
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=f"expire-{prefix.rstrip('/')}",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            transitions=transitions,
        )
    )
    return rules


def prefix_access_policy(
    bucket_arn: pulumi.Input[str], prefixes: Sequence[str], key_arn: pulumi.Input[str]
) -> pulumi.Output[str]:
    """Read/write objects under `prefixes` of one bucket, and use the key through S3 only."""

    def render(bucket: str, key: str) -> str:
        return policy_document(
            [
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": bucket,
                    "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
                },
                {
                    "Effect": "Allow",
                    "Action": OBJECT_ACTIONS,
                    "Resource": [f"{bucket}/{p}*" for p in prefixes],
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key,
                    "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
                },
            ]
        )

    return pulumi.Output.all(bucket_arn, key_arn).apply(
        lambda args: render(str(args[0]), str(args[1]))
    )


class Storage(pulumi.ComponentResource):
    """The files and backups buckets, and one Pod Identity role per prefix."""

    files: SecureBucket
    backups: SecureBucket
    app_role: aws.iam.Role
    # Only when PostgreSQL runs in the cluster (CloudNativePG); RDS keeps its own backups.
    postgres_backup_role: aws.iam.Role | None
    elasticsearch_snapshot_role: aws.iam.Role

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        cluster_name: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:Storage", name, None, opts)
        self._name = name
        self._config = config
        self._cluster_name = cluster_name
        self._key_arn = key_arn
        self._child = pulumi.ResourceOptions(parent=self)
        days = config.storage
        self.files = SecureBucket(
            f"{name}-files",
            "files",
            config,
            key_arn,
            lifecycle_rules(days.noncurrent_version_days, None),
            self._child,
        )
        self.backups = SecureBucket(
            f"{name}-backups",
            "backups",
            config,
            key_arn,
            lifecycle_rules(
                days.noncurrent_version_days, (POSTGRES_PREFIX, days.backup_expiry_days)
            ),
            self._child,
        )
        self.app_role = self._role("app", self.files, APP_PREFIX, config.identities.app)
        self.postgres_backup_role = None
        if config.services.postgres.mode == "in-cluster":
            self.postgres_backup_role = self._role(
                "postgres-backups", self.backups, POSTGRES_PREFIX, [POSTGRES_ACCOUNT]
            )
        self.elasticsearch_snapshot_role = self._role(
            "elasticsearch-snapshots", self.backups, ELASTICSEARCH_PREFIX, [ELASTICSEARCH_ACCOUNT]
        )
        self.register_outputs(
            {
                "files_bucket": self.files.bucket.bucket,
                "backup_bucket": self.backups.bucket.bucket,
                "app_role_arn": self.app_role.arn,
                "elasticsearch_snapshot_role_arn": self.elasticsearch_snapshot_role.arn,
            }
        )

    def _role(
        self,
        purpose: str,
        bucket: SecureBucket,
        prefix: str,
        service_accounts: Sequence[ServiceAccountRef],
    ) -> aws.iam.Role:
        return pod_identity_role(
            f"{self._name}-{purpose}",
            prefix_access_policy(bucket.bucket.arn, [prefix], self._key_arn),
            (self._cluster_name, service_accounts),
            self._config.tags,
            self._child,
        )

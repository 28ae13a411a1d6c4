"""Policy assertions over the AWS plan (the component graph and the whole stack).

Encryption at rest everywhere, nothing public but the load balancer on 443, no IAM
statement allowing `*` on `*`, every taggable resource tagged, deletion protection and
backups on stateful services in prod.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from infra.mocks import RegisteredResource

from .conftest import Run

OPEN_TO_ALL = {"0.0.0.0/0", "::/0"}
WEB_BUCKET = "orgo-cdn-assets"  # infra.aws.cdn: the one bucket something outside reads
REQUIRED_TAGS = ("Project", "Environment", "Owner", "CostCentre")
# Inputs that hold IAM / resource policy documents, per resource type.
POLICY_INPUTS = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}


def _encrypted_bucket(run: Run, resource: RegisteredResource) -> bool:
    configs = run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    rules = [
        rule["applyServerSideEncryptionByDefault"]
        for config in configs
        if config.inputs["bucket"] == resource.name
        for rule in config.inputs["rules"]
    ]
    if resource.name == WEB_BUCKET:
        # The UI's files are public through CloudFront: SSE-S3, no key policy to open.
        return bool(rules) and all(
            r["sseAlgorithm"] == "AES256" and not r.get("kmsMasterKeyId") for r in rules
        )
    return bool(rules) and all(
        r["sseAlgorithm"] == "aws:kms" and r.get("kmsMasterKeyId") for r in rules
    )


def _encrypted_volumes(_: Run, template: RegisteredResource) -> bool:
    return all(
        m["ebs"]["encrypted"] == "true" and m["ebs"].get("kmsKeyId")
        for m in template.inputs["blockDeviceMappings"]
    )


# Every resource type that stores data, and how it proves encryption at rest.
ENCRYPTED_AT_REST: dict[str, Callable[[Run, RegisteredResource], bool]] = {
    "aws:s3/bucket:Bucket": _encrypted_bucket,
    "aws:rds/instance:Instance": lambda _, r: (
        r.inputs["storageEncrypted"] is True
        and bool(r.inputs.get("kmsKeyId"))
        and bool(r.inputs.get("performanceInsightsKmsKeyId"))
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda _, r: (
        r.inputs["atRestEncryptionEnabled"] is True
        and r.inputs["transitEncryptionEnabled"] is True
        and bool(r.inputs.get("kmsKeyId"))
    ),
    "aws:cloudwatch/logGroup:LogGroup": lambda _, r: bool(r.inputs.get("kmsKeyId")),
    "aws:ec2/launchTemplate:LaunchTemplate": _encrypted_volumes,
    "aws:eks/cluster:Cluster": lambda _, r: (
        r.inputs["encryptionConfig"]["resources"] == ["secrets"]
    ),
    # Amazon MQ for RabbitMQ always encrypts at rest with an AWS-owned key (no option).
    "aws:mq/broker:Broker": lambda _, r: r.inputs["engineType"] == "RabbitMQ",
    "kubernetes:storage.k8s.io/v1:StorageClass": lambda _, r: (
        r.inputs["parameters"]["encrypted"] == "true" and bool(r.inputs["parameters"]["kmsKeyId"])
    ),
    "aws:kms/key:Key": lambda _, r: r.inputs["enableKeyRotation"] is True,
    # The stack's data key, not ECR's default AES-256 with an AWS-owned key.
    "aws:ecr/repository:Repository": lambda _, r: (
        [
            (c["encryptionType"], c["kmsKey"].rsplit(":", 1)[-1])
            for c in r.inputs["encryptionConfigurations"]
        ]
        == [("KMS", "orgo-keys-data")]
    ),
}


def test_every_data_store_is_encrypted_at_rest(any_run: Run) -> None:
    checked = set()
    for resource in any_run.resources:
        check = ENCRYPTED_AT_REST.get(resource.type)
        if check is None:
            continue
        assert check(any_run, resource), f"{resource.type} {resource.name} is not encrypted"
        checked.add(resource.type)
    # The stores every AWS stack has (RDS/ElastiCache/MQ depend on the config).
    assert {
        "aws:s3/bucket:Bucket",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/cluster:Cluster",
        "aws:ecr/repository:Repository",
    } <= checked


def test_only_the_load_balancer_is_open_to_the_internet_and_only_on_443(any_run: Run) -> None:
    open_rules: list[dict[str, Any]] = []
    for rule in any_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        sources = {rule.inputs.get("cidrIpv4"), rule.inputs.get("cidrIpv6")}
        if sources & OPEN_TO_ALL:
            open_rules.append(rule.inputs)
    for group in any_run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress"), f"inline ingress on {group.name}"
    assert len(open_rules) == 1, open_rules
    (only,) = open_rules
    assert (only["ipProtocol"], only["fromPort"], only["toPort"]) == ("tcp", 443, 443)
    assert only["securityGroupId"].endswith("-load-balancer")


def test_nothing_else_is_publicly_reachable(any_run: Run) -> None:
    for subnet in any_run.of_type("aws:ec2/subnet:Subnet"):
        assert subnet.inputs["mapPublicIpOnLaunch"] is False, subnet.name
    for resource_type in ("aws:rds/instance:Instance", "aws:mq/broker:Broker"):
        for resource in any_run.of_type(resource_type):
            assert resource.inputs["publiclyAccessible"] is False, resource.name
    for block in any_run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls")
        assert all(block.inputs[f] is True for f in (*flags, "restrictPublicBuckets"))
    blocked = {b.inputs["bucket"] for b in any_run.of_type(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")}  # fmt: skip
    assert blocked == {b.name for b in any_run.of_type("aws:s3/bucket:Bucket")}
    vpc = any_run.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert not set(vpc.get("publicAccessCidrs", [])) & OPEN_TO_ALL


def test_buckets_refuse_plain_http(any_run: Run) -> None:
    for bucket_policy in any_run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        statement, *_ = json.loads(bucket_policy.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_web_bucket_grants_and_only_its_distribution_reads(any_run: Run) -> None:
    grants = {
        bucket_policy.name: json.loads(bucket_policy.inputs["policy"])["Statement"][1:]
        for bucket_policy in any_run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    }
    assert {name for name, statements in grants.items() if statements} == {WEB_BUCKET}
    (grant,) = grants[WEB_BUCKET]
    distribution = any_run.one("aws:cloudfront/distribution:Distribution")
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert grant["Action"] == "s3:GetObject"
    (source,) = grant["Condition"]["StringEquals"].values()
    assert list(grant["Condition"]) == ["StringEquals"]
    assert source.endswith(f":{distribution.name}")  # the mocks' ARN of that distribution


def _statements(run: Run) -> Iterator[tuple[RegisteredResource, dict[str, Any]]]:
    for resource_type, key in POLICY_INPUTS.items():
        for resource in run.of_type(resource_type):
            for statement in json.loads(resource.inputs[key])["Statement"]:
                yield resource, statement


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def test_no_iam_statement_allows_everything_on_everything(any_run: Run) -> None:
    statements = list(_statements(any_run))
    assert statements
    for resource, statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource", "*"))
        assert not ("*" in actions and "*" in resources), resource.name
        if resource.type == "aws:iam/rolePolicy:RolePolicy":
            # Identity policies are stricter: no whole-service wildcard on every resource.
            wildcard = [a for a in actions if a.endswith(":*")]
            assert not (wildcard and "*" in resources), (resource.name, wildcard)
    attached = {a.inputs["policyArn"] for a in any_run.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}  # fmt: skip
    assert not {p for p in attached if p.endswith(("/AdministratorAccess", "/PowerUserAccess"))}


@cache
def _is_taggable(resource_type: str) -> bool:
    """Whether pulumi-aws's class for the type token accepts `tags`."""
    _, module, name = resource_type.split(":")
    package = importlib.import_module(f"pulumi_aws.{module.split('/')[0]}")
    cls = getattr(package, name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_every_taggable_resource_is_tagged(any_run: Run) -> None:
    tags = any_run.config.tags
    expected = {
        "Project": tags.project,
        "Environment": tags.environment,
        "Owner": tags.owner,
        "CostCentre": tags.cost_centre,
    }
    taggable = [
        r
        for r in any_run.resources
        if r.custom and r.type.startswith("aws:") and _is_taggable(r.type)
    ]
    assert len(taggable) > 50
    for resource in taggable:
        given = resource.inputs.get("tags") or {}
        assert {k: given.get(k) for k in REQUIRED_TAGS} == expected, resource.name
        assert given.get("Name"), resource.name
    # Instances, volumes and ENIs the node groups launch carry them too.
    for template in any_run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        kinds = {
            spec["resourceType"]: spec["tags"] for spec in template.inputs["tagSpecifications"]
        }
        assert set(kinds) == {"instance", "volume", "network-interface"}
        assert all({k: t[k] for k in REQUIRED_TAGS} == expected for t in kinds.values())
    # So do the volumes the EBS CSI driver creates for PersistentVolumeClaims.
    parameters = any_run.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs["parameters"]
    specs = [v for k, v in parameters.items() if k.startswith("tagSpecification_")]
    assert dict(spec.split("=", 1) for spec in specs) == expected


def test_stateful_services_are_protected_and_backed_up_in_prod(any_run: Run) -> None:
    config = any_run.config
    assert config.tags.environment == "prod"
    retention = config.protection.backup_retention_days
    assert retention >= 7
    for db in any_run.of_type("aws:rds/instance:Instance"):
        assert db.inputs["deletionProtection"] is True
        assert db.inputs["backupRetentionPeriod"] == retention
        assert db.inputs["skipFinalSnapshot"] is False
        assert db.inputs["finalSnapshotIdentifier"]
    for cache_group in any_run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        assert cache_group.inputs["snapshotRetentionLimit"] == retention
        assert cache_group.inputs["finalSnapshotIdentifier"]
    assert any_run.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is True
    for bucket in any_run.of_type("aws:s3/bucket:Bucket"):
        assert bucket.inputs["forceDestroy"] is False
    versioned = {
        v.inputs["bucket"]
        for v in any_run.of_type("aws:s3/bucketVersioning:BucketVersioning")
        if v.inputs["versioningConfiguration"]["status"] == "Enabled"
    }
    assert versioned == {b.name for b in any_run.of_type("aws:s3/bucket:Bucket")}
    for key in any_run.of_type("aws:kms/key:Key"):
        assert key.inputs["deletionWindowInDays"] == 30


# Stores without a deletion-protection flag of their own: Pulumi's `protect` stands in.
PROTECTED = (
    "aws:s3/bucket:Bucket",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:mq/broker:Broker",
    "aws:ecr/repository:Repository",
)


def test_stores_without_a_deletion_flag_are_protected_in_prod(any_run: Run) -> None:
    assert any_run.config.protection.deletion_protection is True
    stores = [r for t in PROTECTED for r in any_run.of_type(t)]
    assert {r.type for r in stores} >= {"aws:s3/bucket:Bucket"}
    assert [r.name for r in stores if not r.protect] == []


def test_every_bucket_drops_old_versions_and_stale_uploads(any_run: Run) -> None:
    days = any_run.config.storage
    lifecycles = {
        c.inputs["bucket"]: c.inputs["rules"]
        for c in any_run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    }
    assert set(lifecycles) == {b.name for b in any_run.of_type("aws:s3/bucket:Bucket")}
    for bucket, rules in lifecycles.items():
        every = [r for r in rules if r["filter"]["prefix"] == "" and r["status"] == "Enabled"]
        assert len(every) == 1, bucket
        assert every[0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        expiry = every[0]["noncurrentVersionExpiration"]["noncurrentDays"]
        assert expiry == days.noncurrent_version_days, bucket
    expiring = {
        (r["filter"]["prefix"], r["expiration"]["days"])
        for r in lifecycles["orgo-storage-backups"]
        if "expiration" in r
    }
    assert expiring == {("postgres/", days.backup_expiry_days)}

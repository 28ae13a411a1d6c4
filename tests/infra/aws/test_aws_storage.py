"""The backup bucket's Pod Identity roles, and Elasticsearch snapshots into that bucket.

One role per prefix of the backups bucket, each bound to exactly the service account of
the workload that writes there: CloudNativePG's pods under postgres/ (only when
PostgreSQL runs in the cluster), Elasticsearch under elasticsearch/. The platform then
registers the snapshot repository at that bucket and prefix; a plain cluster (dev) gets
no repository at all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from infra import program, render
from infra.components import elastic
from infra.config import parse_stack_config
from infra.mocks import RegisteredResource

from .conftest import Run, declare_foundation, load_config, mock_stack

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PG_ROLE = "orgo-storage-postgres-backups"
ES_ROLE = "orgo-storage-elasticsearch-snapshots"
Objects = Callable[[str], list[dict[str, Any]]]


def _in_cluster_values() -> dict[str, str]:
    """The prod stack's config with `orgo:aws.services.postgres.mode: in-cluster`, and backups
    expiring after 30 days (barman's default window is 30 days too)."""
    values, _ = render.stack_config_values("prod")
    aws = json.loads(values["orgo:aws"])
    aws.setdefault("services", {}).setdefault("postgres", {})["mode"] = "in-cluster"
    aws.setdefault("storage", {})["backupExpiryDays"] = 30
    return {**values, "orgo:aws": json.dumps(aws)}


@functools.cache
def _in_cluster_postgres() -> list[RegisteredResource]:
    """The prod foundation with PostgreSQL in the cluster."""
    monitor = mock_stack("prod", _in_cluster_values())
    declare_foundation("prod")
    return list(monitor.registered)


def _object_resources(resources: list[RegisteredResource], role: str) -> set[str]:
    policy = next(r for r in resources if r.type == ROLE_POLICY and r.name == f"{role}-inline")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    found: set[str] = set()
    for statement in statements:
        if "s3:GetObject" in statement["Action"]:
            found |= set(statement["Resource"])
        if statement["Action"] == "s3:ListBucket":
            found |= {f"list:{p}" for p in statement["Condition"]["StringLike"]["s3:prefix"]}
    return found


def _bindings(resources: list[RegisteredResource]) -> dict[str, set[tuple[str, str]]]:
    """role name -> the (namespace, service account) pairs bound to it."""
    bound: dict[str, set[tuple[str, str]]] = {}
    for link in (r for r in resources if r.type == ASSOCIATION):
        role = link.inputs["roleArn"].rsplit(":", 1)[-1]
        bound.setdefault(role, set()).add((link.inputs["namespace"], link.inputs["serviceAccount"]))
    return bound


def _bucket(stack: str) -> str:
    config = load_config(stack)
    return f"{config.name}-backups-{config.account_id}-{config.region}"


def test_each_backup_role_reaches_only_its_prefix() -> None:
    resources = _in_cluster_postgres()
    arn = f"arn:aws:s3:::{_bucket('prod')}"
    assert _object_resources(resources, PG_ROLE) == {f"{arn}/postgres/*", "list:postgres/*"}
    assert _object_resources(resources, ES_ROLE) == {
        f"{arn}/elasticsearch/*",
        "list:elasticsearch/*",
    }


def test_each_backup_role_is_bound_only_to_its_service_account() -> None:
    bound = _bindings(_in_cluster_postgres())
    assert bound[PG_ROLE] == {("postgres", "orgo-postgres")}
    assert bound[ES_ROLE] == {("elastic", elastic.SNAPSHOT_SERVICE_ACCOUNT)}


def test_with_rds_there_is_no_postgres_backup_role(foundation_run: Run) -> None:
    assert foundation_run.config.services.postgres.mode == "managed"
    roles = {r.name for r in foundation_run.of_type("aws:iam/role:Role")}
    assert PG_ROLE not in roles
    assert ES_ROLE in roles
    assert PG_ROLE not in _bindings(foundation_run.resources)


def test_snapshot_expiry_is_left_to_slm(foundation_run: Run) -> None:
    """S3 must not expire snapshot files: later snapshots still reference them."""
    backups = next(
        r
        for r in foundation_run.of_type(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        if r.name == "orgo-storage-backups"
    )
    expiring = [
        rule["filter"]["prefix"] for rule in backups.inputs["rules"] if "expiration" in rule
    ]
    assert expiring == ["postgres/"]


def _named(objects: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and o["metadata"].get("name") == name]


def test_elasticsearch_snapshots_go_to_the_bucket_prefix(stack_run: Run) -> None:
    objects = render.kubernetes_objects(stack_run.resources)
    [setup] = _named(objects, "ConfigMap", "orgo-elastic-setup")
    repository = json.loads(setup["data"]["snapshot-repository.json"])
    assert repository == {
        "type": "s3",
        "settings": {"bucket": _bucket("prod"), "base_path": "elasticsearch"},
    }
    policy = json.loads(setup["data"]["slm-policy.json"])
    assert policy["repository"] == elastic.SNAPSHOT_REPOSITORY
    assert policy["schedule"]
    assert policy["retention"]["expire_after"]
    # Elasticsearch runs as the account the role is bound to, in the bucket's region.
    assert _named(objects, "ServiceAccount", elastic.SNAPSHOT_SERVICE_ACCOUNT)
    [es] = _named(objects, "Elasticsearch", "orgo")
    node_set = es["spec"]["nodeSets"][0]
    assert node_set["podTemplate"]["spec"]["serviceAccountName"] == (
        elastic.SNAPSHOT_SERVICE_ACCOUNT
    )
    assert node_set["config"]["s3.client.default.region"] == stack_run.config.region


def test_a_plain_cluster_gets_no_snapshot_repository(objects: Objects) -> None:
    dev = objects("dev")
    [setup] = _named(dev, "ConfigMap", "orgo-elastic-setup")
    assert "snapshot-repository.json" not in setup["data"]
    assert "slm-policy.json" not in setup["data"]
    assert not _named(dev, "ServiceAccount", elastic.SNAPSHOT_SERVICE_ACCOUNT)
    [es] = _named(dev, "Elasticsearch", "orgo")
    assert "serviceAccountName" not in es["spec"]["nodeSets"][0]["podTemplate"]["spec"]


def test_no_other_role_reaches_the_backups_bucket() -> None:
    backups = f"arn:aws:s3:::{_bucket('prod')}"
    reaching = {
        r.name.removesuffix("-inline")
        for r in _in_cluster_postgres()
        if r.type == ROLE_POLICY and backups in r.inputs["policy"]
    }
    assert reaching == {PG_ROLE, ES_ROLE}


def test_in_cluster_postgres_backs_up_into_its_prefix_of_the_bucket() -> None:
    values = _in_cluster_values()
    raw = {key: json.loads(values[f"orgo:{key}"]) for key in ("platform", "aws")}
    backup = program._with_aws_backups(parse_stack_config(raw)).postgres.backup
    assert backup is not None
    assert backup.credentials_secret is None, "the pods use their Pod Identity role"
    bucket = next(
        r
        for r in _in_cluster_postgres()
        if r.type == "aws:s3/bucket:Bucket" and r.name == "orgo-storage-backups"
    )
    assert backup.destination_path == f"s3://{bucket.inputs['bucket']}/postgres"
    # The recovery window closes before the bucket's lifecycle deletes the backups in it.
    expiry = next(
        rule["expiration"]["days"]
        for r in _in_cluster_postgres()
        if r.type == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        for rule in r.inputs["rules"]
        if rule.get("filter", {}).get("prefix") == "postgres/" and "expiration" in rule
    )
    assert int(backup.retention.removesuffix("d")) < expiry - 1
    # With RDS nothing changes: the prod stack configures no CloudNativePG backup.
    managed = {key: json.loads(render.stack_config_values("prod")[0][f"orgo:{key}"]) for key in raw}
    assert program._with_aws_backups(parse_stack_config(managed)).postgres.backup is None

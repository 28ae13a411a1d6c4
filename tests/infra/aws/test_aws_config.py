"""Bad `orgo:aws` config fails before any resource is declared, naming the key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from infra.aws.config import AwsConfig
from infra.config import ConfigError, parse_stack_config
from infra.versions import REPO_ROOT

from .conftest import declare_foundation, mock_stack


def stack_file(stack: str) -> dict[str, Any]:
    raw = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    config: dict[str, Any] = raw["config"]
    return {"platform": config["orgo:platform"], "aws": config["orgo:aws"]}


def with_change(path: str, value: Any, stack: str = "prod") -> dict[str, Any]:
    """The stack's config with the value at dotted `path` below orgo:aws replaced."""
    raw = copy.deepcopy(stack_file(stack))
    *parents, leaf = (int(p) if p.isdigit() else p for p in path.split("."))
    node = raw["aws"]
    for part in parents:
        node = node[part]
    node[leaf] = value
    return raw


def values_of(raw: dict[str, Any]) -> dict[str, str]:
    """Config as the engine hands it to the program: one JSON string per key."""
    return {"orgo:platform": json.dumps(raw["platform"]), "orgo:aws": json.dumps(raw["aws"])}


def config_error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw)
    return str(error.value)


@pytest.mark.parametrize("stack", ["prod", "prod-lite"])
def test_committed_stacks_are_valid(stack: str) -> None:
    config = parse_stack_config(stack_file(stack)).aws
    assert isinstance(config, AwsConfig)


def test_unknown_region_names_the_key_and_the_allowed_regions() -> None:
    message = config_error(with_change("region", "mars-north-1"))
    assert "orgo:aws.region" in message
    assert "'eu-west-1'" in message
    assert "'us-east-1'" in message


def test_overlapping_subnets_name_both_cidrs() -> None:
    message = config_error(with_change("network.privateSubnetCidrs.1", "10.20.4.0/23"))
    assert "network.privateSubnetCidrs[1]: 10.20.4.0/23 overlaps" in message
    assert "network.publicSubnetCidrs[1] 10.20.4.0/22" in message


def test_subnet_outside_the_vpc() -> None:
    message = config_error(with_change("network.publicSubnetCidrs.0", "192.168.0.0/24"))
    assert "network.publicSubnetCidrs[0]: 192.168.0.0/24 is outside network.vpcCidr" in message


def test_subnet_count_must_match_the_zones() -> None:
    message = config_error(with_change("network.publicSubnetCidrs", ["10.20.0.0/22"]))
    assert "network.publicSubnetCidrs: one CIDR per availability zone" in message


def test_zone_of_another_region() -> None:
    message = config_error(with_change("network.availabilityZones.2", "us-east-1c"))
    assert "network.availabilityZones[2]: 'us-east-1c' is not a zone of region 'eu-west-1'" in (
        message
    )


def test_instance_type_outside_the_allowed_list() -> None:
    message = config_error(with_change("eks.workloadNodes.instanceTypes.0", "t2.nano"))
    assert "orgo:aws.eks.workloadNodes.instanceTypes.0" in message
    assert "'m7g.large'" in message


def test_system_nodes_cannot_be_spot() -> None:
    message = config_error(with_change("eks.systemNodes.capacity", "spot"))
    assert "orgo:aws.eks.systemNodes.capacity" in message


def test_mixed_architectures_in_one_node_group() -> None:
    message = config_error(
        with_change("eks.workloadNodes.instanceTypes", ["m7g.xlarge", "m7i.xlarge"])
    )
    assert "orgo:aws.eks.workloadNodes" in message
    assert "all Graviton" in message


@pytest.mark.parametrize("mode", ["off", None, False])
def test_a_service_cannot_be_neither_managed_nor_in_cluster(mode: Any) -> None:
    message = config_error(with_change("services.rabbitmq.mode", mode))
    assert "orgo:aws.services.rabbitmq.mode" in message
    assert "'managed' or 'in-cluster'" in message


def test_prod_requires_deletion_protection() -> None:
    message = config_error(with_change("protection.deletionProtection", False))
    assert "protection.deletionProtection: must be true when tags.environment=prod" in message


def test_prod_requires_a_week_of_backups() -> None:
    message = config_error(with_change("protection.backupRetentionDays", 1))
    assert "protection.backupRetentionDays: at least 7" in message


def test_public_endpoint_open_to_the_world_is_refused() -> None:
    message = config_error(with_change("eks.publicEndpointCidrs", ["0.0.0.0/0"]))
    assert "orgo:aws.eks.publicEndpointCidrs" in message
    assert "/8 or narrower" in message


def test_admin_roles_must_be_role_arns() -> None:
    message = config_error(with_change("eks.adminRoleArns", ["arn:aws:iam::1:user/me"]))
    assert "orgo:aws.eks.adminRoleArns" in message
    assert "is not an IAM role ARN" in message


def test_eks_version_must_be_the_pinned_one() -> None:
    message = config_error(with_change("eks.version", "1.20"))
    assert "orgo:aws.eks.version" in message
    assert "versions.yaml" in message


def test_unknown_key_lists_the_allowed_keys() -> None:
    message = config_error(with_change("services.postgres.engine", "mysql"))
    assert "orgo:aws.services.postgres.engine: Extra inputs are not permitted" in message
    assert "instanceClass" in message
    assert "multiAz" in message


def test_bad_config_declares_no_resource() -> None:
    """The stack stops at validation: not even the component is registered."""
    monitor = mock_stack(
        "prod", values_of(with_change("network.privateSubnetCidrs.0", "10.20.0.0/24"))
    )
    with pytest.raises(ConfigError, match="overlaps"):
        declare_foundation("prod")
    assert [r.type for r in monitor.registered if r.type != "pulumi:pulumi:Stack"] == []


def test_platform_and_aws_halves_must_agree() -> None:
    raw = stack_file("prod")
    raw["platform"] = {**raw["platform"], "kubernetesVersion": "1.33"}
    monitor = mock_stack("prod", values_of(raw))
    with pytest.raises(ConfigError) as error:
        declare_foundation("prod")
    assert "orgo:platform.kubernetesVersion (1.33) must equal orgo:aws.eks.version" in str(
        error.value
    )
    assert not [r for r in monitor.registered if r.type.startswith(("aws:", "orgo:aws"))]

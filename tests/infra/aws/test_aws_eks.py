"""EKS on a supported version: the pinned add-on builds belong to it, the support policy is
a stack setting, metrics-server runs as an add-on, and read-only roles can preview."""

from __future__ import annotations

import json
import re

from infra.aws.config import AwsConfig
from infra.aws.pins import aws_pins
from infra.config import parse_stack_config

from .conftest import Run, declare_foundation, mock_stack
from .test_aws_config import config_error, stack_file, values_of, with_change

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKS{}Policy"
PREVIEW_ROLE = "arn:aws:iam::111122223333:role/orgo-platform-preview"


def test_kube_proxy_is_built_for_the_pinned_minor() -> None:
    """kube-proxy follows the control plane's minor: a version bump without it fails here."""
    pins = aws_pins()
    match = re.fullmatch(r"v(\d+\.\d+)\.\d+-eksbuild\.\d+", pins.eks_addons["kube-proxy"])
    assert match, pins.eks_addons["kube-proxy"]
    assert match[1] == pins.eks_version


def test_every_addon_pin_is_an_eks_build() -> None:
    assert {
        name: build
        for name, build in aws_pins().eks_addons.items()
        if not re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", build)
    } == {}


def test_the_platform_targets_the_clusters_version() -> None:
    for stack in ("prod", "prod-lite"):
        config = parse_stack_config(stack_file(stack))
        assert config.platform.kubernetes_version == aws_pins().eks_version, stack


def test_metrics_server_runs_as_an_addon_once_nodes_exist(foundation_run: Run) -> None:
    """The HorizontalPodAutoscaler of the API reads the metrics API metrics-server serves."""
    addon = next(
        a
        for a in foundation_run.of_type("aws:eks/addon:Addon")
        if a.inputs["addonName"] == "metrics-server"
    )
    assert addon.inputs["addonVersion"] == aws_pins().eks_addons["metrics-server"]
    node_groups = {g.urn for g in foundation_run.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert node_groups and node_groups <= addon.dependencies


def test_the_vpc_cni_enforces_network_policies(foundation_run: Run) -> None:
    """Without it EKS ignores every NetworkPolicy the platform declares."""
    cni = next(
        a
        for a in foundation_run.of_type("aws:eks/addon:Addon")
        if a.inputs["addonName"] == "vpc-cni"
    )
    assert json.loads(cni.inputs["configurationValues"])["enableNetworkPolicy"] == "true"


def test_support_policy_defaults_to_standard(foundation_run: Run) -> None:
    cluster = foundation_run.one("aws:eks/cluster:Cluster").inputs
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_support_policy_is_a_stack_setting() -> None:
    monitor = mock_stack("prod", values_of(with_change("eks.supportType", "EXTENDED")))
    declare_foundation("prod")
    (cluster,) = [r for r in monitor.registered if r.type == "aws:eks/cluster:Cluster"]
    assert cluster.inputs["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_an_unknown_support_policy_names_the_allowed_ones() -> None:
    message = config_error(with_change("eks.supportType", "LTS"))
    assert "orgo:aws.eks.supportType: Input should be 'STANDARD' or 'EXTENDED'" in message


def test_admin_and_view_roles_get_their_access_policy(foundation_run: Run) -> None:
    eks = foundation_run.config.eks
    entries = {e.inputs["principalArn"] for e in foundation_run.of_type(ENTRY)}
    assert entries == {*eks.admin_role_arns, *eks.view_role_arns}
    granted = {
        (a.inputs["principalArn"], a.inputs["policyArn"], a.inputs["accessScope"]["type"])
        for a in foundation_run.of_type(ASSOCIATION)
    }
    assert granted == {
        *((arn, POLICY.format("ClusterAdmin"), "cluster") for arn in eks.admin_role_arns),
        *((arn, POLICY.format("View"), "cluster") for arn in eks.view_role_arns),
    }


def test_the_stacks_give_the_preview_role_view_access() -> None:
    for stack in ("prod", "prod-lite"):
        assert AwsConfig.model_validate(stack_file(stack)["aws"]).eks.view_role_arns == [
            PREVIEW_ROLE
        ]


def test_a_role_is_admin_or_viewer_not_both() -> None:
    admin = stack_file("prod")["aws"]["eks"]["adminRoleArns"][0]
    message = config_error(with_change("eks.viewRoleArns", [admin]))
    assert f"eks.viewRoleArns: {admin} is already in eks.adminRoleArns" in message


def test_view_roles_must_be_role_arns() -> None:
    message = config_error(with_change("eks.viewRoleArns", ["arn:aws:iam::1:user/ci"]))
    assert "orgo:aws.eks.viewRoleArns" in message and "is not an IAM role ARN" in message


def test_the_kubeconfig_uses_the_credentials_pulumi_runs_with(foundation_run: Run) -> None:
    """No role of its own: a preview with a view role must not need to assume an admin."""
    (provider,) = [
        r
        for r in foundation_run.resources
        if r.type == "pulumi:providers:kubernetes" and r.name == "orgo-eks-kubernetes"
    ]
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    args = user["user"]["exec"]["args"]
    assert args[:2] == ["eks", "get-token"]
    assert "--role-arn" not in args


def test_node_groups_follow_the_control_plane_version(foundation_run: Run) -> None:
    """A version bump then rolls the nodes too, after the cluster (their dependency)."""
    cluster = foundation_run.one("aws:eks/cluster:Cluster")
    for group in foundation_run.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["version"] == cluster.inputs["version"], group.name
        assert cluster.urn in group.dependencies, group.name

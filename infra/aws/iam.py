"""IAM building blocks: policy documents and roles for AWS services and Pod Identity."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.config import ServiceAccountRef, Tags
from infra.aws.tags import resource_tags

Statement = Mapping[str, Any]

# EKS Pod Identity: the agent on each node exchanges the pod's service account token for
# the role's credentials, tagging the session with the pod's namespace and account.
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def policy_document(statements: Sequence[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """Trust policy letting one AWS service principal assume the role."""
    return policy_document(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}]
    )


def service_role(
    name: str,
    service: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    managed_policy_arns: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """A role for `service`, with AWS managed policies attached and an optional inline one."""
    pod_identity = service == POD_IDENTITY_PRINCIPAL
    actions = ("sts:AssumeRole", "sts:TagSession") if pod_identity else ("sts:AssumeRole",)
    role = aws.iam.Role(
        name,
        assume_role_policy=service_trust(service, actions),
        tags=dict(tags),
        opts=opts,
    )
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role]))
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(
            f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child
        )
    if inline_policy is not None:
        aws.iam.RolePolicy(f"{name}-inline", role=role.id, policy=inline_policy, opts=child)
    return role


def pod_identity_role(
    name: str,
    inline_policy: pulumi.Input[str],
    bindings: tuple[pulumi.Input[str], Sequence[ServiceAccountRef]],
    tags: Tags,
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """A role with one inline policy that exactly the given service accounts of the cluster
    (`bindings`: cluster name, accounts) assume through EKS Pod Identity."""
    role = service_role(
        name, POD_IDENTITY_PRINCIPAL, resource_tags(tags, name), opts, inline_policy=inline_policy
    )
    cluster_name, service_accounts = bindings
    for account in service_accounts:
        link_name = f"{name}-{account.namespace}-{account.name}"
        aws.eks.PodIdentityAssociation(
            link_name,
            cluster_name=cluster_name,
            namespace=account.namespace,
            service_account=account.name,
            role_arn=role.arn,
            tags=resource_tags(tags, link_name),
            opts=opts,
        )
    return role


def managed_policy(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"

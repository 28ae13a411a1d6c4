"""Route 53 for ACME DNS-01: cert-manager proves the domain with TXT records in the
stack's hosted zone, through a Pod Identity role that reaches only that zone."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.iam import POD_IDENTITY_PRINCIPAL, policy_document, service_role
from infra.aws.tags import resource_tags
from infra.components.edge import CERT_MANAGER_SERVICE_ACCOUNT, NAMESPACE


def dns01_policy(hosted_zone_id: str) -> str:
    """Write `_acme-challenge` TXT records in one zone, poll the change, find the zone."""
    zone = f"arn:aws:route53:::hostedzone/{hosted_zone_id}"
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Action": "route53:ChangeResourceRecordSets",
                "Resource": zone,
                "Condition": {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]
                    },
                    "ForAllValues:StringLike": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                            "_acme-challenge.*"
                        ]
                    },
                },
            },
            {"Effect": "Allow", "Action": "route53:ListResourceRecordSets", "Resource": zone},
            {
                "Effect": "Allow",
                "Action": "route53:GetChange",
                "Resource": "arn:aws:route53:::change/*",
            },
            # Route 53 grants this action on no narrower resource.
            {"Effect": "Allow", "Action": "route53:ListHostedZonesByName", "Resource": "*"},
        ]
    )


class AcmeDns(pulumi.ComponentResource):
    """cert-manager's Pod Identity role for the Route 53 DNS-01 solver."""

    role: aws.iam.Role

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        hosted_zone_id: str,
        cluster_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:AcmeDns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role_name = f"{name}-cert-manager"
        self.role = service_role(
            role_name,
            POD_IDENTITY_PRINCIPAL,
            resource_tags(config.tags, role_name),
            child,
            inline_policy=dns01_policy(hosted_zone_id),
        )
        aws.eks.PodIdentityAssociation(
            role_name,
            cluster_name=cluster_name,
            namespace=NAMESPACE,
            service_account=CERT_MANAGER_SERVICE_ACCOUNT,
            role_arn=self.role.arn,
            tags=resource_tags(config.tags, role_name),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn})

"""Route 53 for ACME DNS-01: cert-manager proves the domain with TXT records in the
stack's hosted zone, through a Pod Identity role that reaches only that zone."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig, ServiceAccountRef
from infra.aws.iam import pod_identity_role, policy_document
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
        account = ServiceAccountRef(namespace=NAMESPACE, name=CERT_MANAGER_SERVICE_ACCOUNT)
        self.role = pod_identity_role(
            f"{name}-cert-manager",
            dns01_policy(hosted_zone_id),
            (cluster_name, [account]),
            config.tags,
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"role_arn": self.role.arn})

"""Attributes AWS computes that the AWS layer reads back, for Pulumi mocks.

Under mocks a resource's outputs are its inputs; these are the few computed ones the
program dereferences (the cluster's security group and CA, a broker's endpoint, a launch
template's version). `infra.mocks` merges them over its generic AWS answers so that
`make plan` shows real wiring (e.g. the RDS security group admits the cluster's group).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def computed_outputs(resource_type: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    host = f"{name}.mock.amazonaws.com"
    if resource_type == "aws:eks/cluster:Cluster":
        return {
            "endpoint": f"https://{host}",
            "certificateAuthority": {"data": base64.b64encode(b"mock-ca").decode()},
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}"},
        }
    if resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"latestVersion": 1}
    if resource_type == "aws:mq/broker:Broker":
        return {"instances": [{"endpoints": [f"amqps://{host}:5671"]}]}
    if resource_type == "aws:elasticache/replicationGroup:ReplicationGroup":
        return {"primaryEndpointAddress": f"master.{host}"}
    if resource_type == "aws:s3/bucket:Bucket":
        return {"arn": f"arn:aws:s3:::{inputs.get('bucket', name)}"}
    if resource_type == "aws:ecr/repository:Repository":
        from infra.mocks import MOCK_ACCOUNT, MOCK_REGION

        registry = f"{MOCK_ACCOUNT}.dkr.ecr.{MOCK_REGION}.amazonaws.com"
        return {"repositoryUrl": f"{registry}/{inputs.get('name', name)}"}
    if resource_type == "aws:acm/certificate:Certificate":
        domain = inputs.get("domainName", name)
        return {
            "domainValidationOptions": [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_mock.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_mock.{name}.acm-validations.aws.",
                }
            ]
        }
    if resource_type == "aws:route53/record:Record":
        return {"fqdn": str(inputs.get("name", name)).rstrip(".")}
    if resource_type == "aws:cloudfront/distribution:Distribution":
        # CloudFront's one hosted zone for every distribution's alias records.
        return {"domainName": f"d{name}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}
    if resource_type == "aws:kms/key:Key":
        return {"keyId": f"key-{name}"}
    return {}

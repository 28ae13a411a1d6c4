"""The edge on AWS: ACME DNS-01 through Route 53 with a Pod Identity role that reaches only
the stack's hosted zone, the proxies behind a tagged NLB, and nothing but 443 listening."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from infra.config import ConfigError
from infra.render import kubernetes_objects

from .conftest import Run, declare_foundation, mock_stack
from .test_aws_config import stack_file, values_of

DNS_ROLE = "orgo-acme-dns-cert-manager"


def hosted_zone(run: Run) -> str:
    raw = stack_file("prod-lite" if run.config.network.nat == "single" else "prod")
    return str(raw["platform"]["edge"]["acme"]["hostedZoneId"])


def test_cert_manager_role_reaches_only_the_hosted_zone(foundation_run: Run) -> None:
    zone = f"arn:aws:route53:::hostedzone/{hosted_zone(foundation_run)}"
    policy = foundation_run.named("aws:iam/rolePolicy:RolePolicy", f"{DNS_ROLE}-inline")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    by_action = {s["Action"]: s for s in statements}
    assert set(by_action) == {
        "route53:ChangeResourceRecordSets",
        "route53:ListResourceRecordSets",
        "route53:GetChange",
        "route53:ListHostedZonesByName",
    }
    assert by_action["route53:ChangeResourceRecordSets"]["Resource"] == zone
    assert by_action["route53:ListResourceRecordSets"]["Resource"] == zone
    assert by_action["route53:GetChange"]["Resource"] == "arn:aws:route53:::change/*"
    change = by_action["route53:ChangeResourceRecordSets"]["Condition"]
    assert change["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]
    }
    role = foundation_run.named("aws:iam/role:Role", DNS_ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    link = foundation_run.named(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{DNS_ROLE}-edge-cert-manager"
    ).inputs
    assert (link["namespace"], link["serviceAccount"]) == ("edge", "cert-manager")
    assert link["roleArn"].endswith(DNS_ROLE)


def test_edge_on_aws(stack_run: Run) -> None:
    objects = kubernetes_objects(stack_run.resources)

    def one(kind: str) -> dict[str, Any]:
        [found] = [o for o in objects if o["kind"] == kind]
        return found

    [solver] = one("ClusterIssuer")["spec"]["acme"]["solvers"]
    route53 = solver["dns01"]["route53"]
    assert route53["hostedZoneID"] == hosted_zone(stack_run)
    assert route53["region"] == stack_run.config.region
    service = one("EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyService"]
    annotations = service["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    tags = annotations["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"]
    assert f"CostCentre={stack_run.config.tags.cost_centre}" in tags.split(",")
    # the in-tree NLB has no security group: only the 443 listener may exist
    assert [listener["port"] for listener in one("Gateway")["spec"]["listeners"]] == [443]
    edge_routes = [
        o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["namespace"] == "edge"
    ]
    assert not edge_routes


def test_http01_on_aws_is_refused() -> None:
    raw = copy.deepcopy(stack_file("prod"))
    raw["platform"]["edge"]["acme"] = {"solver": "http01"}
    monitor = mock_stack("prod", values_of(raw))
    with pytest.raises(ConfigError) as error:
        declare_foundation("prod")
    assert "orgo:platform.edge.acme.solver (http01) cannot work on AWS" in str(error.value)
    assert "allowed: route53" in str(error.value)
    assert not [r for r in monitor.registered if r.type.startswith(("aws:", "orgo:aws"))]

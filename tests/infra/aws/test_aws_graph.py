"""The resources of the prod and prod-lite stacks under mocks, and how they are wired."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.aws.foundation import AwsFoundation
from infra.aws.pins import aws_pins
from infra.mocks import SECRET_MASK
from infra.render import kubernetes_objects
from infra.validation import validate
from tests.infra import k8s_support as ks

from .conftest import Run, declare_foundation, get_run, load_config, mock_stack

CLUSTER_SG = "sg-orgo-eks"  # what the mocks answer for the cluster's security group
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
DATA_PORTS = {"postgres": 5432, "redis": 6379, "rabbitmq": 5671}


def policy(resource_inputs: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource_inputs[key])
    return document


def test_network_spans_the_configured_zones(foundation_run: Run) -> None:
    net = foundation_run.config.network
    subnets = foundation_run.of_type("aws:ec2/subnet:Subnet")
    cidrs: dict[str, set[str]] = {r.inputs["availabilityZone"]: set() for r in subnets}
    for subnet in subnets:
        cidrs[subnet.inputs["availabilityZone"]].add(subnet.inputs["cidrBlock"])
    assert sorted(cidrs) == sorted(net.availability_zones)
    assert all(len(per_zone) == 2 for per_zone in cidrs.values())  # one public, one private
    nats = foundation_run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (len(net.availability_zones) if net.nat == "per_az" else 1)


def test_private_routes_go_through_nat_and_public_through_the_gateway(foundation_run: Run) -> None:
    tables = foundation_run.of_type("aws:ec2/routeTable:RouteTable")
    public = [t for t in tables if t.name.endswith("-public")]
    private = [t for t in tables if "-private-" in t.name]
    assert [r["gatewayId"] for t in public for r in t.inputs["routes"]] == ["orgo-network-igw"]
    targets = {r["natGatewayId"] for t in private for r in t.inputs["routes"]}
    nats = {n.name for n in foundation_run.of_type("aws:ec2/natGateway:NatGateway")}
    assert targets == nats


def test_vpc_endpoints_and_flow_logs(foundation_run: Run) -> None:
    region = foundation_run.config.region
    endpoints = {
        e.inputs["serviceName"]: e.inputs["vpcEndpointType"]
        for e in foundation_run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert endpoints == {
        f"com.amazonaws.{region}.s3": "Gateway",
        f"com.amazonaws.{region}.ecr.api": "Interface",
        f"com.amazonaws.{region}.ecr.dkr": "Interface",
        f"com.amazonaws.{region}.sts": "Interface",
    }
    flow_log = foundation_run.one("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["vpcId"] == foundation_run.one("aws:ec2/vpc:Vpc").name


def test_eks_control_plane(foundation_run: Run) -> None:
    eks = foundation_run.config.eks
    cluster = foundation_run.one("aws:eks/cluster:Cluster").inputs
    vpc = cluster["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is bool(eks.public_endpoint_cidrs)
    assert vpc["publicAccessCidrs"] == [str(c) for c in eks.public_endpoint_cidrs]
    assert sorted(vpc["subnetIds"]) == sorted(
        s.name for s in foundation_run.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name
    )
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].endswith("orgo-keys-eks-secrets")
    assert set(cluster["enabledClusterLogTypes"]) == {
        "api", "audit", "authenticator", "controllerManager", "scheduler"
    }  # fmt: skip
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["version"] == aws_pins().eks_version


def test_addons_are_the_pinned_ones(foundation_run: Run) -> None:
    addons = {
        a.inputs["addonName"]: a.inputs
        for a in foundation_run.of_type("aws:eks/addon:Addon")
    }  # fmt: skip
    assert {name: a["addonVersion"] for name, a in addons.items()} == aws_pins().eks_addons
    # The add-ons that call AWS get their role through Pod Identity, not the node role.
    assert addons["vpc-cni"]["podIdentityAssociations"][0]["serviceAccount"] == "aws-node"
    ebs = addons["aws-ebs-csi-driver"]["podIdentityAssociations"][0]
    assert ebs["serviceAccount"] == "ebs-csi-controller-sa"


def test_node_groups_on_demand_system_and_configured_workloads(foundation_run: Run) -> None:
    eks = foundation_run.config.eks
    groups = {
        g.name.rsplit("-", 1)[-1]: g.inputs
        for g in foundation_run.of_type("aws:eks/nodeGroup:NodeGroup")
    }  # fmt: skip
    assert groups["system"]["capacityType"] == "ON_DEMAND"
    expected = "SPOT" if eks.workload_nodes.capacity == "spot" else "ON_DEMAND"
    assert groups["workloads"]["capacityType"] == expected
    assert groups["workloads"]["instanceTypes"] == eks.workload_nodes.instance_types
    assert groups["system"]["scalingConfig"]["minSize"] == eks.system_nodes.min_size
    for template in foundation_run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        metadata = template.inputs["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        assert metadata["httpPutResponseHopLimit"] == 1


def test_managed_services_follow_the_config(foundation_run: Run) -> None:
    services = foundation_run.config.services
    declared = {
        "postgres": foundation_run.of_type("aws:rds/instance:Instance"),
        "redis": foundation_run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"),
        "rabbitmq": foundation_run.of_type("aws:mq/broker:Broker"),
    }
    for service, resources in declared.items():
        mode = getattr(services, service).mode
        assert len(resources) == (1 if mode == "managed" else 0), service


def test_data_services_admit_only_the_cluster(foundation_run: Run) -> None:
    rules = foundation_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for service, port in DATA_PORTS.items():
        group_rules = [r.inputs for r in rules if r.inputs["securityGroupId"].endswith(service)]
        if getattr(foundation_run.config.services, service).mode == "in-cluster":
            assert group_rules == []
            continue
        assert len(group_rules) == 1, service
        rule = group_rules[0]
        assert (rule["fromPort"], rule["toPort"]) == (port, port)
        assert rule["referencedSecurityGroupId"] == CLUSTER_SG
        assert "cidrIpv4" not in rule


def test_rds_postgres(foundation_run: Run) -> None:
    settings = foundation_run.config.services.postgres
    db = foundation_run.one("aws:rds/instance:Instance").inputs
    assert db["engine"] == "postgres"
    assert db["engineVersion"] == aws_pins().postgres_engine
    assert db["multiAz"] is settings.multi_az
    assert db["instanceClass"] == settings.instance_class
    assert db["performanceInsightsEnabled"] is True
    assert db["password"]  # generated, never from config
    parameters = {
        p["name"]: p["value"]
        for p in foundation_run.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    }
    assert parameters["rds.force_ssl"] == "1"
    assert "pgcrypto" in parameters["rds.allowed_extensions"].split(",")


def test_elasticache_fails_over_across_zones_and_requires_tls(foundation_run: Run) -> None:
    settings = foundation_run.config.services.redis
    groups = foundation_run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert len(groups) == (settings.mode == "managed")
    for group in (g.inputs for g in groups):
        assert group["numCacheClusters"] == 1 + settings.replicas
        failover = settings.replicas > 0  # prod: 2 replicas
        assert group["multiAzEnabled"] is group["automaticFailoverEnabled"] is failover
        assert group["transitEncryptionMode"] == "required"
        assert group["authToken"]


def test_amazon_mq_runs_as_a_cluster_across_zones_in_prod() -> None:
    run = get_run("foundation", "prod")
    assert run.config.services.rabbitmq.deployment == "cluster"
    broker = run.one("aws:mq/broker:Broker").inputs
    assert broker["deploymentMode"] == "CLUSTER_MULTI_AZ"
    private = [s.name for s in run.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert sorted(broker["subnetIds"]) == sorted(private)
    assert len(private) == 3


def test_generated_passwords_are_masked_in_the_plan(any_run: Run) -> None:
    secret_inputs = {
        "aws:rds/instance:Instance": ("password",),
        "aws:elasticache/replicationGroup:ReplicationGroup": ("authToken",),
        "aws:mq/broker:Broker": ("users", 0, "password"),
    }
    plan = json.dumps([r.masked_inputs for r in any_run.resources])
    checked = 0
    for resource_type, path in secret_inputs.items():
        for resource in any_run.of_type(resource_type):
            plain: Any = resource.inputs
            masked: Any = resource.masked_inputs
            for part in path:
                plain, masked = plain[part], masked[part]
            assert masked == SECRET_MASK
            assert len(plain) == 32
            assert plain not in plan
            checked += 1
    assert checked >= 1


def test_pod_identity_roles_reach_only_their_prefix(foundation_run: Run) -> None:
    config = foundation_run.config
    account, region = config.account_id, config.region
    expected = {
        "orgo-storage-app": [f"arn:aws:s3:::orgo-prod-files-{account}-{region}/app/*"],
        "orgo-storage-elasticsearch-snapshots": [
            f"arn:aws:s3:::orgo-prod-backups-{account}-{region}/elasticsearch/*",
        ],
    }
    for role, resources in expected.items():
        document = policy(foundation_run.named(ROLE_POLICY, f"{role}-inline").inputs)
        statements = {s["Action"] if isinstance(s["Action"], str) else s["Action"][0]: s
                      for s in document["Statement"]}  # fmt: skip
        assert statements["s3:GetObject"]["Resource"] == resources
        listed = statements["s3:ListBucket"]["Condition"]["StringLike"]["s3:prefix"]
        assert listed == [r.split("/", 1)[1] for r in resources]
        trust = policy(foundation_run.named(ROLE, role).inputs, "assumeRolePolicy")
        assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    links = {
        (a.inputs["namespace"], a.inputs["serviceAccount"], a.inputs["roleArn"])
        for a in foundation_run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert ("orgo", "orgo", "arn:aws:iam:us-east-1:123456789012:orgo-storage-app") in links


def test_whole_stack_platform_uses_rds_and_no_in_cluster_postgres(stack_run: Run) -> None:
    """The wiring: with managed PostgreSQL the platform gets the RDS endpoint instead of
    a CloudNativePG cluster, and in-cluster services appear exactly where chosen."""
    services = stack_run.config.services
    kinds = {r.inputs.get("kind") for r in stack_run.resources if r.type.startswith("kubernetes:")}
    rds = stack_run.one("aws:rds/instance:Instance")
    assert services.postgres.mode == "managed"
    assert "Cluster" not in kinds  # no CloudNativePG cluster
    app_env = json.dumps([r.inputs for r in stack_run.resources if r.type.startswith("kub")])
    assert f"{rds.name}.rds.us-east-1.mock.amazonaws.com" in app_env
    assert ("RabbitmqCluster" in kinds) is (services.rabbitmq.mode == "in-cluster")


def test_external_services_carry_the_managed_endpoints() -> None:
    """AwsFoundation.external_services: hosts of the managed services, secret passwords,
    buckets and roles, for the platform to use instead of in-cluster counterparts."""
    config = load_config("prod")
    seen: dict[str, Any] = {}

    def inspect(foundation: AwsFoundation) -> pulumi.Output[Any]:
        ext = foundation.external_services
        assert ext.postgres
        assert ext.redis
        assert ext.rabbitmq
        return pulumi.Output.all(
            postgres_host=ext.postgres.host,
            postgres_password=pulumi.Output.from_input(ext.postgres.password).is_secret(),
            redis_host=ext.redis.host,
            redis_password=pulumi.Output.from_input(ext.redis.password).is_secret(),
            rabbitmq_host=ext.rabbitmq.host,
            backup_bucket=ext.backup_bucket,
            files_bucket=ext.files_bucket,
        ).apply(seen.update)

    mock_stack("prod")
    declare_foundation("prod", inspect)
    assert seen["postgres_host"] == "orgo-postgres.rds.us-east-1.mock.amazonaws.com"
    assert seen["redis_host"] == "master.orgo-redis.mock.amazonaws.com"
    assert seen["rabbitmq_host"] == "orgo-rabbitmq.mock.amazonaws.com"
    assert seen["postgres_password"] is True
    assert seen["redis_password"] is True
    assert seen["backup_bucket"] == f"orgo-prod-backups-{config.account_id}-{config.region}"
    assert seen["files_bucket"] == f"orgo-prod-files-{config.account_id}-{config.region}"


@pytest.mark.parametrize("stack", ["prod", "prod-lite"])
def test_prod_lite_is_cheaper_than_prod(stack: str) -> None:
    """The cost-saving stack drops the per-zone NATs and the managed cache and broker."""
    run = get_run("foundation", stack)
    nats = len(run.of_type("aws:ec2/natGateway:NatGateway"))
    managed = len(run.of_type("aws:mq/broker:Broker")) + len(
        run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    )
    assert (nats, managed) == ((3, 2) if stack == "prod" else (1, 0))


def test_kubernetes_objects_on_eks_are_strictly_valid(stack_run: Run) -> None:
    """What `make plan` writes to build/manifests/<stack>/, validated like the platform's
    own stacks, against the EKS version's Kubernetes schemas and the pinned CRDs."""
    version = f"{stack_run.config.eks.version}.0"
    objects = kubernetes_objects(stack_run.resources)
    assert any(o["kind"] == "StorageClass" for o in objects)
    problems = [p for obj in objects for p in validate(obj, version, ks.pinned_crds())]
    assert not problems, "\n".join(problems)


def test_gateway_load_balancer_uses_the_planned_security_group(stack_run: Run) -> None:
    """The Gateway's cloud load balancer gets the one security group open on 443, rather
    than one the cloud controller would create outside the plan."""
    groups = [
        r
        for r in stack_run.of_type("aws:ec2/securityGroup:SecurityGroup")
        if r.name.endswith("-load-balancer")
    ]
    assert len(groups) == 1
    gateway = next(
        r.inputs
        for r in stack_run.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") == "Gateway"
    )
    annotations = gateway["spec"]["infrastructure"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-security-groups"] == (
        groups[0].name  # the mocks answer a resource's name as its id
    )

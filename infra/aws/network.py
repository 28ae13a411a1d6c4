"""The VPC: public and private subnets per zone, NAT, VPC endpoints, flow logs."""

from __future__ import annotations

from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.iam import policy_document, service_role
from infra.aws.tags import resource_tags

# Interface endpoints keep image pulls and Pod Identity token exchange off the NAT.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts")
HTTPS = 443
UNPRIVILEGED_PORTS = (1024, 65535)


class Network(pulumi.ComponentResource):
    """Nodes, pods and data services live in the private subnets; only load balancers
    live in the public ones (tagged so the AWS load balancer integration finds them)."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        log_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:Network", name, None, opts)
        self._name = name
        self._config = config
        self._child = pulumi.ResourceOptions(parent=self)
        net = config.network
        self.vpc = aws.ec2.Vpc(
            name,
            cidr_block=str(net.vpc_cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=self._tags(name),
            opts=self._child,
        )
        # Take every rule off the default security group so nothing falls back onto it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default",
            vpc_id=self.vpc.id,
            tags=self._tags(f"{name}-default"),
            opts=self._child,
        )
        self.public_subnets = self._subnets(
            "public", net.public_subnet_cidrs, "kubernetes.io/role/elb"
        )
        self.private_subnets = self._subnets(
            "private", net.private_subnet_cidrs, "kubernetes.io/role/internal-elb"
        )
        public_routes = self._public_route_table()
        private_routes = self._private_route_tables()
        self._endpoints(public_routes, private_routes)
        self._flow_logs(log_key_arn)
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "public_subnet_ids": [s.id for s in self.public_subnets],
                "private_subnet_ids": [s.id for s in self.private_subnets],
            }
        )

    @property
    def private_subnet_ids(self) -> list[pulumi.Output[str]]:
        return [subnet.id for subnet in self.private_subnets]

    def _tags(self, name: str) -> dict[str, str]:
        return resource_tags(self._config.tags, name)

    def _subnets(
        self, tier: str, cidrs: list[IPv4Network], elb_role_tag: str
    ) -> list[aws.ec2.Subnet]:
        subnets = []
        for zone, cidr in zip(self._config.network.availability_zones, cidrs, strict=True):
            subnet_name = f"{self._name}-{tier}-{zone}"
            subnets.append(
                aws.ec2.Subnet(
                    subnet_name,
                    vpc_id=self.vpc.id,
                    cidr_block=str(cidr),
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={**self._tags(subnet_name), elb_role_tag: "1"},
                    opts=self._child,
                )
            )
        return subnets

    def _public_route_table(self) -> aws.ec2.RouteTable:
        gateway = aws.ec2.InternetGateway(
            f"{self._name}-igw",
            vpc_id=self.vpc.id,
            tags=self._tags(f"{self._name}-igw"),
            opts=self._child,
        )
        table = aws.ec2.RouteTable(
            f"{self._name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=self._tags(f"{self._name}-public"),
            opts=self._child,
        )
        for subnet, zone in zip(
            self.public_subnets, self._config.network.availability_zones, strict=True
        ):
            aws.ec2.RouteTableAssociation(
                f"{self._name}-public-{zone}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child,
            )
        return table

    def _private_route_tables(self) -> list[aws.ec2.RouteTable]:
        zones = self._config.network.availability_zones
        nat_zones = zones if self._config.network.nat == "per_az" else zones[:1]
        nats = [
            self._nat_gateway(zone, subnet)
            for zone, subnet in zip(nat_zones, self.public_subnets, strict=False)
        ]
        tables = []
        for index, (zone, subnet) in enumerate(zip(zones, self.private_subnets, strict=True)):
            nat = nats[index] if len(nats) > 1 else nats[0]
            table = aws.ec2.RouteTable(
                f"{self._name}-private-{zone}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=self._tags(f"{self._name}-private-{zone}"),
                opts=self._child,
            )
            aws.ec2.RouteTableAssociation(
                f"{self._name}-private-{zone}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child,
            )
            tables.append(table)
        return tables

    def _nat_gateway(self, zone: str, public_subnet: aws.ec2.Subnet) -> aws.ec2.NatGateway:
        address = aws.ec2.Eip(
            f"{self._name}-nat-{zone}",
            domain="vpc",
            tags=self._tags(f"{self._name}-nat-{zone}"),
            opts=self._child,
        )
        return aws.ec2.NatGateway(
            f"{self._name}-nat-{zone}",
            allocation_id=address.id,
            subnet_id=public_subnet.id,
            tags=self._tags(f"{self._name}-nat-{zone}"),
            opts=self._child,
        )

    def _endpoints(self, public: aws.ec2.RouteTable, private: list[aws.ec2.RouteTable]) -> None:
        region = self._config.region
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[public.id, *(table.id for table in private)],
            tags=self._tags(f"{self._name}-s3"),
            opts=self._child,
        )
        endpoint_sg = self.security_group(
            "endpoints", HTTPS, cidr=str(self._config.network.vpc_cidr)
        )
        for service in INTERFACE_ENDPOINTS:
            endpoint_name = f"{self._name}-{service.replace('.', '-')}"
            aws.ec2.VpcEndpoint(
                endpoint_name,
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags=self._tags(endpoint_name),
                opts=self._child,
            )

    def security_group(
        self,
        purpose: str,
        port: int,
        *,
        source_group_id: pulumi.Input[str] | None = None,
        cidr: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> aws.ec2.SecurityGroup:
        """A group that admits TCP `port` from one source (a security group or a CIDR) and
        nothing else; no egress rules, since the services behind it never dial out."""
        sg_name = f"{self._name}-{purpose}"
        sg_opts = opts or self._child
        group = aws.ec2.SecurityGroup(
            sg_name,
            vpc_id=self.vpc.id,
            description=f"Orgo {purpose}: TCP {port} from its clients only",
            tags=self._tags(sg_name),
            opts=sg_opts,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{sg_name}-ingress",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=source_group_id,
            cidr_ipv4=cidr,
            description=f"TCP {port} from clients",
            tags=self._tags(f"{sg_name}-ingress"),
            opts=pulumi.ResourceOptions.merge(sg_opts, pulumi.ResourceOptions(parent=group)),
        )
        return group

    def load_balancer_security_group(
        self, node_group_id: pulumi.Input[str]
    ) -> aws.ec2.SecurityGroup:
        """The one door from the internet: HTTPS to the load balancer in front of the
        Gateway, which forwards to pods on the nodes (unprivileged ports)."""
        group = self.security_group("load-balancer", HTTPS, cidr="0.0.0.0/0")
        name = f"{self._name}-load-balancer"
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-nodes",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=UNPRIVILEGED_PORTS[0],
            to_port=UNPRIVILEGED_PORTS[1],
            referenced_security_group_id=node_group_id,
            description="to the Gateway pods",
            tags=self._tags(f"{name}-to-nodes"),
            opts=pulumi.ResourceOptions(parent=group),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-into-nodes",
            security_group_id=node_group_id,
            ip_protocol="tcp",
            from_port=UNPRIVILEGED_PORTS[0],
            to_port=UNPRIVILEGED_PORTS[1],
            referenced_security_group_id=group.id,
            description="from the internet-facing load balancer",
            tags=self._tags(f"{name}-into-nodes"),
            opts=pulumi.ResourceOptions(parent=group),
        )
        return group

    def _flow_logs(self, log_key_arn: pulumi.Input[str]) -> None:
        log_name = f"{self._name}-flow-logs"
        group = aws.cloudwatch.LogGroup(
            log_name,
            name=f"/orgo/{self._config.name}/vpc-flow-logs",
            retention_in_days=self._config.network.flow_log_retention_days,
            kms_key_id=log_key_arn,
            tags=self._tags(log_name),
            opts=self._child,
        )
        writer = service_role(
            log_name,
            "vpc-flow-logs.amazonaws.com",
            self._tags(log_name),
            self._child,
            inline_policy=group.arn.apply(
                lambda arn: policy_document(
                    [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ]
                )
            ),
        )
        aws.ec2.FlowLog(
            log_name,
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=writer.arn,
            tags=self._tags(log_name),
            opts=self._child,
        )

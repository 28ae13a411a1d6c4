"""EKS: the cluster, its managed node groups and add-ons, and a Kubernetes provider for it."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.config import AwsConfig, NodeGroup
from infra.aws.iam import POD_IDENTITY_PRINCIPAL, managed_policy, policy_document, service_role
from infra.aws.pins import aws_pins
from infra.aws.tags import resource_tags

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
# Add-ons the nodes need to become Ready (networking, Pod Identity); the others run as
# pods and are only created once nodes exist, or their creation waits forever.
ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# metrics-server serves the resource metrics API the HorizontalPodAutoscalers read.
ADDONS_AFTER_NODES = ("coredns", "aws-ebs-csi-driver", "metrics-server")
# Add-on settings that differ from AWS's defaults. The VPC CNI enforces NetworkPolicies only
# when asked: every namespace's policies (and the API's trust of the pod networks) rely on it.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}
# Add-ons that call AWS APIs, the service account they run as and the policy they need.
ADDON_IDENTITIES = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"),
}
EBS_CSI = "aws-ebs-csi-driver"
# The cluster's default StorageClass: gp3 volumes encrypted with the data key, kept when
# their claim is deleted (they hold databases and indices).
STORAGE_CLASS = "gp3-encrypted"


def _ami_type(group: NodeGroup) -> str:
    return "AL2023_ARM_64_STANDARD" if group.architecture == "arm64" else "AL2023_x86_64_STANDARD"


def _volume_key_policy(key_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The EBS CSI driver encrypts volumes with the data key (grants for EC2 only)."""
    return pulumi.Output.from_input(key_arn).apply(
        lambda key: policy_document(
            [
                {
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": key,
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ]
        )
    )


class Cluster(pulumi.ComponentResource):
    """Private API endpoint (plus a public one limited to configured CIDRs), Secrets
    envelope-encrypted with KMS, all control-plane logs, access entries for admin and
    view roles."""

    cluster: aws.eks.Cluster
    node_security_group_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kubernetes_provider: k8s.Provider

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        private_subnet_ids: Sequence[pulumi.Input[str]],
        data_key_arn: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:Cluster", name, None, opts)
        self._name = name
        self._config = config
        self._child = pulumi.ResourceOptions(parent=self)
        self.cluster = self._control_plane(private_subnet_ids, data_key_arn, secrets_key_arn)
        self.node_security_group_id = self.cluster.vpc_config.apply(
            lambda vpc: vpc.cluster_security_group_id or ""
        )
        access = [
            *self._access("admin", config.eks.admin_role_arns, CLUSTER_ADMIN_POLICY),
            *self._access("view", config.eks.view_role_arns, CLUSTER_VIEW_POLICY),
        ]
        networking = self._addons(ADDONS_BEFORE_NODES, access, data_key_arn)
        node_role = service_role(
            f"{name}-nodes",
            "ec2.amazonaws.com",
            self._tags(f"{name}-nodes"),
            self._child,
            managed_policy_arns=[
                managed_policy("AmazonEKSWorkerNodePolicy"),
                managed_policy("AmazonEC2ContainerRegistryPullOnly"),
            ],
        )
        eks = config.eks
        nodes = [
            self._node_group(
                "system",
                eks.system_nodes,
                "ON_DEMAND",
                node_role,
                private_subnet_ids,
                data_key_arn,
                networking,
            ),
            self._node_group(
                "workloads",
                eks.workload_nodes,
                "SPOT" if eks.workload_nodes.capacity == "spot" else "ON_DEMAND",
                node_role,
                private_subnet_ids,
                data_key_arn,
                networking,
            ),
        ]
        in_cluster = self._addons(ADDONS_AFTER_NODES, nodes, data_key_arn)
        self.kubeconfig = self._kubeconfig()
        self.kubernetes_provider = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*nodes, *in_cluster]),
        )
        self._default_storage_class(data_key_arn)
        self.register_outputs(
            {
                "cluster_name": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "node_security_group_id": self.node_security_group_id,
            }
        )

    def _tags(self, name: str) -> dict[str, str]:
        return resource_tags(self._config.tags, name)

    def _control_plane(
        self,
        subnet_ids: Sequence[pulumi.Input[str]],
        data_key_arn: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
    ) -> aws.eks.Cluster:
        config = self._config
        # EKS writes to this fixed group name; creating it first sets retention and KMS.
        logs = aws.cloudwatch.LogGroup(
            f"{self._name}-control-plane",
            name=f"/aws/eks/{config.name}/cluster",
            retention_in_days=config.eks.log_retention_days,
            kms_key_id=data_key_arn,
            tags=self._tags(f"{self._name}-control-plane"),
            opts=self._child,
        )
        role = service_role(
            f"{self._name}-control-plane",
            "eks.amazonaws.com",
            self._tags(f"{self._name}-control-plane"),
            self._child,
            managed_policy_arns=[managed_policy("AmazonEKSClusterPolicy")],
        )
        public_cidrs = [str(cidr) for cidr in config.eks.public_endpoint_cidrs]
        return aws.eks.Cluster(
            self._name,
            name=config.name,
            version=config.eks.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=bool(public_cidrs),
                public_access_cidrs=public_cidrs or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key_arn),
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            bootstrap_self_managed_addons=False,
            deletion_protection=config.protection.deletion_protection,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=config.eks.support_type),
            tags=self._tags(self._name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

    def _access(self, level: str, role_arns: Sequence[str], policy: str) -> list[pulumi.Resource]:
        """An access entry per role, with `policy` over the whole cluster."""
        associations: list[pulumi.Resource] = []
        for index, arn in enumerate(role_arns):
            entry_name = f"{self._name}-{level}-{index}"
            entry = aws.eks.AccessEntry(
                entry_name,
                cluster_name=self.cluster.name,
                principal_arn=arn,
                type="STANDARD",
                tags=self._tags(entry_name),
                opts=self._child,
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    entry_name,
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=policy,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=self._child,
                )
            )
        return associations

    def _addons(
        self,
        names: Sequence[str],
        after: Sequence[pulumi.Resource],
        data_key_arn: pulumi.Input[str],
    ) -> list[pulumi.Resource]:
        versions = aws_pins().eks_addons
        addons: list[pulumi.Resource] = []
        for addon in names:
            addon_name = f"{self._name}-{addon}"
            identities = None
            if addon in ADDON_IDENTITIES:
                service_account, policy = ADDON_IDENTITIES[addon]
                role = service_role(
                    addon_name,
                    POD_IDENTITY_PRINCIPAL,
                    self._tags(addon_name),
                    self._child,
                    managed_policy_arns=[managed_policy(policy)],
                    inline_policy=_volume_key_policy(data_key_arn) if addon == EBS_CSI else None,
                )
                identities = [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=role.arn, service_account=service_account
                    )
                ]
            addons.append(
                aws.eks.Addon(
                    addon_name,
                    cluster_name=self.cluster.name,
                    addon_name=addon,
                    addon_version=versions[addon],
                    configuration_values=(
                        json.dumps(ADDON_CONFIGURATION[addon])
                        if addon in ADDON_CONFIGURATION
                        else None
                    ),
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="OVERWRITE",
                    pod_identity_associations=identities,
                    tags=self._tags(addon_name),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
                )
            )
        return addons

    def _node_group(
        self,
        pool: str,
        group: NodeGroup,
        capacity_type: str,
        role: aws.iam.Role,
        subnet_ids: Sequence[pulumi.Input[str]],
        data_key_arn: pulumi.Input[str],
        after: Sequence[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        group_name = f"{self._name}-{pool}"
        tags = self._tags(group_name)
        template = aws.ec2.LaunchTemplate(
            group_name,
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=data_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # IMDSv2 only, one hop: pods get AWS credentials from Pod Identity, never
            # from the node's instance profile.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=tags,
            opts=self._child,
        )
        return aws.eks.NodeGroup(
            group_name,
            cluster_name=self.cluster.name,
            node_role_arn=role.arn,
            # The control plane's minor: a version bump rolls the nodes after the control
            # plane and the networking add-ons (docs/aws.md, EKS version and upgrades).
            version=self.cluster.version,
            subnet_ids=list(subnet_ids),
            ami_type=_ami_type(group),
            capacity_type=capacity_type,
            instance_types=list(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={"orgo.dev/pool": pool},
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(after),
                # The cluster autoscaler moves desired_size; do not fight it.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _default_storage_class(self, data_key_arn: pulumi.Input[str]) -> None:
        k8s.storage.v1.StorageClass(
            f"{self._name}-{STORAGE_CLASS}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=STORAGE_CLASS,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            parameters={
                "type": "gp3",
                "encrypted": "true",
                "kmsKeyId": data_key_arn,
                **self._volume_tags(),
            },
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider),
        )

    def _volume_tags(self) -> dict[str, str]:
        """The stack's tags on every EBS volume the CSI driver creates for a claim
        (`tagSpecification_<n>: key=value`); the driver names the volumes itself."""
        tags = resource_tags(self._config.tags, "")
        del tags["Name"]
        return {
            f"tagSpecification_{n}": f"{key}={value}"
            for n, (key, value) in enumerate(sorted(tags.items()), start=1)
        }

    def _kubeconfig(self) -> pulumi.Output[str]:
        """Token from `aws eks get-token` (needs the AWS CLI) with the credentials Pulumi
        runs with: an admin role deploys, a view role previews; the access entries decide
        what each may do."""
        config = self._config

        def render(endpoint: str, ca_data: str, cluster: str) -> str:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "aws",
                    "args": [
                        "eks",
                        "get-token",
                        "--region",
                        config.region,
                        "--cluster-name",
                        cluster,
                    ],
                    "interactiveMode": "Never",
                }
            }
            return json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": cluster,
                            "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                        }
                    ],
                    "users": [{"name": "aws", "user": user}],
                    "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": "aws"}}],
                    "current-context": cluster,
                },
                sort_keys=True,
            )

        return pulumi.Output.all(
            self.cluster.endpoint,
            self.cluster.certificate_authority.apply(lambda ca: (ca and ca.data) or ""),
            self.cluster.name,
        ).apply(lambda args: render(str(args[0]), str(args[1]), str(args[2])))

"""The AWS foundation beneath the Kubernetes platform: one component composing the rest.

`AwsFoundation` builds the KMS keys, the VPC, EKS, the S3 buckets with their Pod Identity
roles, the app image's ECR repository and, per service, the managed data service the stack
chose. The platform then runs on `kubernetes_provider` and uses `external_services`
instead of in-cluster counterparts.
"""

from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.amazonmq import ManagedRabbitmq
from infra.aws.cdn import WebCdn
from infra.aws.config import AwsConfig
from infra.aws.dns import AcmeDns
from infra.aws.ecr import ImageRepository
from infra.aws.eks import Cluster
from infra.aws.elasticache import ManagedRedis
from infra.aws.kms import EncryptionKeys
from infra.aws.network import Network
from infra.aws.rds import ManagedPostgres
from infra.aws.storage import Storage
from infra.config import ConfigError, PlatformConfig
from infra.external import ExternalServices


def check_platform_matches(config: AwsConfig, platform: PlatformConfig) -> None:
    """The two halves of one stack must describe the same cluster and environment."""
    mismatches = []
    if platform.kubernetes_version != config.eks.version:
        mismatches.append(
            f"orgo:platform.kubernetesVersion ({platform.kubernetes_version}) must equal "
            f"orgo:aws.eks.version ({config.eks.version})"
        )
    if platform.environment != config.tags.environment:
        mismatches.append(
            f"orgo:platform.environment ({platform.environment}) must equal "
            f"orgo:aws.tags.environment ({config.tags.environment})"
        )
    edge = platform.edge
    if edge.issuer == "acme" and edge.acme.solver != "route53":
        mismatches.append(
            f"orgo:platform.edge.acme.solver ({edge.acme.solver}) cannot work on AWS, whose "
            "load balancer admits only 443; allowed: route53"
        )
    if config.cdn.enabled and config.cdn.hostname == platform.domain:
        mismatches.append(
            f"orgo:aws.cdn.hostname ({config.cdn.hostname}) must differ from "
            "orgo:platform.domain, the Gateway's hostname that CloudFront reaches the API at"
        )
    if mismatches:
        raise ConfigError("invalid stack config:\n  " + "\n  ".join(mismatches))


class AwsFoundation(pulumi.ComponentResource):
    kubernetes_provider: k8s.Provider
    external_services: ExternalServices
    # For the Gateway's Service: the only security group open to the internet (TCP 443).
    load_balancer_security_group_id: pulumi.Output[str]
    # For stack outputs: `aws eks update-kubeconfig --name <cluster_name>`.
    cluster_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        platform: PlatformConfig,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        check_platform_matches(config, platform)
        super().__init__("orgo:aws:Foundation", name, None, opts)
        # Refuses credentials of any other account: a wrong profile fails, it does not
        # build a second platform somewhere else.
        provider = aws.Provider(
            f"{name}-aws",
            region=config.region,
            allowed_account_ids=[config.account_id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers=[provider])
        keys = EncryptionKeys(f"{name}-keys", config, child)
        network = Network(f"{name}-network", config, keys.data.arn, child)
        cluster = Cluster(
            f"{name}-eks",
            config,
            network.private_subnet_ids,
            keys.data.arn,
            keys.eks_secrets.arn,
            child,
        )
        load_balancer = network.load_balancer_security_group(cluster.node_security_group_id)
        self.load_balancer_security_group_id = load_balancer.id
        self.cluster_name = cluster.cluster.name
        acme = platform.edge.acme
        if platform.edge.issuer == "acme" and acme.hosted_zone_id is not None:
            AcmeDns(f"{name}-acme-dns", config, acme.hosted_zone_id, cluster.cluster.name, child)
        storage = Storage(f"{name}-storage", config, cluster.cluster.name, keys.data.arn, child)
        images = ImageRepository(f"{name}-ecr", config, keys.data.arn, child)
        # Stack outputs of the AWS layer: where to push the app image (docs/aws.md) and
        # the cluster for `aws eks update-kubeconfig --name`.
        pulumi.export("imageRepositoryUrl", images.url)
        pulumi.export("clusterName", cluster.cluster.name)
        if config.cdn.enabled:
            self._web_cdn(name, config, platform.domain, child)
        self.kubernetes_provider = cluster.kubernetes_provider
        self.external_services = replace(
            self._managed_services(name, config, network, cluster, storage, keys, child),
            load_balancer_security_group=load_balancer.id,
        )
        self.register_outputs(
            {
                "cluster_name": cluster.cluster.name,
                "cluster_endpoint": cluster.cluster.endpoint,
                "kubeconfig": cluster.kubeconfig,
                "vpc_id": network.vpc.id,
                "load_balancer_security_group_id": load_balancer.id,
                "files_bucket": storage.files.bucket.bucket,
                "backup_bucket": storage.backups.bucket.bucket,
                "image_repository_url": images.url,
            }
        )

    @staticmethod
    def _web_cdn(
        name: str, config: AwsConfig, api_hostname: str, opts: pulumi.ResourceOptions
    ) -> None:
        """The UI's bucket and distribution; `make web-upload` fills the bucket."""
        cdn = WebCdn(f"{name}-cdn", config, api_hostname, opts)
        pulumi.export("webUrl", cdn.url)
        pulumi.export("webBucket", cdn.bucket.bucket.bucket)
        pulumi.export("webDistributionId", cdn.distribution.id)
        pulumi.export("webDistributionDomain", cdn.distribution.domain_name)

    @staticmethod
    def _managed_services(
        name: str,
        config: AwsConfig,
        network: Network,
        cluster: Cluster,
        storage: Storage,
        keys: EncryptionKeys,
        opts: pulumi.ResourceOptions,
    ) -> ExternalServices:
        services = config.services
        clients = cluster.node_security_group_id
        key = keys.data.arn
        postgres = redis = rabbitmq = None
        if services.postgres.mode == "managed":
            postgres = ManagedPostgres(f"{name}-postgres", config, network, clients, key, opts)
        if services.redis.mode == "managed":
            redis = ManagedRedis(f"{name}-redis", config, network, clients, key, opts)
        if services.rabbitmq.mode == "managed":
            rabbitmq = ManagedRabbitmq(f"{name}-rabbitmq", config, network, clients, opts)
        return ExternalServices(
            postgres=postgres.endpoint if postgres else None,
            redis=redis.endpoint if redis else None,
            rabbitmq=rabbitmq.endpoint if rabbitmq else None,
            region=config.region,
            backup_bucket=storage.backups.bucket.bucket,
            files_bucket=storage.files.bucket.bucket,
        )

"""The web UI on CloudFront: the built files (web/dist) in a private S3 bucket read only
by this distribution (origin access control), the API's paths to the Gateway, all under
`orgo:aws.cdn.hostname`, so the UI calls its own origin and no CORS is needed.

The caching and the security headers are those of web/nginx.conf and of
app/orgo/api/web-security-headers.conf (read here, not copied); page paths get index.html
from a CloudFront Function, as nginx's `try_files $uri /index.html`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.storage import SecureBucket, bucket_name, lifecycle_rules
from infra.aws.tags import resource_tags
from orgo.api.web import (
    HASHED_ASSETS,
    IMMUTABLE,
    INDEX,
    RESERVED_PATHS,
    REVALIDATE,
    read_security_headers,
)

# Only TLS 1.3 towards viewers: the strictest security policy CloudFront offers (TLSv1.3_2025
# accepts TLS 1.3 alone; TLSv1.2_2025 is the one that still admits TLS 1.2).
VIEWER_TLS_POLICY = "TLSv1.3_2025"
# CloudFront reads viewer certificates from ACM in us-east-1 only.
CERTIFICATE_REGION = "us-east-1"
# The API's paths, from the Gateway; the UI calls them on its own origin.
API_PATHS = ("/api/*", "/healthz")
# AWS's managed policies: no caching at all (the API's responses, the pages), and every
# viewer header but Host (Authorization included, which CloudFront forwards only with
# caching disabled); Host becomes the origin's name, the Gateway's hostname and certificate.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Hashed assets never change: one year at the edge, as their Cache-Control says.
ONE_YEAR = 31536000
# CloudFront's security-header settings, by header; other headers go as custom headers.
_REFERRER_POLICIES = {
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
}
# Like the hosts' nginx (playbooks/roles/nginx): browsers keep to HTTPS for a year.
HSTS_SECONDS = ONE_YEAR
S3_ORIGIN = "web-assets"
API_ORIGIN = "api"


def spa_function_code() -> str:
    """Viewer-request rewrite (cloudfront-js-2.0) of web/nginx.conf's locations: the API's
    other reserved paths 404 (those routed to the API never reach the function), a path
    whose last segment has an extension is the file, any other path is index.html."""
    reserved = json.dumps(sorted(RESERVED_PATHS))
    return f"""var RESERVED = {reserved};
function handler(event) {{
  var request = event.request;
  var uri = request.uri;
  for (var i = 0; i < RESERVED.length; i++) {{
    if (uri === RESERVED[i] || uri.startsWith(RESERVED[i] + "/")) {{
      return {{ statusCode: 404, statusDescription: "Not Found" }};
    }}
  }}
  if (!/\\.[^/]+$/.test(uri)) {{
    request.uri = "/{INDEX}";
  }}
  return request;
}}
"""


def security_headers_config(headers: Sequence[tuple[str, str]]) -> tuple[Any, list[Any]]:
    """The headers file as a response headers policy: (security_headers_config, custom
    headers), every header overriding whatever the origin sent."""
    security: dict[str, Any] = {
        "strict_transport_security": {
            "access_control_max_age_sec": HSTS_SECONDS,
            "include_subdomains": False,
            "preload": False,
            "override": True,
        }
    }
    custom = []
    for name, value in headers:
        key = name.lower()
        if key == "content-security-policy":
            security["content_security_policy"] = {
                "content_security_policy": value,
                "override": True,
            }
        elif key == "x-content-type-options":
            _require(name, value, {"nosniff"})
            security["content_type_options"] = {"override": True}
        elif key == "x-frame-options":
            _require(name, value, {"DENY", "SAMEORIGIN"})
            security["frame_options"] = {"frame_option": value, "override": True}
        elif key == "referrer-policy":
            _require(name, value, _REFERRER_POLICIES)
            security["referrer_policy"] = {"referrer_policy": value, "override": True}
        elif key in ("strict-transport-security", "x-xss-protection", "cache-control"):
            raise ValueError(
                f"{name}: set by the CloudFront distribution itself (infra/aws/cdn.py), "
                "not by the headers file"
            )
        else:
            custom.append({"header": name, "value": value, "override": True})
    return security, custom


def _require(name: str, value: str, allowed: set[str]) -> None:
    if value not in allowed:
        raise ValueError(
            f"{name}: {value!r} cannot be sent by CloudFront; allowed: {', '.join(sorted(allowed))}"
        )


class WebCdn(pulumi.ComponentResource):
    """Bucket, certificate (us-east-1), distribution, alias record."""

    bucket: SecureBucket
    distribution: aws.cloudfront.Distribution
    url: str

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        api_hostname: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:WebCdn", name, None, opts)
        cdn = config.cdn
        if cdn.hostname is None or cdn.hosted_zone_id is None:
            raise ValueError("WebCdn needs orgo:aws.cdn.hostname and hostedZoneId")
        self._name = name
        self._config = config
        child = pulumi.ResourceOptions(parent=self)
        certificate = self._certificate(cdn.hostname, cdn.hosted_zone_id)
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{config.name}-web",
            description="CloudFront signs its requests to the web assets bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        # The bucket's name is known, so the distribution can name its origin before the
        # bucket exists, and the bucket's policy can name the distribution.
        bucket = bucket_name(config, "web")
        origins: Any = [
            {
                "origin_id": S3_ORIGIN,
                "domain_name": f"{bucket}.s3.{config.region}.amazonaws.com",
                "origin_access_control_id": access.id,
            },
            {
                "origin_id": API_ORIGIN,
                "domain_name": api_hostname,
                "custom_origin_config": {
                    "http_port": 80,
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    # CloudFront's highest origin protocol; the Gateway admits it, with
                    # AEAD suites only, when this stack has a CDN (edge.py, _client_tls).
                    "origin_ssl_protocols": ["TLSv1.2"],
                },
            },
        ]
        viewer_certificate: Any = {
            "acm_certificate_arn": certificate,
            "ssl_support_method": "sni-only",
            "minimum_protocol_version": VIEWER_TLS_POLICY,
        }
        no_geo_restriction: Any = {"geo_restriction": {"restriction_type": "none"}}
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            comment=f"{config.name} web UI and API",
            enabled=True,
            aliases=[cdn.hostname],
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class="PriceClass_100",
            default_root_object=INDEX,
            origins=origins,
            default_cache_behavior=self._page_behaviour(),
            ordered_cache_behaviors=[self._assets_behaviour(), *self._api_behaviours()],
            restrictions=no_geo_restriction,
            viewer_certificate=viewer_certificate,
            tags=resource_tags(config.tags, f"{name}-distribution"),
            opts=child,
        )
        self.bucket = SecureBucket(
            f"{name}-assets",
            "web",
            config,
            # SSE-S3: the files are public through the distribution; SSE-KMS would need
            # the key's policy to name the distribution too, for no secrecy gained.
            None,
            lifecycle_rules(config.storage.noncurrent_version_days, None),
            child,
            grants=self._distribution_reads,
        )
        aws.route53.Record(
            f"{name}-alias",
            zone_id=cdn.hosted_zone_id,
            name=cdn.hostname,
            type="A",
            aliases=[
                {
                    "name": self.distribution.domain_name,
                    "zone_id": self.distribution.hosted_zone_id,
                    "evaluate_target_health": False,
                }
            ],
            opts=child,
        )
        self.url = f"https://{cdn.hostname}"
        self.register_outputs(
            {
                "bucket": self.bucket.bucket.bucket,
                "distribution_id": self.distribution.id,
                "distribution_domain": self.distribution.domain_name,
            }
        )

    def _distribution_reads(self, bucket_arn: pulumi.Output[str]) -> pulumi.Output[list[Any]]:
        """Only this distribution, through its origin access control, reads objects."""
        return pulumi.Output.all(bucket_arn, self.distribution.arn).apply(
            lambda arns: [
                {
                    "Sid": "ThisDistributionReads",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{arns[0]}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": arns[1]}},
                }
            ]
        )

    def _certificate(self, hostname: str, zone_id: str) -> pulumi.Output[str]:
        """An ACM certificate for the hostname in us-east-1, validated through DNS in the
        stack's zone; the ARN once ACM has issued it."""
        config = self._config
        us_east_1 = aws.Provider(
            f"{self._name}-{CERTIFICATE_REGION}",
            region=CERTIFICATE_REGION,
            allowed_account_ids=[config.account_id],
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=us_east_1)
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            domain_name=hostname,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags=resource_tags(config.tags, f"{self._name}-certificate"),
            opts=in_us_east_1,
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{self._name}-certificate-validation",
            zone_id=zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            opts=pulumi.ResourceOptions(parent=self),
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=in_us_east_1,
        )
        return validation.certificate_arn

    def _response_headers(self, purpose: str, cache_control: str) -> pulumi.Output[str]:
        """The UI's security headers and `cache_control`, as nginx sends them."""
        security, custom = security_headers_config(read_security_headers())
        custom_headers: Any = {
            "items": [
                *custom,
                {"header": "Cache-Control", "value": cache_control, "override": True},
            ]
        }
        policy = aws.cloudfront.ResponseHeadersPolicy(
            f"{self._name}-{purpose}-headers",
            name=f"{self._config.name}-web-{purpose}",
            comment=f"Security headers of the web UI; Cache-Control {cache_control}",
            security_headers_config=security,
            custom_headers_config=custom_headers,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy_id: pulumi.Output[str] = policy.id
        return policy_id

    def _page_behaviour(self) -> Any:
        """index.html and the files at the root: never cached, revalidated by browsers."""
        spa = aws.cloudfront.Function(
            f"{self._name}-spa",
            name=f"{self._config.name}-web-spa",
            runtime="cloudfront-js-2.0",
            comment="Page paths get index.html; the API's other paths 404",
            code=spa_function_code(),
            publish=True,
            tags=resource_tags(self._config.tags, f"{self._name}-spa"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "target_origin_id": S3_ORIGIN,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"],
            "cache_policy_id": CACHING_DISABLED,
            "response_headers_policy_id": self._response_headers("pages", REVALIDATE),
            "function_associations": [{"event_type": "viewer-request", "function_arn": spa.arn}],
        }

    def _assets_behaviour(self) -> Any:
        """Hashed assets: a year at the edge and in browsers, compressed."""
        cache = aws.cloudfront.CachePolicy(
            f"{self._name}-assets-cache",
            name=f"{self._config.name}-web-assets",
            comment="Hashed assets: content-addressed, cached for a year",
            min_ttl=ONE_YEAR,
            default_ttl=ONE_YEAR,
            max_ttl=ONE_YEAR,
            parameters_in_cache_key_and_forwarded_to_origin={
                "enable_accept_encoding_brotli": True,
                "enable_accept_encoding_gzip": True,
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "path_pattern": f"{HASHED_ASSETS}*",
            "target_origin_id": S3_ORIGIN,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": cache.id,
            "response_headers_policy_id": self._response_headers("assets", IMMUTABLE),
        }

    @staticmethod
    def _api_behaviours() -> list[Any]:
        """The API's paths to the Gateway: every method, nothing cached, every header but
        Host forwarded (Authorization included), the app's own response headers."""
        return [
            {
                "path_pattern": path,
                "target_origin_id": API_ORIGIN,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_DISABLED,
                "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST,
            }
            for path in API_PATHS
        ]

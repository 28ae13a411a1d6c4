"""The web UI on CloudFront (infra.aws.cdn): private bucket behind origin access control,
TLS 1.3 only, nginx's caching and headers, the API on the same distribution."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from infra.aws.cdn import (
    ALL_VIEWER_EXCEPT_HOST,
    CACHING_DISABLED,
    HSTS_SECONDS,
    security_headers_config,
    spa_function_code,
)
from infra.config import ConfigError
from orgo.api.web import IMMUTABLE, REVALIDATE, read_security_headers
from tests.harness.web import NODE_BIN

from .conftest import Run, declare_foundation, mock_stack
from .test_aws_config import config_error, stack_file, values_of, with_change

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
# The typed security headers of a response headers policy, back to (header, value).
SECURITY_HEADERS = {
    "contentSecurityPolicy": ("Content-Security-Policy", lambda c: c["contentSecurityPolicy"]),
    "contentTypeOptions": ("X-Content-Type-Options", lambda _: "nosniff"),
    "frameOptions": ("X-Frame-Options", lambda c: c["frameOption"]),
    "referrerPolicy": ("Referrer-Policy", lambda c: c["referrerPolicy"]),
}


def _distribution(run: Run) -> dict[str, Any]:
    return run.one(DISTRIBUTION).inputs


def _behaviours(run: Run) -> dict[str, dict[str, Any]]:
    inputs = _distribution(run)
    ordered = {b["pathPattern"]: b for b in inputs["orderedCacheBehaviors"]}
    return {"default": inputs["defaultCacheBehavior"], **ordered}


def _sent_headers(policy: dict[str, Any]) -> list[tuple[str, str]]:
    """What a viewer receives from a response headers policy, as (header, value)."""
    security = policy["securityHeadersConfig"]
    sent = [
        (header, value(security[key]))
        for key, (header, value) in SECURITY_HEADERS.items()
        if key in security
    ]
    sent += [(h["header"], h["value"]) for h in policy["customHeadersConfig"]["items"]]
    overrides = [c["override"] for c in security.values()]
    overrides += [h["override"] for h in policy["customHeadersConfig"]["items"]]
    assert all(o is True for o in overrides)
    return sent


def test_bucket_is_reachable_only_through_origin_access_control(foundation_run: Run) -> None:
    access = foundation_run.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert (
        access.inputs["originAccessControlOriginType"],
        access.inputs["signingBehavior"],
        access.inputs["signingProtocol"],
    ) == ("s3", "always", "sigv4")
    bucket = foundation_run.named("aws:s3/bucket:Bucket", "orgo-cdn-assets")
    (s3_origin,) = [o for o in _distribution(foundation_run)["origins"] if "s3" in o["domainName"]]
    assert s3_origin["domainName"].startswith(f"{bucket.inputs['bucket']}.s3.")
    assert s3_origin["originAccessControlId"] == access.name  # the mocks' id
    assert "customOriginConfig" not in s3_origin and "s3OriginConfig" not in s3_origin
    assert not foundation_run.of_type("aws:s3/bucketAcl:BucketAcl")
    assert not foundation_run.of_type(
        "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"
    )


def test_viewers_get_tls_13_only_with_the_hostname_certificate(foundation_run: Run) -> None:
    cdn = foundation_run.config.cdn
    inputs = _distribution(foundation_run)
    assert inputs["aliases"] == [cdn.hostname]
    assert inputs["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.3_2025"
    assert inputs["viewerCertificate"]["sslSupportMethod"] == "sni-only"
    assert inputs["viewerCertificate"]["acmCertificateArn"].startswith("arn:aws:acm:")
    assert (inputs["httpVersion"], inputs["isIpv6Enabled"]) == ("http2and3", True)
    assert {b["viewerProtocolPolicy"] for b in _behaviours(foundation_run).values()} == {
        "redirect-to-https"
    }
    certificate = foundation_run.one("aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["validationMethod"]) == (
        cdn.hostname,
        "DNS",
    )
    (provider,) = [
        r
        for r in foundation_run.of_type("pulumi:providers:aws")
        if r.inputs.get("region") == "us-east-1"
    ]
    assert certificate.provider.startswith(f"{provider.urn}::")  # CloudFront reads it there
    assert json.loads(provider.inputs["allowedAccountIds"]) == [foundation_run.config.account_id]
    validation = foundation_run.named(
        "aws:route53/record:Record", "orgo-cdn-certificate-validation"
    )
    assert validation.inputs["zoneId"] == cdn.hosted_zone_id
    assert validation.inputs["type"] == "CNAME"


def test_alias_record_points_the_hostname_at_the_distribution(foundation_run: Run) -> None:
    cdn = foundation_run.config.cdn
    alias = foundation_run.named("aws:route53/record:Record", "orgo-cdn-alias").inputs
    assert (alias["zoneId"], alias["name"], alias["type"]) == (
        cdn.hosted_zone_id,
        cdn.hostname,
        "A",
    )
    (target,) = alias["aliases"]
    assert target["name"] == "dorgo-cdn-distribution.cloudfront.net"  # the mocks' domain
    assert target["zoneId"] == "Z2FDTNDATAQYW2"


def test_headers_policies_send_the_headers_file_and_nginx_cache_control(
    foundation_run: Run,
) -> None:
    policies = {p.name: p.inputs for p in foundation_run.of_type(HEADERS_POLICY)}
    behaviours = _behaviours(foundation_run)
    expected_cache = {"default": REVALIDATE, "/assets/*": IMMUTABLE}
    for path, cache_control in expected_cache.items():
        policy = policies[behaviours[path]["responseHeadersPolicyId"]]  # mocks: id = name
        assert sorted(_sent_headers(policy)) == sorted(
            [*read_security_headers(), ("Cache-Control", cache_control)]
        )
        hsts = policy["securityHeadersConfig"]["strictTransportSecurity"]
        assert hsts["accessControlMaxAgeSec"] == HSTS_SECONDS


def test_assets_are_cached_for_a_year_and_pages_not_at_all(foundation_run: Run) -> None:
    behaviours = _behaviours(foundation_run)
    (cache,) = foundation_run.of_type("aws:cloudfront/cachePolicy:CachePolicy")
    assets = behaviours["/assets/*"]
    assert assets["cachePolicyId"] == cache.name
    assert {cache.inputs[t] for t in ("minTtl", "defaultTtl", "maxTtl")} == {31536000}
    assert assets["compress"] is True
    page = behaviours["default"]
    assert page["cachePolicyId"] == CACHING_DISABLED
    assert _distribution(foundation_run)["defaultRootObject"] == "index.html"
    (association,) = page["functionAssociations"]
    spa = foundation_run.one("aws:cloudfront/function:Function")
    assert association["eventType"] == "viewer-request"
    assert association["functionArn"].endswith(f":{spa.name}")
    assert spa.inputs["code"] == spa_function_code()
    assert spa.inputs["runtime"] == "cloudfront-js-2.0"
    # Page paths are answered by the function, not by mapping S3's 403/404 to index.html
    # (which would turn the API's own errors into the UI's page as well).
    assert not _distribution(foundation_run).get("customErrorResponses")


def test_api_paths_go_to_the_gateway_uncached_with_authorization(foundation_run: Run) -> None:
    domain = load_domain()
    behaviours = _behaviours(foundation_run)
    (api_origin,) = [
        o for o in _distribution(foundation_run)["origins"] if "customOriginConfig" in o
    ]
    assert api_origin["domainName"] == domain  # the Gateway's hostname and certificate
    assert api_origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    for path in ("/api/*", "/healthz"):
        behaviour = behaviours[path]
        assert behaviour["targetOriginId"] == api_origin["originId"]
        assert set(behaviour["allowedMethods"]) == ALL_METHODS
        assert behaviour["cachePolicyId"] == CACHING_DISABLED
        # With caching disabled, this managed policy forwards Authorization too.
        assert behaviour["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
        assert "responseHeadersPolicyId" not in behaviour  # the API's own headers


def load_domain() -> str:
    domain: str = stack_file("prod")["platform"]["domain"]
    return domain


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/", {"uri": "/index.html"}),
        ("/tasks", {"uri": "/index.html"}),
        ("/tasks/42/edit", {"uri": "/index.html"}),
        ("/assets/index-3f2a9c.js", {"uri": "/assets/index-3f2a9c.js"}),
        ("/favicon.svg", {"uri": "/favicon.svg"}),
        ("/docs", {"statusCode": 404}),
        ("/openapi.json", {"statusCode": 404}),
        ("/metrics/x", {"statusCode": 404}),
        ("/api", {"statusCode": 404}),
    ],
)
def test_spa_function_rewrites_like_nginx(uri: str, expected: dict[str, Any]) -> None:
    """The function's own code, run by a real JavaScript engine (Node)."""
    node = NODE_BIN / "node"
    if not node.exists():
        pytest.fail(f"{node} not found: make node installs the pinned Node.js")
    script = (
        spa_function_code()
        + f"\nvar out = handler({{request: {{uri: {json.dumps(uri)}, headers: {{}}}}}});"
        + "\nprocess.stdout.write(JSON.stringify(out));"
    )
    result = json.loads(
        subprocess.run([node, "-e", script], check=True, capture_output=True, text=True).stdout
    )
    assert {k: result[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("X-Frame-Options", "ALLOW-FROM https://x", "allowed: DENY, SAMEORIGIN"),
        ("Referrer-Policy", "never", "allowed: no-referrer"),
        ("Strict-Transport-Security", "max-age=1", "set by the CloudFront distribution"),
    ],
)
def test_headers_cloudfront_cannot_send_are_refused_by_name(
    header: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=header) as error:
        security_headers_config([(header, value)])
    assert message in str(error.value)


def test_enabled_cdn_without_hostname_names_the_keys() -> None:
    message = config_error(with_change("cdn", {"enabled": True}))
    assert "orgo:aws.cdn" in message
    assert "cdn.hostname and cdn.hostedZoneId: required when cdn.enabled is true" in message


def test_disabled_cdn_declares_no_cloudfront() -> None:
    monitor = mock_stack("prod", values_of(with_change("cdn", {"enabled": False})))
    declare_foundation("prod")
    assert not [r for r in monitor.registered if r.type.startswith("aws:cloudfront")]
    assert "orgo-cdn-assets" not in {r.name for r in monitor.registered}


def test_cdn_hostname_must_not_be_the_gateways() -> None:
    raw = with_change("cdn.hostname", stack_file("prod")["platform"]["domain"])
    mock_stack("prod", values_of(raw))
    with pytest.raises(ConfigError, match=r"orgo:aws\.cdn\.hostname .* must differ"):
        declare_foundation("prod")

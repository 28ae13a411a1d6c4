"""One test per platform component: what it declares for the dev and staging stacks."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import observability
from infra.mocks import SECRET_MASK

Objects = Callable[[str], list[dict[str, Any]]]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def values_of(charts: list[dict[str, Any]], resource: str) -> dict[str, Any]:
    return next(c for c in charts if c["resource"] == resource)["values"]


def test_postgres(objects: Objects) -> None:
    spec = one(objects("dev"), "Cluster")["spec"]
    initdb = spec["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"]) == ("orgo", "orgo")
    assert "CREATE EXTENSION IF NOT EXISTS pgcrypto" in initdb["postInitApplicationSQL"]
    assert initdb["secret"]["name"] == "orgo-postgres-app-credentials"
    assert spec["monitoring"]["enablePodMonitor"] is True
    assert spec["imageName"].startswith("ghcr.io/cloudnative-pg/postgresql:")
    pooler = one(objects("dev"), "Pooler")["spec"]
    assert (pooler["cluster"]["name"], pooler["type"]) == ("orgo-postgres", "rw")


def test_rabbitmq(objects: Objects) -> None:
    cluster = one(objects("staging"), "RabbitmqCluster")
    assert "rabbitmq_prometheus" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    assert cluster["spec"]["replicas"] == 3
    vhost = one(objects("staging"), "Vhost")["spec"]
    user = one(objects("staging"), "User")["spec"]
    permission = one(objects("staging"), "Permission")["spec"]
    for spec in (vhost, user, permission):
        assert spec["rabbitmqClusterReference"] == {"name": cluster["metadata"]["name"]}
    assert permission["vhost"] == vhost["name"] == "orgo"
    assert user["importCredentialsSecret"]["name"] == "orgo-rabbitmq-app-credentials"


def test_redis_persistence_follows_config(objects: Objects) -> None:
    dev = one(objects("dev"), "StatefulSet", "orgo-redis")["spec"]
    staging = one(objects("staging"), "StatefulSet", "orgo-redis")["spec"]
    assert "volumeClaimTemplates" not in dev
    assert dev["template"]["spec"]["volumes"][0]["emptyDir"]
    assert staging["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    redis = staging["template"]["spec"]["containers"][0]
    assert redis["args"][:2] == ["--requirepass", "$(REDIS_PASSWORD)"]
    assert [c["name"] for c in staging["template"]["spec"]["containers"]] == ["redis", "exporter"]


def test_elastic(objects: Objects) -> None:
    beat = one(objects("dev"), "Beat")
    assert beat["metadata"]["namespace"] == "orgo-logs"
    spec = beat["spec"]
    assert spec["config"]["filebeat.inputs"][0]["paths"] == ["/var/log/containers/*_orgo_*.log"]
    assert spec["elasticsearchRef"] == {"name": "orgo", "namespace": "elastic"}
    assert one(objects("dev"), "Kibana")["spec"]["elasticsearchRef"] == {"name": "orgo"}
    assets = observability.elastic_assets()
    jobs = [
        o for o in objects("dev") if o["kind"] == "Job" and o["metadata"]["namespace"] == "elastic"
    ]
    if assets:
        config = one(objects("dev"), "ConfigMap", "orgo-elastic-setup")["data"]
        assert set(assets) <= set(config)
        assert jobs
    else:
        assert not jobs


def test_monitoring(charts: Objects) -> None:
    values = values_of(charts("staging"), "monitoring-stack")
    config = values["alertmanager"]["config"]
    critical = next(r for r in config["receivers"] if r["name"] == "critical")
    assert critical["slack_configs"][0]["api_url"] == SECRET_MASK

    def named(route: dict[str, Any]) -> set[str]:
        return {route.get("receiver", "default")}.union(
            *(named(r) for r in route.get("routes", []))
        )

    # every receiver the routing tree uses is defined (Alertmanager rejects the config otherwise)
    assert named(config["route"]) <= {r["name"] for r in config["receivers"]}
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"


def test_edge(objects: Objects) -> None:
    assert one(objects("dev"), "ClusterIssuer")["spec"] == {"selfSigned": {}}
    acme = one(objects("staging"), "ClusterIssuer")["spec"]["acme"]
    assert acme["email"] == "platform@example.com"
    certificate = one(objects("staging"), "Certificate", "orgo")["spec"]
    gateway = one(objects("staging"), "Gateway")["spec"]
    https = next(listener for listener in gateway["listeners"] if listener["name"] == "https")
    assert https["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": certificate["secretName"]}
    ]
    assert "orgo.staging.example.com" in certificate["dnsNames"]
    assert one(objects("staging"), "ClientTrafficPolicy")["spec"]["tls"] == {"minVersion": "1.3"}
    routes = {o["metadata"]["name"]: o for o in objects("staging") if o["kind"] == "HTTPRoute"}
    assert {"orgo", "https-redirect"} <= set(routes)


def test_gateway_admits_cloudfront_with_tls12_aead_suites_only(objects: Objects) -> None:
    # CloudFront (orgo:aws.cdn, on in prod) reaches origins with TLS 1.2 at most.
    tls = one(objects("prod"), "ClientTrafficPolicy")["spec"]["tls"]
    assert tls["minVersion"] == "1.2"
    assert tls["ciphers"] and all(
        c.startswith("ECDHE-") and ("-GCM-" in c or c.endswith("CHACHA20-POLY1305"))
        for c in tls["ciphers"]
    )


def test_orgo_chart_values_follow_the_stack(objects: Objects) -> None:
    api = one(objects("staging"), "HorizontalPodAutoscaler", "orgo-api")["spec"]
    assert (api["minReplicas"], api["maxReplicas"]) == (3, 10)
    settings = one(objects("staging"), "ConfigMap", "orgo-settings")["data"]
    assert settings["ORGO_ENV"] == "staging"
    assert settings["PROMETHEUS_MULTIPROC_DIR"] == "/tmp"
    rules = {o["metadata"]["name"] for o in objects("dev") if o["kind"] == "PrometheusRule"}
    assert rules == {f"orgo-{name}" for name in observability.rule_files()}


def test_alertmanager_config_passes_amtool(charts: Objects, tmp_path: Path) -> None:
    if shutil.which("amtool") is None:
        pytest.fail("amtool missing: `make system-deps` installs prometheus-alertmanager")
    for stack in ("dev", "staging"):
        config = values_of(charts(stack), "monitoring-stack")["alertmanager"]["config"]
        # the mask stands where the Pulumi secret goes; amtool needs a URL there
        text = json.dumps(config).replace(SECRET_MASK, "https://hooks.example.com/mask")
        path = tmp_path / f"{stack}.yml"
        path.write_text(text)
        result = subprocess.run(
            ["amtool", "check-config", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_rules_pass_promtool(objects: Objects, tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing: `make system-deps` installs prometheus")
    rules = [o for o in objects("dev") if o["kind"] == "PrometheusRule"]
    for rule in rules:
        path = tmp_path / f"{rule['metadata']['name']}.yml"
        path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        result = subprocess.run(
            ["promtool", "check", "rules", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

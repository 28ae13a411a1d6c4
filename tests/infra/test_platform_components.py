"""The components under Pulumi mocks: resources, wiring, secrets and outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from infra.config import ConfigError, StackConfig
from infra.external import ExternalPostgres, ExternalServices
from infra.mocks import SECRET_MASK, RegisteredResource
from infra.program import deploy
from infra.render import Run, run, stack_config_values, write_plan
from infra.versions import versions

COMPONENTS = {
    "orgo:platform:Edge",
    "orgo:platform:Monitoring",
    "orgo:platform:Elastic",
    "orgo:platform:Postgres",
    "orgo:platform:Rabbitmq",
    "orgo:platform:Redis",
    "orgo:platform:Orgo",
}


def by_name(run_: Run, name: str, kind: str = "") -> RegisteredResource:
    return next(
        r for r in run_.resources if r.name == name and (not kind or r.type.endswith(f":{kind}"))
    )


def env_urls(run_: Run) -> dict[str, str]:
    return by_name(run_, "orgo-env").inputs["stringData"]


def test_one_component_per_capability(rendered: Callable[[str], Run]) -> None:
    types = {r.type for r in rendered("dev").resources}
    assert types >= COMPONENTS
    by_urn = {r.urn: r for r in rendered("dev").resources}

    def component_of(resource: RegisteredResource) -> str:
        while resource.parent in by_urn and not resource.type.startswith("orgo:platform:"):
            resource = by_urn[resource.parent]
        return resource.type

    # every Kubernetes resource hangs under one of our components
    for resource in by_urn.values():
        if resource.type.startswith("kubernetes:"):
            assert component_of(resource).startswith("orgo:platform:"), resource.urn


def test_app_gets_the_real_service_names_and_generated_passwords(
    rendered: Callable[[str], Run],
) -> None:
    dev = rendered("dev")
    urls = env_urls(dev)
    database = urlsplit(urls["ORGO_DATABASE_URL"])
    assert database.scheme == "postgresql+asyncpg"
    assert database.hostname == "orgo-postgres-pooler-rw.postgres.svc"
    assert (database.port, database.path, database.username) == (5432, "/orgo", "orgo")
    pg_secret = by_name(dev, "postgres-app-credentials").inputs["stringData"]
    assert database.password == pg_secret["password"]
    assert len(database.password or "") == 32
    pooler = by_name(dev, "postgres-pooler").inputs
    assert pooler["metadata"]["name"] + ".postgres.svc" == database.hostname

    redis = urlsplit(urls["ORGO_REDIS_URL"])
    assert redis.hostname == "orgo-redis.redis.svc"
    assert redis.password == by_name(dev, "redis-auth").inputs["stringData"]["password"]

    amqp = urlsplit(urls["ORGO_AMQP_URL"])
    assert (amqp.hostname, amqp.port, amqp.path) == ("orgo-rabbitmq.rabbitmq.svc", 5672, "/orgo")
    user = by_name(dev, "rabbitmq-app-credentials").inputs["stringData"]
    assert (amqp.username, amqp.password) == (user["username"], user["password"])
    assert len(urls["ORGO_JWT_SECRET"]) >= 32


def test_generated_credentials_are_pulumi_secrets(rendered: Callable[[str], Run], tmp_path) -> None:
    dev = rendered("dev")
    for name in (
        "orgo-env",
        "postgres-app-credentials",
        "redis-auth",
        "rabbitmq-app-credentials",
        "monitoring-grafana-admin",
    ):
        assert any(p.startswith("stringData") for p in by_name(dev, name).secret_paths), name
    plan = json.loads(write_plan("dev", dev.resources, tmp_path).read_text())
    env = next(r for r in plan if r["name"] == "orgo-env")
    assert set(env["inputs"]["stringData"].values()) == {SECRET_MASK}
    assert "asyncpg://" not in json.dumps(plan)


def test_chart_is_wired_to_secret_and_pinned_image(rendered: Callable[[str], Run]) -> None:
    api = by_name(rendered("dev"), "orgo/orgo-api", "Deployment").inputs
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "orgo-env"}} in container["envFrom"]
    assert container["image"] == versions().images["orgo"].ref


def test_stack_outputs(rendered: Callable[[str], Run]) -> None:
    outputs = rendered("dev").stack_outputs
    assert outputs["apiUrl"] == "https://orgo.localtest.me"
    assert outputs["grafanaUrl"] == "https://grafana.orgo.localtest.me"
    assert outputs["kibanaUrl"] == "https://kibana.orgo.localtest.me"
    assert "grafana-admin" in outputs["credentials"]["grafana"]


def test_external_postgres_replaces_the_in_cluster_one() -> None:
    external = ExternalServices(
        postgres=ExternalPostgres(
            host="db.example.internal",
            port=5432,
            database="orgo",
            username="orgo",
            password="p@ss/word",
            require_tls=True,
        )
    )

    def program(cfg: StackConfig) -> None:
        deploy(cfg, external)

    result = run("dev", program)
    types = {r.type for r in result.resources}
    assert "orgo:platform:Postgres" not in types
    assert not any(r.type == "kubernetes:postgresql.cnpg.io/v1:Cluster" for r in result.resources)
    url = env_urls(result)["ORGO_DATABASE_URL"]
    assert (
        url == "postgresql+asyncpg://orgo:p%40ss%2Fword@db.example.internal:5432/orgo?ssl=require"
    )
    egress = by_name(result, "orgo/orgo-egress").inputs["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    } in egress


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_backups_only_where_configured(rendered: Callable[[str], Run], stack: str) -> None:
    cluster = by_name(rendered(stack), "postgres-cluster").inputs["spec"]
    scheduled = [r for r in rendered(stack).resources if r.name == "postgres-scheduled-backup"]
    if stack == "dev":
        assert "backup" not in cluster
        assert not scheduled
    else:
        assert cluster["backup"]["retentionPolicy"] == "30d"
        assert cluster["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
        assert scheduled


def test_bad_stack_config_stops_the_program_before_any_resource() -> None:
    declared: list[str] = []

    def program(cfg: StackConfig) -> None:
        declared.append("deploy")  # never reached: the config is validated first
        deploy(cfg)

    bad = {
        "orgo:platform": json.dumps(
            {"environment": "dev", "domain": "x.example", "redis": {"size": 1}}
        )
    }
    with pytest.raises(
        ConfigError, match=r"orgo:platform\.redis\.size: Extra inputs are not permitted"
    ):
        run("dev", program, values=bad)
    assert declared == []


# Components each component waits for directly (depends_on in infra/program.py); Edge
# through Monitoring for the rest.
WAITS_FOR = {
    "Edge": set(),
    "Monitoring": {"Edge"},
    "Elastic": {"Edge"},
    "Postgres": {"Monitoring"},
    "Redis": {"Monitoring"},
    "Rabbitmq": {"Monitoring"},
    "Orgo": {"Monitoring", "Postgres", "Redis", "Rabbitmq"},
    "MetricsServer": set(),  # only where the stack enables it
}
# API groups of the CRDs a component installs; whoever declares such objects waits for it.
CRD_GROUPS = {
    "monitoring.coreos.com": "Monitoring",
    "gateway.networking.k8s.io": "Edge",
    "gateway.envoyproxy.io": "Edge",
    "cert-manager.io": "Edge",
}


def components(run_: Run) -> dict[str, RegisteredResource]:
    """The program's top-level components by short name ("Orgo")."""
    ours = {r.urn for r in run_.resources if r.type.startswith("orgo:")}
    return {
        r.type.rsplit(":", 1)[-1]: r
        for r in run_.resources
        if r.type.startswith("orgo:platform:") and r.parent not in ours
    }


def top_component(run_: Run, urn: str) -> str:
    """The outermost of our components that `urn` belongs to."""
    by_urn = {r.urn: r for r in run_.resources}
    node, top = by_urn.get(urn), ""
    while node is not None:
        top = node.type.rsplit(":", 1)[-1] if node.type.startswith("orgo:platform:") else top
        node = by_urn.get(node.parent)
    return top


def direct_waits(run_: Run, name: str) -> set[str]:
    """The components `name` was declared to wait for (its depends_on)."""
    return {top_component(run_, urn) for urn in components(run_)[name].dependencies}


def waits_for(run_: Run, name: str) -> set[str]:
    """The components `name` waits for, directly or through another one."""
    found: set[str] = set()
    todo = [name]
    while todo:
        deps = direct_waits(run_, todo.pop())
        todo.extend(deps - found)
        found |= deps
    return found


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_components_wait_for_the_crds_and_services_they_use(
    rendered: Callable[[str], Run], stack: str
) -> None:
    run_ = rendered(stack)
    expected = dict(WAITS_FOR)
    if not run_.config.platform.metrics_server.enabled:
        expected.pop("MetricsServer")
    assert {name: direct_waits(run_, name) for name in components(run_)} == expected
    for resource in run_.resources:
        group = str(resource.inputs.get("apiVersion", "")).split("/")[0]
        installer = CRD_GROUPS.get(group)
        owner = top_component(run_, resource.urn) if resource.type.startswith("kube") else None
        if installer and owner and owner != installer:
            assert installer in waits_for(run_, owner), (owner, resource.name)


def test_pulumi_waits_until_the_data_services_are_ready(rendered: Callable[[str], Run]) -> None:
    """Orgo's migration Job runs only once PostgreSQL and RabbitMQ report ready, not as
    soon as their custom resources are accepted."""
    wanted = {"Cluster": "condition=Ready", "RabbitmqCluster": "condition=AllReplicasReady"}
    waits = {
        r.inputs["kind"]: r.inputs["metadata"].get("annotations", {}).get("pulumi.com/waitFor")
        for r in rendered("dev").resources
        if r.inputs.get("kind") in wanted
    }
    assert waits == wanted


def test_render_yaml_to_directory_gives_every_object_that_provider() -> None:
    values, _ = stack_config_values("dev")
    platform = json.loads(values["orgo:platform"])
    values["orgo:platform"] = json.dumps({**platform, "renderYamlToDirectory": "rendered"})
    result = run("dev", values=values)
    (provider,) = [r for r in result.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs == {"renderYamlToDirectory": "rendered"}
    kubernetes = [r for r in result.resources if r.type.startswith("kubernetes:")]
    assert kubernetes
    assert {r.provider.rsplit("::", 1)[0] for r in kubernetes} == {provider.urn}
    default = [r for r in run("dev").resources if r.type.startswith("kubernetes:")]
    assert {r.provider for r in default} == {""}

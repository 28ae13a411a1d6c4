"""Bad stack config fails before any resource, naming the key and what is allowed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from infra.config import ConfigError, parse_stack_config
from infra.render import run, stack_config_values
from infra.versions import REPO_ROOT


def dev_platform() -> dict[str, Any]:
    stack = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(stack["config"]["orgo:platform"])


def with_change(path: str, value: Any) -> dict[str, Any]:
    platform = dev_platform()
    *parents, last = path.split(".")
    node = platform
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return {"platform": platform}


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_committed_stacks_are_valid(stack: str) -> None:
    raw = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    cfg = parse_stack_config({"platform": raw["config"]["orgo:platform"]})
    assert cfg.platform.environment == stack
    assert cfg.aws is None


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "postgres.instancez",
            3,
            "orgo:platform.postgres.instancez: Extra inputs are not permitted",
        ),
        ("postgres.instancez", 3, "allowed keys: backup, instances, poolerInstances"),
        ("postgres.storage", "5GB", "orgo:platform.postgres.storage: String should match pattern"),
        ("postgres.instances", 0, "orgo:platform.postgres.instances: Input should be greater than"),
        ("rabbitmq.replicas", 2, "orgo:platform.rabbitmq.replicas: Input should be 1, 3 or 5"),
        ("orgo.image.tag", "latest", "orgo:platform.orgo.image.tag: Value error, a moving tag"),
        (
            "orgo.apiResources",
            {"cpu": "1 core", "memory": "1G"},
            "orgo:platform.orgo.apiResources.cpu",
        ),
        ("kubernetesVersion", "1.2", "orgo:platform.kubernetesVersion: String should match"),
        ("kubernetesVersion", "1.33", "1.33 is outside the supported range 1.35-1.36"),
        ("environment", "production", "Input should be 'dev', 'staging' or 'prod'"),
        ("edge.issuer", "acme", "issuer 'acme' requires acmeEmail"),
    ],
)
def test_bad_value_names_key_and_allowed(path: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(with_change(path, value))
    assert expected in str(error.value)


def test_every_error_is_reported_at_once() -> None:
    raw = with_change("redis.storage", "big")
    raw["platform"]["monitoring"]["retention"] = "forever"
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw)
    assert "redis.storage" in str(error.value)
    assert "monitoring.retention" in str(error.value)


def stack_values(stack: str, **extra: object) -> dict[str, str]:
    """The stack file's config as the program receives it, plus `extra` keys."""
    values = stack_config_values(stack)[0]
    return {**values, **{key: json.dumps(value) for key, value in extra.items()}}


def test_unknown_orgo_key_in_the_stack_stops_the_program() -> None:
    """Through the config the program reads (pulumi.Config), as `pulumi up` runs it."""
    with pytest.raises(ConfigError) as error:
        run("staging", values=stack_values("staging", **{"orgo:awss": {"region": "x"}}))
    assert str(error.value) == (
        "invalid stack config: unknown key(s) orgo:awss"
        " (allowed: orgo:platform, orgo:aws, orgo:alertSlackWebhookUrl)"
    )


def test_keys_of_other_namespaces_and_receiver_secrets_are_accepted() -> None:
    values = stack_values("staging", **{"kubernetes:context": "kind-orgo"})
    assert "orgo:alertSlackWebhookUrl" in values
    assert run("staging", values=values).resources


def test_missing_platform() -> None:
    with pytest.raises(ConfigError, match="orgo:platform is required"):
        parse_stack_config({})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "build/../../rendered",
            "renderYamlToDirectory: Value error, a directory inside the project",
        ),
        ("/srv/rendered", "orgo:platform.renderYamlToDirectory: String should match pattern"),
    ],
)
def test_render_directory_stays_inside_the_project(value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_stack_config(with_change("renderYamlToDirectory", value))
    assert expected in str(error.value)


def test_render_directory_is_refused_on_aws_stacks() -> None:
    raw = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    platform = {**raw["orgo:platform"], "renderYamlToDirectory": "rendered"}
    with pytest.raises(ConfigError, match=r"renderYamlToDirectory .* without orgo:aws"):
        parse_stack_config({"platform": platform, "aws": raw["orgo:aws"]})

"""The app image a stack deploys: repository, tag and digest from stack config, defaults
from versions.yaml, bad values refused before any resource."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from infra.config import ConfigError, ImageConfig, parse_stack_config
from infra.render import kubernetes_objects, run, stack_config_values
from infra.versions import REPO_ROOT, ImagePin, versions
from tests.infra import k8s_support as ks

DIGEST = "sha256:" + "0123456789abcdef" * 4
ECR = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orgo-prod/orgo"


def app_images(stack: str, image: dict[str, str] | None = None) -> set[tuple[str, str]]:
    """(image, pull policy) of every app container of the Orgo chart in `stack`'s render."""
    values = dict(stack_config_values(stack)[0])
    if image is not None:
        platform = json.loads(values["orgo:platform"])
        platform.setdefault("orgo", {})["image"] = image
        values["orgo:platform"] = json.dumps(platform)
    found = set()
    for obj in kubernetes_objects(run(stack, values=values).resources):
        if obj["metadata"].get("namespace") != "orgo" or obj["metadata"]["name"] == "orgo-web":
            continue  # the web UI runs its own image (images.orgo-web)
        for pod in ks.pod_specs(obj):
            found |= {(c["image"], c["imagePullPolicy"]) for c in ks.containers(pod.spec)}
    return found


def test_without_image_config_the_stack_runs_the_pin_of_versions_yaml() -> None:
    """`make image` builds this very name, so a kind cluster runs what `make image-kind`
    loaded (IfNotPresent: the loaded image is used, nothing is pulled)."""
    assert app_images("dev") == {(versions().images["orgo"].ref, "IfNotPresent")}


def test_repository_and_tag_from_stack_config() -> None:
    assert app_images("dev", {"repository": ECR, "tag": "1.2.3"}) == {
        (f"{ECR}:1.2.3", "IfNotPresent")
    }


def test_a_digest_deploys_by_digest() -> None:
    pin = versions().images["orgo"]
    assert app_images("dev", {"digest": DIGEST}) == {(f"{pin.ref}@{DIGEST}", "IfNotPresent")}


def test_the_pinned_digest_applies_only_to_the_pinned_image() -> None:
    pinned = ImagePin(repository="ghcr.io/o/orgo", tag="1.0.0", digest=DIGEST)
    assert ImageConfig().chart_values(pinned)["digest"] == DIGEST
    for override in ({"tag": "1.0.1"}, {"repository": ECR}):
        assert "digest" not in ImageConfig.model_validate(override).chart_values(pinned)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"tag": "latest"}, "orgo:platform.orgo.image.tag: Value error, a moving tag"),
        (
            {"digest": "sha256:abc"},
            "orgo:platform.orgo.image.digest: Value error, 'sha256:abc' is not an image digest:"
            " allowed is sha256:<64 lowercase hex digits>",
        ),
        ({"digest": "md5:" + "0" * 32}, "orgo:platform.orgo.image.digest: Value error"),
        ({"repository": "GHCR.io/Orgo"}, "orgo:platform.orgo.image.repository: String should"),
        ({"name": "orgo"}, "allowed keys: digest, repository, tag"),
    ],
)
def test_bad_image_config_names_key_and_allowed(image: dict[str, str], expected: str) -> None:
    platform: dict[str, Any] = json.loads(stack_config_values("dev")[0]["orgo:platform"])
    platform["orgo"]["image"] = image
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"platform": platform})
    assert expected in str(error.value)


def test_the_chart_refuses_a_malformed_digest() -> None:
    """Installed without Pulumi, the chart's schema still stops a bad digest."""
    result = subprocess.run(
        [ks.HELM, "template", "orgo", REPO_ROOT / "charts" / "orgo-api", "--set", "image.digest=x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "at '/image/digest': 'x' does not match pattern" in result.stderr

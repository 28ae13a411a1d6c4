"""The kind pipeline (e2e.yml) and `make verify` after every `pulumi up`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infra.aws.pins import aws_pins
from infra.render import stack_config_values
from tests.infra import k8s_support as ks
from tests.infra.test_workflows import is_pulumi, run_step, triggers, workflow


def e2e_steps() -> list[dict[str, Any]]:
    (job,) = workflow("e2e.yml")["jobs"].values()
    return job["steps"]  # type: ignore[no-any-return]


def index_of(steps: list[dict[str, Any]], pattern: str) -> int:
    found = [i for i, s in enumerate(steps) if re.search(pattern, str(s.get("run", "")), re.M)]
    assert found, f"no step runs {pattern!r}"
    return found[0]


def test_runs_on_pull_requests_touching_the_platform_and_nightly() -> None:
    assert triggers("e2e.yml") >= {"pull_request", "schedule"}
    on = workflow("e2e.yml").get("on", workflow("e2e.yml").get(True))
    paths = set(on["pull_request"]["paths"])
    assert {"infra/**", "charts/**", "app/**", "verify/**"} <= paths


def test_the_kind_cluster_is_pinned_in_versions_yaml(tmp_path: Path) -> None:
    steps = e2e_steps()
    (kind,) = [s for s in steps if str(s.get("uses", "")).startswith("helm/kind-action@")]
    (pins,) = [s for s in steps if s.get("id") == "kind"]
    outputs = run_step(pins, ks.REPO_ROOT, tmp_path)
    versions = yaml.safe_load((ks.REPO_ROOT / "versions.yaml").read_text())["tools"]
    assert outputs == {
        "version": versions["kind_version"],
        "node-image": versions["kind_node_image"],
    }
    assert kind["with"]["version"] == "${{ steps.kind.outputs.version }}"
    assert kind["with"]["node_image"] == "${{ steps.kind.outputs.node-image }}"
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", versions["kind_node_image"])


def test_the_kind_node_runs_the_supported_kubernetes_version() -> None:
    """The production version (EKS), and never older than what the dev stack targets."""
    image = yaml.safe_load((ks.REPO_ROOT / "versions.yaml").read_text())["tools"]["kind_node_image"]
    minor = re.search(r":v(\d+\.\d+)\.", image)
    assert minor
    assert minor[1] == aws_pins().eks_version
    dev = yaml.safe_load(stack_config_values("dev")[0]["orgo:platform"])
    target = str(dev.get("kubernetesVersion", "1.33"))
    assert tuple(map(int, minor[1].split("."))) >= tuple(map(int, target.split(".")))


def test_deploys_verifies_smokes_and_cleans_up_in_order() -> None:
    steps = e2e_steps()
    image = index_of(steps, r"^make image-kind")
    login = index_of(steps, r"pulumi login --local")
    up = index_of(steps, r"^pulumi up -s dev --yes")
    verify = index_of(steps, r"^make verify STACK=dev .*WAIT=\d+")
    smoke = index_of(steps, r'--tlsv1\.3 "https://\$host/healthz"')
    assert image < login < up < verify < smoke
    diagnostics = index_of(steps, r"scripts/cluster-diagnostics.sh")
    destroy = index_of(steps, r"^pulumi destroy -s dev --yes")
    assert steps[diagnostics]["if"] == "failure()"
    assert steps[destroy]["if"] == "always()"
    assert smoke < diagnostics < destroy
    passphrase = steps[login]
    assert "secrets.E2E_PULUMI_PASSPHRASE" in str(passphrase["env"])
    assert "::add-mask::" in passphrase["run"]


def test_every_pulumi_up_is_followed_by_make_verify() -> None:
    checked = 0
    for job in workflow("main.yml")["jobs"].values():
        steps = job.get("steps", [])
        ups = [i for i, s in enumerate(steps) if is_pulumi(s) and s["with"].get("command") == "up"]
        for index in ups:
            later = [str(s.get("run", "")) for s in steps[index + 1 :]]
            assert any(r.startswith("make verify") for r in later), job
            checked += 1
    assert checked == 2

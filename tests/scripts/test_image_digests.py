"""scripts/pin-image-digests.sh against a real registry: Distribution's registry (Debian's
docker-registry) on a loopback port, images pushed to it by podman, read back by skopeo.

The script runs from a sandbox copy of the repository whose app/Dockerfile names an image of
that registry, so the checkout's Dockerfile is never rewritten.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness.processes import free_port, require_binary, run, stop_process, wait_until

REPO = Path(__file__).resolve().parents[2]
BASE_LINE = re.compile(r"(?m)^ARG BASE_IMAGE=(\S+)$")


@dataclass
class Registry:
    host: str
    env: dict[str, str]

    def push(self, content: bytes, ref: str) -> str:
        """A one-file image pushed as `ref`; returns the digest podman pushed."""
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            info = tarfile.TarInfo("content")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        local = f"localhost/orgo-it-digest:{len(content)}"
        run(["podman", "import", "-", local], input=layer.getvalue().decode("latin-1"))
        digest_file = Path(self.env["HOME"]) / "digest"
        run(
            [
                "podman",
                "push",
                "--tls-verify=false",
                "--digestfile",
                str(digest_file),
                local,
                f"{self.host}/{ref}",
            ]
        )
        run(["podman", "rmi", "-f", local])
        return digest_file.read_text().strip()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_binary("docker-registry", "docker-registry (make system-deps)")
    require_binary("skopeo", "skopeo (make system-deps)")
    require_binary("podman", "podman (make system-deps)")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    host = f"127.0.0.1:{port}"
    # skopeo reads plain-HTTP registries only where registries.conf says so.
    (root / "registries.conf").write_text(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    env = {
        **os.environ,
        "HOME": str(root),
        "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
    }
    server = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: httpx.get(f"http://{host}/v2/").status_code == 200, 30, "the registry")
        yield Registry(host, env)
    finally:
        stop_process(server)


def sandbox(root: Path, base: str) -> Path:
    """A copy of what the script reads, with app/Dockerfile's base image set to `base`."""
    for name in ("versions.yaml", "scripts/lib.sh", "scripts/pin-image-digests.sh"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    dockerfile = root / "app" / "Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text(
        BASE_LINE.sub(f"ARG BASE_IMAGE={base}", (REPO / "app/Dockerfile").read_text())
    )
    return root


def pin(root: Path, registry: Registry, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "scripts" / "pin-image-digests.sh"), *args],
        capture_output=True,
        text=True,
        env=registry.env,
        timeout=120,
        check=False,
    )


def recorded(root: Path) -> str:
    match = BASE_LINE.search((root / "app" / "Dockerfile").read_text())
    assert match
    return match[1]


def test_the_base_image_tag_is_recorded_with_its_digest(registry: Registry, tmp_path: Path) -> None:
    ref = f"{registry.host}/library/python:3.11.17-slim-bookworm"
    digest = registry.push(b"base one", "library/python:3.11.17-slim-bookworm")
    root = sandbox(tmp_path, ref)

    result = pin(root, registry)
    assert result.returncode == 0, result.stderr
    assert recorded(root) == f"{ref}@{digest}"

    # Again: the digest is replaced, not appended.
    assert pin(root, registry).returncode == 0
    assert recorded(root) == f"{ref}@{digest}"
    assert pin(root, registry, "--check").returncode == 0


def test_check_fails_when_the_tag_moved_or_no_digest_is_recorded(
    registry: Registry, tmp_path: Path
) -> None:
    ref = f"{registry.host}/library/python:3.11.17-slim-trixie"
    old = registry.push(b"before a rebuild", "library/python:3.11.17-slim-trixie")
    root = sandbox(tmp_path, ref)

    unpinned = pin(root, registry, "--check")
    assert unpinned.returncode != 0
    assert f"BASE_IMAGE {ref} has no digest recorded" in unpinned.stderr

    assert pin(root, registry).returncode == 0
    new = registry.push(b"after a rebuild of the same tag", "library/python:3.11.17-slim-trixie")
    moved = pin(root, registry, "--check")
    assert moved.returncode != 0
    assert f"{ref} now points at {new}, not the recorded {old}" in moved.stderr


def test_an_image_the_registry_does_not_have_fails_naming_it(
    registry: Registry, tmp_path: Path
) -> None:
    ref = f"{registry.host}/library/python:3.11.99-slim-bookworm"
    root = sandbox(tmp_path, ref)
    before = (root / "app" / "Dockerfile").read_text()
    result = pin(root, registry)
    assert result.returncode != 0
    assert f"cannot read the manifest of {ref}" in result.stderr
    assert (root / "app" / "Dockerfile").read_text() == before


def test_references_are_printed_with_their_digests(registry: Registry, tmp_path: Path) -> None:
    digest = registry.push(b"an image versions.yaml names", "library/redis:8.2.2-alpine")
    ref = f"{registry.host}/library/redis:8.2.2-alpine"
    result = pin(sandbox(tmp_path, ref), registry, ref)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{ref}@{digest}"

"""The app image (app/Dockerfile): built offline with podman from the local Debian base, and
run the way the chart runs it: read-only root filesystem, a tmpfs /tmp, a non-root user.

No registry is reachable here, so the build gets its Python packages from a wheelhouse
fetched on the host (tests/harness/wheelhouse.py, `--build-context wheelhouse=DIR`): the
offline path docs/container-image.md describes. Containers and the image are named
orgo-it-image-* and removed before and after.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.harness.orgo import FAST_HASHING
from tests.harness.processes import free_port, require_binary, run, wait_until
from tests.harness.wheelhouse import build_wheelhouse, runtime_pins, uv_version

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "app" / "Dockerfile"
BUILD_REQUIREMENTS = REPO / "app" / "build-requirements.txt"
# Built by scripts/host-image.sh (debootstrap bookworm with python3 + python3-venv).
BASE_IMAGE = "localhost/orgo-debian-base:bookworm"
PREFIX = "orgo-it-image-"
IMAGE = f"localhost/{PREFIX}test:it"
APP_UID = "10001"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = secrets.token_urlsafe(16)

# The first test pays for the wheelhouse download and the image build.
pytestmark = pytest.mark.timeout(600)


def podman_env() -> dict[str, str]:
    # The project's containers.conf selects runc (crun fails on this machine's cgroups).
    return {**os.environ, "CONTAINERS_CONF": str(REPO / "scripts/podman/containers.conf")}


def podman(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    return run(["podman", *args], env=env or podman_env(), input=stdin, timeout=540).stdout


def remove_containers(*names: str) -> None:
    subprocess.run(
        ["podman", "rm", "-f", "-t", "2", "--ignore", *names],
        env=podman_env(),
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


def image_script(command: str, image: str, *options: str, **env: str) -> str:
    """scripts/image.sh, what `make image` runs: podman build of app/Dockerfile offline,
    on the local Debian base with `WHEELHOUSE` in place of the download stage."""
    require_binary("podman", "podman")
    script = [str(REPO / "scripts/image.sh"), command, *options]
    return run(script, env={**podman_env(), "IMAGE": image, **env}, timeout=540).stdout


def build(wheelhouse: Path, tag: str, *options: str) -> str:
    return image_script("build", tag, "--layers=false", *options, WHEELHOUSE=str(wheelhouse))


@pytest.fixture(scope="module")
def image(wheelhouse: Path) -> Iterator[str]:
    remove_containers(*(f"{PREFIX}{role}" for role in ("api", "worker", "tools")))
    build(wheelhouse, IMAGE)
    yield IMAGE
    subprocess.run(
        ["podman", "rmi", "-f", IMAGE], env=podman_env(), capture_output=True, check=False
    )


class Deployment:
    """The image's containers sharing one SQLite database in a host directory."""

    def __init__(self, image: str, data: Path) -> None:
        self.image = image
        self.data = data
        # Passed by name (-e KEY), so the secret is never on a command line.
        self.env = {
            **podman_env(),
            "ORGO_ENV": "test",
            "ORGO_JWT_SECRET": secrets.token_urlsafe(48),
            "ORGO_DATABASE_URL": "sqlite+aiosqlite:////data/orgo.db",
            **FAST_HASHING,
        }
        self.names: list[str] = []

    def run_args(self, name: str, *extra: str) -> list[str]:
        """The chart's security context: read-only root, tmpfs /tmp, no extra privileges."""
        passed = [arg for key in self.env if key.startswith("ORGO_") for arg in ("-e", key)]
        self.names.append(name)
        return [
            "run",
            "--name",
            name,
            "--read-only",
            "--tmpfs",
            "/tmp:rw,mode=1777,size=64m",
            "--security-opt",
            "no-new-privileges",
            "--cap-drop",
            "ALL",
            "--volume",
            f"{self.data}:/data",
            *passed,
            *extra,
        ]

    def once(self, *command: str, stdin: str | None = None) -> str:
        name = f"{PREFIX}tools"
        remove_containers(name)
        args = self.run_args(name, "--rm", "--interactive", "--user", APP_UID)
        return podman(*args, self.image, *command, stdin=stdin, env=self.env)

    def start(self, name: str, *options: str, command: tuple[str, ...] = ()) -> None:
        podman(*self.run_args(name, "--detach", *options), self.image, *command, env=self.env)

    def uid_of_main_process(self, name: str) -> str:
        status = podman("exec", name, "cat", "/proc/1/status")
        return re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1)  # type: ignore[union-attr]

    def remove(self) -> None:
        remove_containers(*self.names)


@pytest.fixture(scope="module")
def deployment(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data = tmp_path_factory.mktemp("image-data")
    os.chown(data, int(APP_UID), int(APP_UID))
    deployment = Deployment(image, data)
    deployment.once("migrate")
    deployment.once("user", "create", "--email", ADMIN_EMAIL, "--admin", stdin=ADMIN_PASSWORD)
    yield deployment
    deployment.remove()


@pytest.fixture(scope="module")
def api_url(deployment: Deployment) -> str:
    port = free_port()
    deployment.start(
        f"{PREFIX}api",
        "--user",
        f"{APP_UID}:{APP_UID}",
        "--publish",
        f"127.0.0.1:{port}:8000",
        # Two uvicorn workers: metrics go through the multiprocess directory under /tmp.
        "--env",
        "ORGO_WEB_CONCURRENCY=2",
        "--env",
        "PROMETHEUS_MULTIPROC_DIR=/tmp/orgo-metrics",
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, 90, "the API container")
    return url


def test_api_container_serves_from_a_read_only_root_as_non_root(
    deployment: Deployment, api_url: str
) -> None:
    assert httpx.get(f"{api_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api_url}/readyz").status_code == 200

    token = httpx.post(
        f"{api_url}/api/v1/auth/token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = httpx.get(f"{api_url}/api/v1/users/me", headers=headers)
    assert me.json()["email"] == ADMIN_EMAIL
    created = httpx.post(f"{api_url}/api/v1/tasks", json={"title": "in a box"}, headers=headers)
    assert created.status_code == 201, created.text

    metrics = httpx.get(f"{api_url}/metrics").text
    assert 'orgo_http_requests_total{method="POST",route="/api/v1/tasks",status="201"}' in metrics
    assert deployment.uid_of_main_process(f"{PREFIX}api") == APP_UID


def test_worker_container_runs_as_the_images_non_root_user(deployment: Deployment) -> None:
    port = free_port()
    # No --user: the image's own USER must already be non-root.
    deployment.start(f"{PREFIX}worker", "--publish", f"127.0.0.1:{port}:9464", command=("worker",))
    url = f"http://127.0.0.1:{port}/healthz"
    wait_until(lambda: httpx.get(url).status_code == 200, 90, "the worker container")
    assert "orgo_build_info" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert deployment.uid_of_main_process(f"{PREFIX}worker") == APP_UID


def test_final_stage_has_no_build_tools(image: str) -> None:
    probe = (
        # /opt/orgo/bin is on PATH, so `command -v` covers the virtualenv too.
        "for tool in gcc cc c++ make pip pip3 uv; do command -v $tool; done;"
        " python3 -m pip --version 2>/dev/null; true"
    )
    found = podman("run", "--rm", "--entrypoint", "sh", image, "-c", probe)
    assert found.strip() == "", f"build tools left in the image:\n{found}"


def build_requirements() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of app/build-requirements.txt."""
    text = BUILD_REQUIREMENTS.read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            spec = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line.split()[0])
            assert spec, f"app/build-requirements.txt: not pinned with ==: {line.split()[0]}"
            found[spec[1]] = (spec[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return found


def test_build_tools_are_pinned_with_hashes() -> None:
    pins = build_requirements()
    assert {name for name, (_, hashes) in pins.items() if not hashes} == set()
    assert pins["uv"][0] == uv_version(), "run scripts/lock-build-requirements.sh"
    backend = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, backend):
        assert requirement.specifier.contains(pins[requirement.name][0]), str(requirement)


def test_the_dockerfile_installs_build_tools_only_by_hash() -> None:
    """Every pip/uv step that installs or fetches a build tool names the hashed file."""
    instructions = "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    steps = re.findall(r"(?:pip (?:download|install)|uv build)[^&]*", instructions)
    tool_steps = [s for s in steps if "build-requirements.txt" in s or "uv build" in s]
    assert tool_steps
    assert all("--require-hashes" in step for step in tool_steps), tool_steps
    # Named on a command line, a tool would be fetched unpinned, without a hash.
    assert not re.search(r"\bhatchling\b|\buv==", instructions)


def test_a_build_tool_that_differs_from_its_recorded_hash_fails_the_build(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """The wheelhouse is the build's only source; a wheel in it that is not the one
    app/build-requirements.txt records (here: hatchling with one byte more) stops it."""
    tampered = tmp_path / "wheelhouse"
    shutil.copytree(wheelhouse, tampered)
    (hatchling,) = tampered.glob("hatchling-*.whl")
    hatchling.write_bytes(hatchling.read_bytes() + b"\0")
    tag = f"{IMAGE}-tampered"
    try:
        with pytest.raises(RuntimeError) as failed:
            build(tampered, tag, "--target", "builder")
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], env=podman_env(), capture_output=True)
    assert "DO NOT MATCH THE HASHES" in str(failed.value)
    assert f"hatchling=={hatchling.name.split('-')[1]}" in str(failed.value)


def test_the_base_image_is_an_exact_release_never_a_moving_tag() -> None:
    """`ARG BASE_IMAGE` is the one pin: python:<major.minor.patch>-slim-<Debian suite>, with
    the digest scripts/pin-image-digests.sh records where a registry is reachable."""
    instructions = DOCKERFILE.read_text()
    (base,) = re.findall(r"(?m)^ARG BASE_IMAGE=(\S+)$", instructions)
    assert re.fullmatch(
        r"docker\.io/library/python:3\.\d+\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?",
        base,
    ), base
    # Every stage starts from that pin (or from nothing).
    stages = re.findall(r"(?m)^FROM (\S+)", instructions)
    assert set(stages) <= {"${BASE_IMAGE}", "scratch"}, stages


# glibc of each Debian suite the base image may use: the manylinux tags its pip accepts.
DEBIAN_GLIBC = {"bookworm": (2, 36), "trixie": (2, 41)}


def test_every_runtime_package_has_a_wheel_for_arm64() -> None:
    """The prod stack runs Graviton: `--only-binary=:all:` on linux/arm64 needs an aarch64
    (or pure Python) wheel of every locked package, for the base image's Python and glibc."""
    base = re.search(
        r"(?m)^ARG BASE_IMAGE=\S+:(\d+)\.(\d+)\.\d+-slim-(\w+)", DOCKERFILE.read_text()
    )
    assert base, "app/Dockerfile's BASE_IMAGE must name python:X.Y.Z-slim-<suite>"
    python = (int(base[1]), int(base[2]))
    glibc = DEBIAN_GLIBC[base[3]]
    platforms = [f"manylinux_{glibc[0]}_{minor}_aarch64" for minor in range(glibc[1], 16, -1)] + [
        "manylinux2014_aarch64",
        "linux_aarch64",
    ]
    accepted = {
        *cpython_tags(python, platforms=platforms),
        *compatible_tags(python, platforms=platforms),
    }
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    pins = runtime_pins()
    missing = [
        f"{package['name']} {package['version']}"
        for package in lock["package"]
        if pins.get(canonicalize_name(package["name"])) == package["version"]
        and not any(
            set(parse_wheel_filename(wheel["url"].rsplit("/", 1)[1])[3]) & accepted
            for wheel in package.get("wheels", [])
        )
    ]
    assert missing == []


def test_the_image_is_saved_as_the_archive_kind_and_k3d_load(image: str, tmp_path: Path) -> None:
    archive = tmp_path / "orgo.tar"
    image_script("archive", image, IMAGE_ARCHIVE=str(archive))
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == [image]


def test_loading_into_kind_without_kind_says_what_to_install(image: str) -> None:
    with pytest.raises(RuntimeError, match="kind not found: install kind"):
        image_script("kind", image, PATH="/usr/bin:/bin")

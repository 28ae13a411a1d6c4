"""A wheelhouse for building app/Dockerfile offline: every wheel the build installs.

    uv run python -m tests.harness.wheelhouse DIR
    podman build -f app/Dockerfile --build-context wheelhouse=DIR ...

Runtime packages are the uv.lock pins of `uv export --no-dev` (the list the image installs),
each fetched from the URL uv.lock records and checked against its hash. Wheels are chosen for
this machine's interpreter tags, which match the image's (CPython 3.11, glibc 2.36, x86-64).
uv and hatchling (the image's installer and build backend) are not in uv.lock; pip downloads
them with their dependencies from app/build-requirements.txt, checking its hashes.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.harness.processes import require_binary, run

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".tools/bin/uv"
PIP = REPO / ".tools/bin/pip"
BUILD_REQUIREMENTS = REPO / "app/build-requirements.txt"


def uv_version() -> str:
    """The uv pin of versions.yaml, which app/build-requirements.txt must pin too."""
    versions = yaml.safe_load((REPO / "versions.yaml").read_text())
    return str(versions["tools"]["uv"])


def runtime_pins() -> dict[str, str]:
    """name -> version of every package the image installs, whatever the markers say.

    Markers are ignored on purpose: they would be judged by this machine's Python, not the
    image's (async-timeout is only needed below 3.11.3, and Debian bookworm has 3.11.2).
    """
    exported = run(
        [str(UV), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"],
        cwd=REPO,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    ).stdout
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", exported, re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def locked_wheels(pins: dict[str, str]) -> list[dict[str, str]]:
    """For each pin, the uv.lock wheel entry (url, hash) best matching this interpreter."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    entries = {
        canonicalize_name(package["name"]): package
        for package in lock["package"]
        if pins.get(canonicalize_name(package["name"])) == package["version"]
    }
    missing = sorted(set(pins) - set(entries))
    if missing:
        raise RuntimeError(f"uv.lock has no entry for {', '.join(missing)}: run `uv lock`")
    return [_best_wheel(name, entry.get("wheels", [])) for name, entry in entries.items()]


def _best_wheel(name: str, wheels: list[dict[str, str]]) -> dict[str, str]:
    rank = {tag: index for index, tag in enumerate(sys_tags())}
    scored = [
        (min(rank.get(tag, len(rank)) for tag in parse_wheel_filename(_filename(w))[3]), w)
        for w in wheels
    ]
    compatible = [(score, wheel) for score, wheel in scored if score < len(rank)]
    if not compatible:
        raise RuntimeError(f"uv.lock lists no wheel of {name} for this platform (sdist only)")
    return min(compatible, key=lambda pair: pair[0])[1]


def _filename(wheel: dict[str, str]) -> str:
    return wheel["url"].rsplit("/", 1)[1]


def _download(client: httpx.Client, wheel: dict[str, str], dest: Path) -> None:
    body = client.get(wheel["url"]).raise_for_status().content
    algorithm, expected = wheel["hash"].split(":", 1)
    if hashlib.new(algorithm, body).hexdigest() != expected:
        raise RuntimeError(f"{_filename(wheel)}: hash differs from uv.lock")
    (dest / _filename(wheel)).write_bytes(body)


def build_wheelhouse(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    wheels = locked_wheels(runtime_pins())
    with httpx.Client(timeout=120, follow_redirects=True) as client, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda wheel: _download(client, wheel, dest), wheels))
    require_binary(str(PIP), "python3-venv (scripts/bootstrap-uv.sh makes .tools/bin/pip)")
    tools = ["--require-hashes", "-r", str(BUILD_REQUIREMENTS)]
    run([str(PIP), "download", "--quiet", "--only-binary=:all:", "--dest", str(dest), *tools])
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.harness.wheelhouse DIR")
    print(build_wheelhouse(Path(sys.argv[1])))

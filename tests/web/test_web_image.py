"""The web UI image (web/Containerfile), built offline by scripts/image.sh build-web from the
local Debian base and run as the chart runs it: uid 10001, read-only root filesystem, a
tmpfs /tmp, every capability dropped. It must answer as the app's own UI serving does
(tests/app/test_web_assets.py): same headers, same caching, never the API's paths.

The image is built from web/dist, which this test (re)builds as `make web` does. Its
container and image are named orgo-it-web-image-* and removed before and after."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orgo.api.web import IMMUTABLE, RESERVED_PATHS, REVALIDATE, read_security_headers
from tests.harness.processes import free_port, require_binary, run, wait_until
from tests.harness.web import REPO, WEB, build_ui

PREFIX = "orgo-it-web-image-"
IMAGE = f"localhost/{PREFIX}test:it"
CONTAINER = f"{PREFIX}run"
NGINX_CONF = WEB / "nginx.conf"
WEB_UID = "10001"

pytestmark = pytest.mark.timeout(600)


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(REPO / "scripts/podman/containers.conf")}


def podman(*args: str) -> str:
    return run(["podman", *args], env=podman_env(), timeout=540).stdout


def remove() -> None:
    subprocess.run(
        ["podman", "rm", "-f", "-t", "2", "--ignore", CONTAINER],
        env=podman_env(),
        capture_output=True,
        check=False,
    )
    subprocess.run(
        ["podman", "rmi", "-f", "--ignore", IMAGE], env=podman_env(), capture_output=True
    )


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    require_binary("podman", "podman")
    remove()
    dist = build_ui(WEB / "dist")
    run(
        [str(REPO / "scripts/image.sh"), "build-web", "--layers=false"],
        env={**podman_env(), "WEB_IMAGE": IMAGE},
        timeout=540,
    )
    port = free_port()
    podman(
        "run", "-d", "--name", CONTAINER, "--read-only", "--tmpfs", "/tmp",
        "--user", f"{WEB_UID}:{WEB_UID}", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "-p", f"127.0.0.1:{port}:8080", IMAGE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(url + "/", timeout=1).status_code == 200, 30, "nginx up")
    assert (dist / "index.html").is_file()
    yield url
    remove()


def index_html() -> str:
    return (WEB / "dist" / "index.html").read_text()


@pytest.mark.parametrize("path", ["/", "/tasks", "/users/", "/account?x=1"])
def test_page_paths_get_the_single_page_app(served: str, path: str) -> None:
    response = httpx.get(served + path)
    assert response.status_code == 200
    assert response.text == index_html()
    assert response.headers["cache-control"] == REVALIDATE


def test_hashed_assets_are_cached_for_good_and_compressed(served: str) -> None:
    [script] = (WEB / "dist" / "assets").glob("*.js")
    response = httpx.get(f"{served}/assets/{script.name}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == script.read_text()


@pytest.mark.parametrize("path", ["/assets/gone-XyZ.js", "/robots.txt"])
def test_a_missing_file_is_404(served: str, path: str) -> None:
    response = httpx.get(served + path)
    assert response.status_code == 404
    assert response.text != index_html()


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1/tasks", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"]
)
def test_the_api_paths_are_never_the_uis(served: str, path: str) -> None:
    assert httpx.get(served + path).status_code == 404


def test_every_response_carries_the_apps_security_headers(served: str) -> None:
    expected = dict(read_security_headers())
    for path in ("/", "/tasks", "/favicon.svg", "/metrics", "/robots.txt"):
        response = httpx.get(served + path)
        for name, value in expected.items():
            assert response.headers.get(name) == value, (path, name)
        assert "server" not in response.headers or "/" not in response.headers["server"]


def test_runs_as_its_own_user_on_a_read_only_root(served: str) -> None:
    assert podman("exec", CONTAINER, "id", "-u").strip() == WEB_UID
    probe = subprocess.run(
        ["podman", "exec", CONTAINER, "touch", "/srv/orgo-web/x"],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0
    assert "Read-only file system" in probe.stderr


def test_nginx_reserves_exactly_the_apps_paths() -> None:
    """web/nginx.conf lists the API's paths as a regular expression; it must be the app's."""
    match = re.search(r"location ~ \^/\(([^)]*)\)\(/\|\$\)", NGINX_CONF.read_text())
    assert match, "web/nginx.conf has no reserved-paths location"
    listed = {"/" + name.replace("\\.", ".") for name in match[1].split("|")}
    assert listed == set(RESERVED_PATHS)


def test_the_web_image_has_no_base_pin_of_its_own() -> None:
    """One pin of the Debian base: app/Dockerfile's, passed in by scripts/image.sh."""
    containerfile = (WEB / "Containerfile").read_text()
    assert re.search(r"(?m)^ARG BASE_IMAGE$", containerfile)
    assert re.findall(r"(?m)^FROM .*$", containerfile) == ["FROM ${BASE_IMAGE}"]
    assert Path(REPO / "app" / "Dockerfile").read_text().count("ARG BASE_IMAGE=") == 1

"""The built web UI served by the app (ORGO_WEB_DIR): its files, index.html for page paths,
caching and security headers on every UI response, and never anything of the API's.

The UI directory here is a fake build that also holds files named like the API's paths
(api/, metrics, docs/, openapi.json), so a route that served them would be seen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from orgo.api.web import (
    IMMUTABLE,
    REVALIDATE,
    WEB_HEADERS_FILE,
    WebAssets,
    read_security_headers,
)
from orgo.core.config import Settings
from orgo.migrations.runner import upgrade_to_head
from tests.app.conftest import make_settings, running_api

INDEX = "<!doctype html><title>Orgo</title><div id=root></div>"
SCRIPT = "console.log('orgo')"
TRAPS = ["api/v1/tasks", "api/index.html", "metrics", "healthz", "readyz", "openapi.json"]


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-AbC123.js").write_text(SCRIPT)
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    for trap in [*TRAPS, "docs/index.html"]:
        (root / trap).parent.mkdir(parents=True, exist_ok=True)
        (root / trap).write_text("the UI must never serve this")
    return root


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}", **overrides)
    upgrade_to_head(settings)
    return settings


@pytest.fixture(scope="module")
def web_settings(web_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(tmp_path_factory.mktemp("web-db"), web_dir=web_dir)


@pytest.fixture(scope="module")
async def web(web_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(web_settings) as running:
        yield running.client


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", ["/", "/tasks", "/users", "/account/", "/tasks?status=done"])
async def test_page_paths_get_the_single_page_app(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == REVALIDATE


@pytest.mark.asyncio(loop_scope="session")
async def test_hashed_assets_are_cached_for_good(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-AbC123.js")
    assert response.status_code == 200
    assert response.text == SCRIPT
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == IMMUTABLE
    favicon = await web.get("/favicon.svg")
    assert favicon.headers["cache-control"] == REVALIDATE


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", ["/assets/gone-XyZ.js", "/robots.txt", "/assets/..%2findex.html"])
async def test_a_missing_file_is_404_not_the_page(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert response.text != INDEX


@pytest.mark.asyncio(loop_scope="session")
async def test_every_ui_response_carries_the_security_headers(web: httpx.AsyncClient) -> None:
    headers = dict(read_security_headers())
    for path in ("/", "/tasks", "/assets/index-AbC123.js", "/assets/gone-XyZ.js"):
        response = await web.get(path)
        for name, value in headers.items():
            assert response.headers[name] == value, (path, name)


def test_the_content_security_policy_allows_only_this_origin() -> None:
    policy = dict(read_security_headers())["Content-Security-Policy"]
    directives = dict(item.strip().split(" ", 1) for item in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert "http" not in policy


@pytest.mark.asyncio(loop_scope="session")
async def test_the_api_paths_are_never_the_uis(web: httpx.AsyncClient) -> None:
    unknown = await web.get("/api/v1/tasks-that-do-not-exist")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert (await web.get("/api/v1/tasks")).status_code == 401
    assert (await web.get("/api")).status_code == 404
    assert (await web.get("/api/index.html")).status_code == 404
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    assert (await web.get("/metrics")).text.startswith("# HELP")
    # The docs are off in these settings: the API's 404, not a file of the UI's.
    for path in ("/docs", "/docs/index.html", "/openapi.json", "/openapi.json/"):
        response = await web.get(path)
        assert response.status_code == 404, path
        assert "never serve" not in response.text, path
    # API responses are the API's own, untouched by the UI's headers.
    for path in ("/healthz", "/metrics", "/api/v1/tasks"):
        assert "content-security-policy" not in (await web.get(path)).headers, path


@pytest.mark.asyncio(loop_scope="session")
async def test_only_reads_reach_the_ui(web: httpx.AsyncClient) -> None:
    assert (await web.post("/tasks")).status_code == 404
    assert (await web.head("/tasks")).status_code == 200
    refused = await web.post("/healthz")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET"


@pytest.mark.asyncio(loop_scope="session")
async def test_the_ui_route_is_tried_after_every_api_route(web_settings: Settings) -> None:
    async with running_api(web_settings) as running:
        routes = running.app.router.routes
        assert isinstance(routes[-1], WebAssets)
        assert not any(isinstance(route, WebAssets) for route in routes[:-1])


@pytest.mark.asyncio(loop_scope="session")
async def test_without_a_web_dir_no_ui_is_served(web_settings: Settings) -> None:
    async with running_api(web_settings.model_copy(update={"web_dir": None})) as running:
        assert not any(isinstance(route, WebAssets) for route in running.app.router.routes)
        assert (await running.client.get("/")).status_code == 404
        assert (await running.client.get("/tasks")).status_code == 404


def test_a_web_dir_without_a_build_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings("sqlite+aiosqlite:///x.db", web_dir=tmp_path)
    message = str(refused.value)
    assert "web_dir" in message
    assert f"{tmp_path} holds no index.html" in message
    assert "make web" in message


def test_a_malformed_headers_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "headers.conf"
    broken.write_text(
        WEB_HEADERS_FILE.read_text() + "add_header X-Missing-Always 'single quotes';\n"
    )
    with pytest.raises(ValueError, match=r"headers\.conf:\d+: expected `add_header"):
        read_security_headers(broken)

"""/docs and /openapi.json only where ORGO_DOCS_ENABLED says (dev by default), and Swagger
UI from an exact swagger-ui-dist version with Subresource Integrity hashes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from orgo.core.config import Settings
from orgo.main import create_app
from tests.app.conftest import make_settings

DOC_PATHS = ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


async def _statuses(settings: Settings) -> dict[str, httpx.Response]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://orgo.test") as client:
        return {path: await client.get(path) for path in DOC_PATHS}


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    ("env", "enabled", "served"),
    [
        ("dev", None, True),
        ("test", None, False),
        ("prod", None, False),
        ("prod", True, True),
        ("dev", False, False),
    ],
)
async def test_docs_are_served_only_where_enabled(
    tmp_path: Path, env: str, enabled: bool | None, served: bool
) -> None:
    base = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}")
    settings = base.model_copy(update={"env": env, "docs_enabled": enabled})
    responses = await _statuses(settings)
    assert responses["/redoc"].status_code == 404
    for path in ("/docs", "/openapi.json", "/docs/oauth2-redirect"):
        assert responses[path].status_code == (200 if served else 404), path
    if served:
        assert responses["/openapi.json"].json()["info"]["title"] == "Orgo API"


@pytest.mark.asyncio(loop_scope="session")
async def test_swagger_ui_is_pinned_with_integrity_hashes(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}").model_copy(
        update={"docs_enabled": True}
    )
    page = (await _statuses(settings))["/docs"].text
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https://[^"]+)"([^>]*)>', page)
    pinned = [(url, rest) for url, rest in assets if url.endswith((".js", ".css"))]
    assert len(pinned) == 2, page
    for url, attributes in pinned:
        assert re.search(r"swagger-ui-dist@\d+\.\d+\.\d+/", url), f"not an exact version: {url}"
        assert re.search(r'integrity="sha384-[A-Za-z0-9+/=]{64}"', attributes), url
        assert 'crossorigin="anonymous"' in attributes, url


def test_docs_enabled_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="docs_enabled"):
        Settings(docs_enabled="sometimes")  # type: ignore[arg-type]

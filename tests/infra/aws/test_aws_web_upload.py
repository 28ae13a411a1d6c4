"""`make web-upload`: the commands that publish web/dist to the stack's bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.aws.web_upload import upload_commands
from orgo.api.web import IMMUTABLE, REVALIDATE


def _dist(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html>")
    (root / "favicon.svg").write_text("<svg/>")
    (root / "assets" / "index-3f2a9c.js").write_text("")
    return root


def _option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_assets_go_first_immutable_then_the_rest_revalidated_then_index_invalidated(
    tmp_path: Path,
) -> None:
    dist = _dist(tmp_path / "dist")
    assets, rest, invalidation = upload_commands(dist, "orgo-prod-web", "E123")
    assert assets[:5] == ["aws", "s3", "sync", str(dist / "assets"), "s3://orgo-prod-web/assets"]
    assert _option(assets, "--cache-control") == IMMUTABLE
    assert "--delete" not in assets  # pages loaded before the deploy keep their files
    assert rest[:5] == ["aws", "s3", "sync", str(dist), "s3://orgo-prod-web"]
    assert _option(rest, "--exclude") == "assets/*"
    assert _option(rest, "--cache-control") == REVALIDATE
    assert invalidation[:3] == ["aws", "cloudfront", "create-invalidation"]
    assert _option(invalidation, "--distribution-id") == "E123"
    assert _option(invalidation, "--paths") == "/index.html"


def test_an_unbuilt_ui_is_refused_naming_make_web(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"index\.html is missing: run `make web`"):
        upload_commands(tmp_path, "orgo-prod-web", "E123")

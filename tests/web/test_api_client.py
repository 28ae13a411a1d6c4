"""web/src/api/schema.ts, the typed client's contract, is what docs/api/openapi.json generates
(and that document is the app's: tests/app/test_api_document.py)."""

from __future__ import annotations

from pathlib import Path

from tests.harness.web import WEB, npm


def test_the_committed_client_is_what_the_document_generates(tmp_path: Path) -> None:
    generated = tmp_path / "schema.ts"
    npm("run", "--silent", "generate", "--", "--output", str(generated))
    committed = WEB / "src" / "api" / "schema.ts"
    assert generated.read_text() == committed.read_text(), (
        "web/src/api/schema.ts is not what docs/api/openapi.json generates: run make api-client"
    )

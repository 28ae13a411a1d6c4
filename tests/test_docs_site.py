"""The documentation site builds strictly (a broken link or docstring reference fails),
with the home page, the runbooks, the HTTP API reference from docs/api/openapi.json and
the Python API pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((REPO / "docs/api/openapi.json").read_text())
    reference = (site / "api/reference/index.html").read_text()
    for path in document["paths"]:
        assert path in reference, f"{path} missing from the API reference"
    assert "create_app" in (site / "reference/python/index.html").read_text()
    assert (site / "runbooks").is_dir()
    assert "Orgo" in (site / "index.html").read_text()

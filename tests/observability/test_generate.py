"""Generated files are committed: regenerating must reproduce them byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from observability.generate import PACKAGE_DIR, files


def test_committed_files_match_a_fresh_generation(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "observability.generate", "--out", str(tmp_path)],
        check=True,
        cwd=PACKAGE_DIR.parent,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated, "the generator wrote nothing"
    stale = [
        str(rel)
        for rel in generated
        if not (PACKAGE_DIR / rel).is_file()
        or (PACKAGE_DIR / rel).read_text() != (tmp_path / rel).read_text()
    ]
    assert not stale, (
        f"generated files differ from the committed ones: {stale}; "
        "run `python -m observability.generate` and commit the result"
    )


# Written by hand next to generated files (a deployment copies it and fills it in).
HAND_WRITTEN = {"alertmanager/receivers.example.yml"}


def test_no_orphaned_generated_files() -> None:
    """A file left behind after a rename would still be deployed: every folder the
    generator writes into holds only what it generates (and the known hand-written files)."""
    expected = set(files())
    folders = {str(Path(relative).parent) for relative in expected}
    assert {"prometheus/rules", "grafana/dashboards", "elastic", "prometheus"} <= folders
    present = {
        str(path.relative_to(PACKAGE_DIR))
        for folder in folders
        for path in (PACKAGE_DIR / folder).iterdir()
        if path.is_file()
    }
    orphans = present - expected - HAND_WRITTEN
    assert not orphans, f"not generated any more: {sorted(orphans)}"

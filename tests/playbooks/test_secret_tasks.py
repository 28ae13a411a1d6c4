"""Every task that writes a file whose content comes from a secret hides it from the output.

A lint over every task of every role and playbook (handlers, blocks and rescues included).
A task writes a file when its module is one of WRITERS; its content is what the template
file (and the templates it includes) and the task's own arguments, loop and vars refer to.
A variable is secret when its name says so (SECRET_NAME: passwords, secrets, tokens, keys,
identities, Alertmanager receivers, which carry SMTP passwords and webhook tokens) or when
its value refers to a secret variable, at any depth: the definitions are read from every
role's defaults and vars, the inventories' group_vars, and the tasks' vars and set_fact.
Such a task must say `no_log: true` (no value in -v output or on failure) and `diff: false`
(no file content under --diff). PUBLIC names the few values derived from a secret that are
public by construction.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import meta, nodes

from tests.playbooks.hosts import PLAYBOOKS

ROLES = PLAYBOOKS / "roles"
WRITERS = {"template", "copy", "lineinfile", "blockinfile", "replace"}
SECRET_NAME = re.compile(r"password|secret|token|private_key|receivers|credential|identity|_key$")
# Names of paths, directories and switches about secrets are not secrets themselves.
NOT_SECRET_NAME = re.compile(r"_(file|dir|path|mode|config)$")
# Derived from a secret, but public by construction: the age recipient is the public key
# of the backups' identity (by default read from the identity file's comment).
PUBLIC = {"backup_encryption_recipient"}
# Keywords of a task; the one key left is its module.
TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "vars", "register", "notify", "no_log", "diff",
    "become", "become_user", "delegate_to", "run_once", "changed_when", "failed_when",
    "until", "retries", "delay", "tags", "environment", "args", "listen", "ignore_errors",
    "check_mode", "block", "rescue", "always", "with_items", "any_errors_fatal",
}  # fmt: skip
JINJA = jinja2.Environment()  # noqa: S701 - parsed for names, never rendered


@dataclass(frozen=True)
class Task:
    where: str  # file and task name
    role: Path | None
    body: dict[str, Any]

    @property
    def action(self) -> str:
        """The module's name as written ("" for a block)."""
        return next(iter(set(self.body) - TASK_KEYWORDS), "")

    @property
    def module(self) -> str:
        return self.action.removeprefix("ansible.builtin.")

    @property
    def arguments(self) -> Any:
        return self.body.get(self.action)


def names_in(value: object) -> set[str]:
    """Every variable a YAML value's Jinja expressions and templates refer to."""
    if isinstance(value, dict):
        return set().union(*map(names_in, value.values()), set())
    if isinstance(value, list):
        return set().union(*map(names_in, value), set())
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return set()
    return names_in_template(value)


def names_in_template(source: str) -> set[str]:
    with warnings.catch_warnings():  # regular expressions in string literals, e.g. '^\\S+$'
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = JINJA.parse(source)
    return {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}


def yaml_files(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.rglob("*.yml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tasks_of(entries: list[dict[str, Any]] | None, where: str, role: Path | None) -> Iterator[Task]:
    for entry in entries or []:
        yield Task(f"{where}: {entry.get('name', '?')}", role, entry)
        for section in ("block", "rescue", "always"):
            yield from tasks_of(entry.get(section), where, role)


@cache
def every_task() -> list[Task]:
    found: list[Task] = []
    for role in sorted(p for p in ROLES.iterdir() if p.is_dir()):
        for folder in ("tasks", "handlers"):
            for path in yaml_files(role / folder):
                found += tasks_of(load(path), str(path.relative_to(PLAYBOOKS)), role)
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for play in load(path):
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                found += tasks_of(play.get(section), path.name, None)
    return found


@cache
def definitions() -> dict[str, set[str]]:
    """Variable name -> the names its definitions refer to (every definition of it)."""
    defined: dict[str, set[str]] = {}

    def define(variables: dict[str, Any] | None) -> None:
        for name, value in (variables or {}).items():
            defined.setdefault(name, set()).update(names_in(value))

    for role in ROLES.iterdir():
        for folder in ("defaults", "vars"):
            for path in yaml_files(role / folder):
                define(load(path))
    for path in yaml_files(PLAYBOOKS / "inventories"):
        if "group_vars" in path.parts or "host_vars" in path.parts:
            define(load(path))
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for play in load(path):
            define(play.get("vars"))
    for task in every_task():
        define(task.body.get("vars"))
        if task.module == "set_fact":
            define(task.arguments)
    return defined


def is_secret(name: str, seen: frozenset[str] = frozenset()) -> bool:
    if name in PUBLIC:
        return False
    if SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name):
        return True
    refers_to = definitions().get(name, set()) - seen
    return any(is_secret(other, seen | {name}) for other in refers_to)


def template_sources(task: Task) -> list[str]:
    """The template files a template task renders, and the templates they include."""
    if task.module != "template":
        return []
    source = task.arguments["src"]
    if "{{ item }}" in source:
        sources = [source.replace("{{ item }}", item) for item in task.body["loop"]]
    else:
        sources = [source]
    assert task.role is not None, f"{task.where}: a template outside a role"
    texts, pending = [], list(sources)
    while pending:
        text = (task.role / "templates" / pending.pop()).read_text(encoding="utf-8")
        texts.append(text)
        pending += [name for name in meta.find_referenced_templates(JINJA.parse(text)) if name]
    return texts


def content_names(task: Task) -> set[str]:
    """What the written content may come from: templates, arguments, loop and vars."""
    parts = [task.arguments, task.body.get("loop"), task.body.get("vars")]
    names = set().union(*map(names_in, parts))
    for text in template_sources(task):
        names |= names_in_template(text)
    return names


def secret_writers() -> list[Task]:
    return [
        task
        for task in every_task()
        if task.module in WRITERS and any(is_secret(name) for name in content_names(task))
    ]


def test_the_lint_sees_the_files_known_to_hold_secrets() -> None:
    """The detector is not blind: the files known to carry passwords and receivers are found."""
    found = {task.body["name"] for task in secret_writers()}
    assert {
        "Orgo | settings",
        "Redis | configuration",
        "Exporters | settings {{ exporters_package }}",
        "Backup | S3 endpoint and credentials, readable by postgres only",
        "Alertmanager | configuration",
    } <= found, found


def test_every_task_writing_a_secret_hides_it() -> None:
    exposed = [
        f"{task.where} (needs no_log: true and diff: false)"
        for task in secret_writers()
        if task.body.get("no_log") is not True or task.body.get("diff") is not False
    ]
    assert exposed == [], "\n".join(exposed)

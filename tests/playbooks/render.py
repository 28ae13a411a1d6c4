"""Renders roles' templates with the roles' own defaults and vars, without a host.

A throwaway playbook on local-connection hosts loads the defaults and vars files of the
roles named (the orgo role's first, and each role's vars for the test hosts' Debian
release, which the roles include from facts) and templates the files asked for; the test's settings
go in as extra vars, which override those files as an inventory's would override a role's
defaults. Nothing is applied to any machine but the files written under the directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.playbooks.hosts import PLAYBOOKS, RELEASE, RELEASES, ansible

GROUPS = ["orgo_db", "orgo_mq", "orgo_cache", "orgo_app", "orgo_monitoring"]


def render(
    directory: Path,
    templates: list[str],
    settings: dict[str, object] | None = None,
    hosts: dict[str, dict[str, object]] | None = None,
) -> dict[str, dict[str, str]]:
    """TEMPLATES are `role/template` paths; HOSTS maps names to host vars (default: one
    host-a on 10.0.0.5 in every group, with groups from its `groups` entry). Returns
    host -> template file name -> rendered text."""
    hosts = hosts or {"host-a": {"orgo_listen_address": "10.0.0.5"}}
    roles = ["orgo", *dict.fromkeys(t.split("/")[0] for t in templates)]
    role_files = ("defaults/main.yml", "vars/main.yml", f"vars/Debian-{RELEASES[RELEASE]}.yml")
    vars_files = [
        str(path)
        for role in roles
        for path in (PLAYBOOKS / "roles" / role / part for part in role_files)
        if path.exists()
    ]
    groups: dict[str, dict[str, dict[str, object]]] = {group: {"hosts": {}} for group in GROUPS}
    for name, host in hosts.items():
        for group in host.get("groups", GROUPS):  # type: ignore[union-attr]
            groups[str(group)]["hosts"][name] = {k: v for k, v in host.items() if k != "groups"}
        (directory / "rendered" / name).mkdir(parents=True)
    inventory = directory / "hosts.yml"
    common = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory.write_text(yaml.safe_dump({"all": {"vars": common, "children": groups}}))
    play = {
        "name": "Render",
        "hosts": "all",
        "gather_facts": False,
        "vars_files": vars_files,
        "tasks": [
            {
                "name": "Render a template",
                "ansible.builtin.template": {
                    "src": f"{PLAYBOOKS}/roles/{{{{ item.split('/')[0] }}}}/templates/"
                    "{{ item.split('/')[1] }}",
                    "dest": f"{directory}/rendered/{{{{ inventory_hostname }}}}/"
                    "{{ item.split('/')[1] | regex_replace('[.]j2$', '') }}",
                    "mode": "0600",
                },
                "loop": templates,
            }
        ],
    }
    playbook = directory / "render.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    extra = directory / "settings.json"
    extra.write_text(
        json.dumps({"orgo_secrets_dir": str(directory / "secrets"), **(settings or {})})
    )
    ansible("ansible-playbook", "-i", str(inventory), str(playbook), "-e", f"@{extra}")
    return {
        name: {path.name: path.read_text() for path in (directory / "rendered" / name).iterdir()}
        for name in hosts
    }

"""A role that may both reload and restart a service reloads it first.

Ansible runs notified handlers in the order they are written. A reload (SIGHUP, the Debian
units' ExecReload) sent right after a restart can reach the new process before it handles
the signal: Prometheus and Alertmanager then end, cleanly in systemd's eyes, so their
Restart=on-failure leaves them stopped (seen in a converge, and every time in a plain
`systemctl restart; systemctl reload` of prometheus-alertmanager on a test host). With the
reload written first, a converge that changes both restarts last.
"""

from __future__ import annotations

import pytest
import yaml

from tests.playbooks.hosts import PLAYBOOKS

HANDLER_FILES = sorted((PLAYBOOKS / "roles").glob("*/handlers/main.yml"))


@pytest.mark.parametrize("path", HANDLER_FILES, ids=lambda path: path.parts[-3])
def test_reload_is_written_before_restart(path: object) -> None:
    handlers = yaml.safe_load(path.read_text()) or []  # type: ignore[attr-defined]
    order: dict[str, list[str]] = {}
    for handler in handlers:
        service = handler.get("ansible.builtin.systemd_service")
        if service:
            order.setdefault(service["name"], []).append(service["state"])
    for service, states in order.items():
        if "reloaded" in states and "restarted" in states:
            assert states.index("reloaded") < states.index("restarted"), (service, states)

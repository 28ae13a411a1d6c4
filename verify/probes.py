"""Checks that ask the platform's own services: Prometheus (targets up, rules evaluating),
Grafana (the Orgo dashboards), and the API (health, login, a task, the worker's entry)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from verify.health import Health
from verify.http import Http, Reply

API = "/api/v1"


def _failed(what: str, reply: Reply) -> Health:
    return Health(False, f"{what}: HTTP {reply.status} {reply.text()}")


def prometheus_job_up(prometheus: Http, job: str) -> Health:
    """Every target of `job` reports up == 1."""
    reply = prometheus.request("GET", "/api/v1/query", params={"query": f'up{{job="{job}"}}'})
    if reply.status != 200:
        return _failed("query up", reply)
    series = reply.json()["data"]["result"]
    if not series:
        return Health(False, f"no target of job {job!r} is scraped")
    down = [s["metric"].get("instance", "?") for s in series if s["value"][1] != "1"]
    if down:
        return Health(False, f"{len(down)}/{len(series)} targets down: {', '.join(down[:3])}")
    return Health(True, f"{len(series)}/{len(series)} targets up")


FAILURES = "sum(increase(prometheus_rule_evaluation_failures_total[10m])) > 0"


def prometheus_rules_evaluate(prometheus: Http) -> Health:
    """Every loaded rule's last evaluation succeeded, and none failed in ten minutes."""
    reply = prometheus.request("GET", "/api/v1/rules")
    if reply.status != 200:
        return _failed("rules", reply)
    rules = [
        (group["name"], rule["name"], rule.get("lastError", ""))
        for group in reply.json()["data"]["groups"]
        for rule in group["rules"]
        if rule.get("health") not in ("ok", "unknown")
    ]
    if rules:
        group, name, error = rules[0]
        return Health(False, f"{len(rules)} rules failing, first {group}/{name}: {error}")
    recent = prometheus.request("GET", "/api/v1/query", params={"query": FAILURES})
    if recent.status != 200:
        return _failed("query failures", recent)
    if recent.json()["data"]["result"]:
        return Health(False, "rule evaluations failed in the last 10 minutes")
    return Health(True, "every rule evaluates")


def grafana_dashboards(grafana: Http, user: str, password: str, uids: Iterable[str]) -> Health:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    reply = grafana.request(
        "GET",
        "/api/search",
        params={"type": "dash-db", "limit": "5000"},
        headers={"Authorization": f"Basic {token}"},
    )
    if reply.status != 200:
        return _failed("dashboard search", reply)
    found = {d["uid"] for d in reply.json()}
    missing = sorted(set(uids) - found)
    if missing:
        return Health(False, f"missing dashboards: {', '.join(missing)}")
    return Health(True, f"{len(set(uids))} Orgo dashboards present")


CreateUser = Callable[[str, str], None]  # (email, password): creates a user in the platform


@dataclass
class ApiSmoke:
    """The API through the Gateway, as a client uses it. One throwaway user per run (made
    with `create_user`, i.e. `orgo user create` inside an API pod); each step remembers
    what it got, so a re-run under --wait repeats only what has not passed yet."""

    api: Http
    create_user: CreateUser
    email: str = field(default_factory=lambda: f"verify-{secrets.token_hex(4)}@example.com")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    _user: bool = False
    _token: str | None = None
    _task: str | None = None

    def healthz(self) -> Health:
        reply = self.api.request("GET", "/healthz")
        return Health(True, "200") if reply.status == 200 else _failed("/healthz", reply)

    def login(self) -> Health:
        if not self._user:
            self.create_user(self.email, self.password)
            self._user = True
        reply = self.api.request(
            "POST", f"{API}/auth/token", form={"username": self.email, "password": self.password}
        )
        if reply.status != 200:
            return _failed("login", reply)
        self._token = reply.json()["access_token"]
        return Health(True, f"logged in as {self.email}")

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def create_task(self) -> Health:
        if self._token is None:
            return Health(False, "needs the login step")
        if self._task is None:
            reply = self.api.request(
                "POST", f"{API}/tasks", headers=self._auth(), body={"title": "make verify"}
            )
            if reply.status != 201:
                return _failed("create task", reply)
            self._task = str(reply.json()["id"])
        return Health(True, f"task {self._task}")

    def worker_activity(self) -> Health:
        if self._task is None:
            return Health(False, "needs the task step")
        reply = self.api.request("GET", f"{API}/tasks/{self._task}/activity", headers=self._auth())
        if reply.status != 200:
            return _failed("activity", reply)
        entries = reply.json()
        if not entries:
            return Health(False, "the worker has recorded nothing for the task yet")
        return Health(True, f"worker recorded {entries[0]['event_type']}")

"""The Prometheus and API checks against real local processes through the same Http layer
the verifier points at the cluster (the API server's proxy, the Gateway)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import free_port, require_binary, wait_until
from tests.observability.live_stack import Daemon
from verify import probes
from verify.health import Health
from verify.http import UrlHttp

# Two targets that differ only in job and instance: relabelled to the same labels they
# collide, which Prometheus refuses at evaluation ("vector cannot contain metrics with the
# same labelset"), a rule failing as rules do in production.
COLLIDING = 'label_replace(label_replace(up, "job", "x", "", ""), "instance", "x", "", "")'


def prometheus(tmp_path: Path, rules: list[dict[str, str]]) -> Daemon:
    require_binary("prometheus", "make system-deps installs it")
    port, closed = free_port(), free_port()
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "verify-test", "rules": rules}]})
    )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "scrape_configs": [
            {"job_name": "self", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]},
            {"job_name": "gone", "static_configs": [{"targets": [f"127.0.0.1:{closed}"]}]},
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    args = [
        "prometheus",
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Daemon("prometheus", args, port, ready_path="/-/ready").start(tmp_path)


@pytest.fixture(scope="module")
def healthy_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UrlHttp]:
    server = prometheus(
        tmp_path_factory.mktemp("prometheus"), [{"record": "verify:up:sum", "expr": "sum(up)"}]
    )
    http = UrlHttp(server.url)
    wait_until(lambda: probes.prometheus_job_up(http, "self").ok, 30, "self scraped")
    wait_until(lambda: "gone" in http.request("GET", "/api/v1/targets").text(100000), 30, "gone")
    yield http
    server.stop()


def test_a_scraped_job_is_up(healthy_prometheus: UrlHttp) -> None:
    assert probes.prometheus_job_up(healthy_prometheus, "self") == Health(True, "1/1 targets up")


def test_a_job_whose_target_is_down_fails(healthy_prometheus: UrlHttp) -> None:
    wait_until(
        lambda: (
            probes.prometheus_job_up(healthy_prometheus, "gone").reason
            != ("no target of job 'gone' is scraped")
        ),
        30,
        "the first scrape of gone",
    )
    result = probes.prometheus_job_up(healthy_prometheus, "gone")
    assert not result.ok
    assert result.reason.startswith("1/1 targets down: 127.0.0.1:")


def test_a_job_nothing_scrapes_fails(healthy_prometheus: UrlHttp) -> None:
    assert probes.prometheus_job_up(healthy_prometheus, "orgo-api") == Health(
        False, "no target of job 'orgo-api' is scraped"
    )


def test_rules_that_evaluate_pass(healthy_prometheus: UrlHttp) -> None:
    wait_until(
        lambda: '"health":"ok"' in healthy_prometheus.request("GET", "/api/v1/rules").text(10000),
        30,
        "the rule's first evaluation",
    )
    assert probes.prometheus_rules_evaluate(healthy_prometheus) == Health(
        True, "every rule evaluates"
    )


def test_a_failing_rule_is_named(tmp_path: Path) -> None:
    server = prometheus(tmp_path, [{"record": "verify:collide", "expr": COLLIDING}])
    http = UrlHttp(server.url)
    try:
        wait_until(lambda: not probes.prometheus_rules_evaluate(http).ok, 30, "the rule to fail")
        result = probes.prometheus_rules_evaluate(http)
        assert result.reason.startswith("1 rules failing, first verify-test/verify:collide: ")
        assert "same labelset" in result.reason
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UrlHttp, dict[str, str]]]:
    """The real `orgo api` and `orgo worker` on the embedded default (SQLite, no broker)."""
    database = tmp_path_factory.mktemp("orgo") / "orgo.db"
    env = orgo_env(f"sqlite+aiosqlite:///{database}")
    orgo(env, "migrate")
    worker = OrgoProcess("worker", env).start()
    process = OrgoProcess("api", env).start()
    yield UrlHttp(process.url), env
    process.stop()
    worker.stop()


def test_the_api_smoke_passes_on_a_working_api(api: tuple[UrlHttp, dict[str, str]]) -> None:
    http, env = api
    created: list[str] = []

    def create_user(email: str, password: str) -> None:
        orgo(env, "user", "create", "--email", email, stdin=password + "\n")
        created.append(email)

    smoke = probes.ApiSmoke(http, create_user)
    assert smoke.healthz() == Health(True, "200")
    assert smoke.worker_activity() == Health(False, "needs the task step")
    assert smoke.login() == Health(True, f"logged in as {smoke.email}")
    assert smoke.create_task().ok
    wait_until(lambda: smoke.worker_activity().ok, 30, "the task's activity entry")
    assert smoke.worker_activity() == Health(True, "worker recorded task.created")
    # A re-run (--wait) neither makes a second user nor a second task.
    smoke.login()
    task = smoke.create_task()
    assert created == [smoke.email]
    assert task == smoke.create_task()


def test_a_wrong_password_fails_the_login(api: tuple[UrlHttp, dict[str, str]]) -> None:
    http, env = api
    smoke = probes.ApiSmoke(
        http, lambda email, _: orgo(env, "user", "create", "--email", email, stdin="another-pass\n")
    )
    result = smoke.login()
    assert not result.ok
    assert result.reason.startswith("login: HTTP 401")
    assert smoke.create_task() == Health(False, "needs the login step")


class FakeGrafanaSearch(BaseHTTPRequestHandler):
    """No Grafana server installs here: /api/search answering as Grafana documents it
    (a list of {uid, title, type}), 401 without the admin's basic auth."""

    uids: ClassVar[list[str]] = []
    expected_auth = "Basic " + base64.b64encode(b"admin:secret").decode()

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") == self.expected_auth
        body = json.dumps([{"uid": u, "type": "dash-db"} for u in self.uids]) if ok else "{}"
        self.send_response(200 if ok else 401)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def grafana() -> Iterator[UrlHttp]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGrafanaSearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield UrlHttp(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


def test_grafana_has_every_dashboard_or_names_the_missing(grafana: UrlHttp) -> None:
    FakeGrafanaSearch.uids = ["orgo-api", "orgo-worker", "other"]
    assert probes.grafana_dashboards(grafana, "admin", "secret", ["orgo-api"]).ok
    missing = probes.grafana_dashboards(grafana, "admin", "secret", ["orgo-api", "orgo-hosts"])
    assert missing == Health(False, "missing dashboards: orgo-hosts")
    refused = probes.grafana_dashboards(grafana, "admin", "wrong", ["orgo-api"])
    assert refused.reason.startswith("dashboard search: HTTP 401")

"""Throwaway PostgreSQL, Redis and RabbitMQ instances on free loopback ports.

Each instance lives in its own temporary directory with generated credentials and is
never a developer's own data. `stop()` and `start()` can be called repeatedly, which the
fault drills use to take a service away and bring it back on the same port.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.harness.processes import (
    free_port,
    port_open,
    require_binary,
    run,
    stop_process,
    wait_until,
)


def _postgres_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL server not found: install the Debian package postgresql")
    return Path(candidates[-1]).parent


class PostgresServer:
    """initdb + pg_ctl in a temp dir, run as the `postgres` user when we are root."""

    def __init__(self, database: str = "orgo", user: str = "orgo") -> None:
        self.bindir = _postgres_bindir()
        self.port = free_port()
        self.database = database
        self.user = user
        self.password = secrets.token_urlsafe(16)
        self.root = Path(tempfile.mkdtemp(prefix="orgo-pg-"))
        self.datadir = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._initdb()

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        return [*prefix, *args]

    def _initdb(self) -> None:
        run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            )
        )
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        (self.datadir / "pg_hba.conf").write_text(
            "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        self.start()
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run(
            self._cmd(
                str(self.bindir / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            )
        ).stdout

    def start(self) -> None:
        run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            )
        )

    def stop(self) -> None:
        run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            )
        )

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database owned by the app's role; returns its URL."""
        self.psql(f"CREATE DATABASE {name} OWNER {self.user}")
        return self.url_for(name)

    def scalar(self, sql: str, database: str | None = None) -> int:
        return int(self.psql(sql, database or self.database).strip())

    def destroy(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """redis-server with a password and no persistence, in the foreground of a Popen."""

    def __init__(self) -> None:
        self.binary = require_binary("redis-server", "redis-server")
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.root = Path(tempfile.mkdtemp(prefix="orgo-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        config = self.root / "redis.conf"
        config.write_text(
            f'port {self.port}\nbind 127.0.0.1\nsave ""\nappendonly no\n'
            f"requirepass {self.password}\ndir {self.root}\n"
        )
        config.chmod(0o600)
        log = (self.root / "redis.log").open("ab")
        self._proc = subprocess.Popen([self.binary, str(config)], stdout=log, stderr=log)
        wait_until(lambda: port_open(self.port), 15, f"redis on port {self.port}")

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RabbitmqServer:
    """A RabbitMQ node of its own (name, ports, mnesia, logs, cookie) bound to loopback."""

    SBIN = "/usr/lib/rabbitmq/bin"

    def __init__(
        self, vhost: str = "orgo", user: str = "orgo", plugins: tuple[str, ...] = ()
    ) -> None:
        require_binary(f"{self.SBIN}/rabbitmq-server", "rabbitmq-server")
        self.port = free_port()
        self.dist_port = free_port()
        self.prometheus_port = free_port() if "rabbitmq_prometheus" in plugins else None
        self.node = f"orgo-test-{self.port}@localhost"
        self.vhost = vhost
        self.user = user
        # Hex: rabbitmqctl add_user takes it as an argument, and a urlsafe token that
        # starts with "-" is parsed as an option.
        self.password = secrets.token_hex(16)
        self.root = Path(tempfile.mkdtemp(prefix="orgo-rabbitmq-"))
        self.plugins = plugins
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()
        self.start()
        self.ctl("add_vhost", vhost)
        self.ctl("add_user", user, self.password)
        self.ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")

    def _write_config(self) -> None:
        lines = [
            f"listeners.tcp.1 = 127.0.0.1:{self.port}",
            "loopback_users = none",
            "log.console = false",
        ]
        if self.prometheus_port:
            lines.append(f"prometheus.tcp.port = {self.prometheus_port}")
            lines.append("prometheus.tcp.ip = 127.0.0.1")
        (self.root / "rabbitmq.conf").write_text("\n".join(lines) + "\n")
        (self.root / "enabled_plugins").write_text(f"[{','.join(self.plugins)}].\n")

    def _env(self) -> dict[str, str]:
        # Only HOME (the Erlang cookie) is shared with the CLI; the server's ports must not
        # leak into rabbitmqctl's environment or its own node collides with them.
        return {**os.environ, "HOME": str(self.root)}

    def start(self) -> None:
        env = {
            **self._env(),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        log = (self.root / "server.out").open("ab")
        self._proc = subprocess.Popen(
            [f"{self.SBIN}/rabbitmq-server"],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.port), 60, f"RabbitMQ on port {self.port}", 0.3)
        self.ctl("await_startup")

    def ctl(self, *args: str) -> str:
        return run(
            [f"{self.SBIN}/rabbitmqctl", "-q", "-n", self.node, *args], env=self._env()
        ).stdout

    def create_vhost(self, name: str) -> str:
        """A new vhost the app user may use; returns its URL."""
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, self.user, ".*", ".*", ".*")
        return self.url_for(name)

    def queue_depths(self, vhost: str | None = None) -> dict[str, int]:
        out = self.ctl(
            "list_queues", "-p", vhost or self.vhost, "name", "messages", "--no-table-headers"
        )
        return {name: int(count) for name, count in (line.split() for line in out.splitlines())}

    def stop(self) -> None:
        if self._proc is not None:
            self.ctl("stop")
            stop_process(self._proc, timeout=30)
            self._proc = None

    @property
    def url(self) -> str:
        return self.url_for(self.vhost)

    def url_for(self, vhost: str) -> str:
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.port}/{vhost}"

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

"""The hosts' backup script, orgo-backup, run for real against the live stack's PostgreSQL.

The backup role's template (playbooks/roles/backup/templates/orgo-backup.sh.j2) is rendered
with the role's variables pointed at a throwaway directory, and its outcome file is linked
into the directory node exporter's textfile collector reads, as the role does on a host. So
the series the backup alerts and the data services dashboard read are the ones the real
script writes, not a copy of their text.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from tests.harness.services import PostgresServer
from tests.observability.conftest import REPO

TEMPLATE = REPO / "playbooks" / "roles" / "backup" / "templates" / "orgo-backup.sh.j2"
OUTCOME = "orgo_backup.prom"


def _bool(value: object) -> bool:
    """Ansible's `bool` filter, for the values this template gets."""
    return str(value).lower() in ("true", "yes", "1", "on")


def render(variables: dict[str, object]) -> str:
    """The template as Ansible renders it; a variable it uses and we lack is an error."""
    # A shell script, not HTML: Ansible renders templates without autoescaping too.
    environment = jinja2.Environment(  # noqa: S701
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["quote"] = lambda value: shlex.quote(str(value))
    environment.filters["bool"] = _bool
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(ansible_managed="rendered by tests/observability", **variables)


@dataclass
class BackupHost:
    """orgo-backup's directories on this machine, laid out and owned as on a host: dumps
    (0700) and the outcome file (0755 directory, 0644 file) belong to the user PostgreSQL
    runs as; the textfile directory holds a link to the outcome file."""

    postgres: PostgresServer
    root: Path
    textfile_dir: Path

    @classmethod
    def create(cls, postgres: PostgresServer) -> BackupHost:
        root = Path(tempfile.mkdtemp(prefix="orgo-backup-"))
        root.chmod(0o755)
        host = cls(postgres, root, root / "textfile")
        for directory, mode in ((host.dumps, 0o700), (host.metrics_dir, 0o755)):
            directory.mkdir(mode=mode)
            directory.chmod(mode)
            host._give(directory)
        host.textfile_dir.mkdir(mode=0o755)
        (host.metrics_dir / OUTCOME).touch(mode=0o644)  # the role's empty file
        host._give(host.metrics_dir / OUTCOME)
        (host.textfile_dir / OUTCOME).symlink_to(host.metrics_dir / OUTCOME)
        script = host.root / "orgo-backup"
        script.write_text(render(host.variables()))
        script.chmod(0o755)
        return host

    @property
    def dumps(self) -> Path:
        return self.root / "dumps"

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    @property
    def outcome(self) -> Path:
        return self.metrics_dir / OUTCOME

    def variables(self) -> dict[str, object]:
        return {
            "backup_dir": str(self.dumps),
            "backup_metrics_file": str(self.outcome),
            "backup_retention_days": 7,
            "backup_s3_enabled": False,
            "orgo_postgresql_database": self.postgres.database,
            "orgo_postgresql_port": self.postgres.port,
        }

    def _as_postgres(self) -> bool:
        return os.geteuid() == 0

    def _give(self, path: Path) -> None:
        if self._as_postgres():
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def run(self) -> subprocess.CompletedProcess[str]:
        """One run of the script as the database's user, over the server's socket."""
        command = ["env", f"PGHOST={self.postgres.root}", str(self.root / "orgo-backup")]
        if self._as_postgres():
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def destroy(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

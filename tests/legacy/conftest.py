"""Fixtures for the legacy text protocol: daemons (``--simulate``) with the text listener on a free port, and
helpers that talk to it the way old scripts do — ``echo CMD | nc HOST PORT`` — and through raw sockets."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.procs import DaemonProcess, running_daemon

#: Both simulated vendors.
VENDORS = ["generic", "fuji"]

NC = shutil.which("nc")


@dataclass
class Legacy:
    """A daemon with its text listener."""

    vendor: str
    daemon: DaemonProcess
    host: str
    port: int

    def nc(self, line: str, timeout: float = 15.0) -> str:
        """``echo LINE | timeout T nc HOST PORT``: what the server sent; fails unless nc returned by itself."""
        return nc(self.host, self.port, line, timeout)


def nc(host: str, port: int, line: str, timeout: float = 15.0) -> str:
    """The shell pipeline of an old script, run by bash; fails unless ``nc`` exits on its own."""
    assert NC is not None, "netcat-openbsd (nc) is required"
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'echo "$1" | timeout "$2" nc "$3" "$4"',
            "legacy",
            line,
            str(timeout),
            host,
            str(port),
        ],
        capture_output=True,
        timeout=timeout + 5,
    )
    assert proc.returncode == 0, f"nc exited {proc.returncode} (124: it had to be killed): {proc.stderr!r}"
    return proc.stdout.decode()


def legacy_port(daemon: DaemonProcess) -> int:
    """The text listener's port: the last HOST:PORT the daemon's READY status line lists as served."""
    ready = daemon.notify.wait_for("READY", "1", timeout=1)
    ports = re.findall(r"127\.0\.0\.1:(\d+)", ready.get("STATUS", ""))
    assert len(ports) >= 2, ready
    return int(ports[-1])


@contextlib.contextmanager
def running_legacy(workdir: Path, vendor: str, *extra: str) -> Iterator[Legacy]:
    """A daemon on the simulated ``vendor`` with the text listener on a free loopback port, connected."""
    with running_daemon(workdir, "--simulate", vendor, "--legacy", "127.0.0.1:0", *extra) as daemon:
        daemon.wait_connected()
        yield Legacy(vendor, daemon, "127.0.0.1", legacy_port(daemon))


@pytest.fixture(scope="package", params=VENDORS)
def legacy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    """One daemon per vendor shared by the package's tests (one command per connection)."""
    vendor = str(request.param)
    with running_legacy(tmp_path_factory.mktemp(f"legacy-{vendor}"), vendor) as server:
        yield server


class LineClient:
    """A raw TCP connection to the text listener, reading with deadlines (for keep_open and odd input)."""

    def __init__(self, host: str, port: int, timeout: float = 15.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> str:
        """The next line the server sends (without newline)."""
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line from the server; got {self.buffer!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"the server closed the connection; got {self.buffer!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def read_to_end(self) -> bytes:
        """Everything until the server closes the connection."""
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the server did not close the connection; got {self.buffer!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                data, self.buffer = self.buffer, b""
                return data
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()

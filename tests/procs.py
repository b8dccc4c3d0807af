"""Starting the project's programs as real subprocesses for tests, and waiting on their own signals.

Nothing here sleeps: a process is ready when it prints its ``listening on`` line (the simulator) or
answers on its socket; every wait has a deadline and fails with the process's output when it passes.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.rpcclient import RpcConnection

REPO = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"listening on (?P<host>[0-9.]+):(?P<ports>[0-9,]+)")


def read_line_until(proc: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
    """Reads ``proc``'s stdout line by line until ``pattern`` matches; fails after ``timeout`` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line matching {pattern.pattern!r} within {timeout} s; got {seen!r}")
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"process exited (rc={proc.poll()}) before {pattern.pattern!r}; got {seen!r}"
                )
            seen.append(line.rstrip("\n"))
            match = pattern.search(line)
            if match:
                return match


@dataclass
class SimProcess:
    """A running ``ptpipd-sim``: where it listens, and the process."""

    proc: subprocess.Popen[str]
    host: str
    ports: list[int]
    args: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The command/data port (the only one for the generic vendor)."""
        return self.ports[0]

    def stop(self) -> str:
        """Stops the simulator (SIGTERM, then SIGKILL after 5 s) and returns what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return err


def sim_command(vendor: str, *extra: str) -> list[str]:
    """The command line of a simulator on free ports."""
    ports = ["--ports", "0"] if vendor == "fuji" else ["--port", "0"]
    return [sys.executable, "-m", "ptpipd.sim", "--vendor", vendor, "--host", "127.0.0.1", *ports, *extra]


def start_sim(vendor: str = "generic", *extra: str, timeout: float = 30.0) -> SimProcess:
    """Starts ``ptpipd-sim`` on free ports and waits for its ``listening on`` line."""
    args = sim_command(vendor, *extra)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    try:
        match = read_line_until(proc, LISTENING, timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    ports = [int(p) for p in match["ports"].split(",")]
    return SimProcess(proc, match["host"], ports, args)


@contextlib.contextmanager
def running_sim(vendor: str = "generic", *extra: str) -> Iterator[SimProcess]:
    """``start_sim`` as a context manager that always stops the process."""
    sim = start_sim(vendor, *extra)
    try:
        yield sim
    finally:
        sim.stop()


# ------------------------------------------------------------------------------------------------ daemon


class NotifyListener:
    """A real sd_notify endpoint: an AF_UNIX datagram socket whose path goes into NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[dict[str, str]] = []

    def _receive(self, timeout: float) -> bool:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(fields)
        return True

    def wait_for(self, key: str, value: str | None = None, timeout: float = 30.0) -> dict[str, str]:
        """The first message (already received or arriving within ``timeout``) with ``key`` (= ``value``)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.messages[seen:]:
                if key in msg and (value is None or msg[key] == value):
                    return msg
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"no sd_notify {key}{'=' + value if value else ''} within {timeout} s: {self.messages}"
                )
            self._receive(left)

    def drain(self, timeout: float = 0.0) -> None:
        """Reads what has already arrived."""
        while self._receive(timeout):
            timeout = 0.0

    def close(self) -> None:
        self.sock.close()


@dataclass
class DaemonProcess:
    """A running ``ptpipd``: its process, sockets and sd_notify endpoint."""

    proc: subprocess.Popen[str]
    socket_path: Path
    tcp: tuple[str, int] | None
    notify: NotifyListener
    workdir: Path

    def connect(self, via: str = "unix", timeout: float = 15.0) -> RpcConnection:
        """A JSON-RPC connection over the Unix socket or TCP."""
        if via == "tcp":
            assert self.tcp is not None
            return RpcConnection(self.tcp, timeout)
        return RpcConnection(str(self.socket_path), timeout)

    def call(self, method: str, params: object = None, via: str = "unix") -> Any:
        """One request on a fresh connection; returns the result."""
        with self.connect(via) as conn:
            return conn.call(method, params)

    def wait_connected(self, timeout: float = 30.0) -> dict[str, Any]:
        """Waits for the camera state ``connected`` (the daemon's STATUS= line says it)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.call("status")
            if status["state"] == "connected":
                return dict(status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"camera not connected: {status}")
            with contextlib.suppress(TimeoutError):
                self.notify.wait_for("STATUS", None, timeout=min(left, 1.0))
                self.notify.messages.clear()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, str]:
        """Signals the daemon and returns (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.notify.close()
        return self.proc.returncode, err


def daemon_env(workdir: Path, notify_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a daemon under test: its own state and runtime directories, a NOTIFY_SOCKET."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PTPIPD_", "LISTEN_", "NOTIFY_", "WATCHDOG_"))
    }
    env.update(
        PYTHONUNBUFFERED="1",
        NOTIFY_SOCKET=str(notify_path),
        XDG_RUNTIME_DIR=str(workdir / "run"),
        XDG_STATE_HOME=str(workdir / "state"),
        HOME=str(workdir),
    )
    env.update(extra or {})
    return env


def start_daemon(
    workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> DaemonProcess:
    """Starts ``ptpipd`` with a socket and a free TCP port in ``workdir`` and waits for its READY=1."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "run").mkdir(exist_ok=True)
    notify = NotifyListener(workdir / "notify.sock")
    sock_path = workdir / "ptpipd.sock"
    cmd = [
        sys.executable,
        "-m",
        "ptpipd.daemon",
        "--socket",
        str(sock_path),
        "--rpc-tcp",
        "127.0.0.1:0",
        *args,
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=daemon_env(workdir, notify.path, env),
        cwd=REPO,
    )
    try:
        ready = notify.wait_for("READY", "1", timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        err = proc.stderr.read() if proc.stderr else ""
        notify.close()
        raise RuntimeError(f"ptpipd did not become ready: {err}") from None
    match = re.search(r"127\.0\.0\.1:(\d+)", ready.get("STATUS", ""))
    tcp = ("127.0.0.1", int(match.group(1))) if match else None
    return DaemonProcess(proc, sock_path, tcp, notify, workdir)


@contextlib.contextmanager
def running_daemon(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[DaemonProcess]:
    """``start_daemon`` as a context manager that always stops it."""
    daemon = start_daemon(workdir, *args, env=env)
    try:
        yield daemon
    finally:
        daemon.stop()

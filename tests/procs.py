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
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.rpcclient import RpcConnection

REPO = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"listening on (?P<host>[0-9.]+):(?P<ports>[0-9,]+)")


def read_line_until(proc: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
    """Reads ``proc``'s stdout line by line until ``pattern`` matches; fails after ``timeout`` seconds.

    Reads the pipe's file descriptor directly (select() and a buffered ``readline`` do not mix: two lines
    arriving together would leave the second in the buffer, unseen by select). Lines after the match stay
    pending for the next call.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending: bytearray = _PENDING.setdefault(proc.pid, bytearray())
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in pending:
                raw, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                line = raw.decode(errors="replace")
                seen.append(line)
                match = pattern.search(line)
                if match:
                    return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line matching {pattern.pattern!r} within {timeout} s; got {seen!r}")
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(
                    f"process exited (rc={proc.wait(5)}) before {pattern.pattern!r}; got {seen!r}"
                )
            pending += chunk


#: Output read past a matching line, per process id.
_PENDING: dict[int, bytearray] = {}


class LogFile:
    """A process's stderr, written to a file opened for appending (never a pipe that could fill up and block
    the process) and readable at any time while the process runs."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            fd, name = tempfile.mkstemp(prefix="ptpipd-test-", suffix=".log")
            os.close(fd)
            path = Path(name)
            self.owned = True
        else:
            self.owned = False
        self.path = path
        self.file = path.open("ab")

    def text(self) -> str:
        """Everything written so far."""
        try:
            return self.path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> str:
        """Closes our handle, returns the text and removes a temporary file."""
        if not self.file.closed:
            self.file.close()
        text = self.text()
        if self.owned:
            self.path.unlink(missing_ok=True)
        return text


def _close_pipes(proc: subprocess.Popen[str]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()


@dataclass
class SimProcess:
    """A running ``ptpipd-sim``: where it listens, and the process. Its stderr goes to ``log``."""

    proc: subprocess.Popen[str]
    host: str
    ports: list[int]
    args: list[str] = field(default_factory=list)
    log: LogFile | None = None
    _stderr: str | None = None

    def stderr_text(self) -> str:
        """What the simulator has written on stderr so far (logs; the stop summary once stopped)."""
        if self._stderr is not None:
            return self._stderr
        return self.log.text() if self.log is not None else ""

    def kill(self) -> None:
        """SIGKILL: the camera vanishes without closing anything."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)

    @property
    def port(self) -> int:
        """The command/data port (the only one for the generic vendor)."""
        return self.ports[0]

    def stop(self) -> str:
        """Stops the simulator (SIGTERM, then SIGKILL after 5 s) and returns what it wrote on stderr.

        Safe to call more than once (the later calls return the same text)."""
        if self._stderr is not None:
            return self._stderr
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        else:
            self.proc.wait()
        err = (
            self.log.close()
            if self.log is not None
            else (self.proc.stderr.read() if self.proc.stderr else "")
        )
        _close_pipes(self.proc)
        self._stderr = err
        return err


def sim_command(vendor: str, *extra: str) -> list[str]:
    """The command line of a simulator on free ports."""
    ports = ["--ports", "0"] if vendor == "fuji" else ["--port", "0"]
    return [sys.executable, "-m", "ptpipd.sim", "--vendor", vendor, "--host", "127.0.0.1", *ports, *extra]


def start_sim(vendor: str = "generic", *extra: str, timeout: float = 30.0) -> SimProcess:
    """Starts ``ptpipd-sim`` on free ports and waits for its ``listening on`` line."""
    args = sim_command(vendor, *extra)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = LogFile()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log.file, text=True, env=env, cwd=REPO)
    log.file.close()  # the child has its own copy
    try:
        match = read_line_until(proc, LISTENING, timeout)
    except BaseException as exc:
        proc.kill()
        proc.wait()
        _close_pipes(proc)
        err = log.close()
        raise RuntimeError(f"ptpipd-sim did not start ({exc}); stderr: {err}") from None
    ports = [int(p) for p in match["ports"].split(",")]
    return SimProcess(proc, match["host"], ports, args, log)


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
        """Reads one datagram, waiting at most ``timeout`` s (0: only what is already queued)."""
        if self.sock.fileno() < 0:  # closed: close() read everything that had arrived
            return False
        if timeout > 0:
            self.sock.settimeout(timeout)
        else:
            self.sock.setblocking(False)
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, BlockingIOError):
            return False
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(fields)
        return True

    def wait_for(
        self, key: str, value: str | None = None, timeout: float = 30.0, *, after: int = 0
    ) -> dict[str, str]:
        """The first message (already received or arriving within ``timeout``) with ``key`` (= ``value``).

        ``after``: ignore the first ``after`` messages (``len(listener.messages)`` taken earlier is a
        cursor: "a message that arrives from now on").
        """
        try:
            return self.wait_until(
                lambda msg: key in msg and (value is None or msg[key] == value), timeout, after=after
            )
        except TimeoutError:
            raise TimeoutError(
                f"no sd_notify {key}{'=' + value if value else ''} within {timeout} s: {self.messages}"
            ) from None

    def wait_until(
        self, predicate: Callable[[dict[str, str]], bool], timeout: float = 30.0, *, after: int = 0
    ) -> dict[str, str]:
        """The first message after the first ``after`` ones for which ``predicate`` is true."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            for msg in self.messages[seen:]:
                if predicate(msg):
                    return msg
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                if self._receive(0.0):  # what has already arrived still counts
                    continue
                raise TimeoutError(
                    f"no matching sd_notify message within {timeout} s: {self.messages[after:]}"
                )
            self._receive(left)

    def drain(self, timeout: float = 0.0) -> None:
        """Reads what has already arrived."""
        while self._receive(timeout):
            timeout = 0.0

    def close(self) -> None:
        """Reads what is still queued (so ``messages`` is complete), then closes and removes the socket."""
        self.drain()
        self.sock.close()
        self.path.unlink(missing_ok=True)


def rss_kib(pid: int) -> int:
    """The resident set size of a process (VmRSS in /proc/PID/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class DaemonProcess:
    """A running ``ptpipd``: its process, sockets and sd_notify endpoint. Its stderr goes to ``log``."""

    proc: subprocess.Popen[str]
    socket_path: Path
    tcp: tuple[str, int] | None
    notify: NotifyListener
    workdir: Path
    log: LogFile | None = None
    _result: tuple[int, str] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        """The daemon's resident set size (KiB)."""
        return rss_kib(self.proc.pid)

    def stderr_text(self) -> str:
        """What the daemon has logged so far."""
        if self._result is not None:
            return self._result[1]
        return self.log.text() if self.log is not None else ""

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
            cursor = len(self.notify.messages)
            status = self.call("status")
            if status["state"] == "connected":
                # The daemon sent its "camera connected" STATUS= before it could answer: read it now, so
                # a cursor taken after this call counts only what comes later.
                self.notify.drain()
                return dict(status)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"camera not connected: {status}")
            # the next STATUS= after our status call (a state change), or re-ask after at most 1 s
            with contextlib.suppress(TimeoutError):
                self.notify.wait_for("STATUS", None, timeout=min(left, 1.0), after=cursor)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, str]:
        """Signals the daemon and returns (exit code, stderr). Safe to call again (same answer).

        A daemon that does not exit within ``timeout`` is killed and its code is SIGKILL's (-9).
        """
        if self._result is not None:
            return self._result
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        err = (
            self.log.close()
            if self.log is not None
            else (self.proc.stderr.read() if self.proc.stderr else "")
        )
        _close_pipes(self.proc)
        self.notify.close()
        self._result = (self.proc.returncode, err)
        return self._result


@contextlib.contextmanager
def draining(daemon: DaemonProcess) -> Iterator[None]:
    """Reads the daemon's sd_notify datagrams as they come, as systemd does, on a thread; leave it before the
    daemon stops. Needed where a test makes many state changes (reconnect attempts): the kernel queues only
    a few datagrams, and a daemon whose notify socket nobody reads blocks on sending (fixed on w/ingest)."""
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            daemon.notify.drain(0.2)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def daemon_env(workdir: Path, notify_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a daemon under test: its own state and runtime directories, a NOTIFY_SOCKET."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PTPIPD_", "LISTEN_", "NOTIFY_", "WATCHDOG_", "JOURNAL_", "RUNTIME_", "STATE_"))
    }
    env.update(
        PYTHONUNBUFFERED="1",
        NOTIFY_SOCKET=str(notify_path),
        XDG_RUNTIME_DIR=str(workdir / "run"),
        XDG_STATE_HOME=str(workdir / "state"),
        # as root the defaults are /run/ptpipd and /var/lib/ptpipd: a test must not write there
        STATE_DIRECTORY=str(workdir / "state" / "ptpipd"),
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
    notify = NotifyListener(_unused(workdir / "notify.sock"))
    sock_path = workdir / "ptpipd.sock"
    cmd = [
        sys.executable,
        "-m",
        "ptpipd.daemon",
        "--socket",
        str(sock_path),
        "--rpc-tcp",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",  # never the default port: test daemons run side by side
        *args,
    ]
    log = LogFile(_unused(workdir / "daemon.log"))
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=log.file,
        text=True,
        env=daemon_env(workdir, notify.path, env),
        cwd=REPO,
    )
    log.file.close()  # the child has its own copy
    try:
        ready = notify.wait_for("READY", "1", timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        _close_pipes(proc)
        err = log.close()
        notify.close()
        raise RuntimeError(f"ptpipd did not become ready (rc={proc.returncode}): {err}") from None
    match = re.search(r"127\.0\.0\.1:(\d+)", ready.get("STATUS", ""))
    tcp = ("127.0.0.1", int(match.group(1))) if match else None
    return DaemonProcess(proc, sock_path, tcp, notify, workdir, log)


def _unused(path: Path) -> Path:
    """``path``, or ``path`` with -1, -2… before the suffix when it exists (a second daemon in one workdir)."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


@contextlib.contextmanager
def running_daemon(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[DaemonProcess]:
    """``start_daemon`` as a context manager that always stops it."""
    daemon = start_daemon(workdir, *args, env=env)
    try:
        yield daemon
    finally:
        daemon.stop()

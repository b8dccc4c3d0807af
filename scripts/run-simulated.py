#!/usr/bin/env python3
"""`make run`: ptpipd on the built-in simulated camera, a first ptpipctl call, then the daemon in the
foreground until Ctrl-C. Everything lives in ./.run (socket, GUID, captures).

The Makefile passes BIN (the virtualenv's bin directory), VENDOR, RPC_TCP, LEGACY and HTTP in the
environment.

It speaks for its own daemon only:

* before starting, it refuses (exit 1) when another process holds the socket or a TCP port, naming it;
* the daemon is ready when READY=1 arrives from the daemon's own PID (sd_notify, on a socket private to
  this run, sent only once every listener is bound); a daemon that stops first is reported, never a
  neighbour's answer;
* in a terminal it hands the terminal to the daemon's process group, so Ctrl-C reaches the daemon alone:
  it stops cleanly, this script exits 0 and make, which never saw the signal, ends quietly with 0. Without
  a terminal, SIGINT/SIGTERM/SIGHUP sent to this script are passed on to the daemon.

Standard library only. Exit codes: 0 stopped by Ctrl-C or a signal, 1 the daemon could not start or
stopped by itself, 2 a bad VENDOR/RPC_TCP/LEGACY/HTTP value.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT = 30.0  # the daemon starts its simulator and binds its listeners
CONNECT_TIMEOUT = 15.0  # then connects to the simulated camera
STOP_TIMEOUT = 20.0  # its own shutdown is bounded well below this
FIRST_CALL_TIMEOUT = 30.0

RUN = Path(".run")
SOCK = RUN / "ptpipd.sock"
PROG = "make run"
EXIT_FAILED, EXIT_USAGE = 1, 2
PASS_ON = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}


class Failed(Exception):
    """A reason to stop with a message and an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------- who holds what


def socket_owners() -> dict[int, list[int]]:
    """Socket inode → the PIDs with it open (only processes we may look at)."""
    owners: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        owners.setdefault(int(link[8:-1]), []).append(int(proc.name))
    return owners


def unix_listeners(path: Path) -> list[int]:
    """PIDs listening on the Unix socket ``path`` (bound by absolute or by relative name)."""
    wanted = path.resolve()
    inodes: dict[int, str] = {}
    with contextlib.suppress(OSError), open("/proc/net/unix") as table:
        for line in list(table)[1:]:
            fields = line.split()
            # Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 = listening
            if len(fields) >= 8 and int(fields[3], 16) & 0x10000 and fields[7].endswith(path.name):
                inodes[int(fields[6])] = fields[7]
    owners = socket_owners() if inodes else {}
    pids = []
    for inode, bound in inodes.items():
        for pid in owners.get(inode, []):
            with contextlib.suppress(OSError):
                cwd = os.readlink(f"/proc/{pid}/cwd")
                if Path(cwd, bound).resolve() == wanted and pid not in pids:
                    pids.append(pid)
    return pids


def tcp_listeners(port: int) -> list[int]:
    """PIDs with a TCP socket listening on ``port`` (any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for line in list(rows)[1:]:
                fields = line.split()  # sl local_address rem_address st ... uid timeout inode
                if len(fields) >= 10 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(int(fields[9]))
    owners = socket_owners()
    return sorted({pid for inode in inodes for pid in owners.get(inode, [])})


def who(pids: list[int]) -> str:
    """``PID 1234 (ptpipd --simulate fuji …)`` for each, or a note that the holder is not visible."""
    if not pids:
        return "a process this user cannot see"
    out = []
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            argv = []
        argv = [a for a in argv if a]
        if len(argv) > 1 and os.path.basename(argv[0]).startswith("python"):
            argv = argv[1:]  # a console script: show the script, not the interpreter
        command = " ".join(argv)
        out.append(f"PID {pid} ({command[:100]}{'…' if len(command) > 100 else ''})")
    return ", ".join(out)


def rpc_lines(sock: socket.socket, *requests: dict[str, object]) -> socket.SocketIO:
    """Sends the requests (one JSON line each) and returns the reading side."""
    sock.sendall(b"".join(json.dumps({"jsonrpc": "2.0", **r}).encode() + b"\n" for r in requests))
    return socket.SocketIO(sock, "rb")


def check_socket_free() -> None:
    """Fails when something answers on our socket path (a stale file is the daemon's to remove)."""
    if not SOCK.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(SOCK))
        except OSError:
            return  # nobody listens: stale (or not a socket, which the daemon reports itself)
        held_by = who(unix_listeners(SOCK))
        what, camera = "something", ""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            reader = rpc_lines(probe, {"method": "status", "id": 1})
            status = json.loads(reader.readline())["result"]
            model = (status.get("camera") or {}).get("model") or status["host"]
            what, camera = "another ptpipd", f"; its camera: {status['vendor']}, {model}, {status['state']}"
    raise Failed(
        f"{what} already serves {SOCK}: {held_by}{camera}.\n"
        f"{PROG}: stop it first (Ctrl-C in its terminal, or kill the PID), then run make run again."
    )


def parse_address(name: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or not host:
        raise Failed(f"{name} must be HOST:PORT, not {value!r}", EXIT_USAGE)
    return host.strip("[]"), int(port)


def check_port_free(name: str, what: str, value: str) -> None:
    """Fails when the daemon could not bind ``value`` (as the daemon does: SO_REUSEADDR)."""
    host, port = parse_address(name, value)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Failed(f"{name}={value}: cannot resolve {host!r}: {exc.strerror}", EXIT_USAGE) from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise Failed(f"cannot listen on {value} ({name}, {what}): {exc.strerror}") from None
                raise Failed(
                    f"{value} ({name}, {what}) is already in use by {who(tcp_listeners(port))}.\n"
                    f"{PROG}: stop it, or choose another port: make run {name}={host}:PORT"
                ) from None


# ------------------------------------------------------------------------------- the daemon


class Daemon:
    """Our ptpipd: its process (in a process group of its own), its READY=1, its exit."""

    def __init__(self, command: list[str]) -> None:
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        name = f"ptpipd-make-run-{os.getpid()}"
        self.notify.bind("\0" + name)  # abstract: private to this run, nothing to clean up
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "WATCHDOG_"))}
        env["NOTIFY_SOCKET"] = "@" + name
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        self.stop_signal: int | None = None
        for signum in PASS_ON:
            signal.signal(signum, self._pass_on)
        self.proc = subprocess.Popen(command, env=env, process_group=0)
        try:
            self.exited: int | None = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.exited = None  # no pidfd (old kernel): look every 0.2 s instead
        if self.stop_signal is not None:  # a signal came before the daemon existed
            self._pass_on(self.stop_signal, None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pass_on(self, signum: int, _frame: object) -> None:
        self.stop_signal = signum
        proc = getattr(self, "proc", None)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, PASS_ON[signal.Signals(signum)])

    def _wait(self, timeout: float | None, also: list[socket.socket]) -> list[object]:
        """Waits until the daemon exits, one of ``also`` is readable, a signal came, or ``timeout``."""
        watch: list[object] = [self.wake_r, *also]
        if self.exited is not None:
            watch.append(self.exited)
        elif timeout is None or timeout > 0.2:
            timeout = 0.2
        ready, _, _ = select.select(watch, [], [], timeout)
        if self.wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self.wake_r, 512)
        return ready

    def ready(self, timeout: float) -> bool:
        """True on READY=1 from our daemon; False when it exits first; Failed on timeout."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failed(f"ptpipd (PID {self.pid}) did not get ready within {timeout:.0f} s")
            if self.notify in self._wait(remaining, [self.notify]):
                message, ancillary, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(12))
                sender = next(
                    (struct.unpack("i", data[:4])[0] for level, kind, data in ancillary
                     if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS),
                    None,
                )  # fmt: skip
                if sender == self.pid and b"READY=1" in message.split(b"\n"):
                    self.notify.close()  # later STATUS= lines are dropped by the daemon's notifier
                    return True
        return False

    def wait(self, timeout: float | None = None) -> int:
        """The daemon's exit status; after a stop signal, at most STOP_TIMEOUT more, then SIGKILL."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.proc.poll() is None:
            if self.stop_signal is not None and deadline is None:
                deadline = time.monotonic() + STOP_TIMEOUT
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                print(f"{PROG}: ptpipd (PID {self.pid}) did not stop; killing it", file=sys.stderr)
                self.proc.kill()
                return self.proc.wait(STOP_TIMEOUT)
            self._wait(remaining, [])
        return self.proc.returncode

    def stop(self) -> int:
        self._pass_on(signal.SIGTERM, None)
        return self.wait(STOP_TIMEOUT)

    def foreground(self) -> int:
        """Runs the daemon until it stops: in a terminal, the terminal's foreground is its process group,
        so Ctrl-C goes to it and not to make."""
        owns_terminal = False
        with contextlib.suppress(OSError):
            if sys.stdin.isatty() and os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp():
                os.tcsetpgrp(sys.stdin.fileno(), self.pid)
                owns_terminal = True
        try:
            return self.wait()
        finally:
            if owns_terminal:
                with contextlib.suppress(OSError):
                    os.tcsetpgrp(sys.stdin.fileno(), os.getpgrp())


def wait_connected(timeout: float) -> str | None:
    """None once the daemon's camera is connected; otherwise what its status says after ``timeout``."""
    try:
        return _wait_connected(timeout)
    except (OSError, ValueError) as exc:
        return f"cannot ask ptpipd: {exc}"


def _wait_connected(timeout: float) -> str | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(SOCK))
        reader = rpc_lines(
            conn,
            {"method": "subscribe", "params": {"topics": ["connection"]}, "id": 1},
            {"method": "status", "id": 2},
        )
        deadline = time.monotonic() + timeout
        last = "no answer"
        with contextlib.suppress(TimeoutError):
            while (remaining := deadline - time.monotonic()) > 0:
                conn.settimeout(remaining)
                line = reader.readline()
                if not line:
                    return "ptpipd closed the connection"
                message = json.loads(line)
                params = message.get("result") if message.get("id") == 2 else message.get("params")
                if message.get("method") in ("notify.connection", None) and isinstance(params, dict):
                    if params.get("state") == "connected":
                        return None
                    last = str(params.get("last_error") or params.get("reason") or params.get("state"))
        return last


def say_how_to_use(bin_dir: str, vendor: str, pid: int, legacy: str, http: str) -> None:
    ctl = f"{bin_dir}/ptpipctl --socket {SOCK}"
    host, port = legacy.rsplit(":", 1)
    print(f"\nptpipd (PID {pid}) is serving a simulated {vendor} camera. A first call:", flush=True)
    print(f"  $ {ctl} get iso", flush=True)
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [f"{bin_dir}/ptpipctl", "--socket", str(SOCK), "get", "iso"], timeout=FIRST_CALL_TIMEOUT
        )
    status = '{"jsonrpc":"2.0","method":"status","id":1}'
    live = f"  ffplay http://{http}/liveview.mjpeg   # live view (or open it in a browser)\n"
    print(
        f"\nOpen http://{http}/ in a browser: the remote-control page (live view, settings, capture, pictures).\n"
        f"\nTry, in another shell:\n"
        f"  {ctl} set iso 800\n"
        f"  {ctl} capture /tmp/shot.jpg\n"
        f"  echo 'get whitebalance' | nc {host} {port}   # the legacy text protocol, the seed tool's words\n"
        f"  echo '{status}' | nc -U -q1 {SOCK}\n"
        f"  curl http://{http}/files   # pictures over HTTP (then curl -OJ http://{http}/files/3)\n"
        f"{live if vendor == 'fuji' else ''}"
        f"Ctrl-C stops the daemon.",
        flush=True,
    )


def main() -> int:
    os.chdir(Path(__file__).resolve().parent.parent)
    bin_dir = os.environ.get("BIN", ".venv/bin")
    vendor = os.environ.get("VENDOR") or "generic"
    rpc_tcp = os.environ.get("RPC_TCP") or "127.0.0.1:15741"
    legacy = os.environ.get("LEGACY") or "127.0.0.1:15740"
    http = os.environ.get("HTTP") or "127.0.0.1:15780"
    # Ignored dispositions are inherited: Ctrl-Z must not stop the daemon while it has the terminal (make
    # would wait for ever), and SIGTTOU would stop this script when it takes the terminal back.
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        if parse_address("RPC_TCP", rpc_tcp) == parse_address("LEGACY", legacy):
            raise Failed(f"RPC_TCP and LEGACY are both {rpc_tcp}; give them different ports", EXIT_USAGE)
        check_socket_free()
        check_port_free("RPC_TCP", "JSON-RPC over TCP", rpc_tcp)
        check_port_free("LEGACY", "the legacy text protocol", legacy)
        if parse_address("HTTP", http) in (
            parse_address("RPC_TCP", rpc_tcp),
            parse_address("LEGACY", legacy),
        ):
            raise Failed(f"HTTP is {http}, the port of another listener; give it its own", EXIT_USAGE)
        check_port_free("HTTP", "the HTTP data plane", http)
        RUN.mkdir(exist_ok=True)
        daemon = Daemon(
            [f"{bin_dir}/ptpipd", "--simulate", vendor, "--socket", str(SOCK), "--state-dir",
             str(RUN / "state"), "--rpc-tcp", rpc_tcp, "--legacy", legacy, "--http", http]
        )  # fmt: skip
        return run(daemon, bin_dir, vendor, legacy, http)
    except Failed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.code


def run(daemon: Daemon, bin_dir: str, vendor: str, legacy: str, http: str) -> int:
    try:
        if not daemon.ready(READY_TIMEOUT):
            if daemon.stop_signal is not None and daemon.proc.returncode == 0:
                return 0  # stopped by Ctrl-C while starting
            raise Failed(
                f"ptpipd stopped before it was ready (exit status {daemon.proc.returncode}); "
                "its message is above"
            )
        if daemon.stop_signal is None:
            problem = wait_connected(CONNECT_TIMEOUT)
            if problem is not None:
                print(f"{PROG}: the simulated camera is not connected yet: {problem}", file=sys.stderr)
        if daemon.stop_signal is None:
            say_how_to_use(bin_dir, vendor, daemon.pid, legacy, http)
        code = daemon.foreground()
    except BaseException:
        daemon.stop()
        raise
    if code == 0:
        return 0
    reason = f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
    raise Failed(f"ptpipd (PID {daemon.pid}) stopped by itself ({reason})")


if __name__ == "__main__":
    sys.exit(main())

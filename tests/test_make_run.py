"""`make run` from a fresh clone, in a terminal as a new user runs it.

It creates a virtualenv with only what running needs (no test tools) and without setuptools' banner, brings
the daemon up on the simulated camera, prints ptpipctl examples that work, and ends quietly with status 0
on Ctrl-C. With another process on its socket or a port it names that process and fails, never showing
someone else's daemon as its own. (CI runs `make test` itself on a fresh clone.)

The terminal is a real pseudo-terminal made the controlling terminal of make's session (``setsid -c``), and
Ctrl-C is the ^C character typed into it: the kernel turns it into SIGINT for the terminal's foreground
process group, exactly as in a shell.
"""

from __future__ import annotations

import contextlib
import os
import pty
import random
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to clone"),
]

BANNERS = ("!!", "will be removed", "BuildBackendWarning", "SetuptoolsDeprecationWarning", "Editable install")
TEST_ONLY = ("pytest", "mypy", "ruff", "hypothesis", "jsonschema")
SERVING = re.compile(r"ptpipd \(PID (\d+)\) is serving a simulated (\w+) camera")


def free_port() -> int:
    """A free port below the kernel's ephemeral range: `make run` binds it minutes later (after installing),
    and meanwhile other tests' sockets bound to port 0 would take an ephemeral one (seen once in CI)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise AssertionError(f"no free port below {low} in 100 tries")


def clean_env() -> dict[str, str]:
    """The environment of a new user's shell: nothing of this test run's virtualenv, daemon or make."""
    drop = ("VIRTUAL_ENV", "PTPIPCTL_", "PTPIPD_", "MAKE", "NOTIFY_SOCKET", "LISTEN_", "WATCHDOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Terminal:
    """``make ARGS`` in ``cwd`` on a pseudo-terminal of its own; everything it prints is kept in ``lines``."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            ["setsid", "-w", "-c", "make", "--no-print-directory", *args],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=clean_env(),
        )
        os.close(slave)
        self.lines: list[str] = []
        self._partial = b""
        self._next = 0  # lines before this one have been searched already
        self._eof = False

    def _read(self, timeout: float) -> None:
        if self._eof or not select.select([self.master], [], [], timeout)[0]:
            return
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal has gone
            chunk = b""
        if not chunk:
            self._eof = True
            return
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self.lines += [line.decode(errors="replace").rstrip("\r") for line in complete]

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first line from here on matching ``pattern``; fails after ``timeout`` s or at the end."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            while self._next < len(self.lines):
                self._next += 1
                if match := regex.search(self.lines[self._next - 1]):
                    return match
            left = deadline - time.monotonic()
            if self._eof or left <= 0:
                raise AssertionError(f"no line matching {pattern!r}; make printed:\n" + self.output())
            self._read(left)

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def finish(self, timeout: float = 30) -> int:
        """Reads to the end (bounded) and returns make's exit status."""
        deadline = time.monotonic() + timeout
        while not self._eof and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        if self._partial:
            self.lines.append(self._partial.decode(errors="replace").rstrip("\r"))
            self._partial = b""
        return self.proc.wait(max(deadline - time.monotonic(), 1))

    def output(self) -> str:
        return "\n".join(self.lines)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        os.close(self.master)


@contextlib.contextmanager
def terminal(cwd: Path, *args: str) -> Iterator[Terminal]:
    term = Terminal(cwd, *args)
    try:
        yield term
    finally:
        term.close()


def make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` without a terminal, to completion (bounded)."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=600,
    )


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this checkout's HEAD, shared by the module (its .venv is made by the first run)."""
    path = tmp_path_factory.mktemp("make-run") / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(path)], check=True, timeout=60)
    return path


def test_make_run_from_a_fresh_clone(clone: Path) -> None:
    assert not (clone / ".venv").exists(), "this test must make the virtualenv itself"
    legacy = free_port()
    ports = (
        f"RPC_TCP=127.0.0.1:{free_port()}",
        f"LEGACY=127.0.0.1:{legacy}",
        f"HTTP=127.0.0.1:{free_port()}",
    )
    with terminal(clone, "run", *ports) as term:
        pid = int(term.expect(SERVING.pattern + ". A first call:", 600)[1])
        installing = term.output()
        for banner in BANNERS:
            assert banner not in installing, f"the first run printed {banner!r}:\n{installing}"
        assert term.expect(r"^value\s+(\S+)", 30)[1] == "400"
        example = term.expect(r"^\s+(\S*ptpipctl --socket \S+ set iso 800)\s*$", 30)[1]
        term.expect(r"Ctrl-C stops the daemon", 30)

        done = subprocess.run(
            shlex.split(example), cwd=clone, capture_output=True, text=True, timeout=30, env=clean_env()
        )
        assert done.returncode == 0, done.stderr
        assert re.search(r"^value\s+800$", done.stdout, re.M), done.stdout
        if shutil.which("nc"):
            text = subprocess.run(
                ["nc", "127.0.0.1", str(legacy)],
                input="get iso\n",
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert text.stdout == " (0x320)\n"  # the seed tool's line: no ISO label on standard PTP

        before = len(term.lines)
        term.ctrl_c()
        assert term.finish() == 0, term.output()
        after = "\n".join(term.lines[before:])
        assert not re.search(r"Error|\*\*\*|Traceback", after), after
    assert gone(pid), "the daemon outlived make run"
    assert not (clone / ".run" / "ptpipd.sock").exists(), "the daemon left its socket behind"

    # only what running needs, installed editable: the checkout's code and the three console scripts
    venv = clone / ".venv" / "bin"
    for script in ("ptpipd", "ptpipctl", "ptpipd-sim"):
        assert (venv / script).is_file(), script
    probe = f"import importlib.util as u; print(*[m for m in {TEST_ONLY!r} if u.find_spec(m)])"
    found = subprocess.run(
        [venv / "python", "-c", probe], capture_output=True, text=True, timeout=30, cwd="/"
    )
    assert (found.returncode, found.stdout.strip()) == (0, ""), "make run installed test tools"
    where = subprocess.run(
        [venv / "python", "-c", "import ptpipd; print(ptpipd.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert where.stdout.strip() == str(clone / "ptpipd" / "__init__.py"), where


def test_make_run_refuses_what_another_process_holds(clone: Path) -> None:
    """A TCP port held by someone else (here: this test), the socket held by another `make run`'s daemon,
    a socket path the daemon itself refuses: each time make run names the problem, exits non-zero and
    prints nothing claiming success."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        for name, other in (("RPC_TCP", "LEGACY"), ("LEGACY", "RPC_TCP")):
            done = make(clone, "run", f"{name}=127.0.0.1:{held}", f"{other}=127.0.0.1:{free_port()}")
            assert done.returncode == 2, done.stdout + done.stderr
            assert f"127.0.0.1:{held} ({name}, " in done.stderr
            assert f"already in use by PID {os.getpid()} (" in done.stderr, done.stderr
            assert "serving" not in done.stdout + done.stderr

    first_args = (
        f"RPC_TCP=127.0.0.1:{free_port()}",
        f"LEGACY=127.0.0.1:{free_port()}",
        f"HTTP=127.0.0.1:{free_port()}",
    )
    with terminal(clone, "run", *first_args) as first:
        pid = int(first.expect(SERVING.pattern, 600)[1])
        first.expect(r"Ctrl-C stops the daemon", 30)

        second = make(clone, "run", f"RPC_TCP=127.0.0.1:{free_port()}", f"LEGACY=127.0.0.1:{free_port()}")
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"another ptpipd already serves .run/ptpipd.sock: PID {pid} (" in second.stderr, second.stderr
        assert "its camera: generic, " in second.stderr
        assert "serving" not in second.stdout and "A first call" not in second.stdout, second.stdout
        # the same ports as the first one: still the socket that is named (the first thing in the way)
        third = make(clone, "run", *first_args)
        assert third.returncode == 2 and f"PID {pid} (" in third.stderr, third.stderr
        assert first.proc.poll() is None, "the first daemon must keep serving"

        # SIGTERM to make alone, as `timeout make run` does: make passes it to the script, which stops the
        # daemon it started (in its own process group, out of make's reach) before exiting
        first.proc.send_signal(signal.SIGTERM)
        assert first.finish() == -signal.SIGTERM, first.output()  # make re-raises what it received
    assert gone(pid), "the daemon outlived make run"
    assert not (clone / ".run" / "ptpipd.sock").exists()

    # the daemon itself refuses (a file, not a socket, at its path): reported from its own exit, not
    # from whatever else may answer
    (clone / ".run").mkdir(exist_ok=True)
    (clone / ".run" / "ptpipd.sock").write_text("not a socket\n")
    try:
        done = make(clone, "run", f"RPC_TCP=127.0.0.1:{free_port()}", f"LEGACY=127.0.0.1:{free_port()}")
    finally:
        (clone / ".run" / "ptpipd.sock").unlink()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "exists and is not a socket" in done.stderr
    assert "make run: ptpipd stopped before it was ready (exit status 1)" in done.stderr
    assert "serving" not in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("RPC_TCP=127.0.0.1:25741", "LEGACY=127.0.0.1:25741"),
            "RPC_TCP and LEGACY are both 127.0.0.1:25741",
        ),
        (("RPC_TCP=localhost",), "RPC_TCP must be HOST:PORT, not 'localhost'"),
    ],
)
def test_make_run_usage(clone: Path, args: tuple[str, ...], message: str) -> None:
    done = make(clone, "run", *args)
    assert done.returncode == 2 and f"make run: {message}" in done.stderr, done.stderr

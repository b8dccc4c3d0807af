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
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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

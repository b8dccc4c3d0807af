"""A command's own peak memory (and wall time), measured without counting the process that starts it.

A child's ``ru_maxrss`` includes the high-water mark of the memory it had before ``exec``: a copy of its
parent's (fork) or its parent's own (vfork, posix_spawn). Started from pytest or a benchmark, a 14 MB
command would report their peak instead. So a small wrapper (``python -S``, about 8 MB resident) forks
and execs the command and reports the child's ``ru_maxrss`` from ``wait4``: at most max(the wrapper's
size, the command's own peak) — an upper bound of the command's peak, tight above 8 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import IO

WRAPPER = """
import os, sys, time
started = time.perf_counter()
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(report, f"{usage.ru_maxrss} {time.perf_counter() - started}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str],
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = None,
    timeout: float = 600,
) -> tuple[int, int, float]:
    """Runs ``command`` (its first word an executable path) to its end: (exit code, its peak RSS in KiB,
    its wall time in seconds from fork to exit)."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", WRAPPER, str(write_end), *command],
            env=dict(env),
            stdout=stdout,
            stderr=stderr,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        write_end = -1
        code = proc.wait(timeout)
        report = os.read(read_end, 100).decode().split()
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if len(report) != 2:
        raise RuntimeError(f"the measuring wrapper said {report!r} (exit {code})")
    return code, int(report[0]), float(report[1])

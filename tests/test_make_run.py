"""`make run` from a fresh clone: it creates the virtualenv, brings the daemon up on the simulated camera,
and prints ptpipctl examples that work. (CI runs `make test` itself on a fresh clone.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.procs import REPO, read_line_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout to clone"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_make_run_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=60)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PTPIPCTL_", "PTPIPD_", "MAKE"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    legacy = free_port()
    proc = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"RPC_TCP=127.0.0.1:{free_port()}",
            f"LEGACY=127.0.0.1:{legacy}",
        ],
        cwd=clone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        # the script's own signal that the daemon is up and the first call went through
        read_line_until(proc, re.compile(r"A first call:"), 600)
        first = read_line_until(proc, re.compile(r"^value\s+(\S+)"), 30)
        assert first.group(1) == "400"
        example = read_line_until(proc, re.compile(r"^\s+(\S*ptpipctl --socket \S+ set iso 800)\s*$"), 30)
        read_line_until(proc, re.compile(r"Ctrl-C stops the daemon"), 30)

        done = subprocess.run(
            shlex.split(example.group(1)), cwd=clone, capture_output=True, text=True, timeout=30
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
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert not (clone / ".run" / "ptpipd.sock").exists(), "the daemon left its socket behind"

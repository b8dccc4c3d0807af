"""Fixtures for ptpipctl: the installed ``ptpipctl`` run as a subprocess (the fast path, or typer with
``PTPIPCTL_FAST=0``), a stub daemon with canned answers, and real daemons on the simulated cameras."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.stub import StubDaemon, stub_daemon
from tests.legacy.conftest import VENDORS
from tests.procs import REPO, DaemonProcess, running_daemon

#: The console script pip installed for the entry point ``ptpipctl.app:main``.
PTPIPCTL = Path(sys.executable).with_name("ptpipctl")


@dataclass
class Result:
    """A finished ptpipctl run."""

    code: int
    out: str
    err: str
    raw: bytes


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no PTPIPCTL_* settings and a private runtime directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPCTL_", "_PTPIPCTL", "PTPIPD_"))}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home / "run"))
    env.update(extra)
    return env


def ctl(
    *args: str,
    env: dict[str, str],
    fast: bool = True,
    cwd: Path | None = None,
    timeout: float = 60,
    python_flags: tuple[str, ...] = (),
    preexec_fn: Callable[[], None] | None = None,
) -> Result:
    """Runs the installed ``ptpipctl`` with ``args``; ``fast=False`` forces the typer path."""
    run_env = dict(env)
    if not fast:
        run_env["PTPIPCTL_FAST"] = "0"
    command = [sys.executable, *python_flags, str(PTPIPCTL)] if python_flags else [str(PTPIPCTL)]
    proc = subprocess.run(
        [*command, *args],
        capture_output=True,
        env=run_env,
        cwd=cwd or REPO,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )
    return Result(
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
        proc.stdout,
    )


@contextlib.contextmanager
def ctl_running(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The installed ``ptpipctl`` with ``args`` as a running process (text pipes); killed if still running."""
    proc = subprocess.Popen(
        [str(PTPIPCTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def complete(env: dict[str, str], words: str, cword: int | None = None) -> list[str]:
    """What bash completion offers for ``words`` (the word at ``cword``; default: the last one)."""
    position = len(words.split()) - (0 if words.endswith(" ") else 1) if cword is None else cword
    result = ctl(
        env=dict(env, _PTPIPCTL_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(position))
    )
    assert result.code == 0 and result.err == "", result.err
    return result.out.split()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    return tmp_path


@pytest.fixture
def stub(home: Path) -> Iterator[StubDaemon]:
    with stub_daemon(home / "stub.sock") as s:
        yield s


@dataclass
class Live:
    """A daemon on a simulated camera, and the environment that points ptpipctl at it."""

    vendor: str
    daemon: DaemonProcess
    env: dict[str, str]

    def ctl(self, *args: str, **kwargs: object) -> Result:
        return ctl(*args, env=self.env, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="package", params=VENDORS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One daemon per vendor for the package; tests must not depend on each other's changes."""
    vendor = str(request.param)
    workdir = tmp_path_factory.mktemp(f"ctl-{vendor}")
    with running_daemon(workdir / "daemon", "--simulate", vendor) as daemon:
        daemon.wait_connected()
        (workdir / "run").mkdir()
        yield Live(vendor, daemon, clean_env(workdir, PTPIPCTL_SOCKET=str(daemon.socket_path)))

"""Fixtures of the fault tests (issue 14): a real ``ptpipd`` subprocess against the hostile fake camera
(tests/hostile.py, in this process) or against its built-in simulated camera, and small helpers.

Every test here reproduces one defect of issue 14 and is marked ``xfail(strict=True, raises=Defect)`` until
the defect is fixed: the helper that fixes it removes the marker, and the test must then pass for real.
``raises=Defect`` keeps the expected failure honest: only a failed check of the behaviour the issue asks for
(raised as :class:`Defect`) counts as the expected failure; a broken harness (a daemon that does not start,
a precondition that does not hold) fails the test for real even while the marker is there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import HostileCamera
from tests.procs import LISTENING, REPO, DaemonProcess, LogFile, SimProcess, read_line_until, running_daemon
from tests.rpcclient import RpcConnection


class Defect(AssertionError):
    """The behaviour issue 14 asks for is not there: what was observed instead."""


def check(condition: object, message: str) -> None:
    """Raises :class:`Defect` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Defect(message)


def check_all(problems: list[str]) -> None:
    """Raises one :class:`Defect` listing every problem found (a test may check several symptoms)."""
    if problems:
        raise Defect("; ".join(problems))


def response_within(conn: RpcConnection, limit: float, what: str) -> tuple[dict[str, Any], float]:
    """The next response on ``conn`` and when it arrived (``time.monotonic()``).

    No answer within ``limit`` seconds is a :class:`Defect` (the issue's "no client held hostage")."""
    try:
        response = conn.read_response(timeout=limit)
    except TimeoutError:
        raise Defect(f"{what}: no answer within {limit:g} s") from None
    return response, time.monotonic()


@pytest.fixture
def camera() -> Iterator[HostileCamera]:
    """A hostile camera that behaves until a test scripts it."""
    with HostileCamera() as cam:
        yield cam


@contextlib.contextmanager
def daemon_on(
    cam: HostileCamera | SimProcess, workdir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[DaemonProcess]:
    """A daemon connected to the camera ``cam`` (``env``: ``PTPIPD_*`` settings such as the timeout)."""
    with _killed_on_failure(
        running_daemon(workdir, "--host", cam.host, "--port", str(cam.port), *args, env=env)
    ) as daemon:
        yield daemon


@contextlib.contextmanager
def _killed_on_failure(running: contextlib.AbstractContextManager[DaemonProcess]) -> Iterator[DaemonProcess]:
    """Waits for the camera connection; when the test fails, SIGKILLs the daemon instead of the orderly
    SIGTERM (a daemon stuck in a defect would take its shutdown grace: seconds of nothing)."""
    with running as daemon:
        try:
            daemon.wait_connected()
            yield daemon
        except BaseException:
            daemon.stop(signal.SIGKILL)
            raise


@contextlib.contextmanager
def simulated_daemon(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[DaemonProcess]:
    """A daemon on its built-in simulated camera, connected."""
    with _killed_on_failure(running_daemon(workdir, "--simulate", "generic", *args, env=env)) as daemon:
        yield daemon


def error_code(response: dict[str, Any]) -> int | None:
    """The JSON-RPC error code of a response, or None for a result."""
    error = response.get("error")
    return int(error["code"]) if isinstance(error, dict) else None


def send_request(conn: RpcConnection, method: str, params: object = None, rid: int = 1) -> None:
    """Writes one request without waiting for its answer."""
    request: dict[str, object] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params is not None:
        request["params"] = params
    conn.send_line(json.dumps(request))


@contextlib.contextmanager
def hostile_process(*args: str) -> Iterator[SimProcess]:
    """``python -m tests.hostile ARGS`` as a subprocess, once it printed ``listening on``; a test may SIGSTOP
    or SIGKILL it. Its later lines (``session N``, ``fired OP``) are read with ``read_line_until``."""
    log = LogFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hostile", *args],
        stdout=subprocess.PIPE,
        stderr=log.file,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    log.file.close()
    try:
        match = read_line_until(proc, LISTENING, 30)
    except BaseException:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the hostile camera did not start: {log.close()}") from None
    cam = SimProcess(proc, match["host"], [int(match["ports"])], list(args), log)
    try:
        yield cam
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a stopped process handles SIGTERM only once continued
        cam.stop()

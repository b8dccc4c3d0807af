"""Issue 15 item 18: ``ptpipctl wait`` returns once the daemon is connected to its camera (it listens to
``connection`` notifications), gives up after ``--timeout`` with the last error; ``status`` shows the last
error with its time and the attempts when the daemon sends them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import clean_env, ctl, ctl_running
from tests.cli.stub import STATUS, StubDaemon
from tests.procs import DaemonProcess, running_daemon, running_sim


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cameraless(tmp_path: Path) -> Iterator[tuple[DaemonProcess, int, dict[str, str]]]:
    """A daemon whose camera port has nothing listening (yet), and ptpipctl's environment for it."""
    port = free_port()
    with running_daemon(tmp_path / "daemon", "--host", "127.0.0.1", "--port", str(port)) as daemon:
        (tmp_path / "run").mkdir()
        yield daemon, port, clean_env(tmp_path, PTPIPCTL_SOCKET=str(daemon.socket_path))


def test_wait_gives_up_after_the_timeout_with_the_last_error(
    cameraless: tuple[DaemonProcess, int, dict[str, str]],
) -> None:
    daemon, _, env = cameraless
    result = ctl("wait", "--timeout", "0.5", env=env)
    assert result.code == 1 and result.out == ""
    waiting, gave_up = result.err.splitlines()
    assert waiting.startswith("waiting for the camera (state ") and waiting.endswith(", at most 0.5 s")
    assert gave_up.startswith("ptpipctl: the camera is not connected after 0.5 s (state ")
    error = daemon.call("status")["last_error"]
    assert error and f"; last error: {error}" in gave_up


def test_wait_returns_once_the_camera_comes(cameraless: tuple[DaemonProcess, int, dict[str, str]]) -> None:
    _, port, env = cameraless
    with ctl_running("wait", "--timeout", "60", env=env) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        assert proc.stderr.readline().startswith("waiting for the camera (state ")  # subscribed, not there
        with running_sim("generic", "--port", str(port)):
            assert proc.wait(60) == 0
            assert proc.stdout.read() == "connected to ptpipd Simulated PTP/IP camera\n"
            assert proc.stderr.read() == ""


def test_status_shows_the_time_of_the_last_error_and_the_attempts(home: Path, stub: StubDaemon) -> None:
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address), TZ="UTC")
    plain = ctl("status", env=env)
    assert "\nlast error       -\n" in plain.out and "attempts" not in plain.out
    stub.answers["status"] = {
        **STATUS,
        "state": "connecting",
        "last_error": "cannot reach the camera: Connection refused",
        "last_error_time": 1_700_000_000.25,
        "attempts": 3,
    }
    for fast in (True, False):
        result = ctl("status", env=env, fast=fast)
        assert result.code == 0, result.err
        assert "\nattempts         3\n" in result.out
        assert (
            "\nlast error       cannot reach the camera: Connection refused (at 2023-11-14 22:13:20)\n"
            in result.out
        )
        refused = ctl("wait", "--timeout", "0", env=env, fast=fast)
        assert refused.code == 1
        assert refused.err.endswith(
            "ptpipctl: the camera is not connected after 0 s (state connecting; last error: cannot reach"
            " the camera: Connection refused (at 2023-11-14 22:13:20); 3 attempts)\n"
        )

"""The simulated Nikon as a subprocess, over raw sockets: the idle drop (``--idle-timeout``) and its options.

The idle drop is what a daemon's keep-alive must defeat (gphoto/gphoto2#66: a D5300 drops a silent
client after about 30 s); here it is shortened to a fraction of a second.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from tests.interop.gphoto2 import RawCamera
from tests.procs import REPO
from tests.sim.nikon_sim import QUIET, nikon_command, running_nikon

IDLE = 0.5


def closed_within(sock: socket.socket, timeout: float) -> bool:
    """True when the peer closes ``sock`` within ``timeout`` seconds (False if it is still open then)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False


def test_a_silent_client_is_dropped_a_talking_one_is_not() -> None:
    with running_nikon("--model", "d750", *QUIET, "--idle-timeout", str(IDLE)) as sim:
        with RawCamera(sim.port) as raw:
            deadline = time.monotonic() + 4 * IDLE
            while time.monotonic() < deadline:  # DeviceReady every IDLE/4 s: traffic, never idle
                assert raw.call(0x90C8) == (0x2001, None)
                time.sleep(IDLE / 4)
            assert raw.evt is not None
            assert closed_within(raw.evt, 10.0)  # silent now: the body drops both connections
            assert closed_within(raw.cmd, 1.0)
        log = sim.stop()
    assert f"no traffic for {IDLE:g} s: the camera drops its clients" in log


def test_an_unknown_model_is_a_usage_error() -> None:
    result = subprocess.run(
        nikon_command("--model", "d3"), capture_output=True, text=True, cwd=REPO, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "--model d3: the Nikon bodies are d750, z6" in result.stderr


@pytest.mark.parametrize("flag", [("--vendor-id", "canon"), ("--wifi", "mesh"), ("--registered", "123")])
def test_bad_nikon_options_are_refused(flag: tuple[str, str]) -> None:
    result = subprocess.run(
        nikon_command(*flag), capture_output=True, text=True, cwd=REPO, timeout=30, check=False
    )
    assert result.returncode == 2, result.stderr
    assert flag[0] in result.stderr or "not a GUID" in result.stderr

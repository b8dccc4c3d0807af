"""Debian's gphoto2 (libgphoto2 2.5.30, "Fuji X (WLAN)") against ``ptpipd-sim --vendor fuji``, as subprocesses.

libgphoto2's Fuji Wi-Fi client is an independent implementation with its own quirks (ORACLES.md §2): the
init request sent twice, OpenSession with TID 0, a data container expected before every response of a
data-in operation, ports derived as event = command + 1 and jpeg = event + 1. If it can read the summary
and the configuration and change a Fuji property, the simulator speaks the dialect as cameras do. What
gphoto2 changed is read back with our own initiator. Every gphoto2 run has its own HOME and runs under
``timeout``; its ~13 "Transport endpoint is not connected" lines (it polls the event socket before
connecting it) are expected and are the only thing allowed on stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.camera import Camera
from tests.procs import SimProcess, running_sim, start_sim

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("gphoto2") is None, reason="gphoto2 is not installed (make system-deps)"),
]

TIMEOUT = 30
HARMLESS = "read fujiptpip generic: Transport endpoint is not connected"


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    # gphoto2 introduces itself with the host name, our initiator with another name: let both in
    with running_sim("fuji", "--accept-any-client") as process:
        yield process


def gphoto2(port: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``timeout T gphoto2 --camera "Fuji X (WLAN)" --port ptpip:PORT ARGS`` with its own HOME."""
    home.mkdir(parents=True, exist_ok=True)
    command = [
        "timeout",
        str(TIMEOUT),
        "gphoto2",
        "--camera",
        "Fuji X (WLAN)",
        "--port",
        f"ptpip:{port}",
        *args,
    ]
    env = dict(os.environ, HOME=str(home), LANG="C", LC_ALL="C")
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=home, timeout=TIMEOUT + 10, check=False
    )


def explicit(sim: SimProcess) -> str:
    """gphoto2's port with explicit command and event ports (it derives the live-view port from them)."""
    command, event, stream = sim.ports
    assert stream == event + 1
    return f"{sim.host}:{command}:{event}"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    unexpected = [line for line in result.stderr.splitlines() if line.strip() and line.strip() != HARMLESS]
    assert unexpected == [], result.stderr
    return result.stdout


async def read_back(sim: SimProcess, prop: str) -> tuple[object, str]:
    command, event, stream = sim.ports
    async with Camera(
        host=sim.host,
        vendor="fuji",
        port=command,
        event_port=event,
        stream_port=stream,
        friendly_name="check",
    ) as cam:
        value = await cam.get(prop)
        return value.value, value.label


def test_summary(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(explicit(sim), "--summary", home=tmp_path))
    lines = out.splitlines()
    assert "Manufacturer: FUJIFILM" in lines and "Model: X-T1" in lines
    assert "  Version: 5.51" in lines and "  Serial Number: SIMULATED-X-T1" in lines
    # the 0x902B list, as gphoto2 reads it: film simulation 2 (Velvia), ISO 0x80001900 (S6400)
    assert re.search(r"^Film Simulation\(0xd001\):\(readwrite\) .* value: 2$", out, re.MULTILINE), out
    assert re.search(rf"^ExposureIndex\(0xd02a\):\(readwrite\) .* value: {0x80001900}$", out, re.MULTILINE)


def test_list_config(sim: SimProcess, tmp_path: Path) -> None:
    names = ok(gphoto2(explicit(sim), "--list-config", home=tmp_path)).splitlines()
    for name in (
        "/main/imgsettings/filmsimulation",
        "/main/imgsettings/whitebalance",
        "/main/capturesettings/exposurecompensation",
        "/main/other/d02a",
        "/main/other/d17c",
    ):
        assert name in names


def test_get_config_film_simulation(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(explicit(sim), "--get-config", "filmsimulation", home=tmp_path)).splitlines()
    assert "Current: Velvia/Vivid" in out
    assert "Choice: 10 Classic Chrome" in out


async def test_set_config_film_simulation_read_back(sim: SimProcess, tmp_path: Path) -> None:
    ok(gphoto2(explicit(sim), "--set-config", "filmsimulation=Classic Chrome", home=tmp_path))
    assert await read_back(sim, "effect") == (11, "Classic Chrome")
    out = ok(gphoto2(explicit(sim), "--get-config", "filmsimulation", home=tmp_path / "again")).splitlines()
    assert "Current: Classic Chrome" in out


async def test_set_config_iso_read_back(sim: SimProcess, tmp_path: Path) -> None:
    ok(gphoto2(explicit(sim), "--set-config", "/main/other/d02a=800", home=tmp_path))
    assert await read_back(sim, "iso") == (800, "800")


def test_default_ports(tmp_path: Path) -> None:
    try:
        process = start_sim("fuji", "--ports", "55740", "--accept-any-client")  # the last --ports wins
    except RuntimeError as exc:
        pytest.skip(f"the default ports 55740-55742 are not free here: {exc}")
    try:
        assert process.ports == [55740, 55741, 55742]
        out = ok(gphoto2("127.0.0.1", "--summary", home=tmp_path))
        assert "Model: X-T1" in out.splitlines()
    finally:
        process.stop()

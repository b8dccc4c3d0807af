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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.camera import Camera
from ptpipd.sim.fuji_card import FujiCard
from ptpipd.vendors.fuji_body_codes import EventsList, body, partial_requests
from tests.procs import SimProcess, running_sim, start_sim
from tests.sim.test_fuji_server import Conn

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


def start_on_default_ports(attempts: int = 20) -> SimProcess:
    """The Fuji body on 55740-55742. Those ports sit in Linux's ephemeral range, so another test's
    connection may hold one for a moment (seen once in a CI run): try again a bounded number of times,
    with a growing pause, before giving up with the reason."""
    for attempt in range(attempts):
        try:
            return start_sim("fuji", "--ports", "55740", "--accept-any-client")  # the last --ports wins
        except RuntimeError as exc:
            if attempt == attempts - 1:
                pytest.skip(f"the default ports 55740-55742 stayed busy over {attempts} tries: {exc}")
            time.sleep(0.05 * (attempt + 1))  # no peer to wait on: the holder is another test's socket
    raise AssertionError("unreachable")


def test_default_ports(tmp_path: Path) -> None:
    process = start_on_default_ports()
    try:
        assert process.ports == [55740, 55741, 55742]
        out = ok(gphoto2("127.0.0.1", "--summary", home=tmp_path))
        assert "Model: X-T1" in out.splitlines()
    finally:
        process.stop()


# ------------------------------------------------------------------------------------------------------
# The bodies after the X-T1 (tests/data/fuji/BODIES.md §8): gphoto2's Fuji driver has no version or
# dialog logic, so it must connect to each simulated body as it connects to the X-T1. What it changed is
# read back over a raw socket (tests.sim.test_fuji_server.Conn), not with our own vendor code.
# ------------------------------------------------------------------------------------------------------

LATER = ("x-t2", "x-t4", "x-t5", "x-s10")
WITH_FILES = ("x-t4", "x-t5", "x-s10")  # the X-T2 reports no storage (log-xt2 lines 147-151)


@pytest.fixture(scope="module", params=LATER)
def later(request: pytest.FixtureRequest) -> Iterator[SimProcess]:
    with running_sim("fuji", "--model", request.param, "--accept-any-client", "-v") as process:
        yield process


def model_of(sim: SimProcess) -> str:
    return sim.args[sim.args.index("--model") + 1]


def raw_remote(sim: SimProcess) -> Conn:
    conn = Conn(sim.ports[0])
    conn.remote_mode("check", version=body(model_of(sim)).remote_version or 0)
    return conn


def test_later_body_summary(later: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(explicit(later), "--summary", home=tmp_path))
    lines = out.splitlines()
    # the body sends an empty DeviceInfo, as the X-T4 does: gphoto2 makes up its own (BODIES.md §8)
    assert "Manufacturer: FUJIFILM" in lines and "Model: X-T42" in lines
    state = dict(body(model_of(later)).remote_state)
    iso = state[0xD02A]  # the body's ISO from its log: S6400 (X-T4), S3200 (X-T5)
    assert re.search(rf"^ExposureIndex\(0xd02a\):\(readwrite\) .* value: {iso}$", out, re.MULTILINE), out
    assert ("store_10000001:" in lines) is (model_of(later) in WITH_FILES)


def test_later_body_list_config(later: SimProcess, tmp_path: Path) -> None:
    names = ok(gphoto2(explicit(later), "--list-config", home=tmp_path)).splitlines()
    for name in ("/main/imgsettings/filmsimulation", "/main/imgsettings/whitebalance", "/main/other/d02a"):
        assert name in names


def test_later_body_get_and_set_film_simulation(later: SimProcess, tmp_path: Path) -> None:
    before = ok(gphoto2(explicit(later), "--get-config", "filmsimulation", home=tmp_path / "get"))
    assert "Current: PROVIA/Standard" in before.splitlines()  # 0xD001 = 1 in the logs' shooting state
    ok(gphoto2(explicit(later), "--set-config", "filmsimulation=Classic Chrome", home=tmp_path / "set"))
    conn = raw_remote(later)
    try:
        assert conn.call(0x1015, 0xD001).data == (11).to_bytes(2, "little")
        # the next session's first list after InitiateOpenCapture carries the whole state, with the change
        listed = EventsList.decode(conn.call(0x1015, 0xD212).data or b"")
        assert listed.value(0xD001) == 11
        assert conn.call(0x1016, 0xD001, data=b"\x01\x00").code == 0x2001  # back to PROVIA for the others
    finally:
        conn.close()
    after = ok(gphoto2(explicit(later), "--get-config", "filmsimulation", home=tmp_path / "again"))
    assert "Current: PROVIA/Standard" in after.splitlines()


def test_later_body_files(later: SimProcess, tmp_path: Path) -> None:
    model = model_of(later)
    listing = ok(gphoto2(explicit(later), "--list-files", home=tmp_path / "list"))
    count = body(model).object_count
    if model not in WITH_FILES:
        assert "DSCF" not in listing and "There is no file in folder '/'." in listing
        return
    assert f"There are {count} files in folder '/store_10000001'." in listing.splitlines()
    assert re.search(r"^#3 +DSCF0003\.JPG +rd +100 KB 1536x1024 image/jpeg", listing, re.MULTILINE), listing
    # 100 KB: the placeholder size until 0xD227 is 1, so gphoto2 takes the whole object with GetObject
    home = tmp_path / "get"
    ok(gphoto2(explicit(later), "--get-file", "3", "--folder", "/store_10000001", home=home))
    expected = tmp_path / "expected.jpg"
    expected.write_bytes(FujiCard(body(model), seed=0).content(3))
    assert subprocess.run(["cmp", str(home / "DSCF0003.JPG"), str(expected)], check=False).returncode == 0


def test_full_size_in_1_mib_pieces_once_the_size_flag_is_set(tmp_path: Path) -> None:
    """With 0xD227 = 1 (as Fuji's app sets it) ObjectInfo gives the real size, and gphoto2 fetches an
    object over 1 MiB with GetPartialObject(handle, offset, 0x100000), as it would from a real body."""
    with running_sim("fuji", "--model", "x-t4", "--accept-any-client", "-v") as sim:
        conn = raw_remote(sim)
        try:
            assert conn.call(0x1016, 0xD227, data=b"\x01\x00").code == 0x2001
        finally:
            conn.close()
        size = FujiCard(body("x-t4"), seed=0).size(9)
        ok(gphoto2(explicit(sim), "--get-file", "9", "--folder", "/store_10000001", home=tmp_path))
        asked = re.findall(r"0x101B tid=\d+ \(9, (\d+), (\d+)\)", sim.stderr_text())
        assert [(int(offset), int(length)) for offset, length in asked] == list(partial_requests(size))
        expected = tmp_path / "expected.jpg"
        expected.write_bytes(FujiCard(body("x-t4"), seed=0).content(9))
        assert (
            subprocess.run(["cmp", str(tmp_path / "DSCF0009.JPG"), str(expected)], check=False).returncode
            == 0
        )


def test_the_dialog_within_gphoto2s_patience(tmp_path: Path) -> None:
    """A new client makes the body hold the ClientState answer until the user presses Yes; gphoto2 waits
    2.5 s for it (BODIES.md §8), so a 1 s dialog connects."""
    with running_sim("fuji", "--model", "x-t4", "--confirm-delay", "1") as sim:
        started = time.monotonic()
        out = ok(gphoto2(explicit(sim), "--summary", home=tmp_path))
        assert time.monotonic() - started >= 1.0
        assert "Model: X-T42" in out.splitlines()
        assert "pairing prompt for" in sim.stderr_text()

"""Debian's gphoto2 (libgphoto2 2.5.30) against the generic simulator, as a subprocess.

gphoto2 is an independent PTP/IP initiator: if it can list, read, set, download, capture and wait for events,
the simulator speaks the protocol as cameras do. What gphoto2 changed is read back over a raw socket
(tests/interop/gphoto2.py), not through our own initiator.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.ptp import ObjectInfo, decode_uint32_array
from tests.interop.gphoto2 import GPHOTO2, RawCamera, gphoto2
from tests.procs import SimProcess, running_sim

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(GPHOTO2 is None, reason="gphoto2 is not installed (make system-deps)"),
]

FOLDER = "/store_00010001/DCIM/100TEST"
ISO = 0x500F


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    with running_sim("generic", "--battery-interval", "0") as process:
        yield process


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def iso(port: int) -> int:
    with RawCamera(port) as raw:
        value: int = struct.unpack("<H", raw.data(0x1015, ISO))[0]
        return value


def test_summary(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(sim.port, "--summary", home=tmp_path))
    assert "Manufacturer: ptpipd" in out
    assert "Model: Simulated PTP/IP camera" in out
    assert "Serial Number: SIM-0001" in out
    assert "Generic Image Capture" in out
    assert "store_00010001" in out and "StorageDescription: SD card" in out


def test_list_config(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(sim.port, "--list-config", home=tmp_path)).splitlines()
    for name in ("/main/imgsettings/iso", "/main/status/batterylevel", "/main/capturesettings/f-number"):
        assert name in out
    assert len([line for line in out if line.startswith("/main/other/5")]) >= 16


def test_get_config_iso(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(sim.port, "--get-config", "iso", home=tmp_path))
    assert "Current: 400" in out.splitlines()
    choices = re.findall(r"^Choice: \d+ (\S+)$", out, re.MULTILINE)
    assert choices[:7] == ["100", "200", "400", "800", "1600", "3200", "6400"]


def test_set_config_iso(sim: SimProcess, tmp_path: Path) -> None:
    ok(gphoto2(sim.port, "--set-config", "iso=800", home=tmp_path))
    assert iso(sim.port) == 800
    out = ok(gphoto2(sim.port, "--get-config", "iso", home=tmp_path))
    assert "Current: 800" in out.splitlines()


def test_set_config_refused_value(sim: SimProcess, tmp_path: Path) -> None:
    result = gphoto2(sim.port, "--set-config", "iso=12345", home=tmp_path)
    assert result.returncode != 0
    assert "0x201c" in result.stderr or "not found" in result.stderr  # refused by the camera or by gphoto2
    assert iso(sim.port) == 400


def test_list_files(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(sim.port, "--list-files", home=tmp_path))
    assert f"There are 3 files in folder '{FOLDER}'." in out
    for number in (1, 2, 3):
        assert re.search(rf"^#{number}\s+IMG_000{number}\.JPG\s.*image/jpeg", out, re.MULTILINE), out


def test_get_file_matches_what_the_simulator_serves(sim: SimProcess, tmp_path: Path) -> None:
    ok(gphoto2(sim.port, "--get-file", "2", "--folder", FOLDER, home=tmp_path))
    downloaded = tmp_path / "IMG_0002.JPG"
    assert downloaded.is_file()
    with RawCamera(sim.port) as raw:
        served = raw.data(0x1009, 4)  # handles 3, 4, 5 are IMG_0001..3
        assert ObjectInfo.decode(raw.data(0x1008, 4)).filename == "IMG_0002.JPG"
    reference = tmp_path / "served.jpg"
    reference.write_bytes(served)
    assert subprocess.run(["cmp", str(downloaded), str(reference)], check=False).returncode == 0


def _photos(port: int) -> dict[int, str]:
    with RawCamera(port) as raw:
        handles = decode_uint32_array(raw.data(0x1007, 0x0001_0001, 0, 2))[0]
        return {h: ObjectInfo.decode(raw.data(0x1008, h)).filename for h in handles}


def test_capture_image_and_download(sim: SimProcess, tmp_path: Path) -> None:
    out = ok(gphoto2(sim.port, "--capture-image-and-download", "--keep", home=tmp_path))
    assert f"{FOLDER}/IMG_0004.JPG" in out
    first = tmp_path / "IMG_0004.JPG"
    assert first.stat().st_size > 10_000 and first.read_bytes()[:2] == b"\xff\xd8"
    assert _photos(sim.port) == {3: "IMG_0001.JPG", 4: "IMG_0002.JPG", 5: "IMG_0003.JPG", 6: "IMG_0004.JPG"}
    # without --keep gphoto2 deletes the new photo from the card after the download
    ok(gphoto2(sim.port, "--capture-image-and-download", home=tmp_path))
    second = tmp_path / "IMG_0005.JPG"
    assert second.is_file() and second.read_bytes() != first.read_bytes()
    assert 7 not in _photos(sim.port)
    assert 6 in _photos(sim.port)


def test_wait_event_sees_the_battery_drain(tmp_path: Path) -> None:
    with running_sim("generic", "--battery-interval", "0.5") as sim:  # 1 % every 0.5 s
        out = ok(gphoto2(sim.port, "--wait-event=2s", home=tmp_path))
    changes = re.findall(r'Property 5001 changed, "batterylevel" to "(\d+)%"', out)
    assert changes, out
    assert all(int(level) < 100 for level in changes)

"""Debian's gphoto2 (libgphoto2 2.5.30) as "Canon EOS (WLAN)" against the simulated EOS 6D, as a subprocess.

gphoto2's EOS driver is an independent initiator of the EOS dialect: it builds its whole configuration from
the GetEvent records, writes with SetDevicePropValueEx, releases with RemoteReleaseOn/Off, fetches live view
with GetViewFinderData. What it wrote is read back by gphoto2 itself in a later run; what it downloaded is
compared with the simulator's own account of the picture (its log) or with the bytes read over a raw socket.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ptpipd.ptp import ObjectInfo, decode_uint32_array
from ptpipd.sim.pictures import frame_stamp
from tests.interop.gphoto2 import GPHOTO2, RawCamera, gphoto2
from tests.procs import SimProcess, running_sim

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(GPHOTO2 is None, reason="gphoto2 is not installed (make system-deps)"),
]

CAMERA = "Canon EOS (WLAN)"
FOLDER = "/store_00020001/DCIM/100CANON"
NEW_PICTURE = re.compile(
    r"new picture (\S+) \((card|RAM, for the host)\): (\d+) bytes, sha256 ([0-9a-f]{64})"
)


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    with running_sim("canon", "--battery-interval", "0") as process:
        yield process


def eos(port: int, *args: str, home: Path, settings: tuple[str, ...] = ()) -> str:
    """gphoto2 as an EOS client; its stdout, after checking it exited 0."""
    result = gphoto2(port, *args, home=home, camera=CAMERA, settings=settings)
    assert result.returncode == 0, (
        f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def current(out: str) -> list[str]:
    return re.findall(r"^Current: (.*)$", out, re.MULTILINE)


def choices(out: str) -> list[str]:
    return re.findall(r"^Choice: \d+ (.*)$", out, re.MULTILINE)


def pictures(sim: SimProcess) -> list[tuple[str, str, int, str]]:
    """(name, where, size, sha256) of every picture the simulator made, from its log."""
    return [(m[1], m[2], int(m[3]), m[4]) for m in NEW_PICTURE.finditer(sim.stderr_text())]


def test_summary(sim: SimProcess, tmp_path: Path) -> None:
    out = eos(sim.port, "--summary", home=tmp_path)
    assert "Manufacturer: Canon Inc." in out
    assert "Model: Canon EOS 6D" in out
    assert "Canon EOS Capture" in out  # gphoto2 found RemoteRelease/RemoteReleaseOn
    assert "store_00020001" in out and "VolumeLabel: EOS_DIGITAL" in out
    assert "Battery Level(0x5001)" in out


def test_list_config_has_every_eos_setting(sim: SimProcess, tmp_path: Path) -> None:
    out = set(eos(sim.port, "--list-config", home=tmp_path).splitlines())
    expected = {
        "/main/imgsettings/iso", "/main/imgsettings/imageformat", "/main/imgsettings/whitebalance",
        "/main/capturesettings/aperture", "/main/capturesettings/shutterspeed",
        "/main/capturesettings/exposurecompensation", "/main/capturesettings/drivemode",
        "/main/capturesettings/focusmode", "/main/capturesettings/meteringmode",
        "/main/capturesettings/autoexposuremode", "/main/capturesettings/picturestyle",
        "/main/status/batterylevel", "/main/status/lensname", "/main/status/eosserialnumber",
        "/main/status/shuttercounter", "/main/status/availableshots", "/main/settings/capturetarget",
        "/main/settings/output", "/main/actions/eosremoterelease", "/main/actions/viewfinder",
    }  # fmt: skip
    assert expected <= out, sorted(expected - out)


def test_get_config_iso(sim: SimProcess, tmp_path: Path) -> None:
    out = eos(sim.port, "--get-config", "iso", home=tmp_path)
    assert current(out) == ["100"]
    levels = ["100", "125", "160", "200", "250", "320", "400", "500", "640", "800", "1000", "1250", "1600"]
    more = [
        "2000",
        "2500",
        "3200",
        "4000",
        "5000",
        "6400",
        "8000",
        "10000",
        "12800",
        "16000",
        "20000",
        "25600",
    ]
    assert choices(out) == ["Auto", *levels, *more]


def test_set_config_iso_then_get_config_shows_it(sim: SimProcess, tmp_path: Path) -> None:
    eos(sim.port, "--set-config", "iso=800", home=tmp_path)
    assert current(eos(sim.port, "--get-config", "iso", home=tmp_path)) == ["800"]


def test_set_config_aperture_and_shutterspeed(sim: SimProcess, tmp_path: Path) -> None:
    eos(sim.port, "--set-config", "aperture=8", "--set-config", "shutterspeed=1/125", home=tmp_path)
    out = eos(sim.port, "--get-config", "aperture", "--get-config", "shutterspeed", home=tmp_path)
    assert current(out) == ["8", "1/125"]
    assert "22" in choices(out) and "30" in choices(out)  # f/22 and 30 s: the lens's and the 6D's limits


def test_set_config_exposure_compensation(sim: SimProcess, tmp_path: Path) -> None:
    eos(sim.port, "--set-config", "exposurecompensation=-0.3", home=tmp_path)
    out = eos(sim.port, "--get-config", "exposurecompensation", home=tmp_path)
    assert current(out) == ["-0.3"]
    assert choices(out)[0] == "-5" and choices(out)[-1] == "5"


def test_a_value_the_body_does_not_offer_is_refused(sim: SimProcess, tmp_path: Path) -> None:
    result = gphoto2(sim.port, "--set-config", "iso=12345", home=tmp_path, camera=CAMERA)
    assert result.returncode != 0
    assert current(eos(sim.port, "--get-config", "iso", home=tmp_path)) == ["100"]


def test_capture_image_and_download_to_the_host(sim: SimProcess, tmp_path: Path) -> None:
    """gphoto2's default target ("sdram", 0xD11C = 4): RequestObjectTransfer, GetPartialObject, 0x9117."""
    out = eos(sim.port, "--capture-image-and-download", home=tmp_path)
    assert "Saving file as capt0000.jpg" in out
    made = pictures(sim)[-1]
    assert made[:2] == ("IMG_0003.JPG", "RAM, for the host")
    saved = (tmp_path / "capt0000.jpg").read_bytes()
    assert (len(saved), hashlib.sha256(saved).hexdigest()) == made[2:]


def test_capture_image_and_download_from_the_card(sim: SimProcess, tmp_path: Path) -> None:
    """capturetarget=card: ObjectAddedEx, GetObjectInfo, GetObject; the file stays on the card (--keep)."""
    out = eos(
        sim.port,
        "--capture-image-and-download",
        "--keep",
        home=tmp_path,
        settings=("ptp2=capturetarget=card",),
    )
    assert f"New file is in location {FOLDER}/IMG_0003.JPG" in out
    assert pictures(sim)[-1][:2] == ("IMG_0003.JPG", "card")
    saved = tmp_path / "IMG_0003.JPG"
    with RawCamera(sim.port) as raw:
        handles = decode_uint32_array(raw.data(0x1007, 0x0002_0001, 0, 0))[0]
        names = {ObjectInfo.decode(raw.data(0x1008, h)).filename: h for h in handles}
        served = tmp_path / "served.jpg"
        served.write_bytes(raw.data(0x1009, names["IMG_0003.JPG"]))
    assert subprocess.run(["cmp", str(saved), str(served)], check=False).returncode == 0


def test_capture_preview_is_a_live_view_frame(sim: SimProcess, tmp_path: Path) -> None:
    eos(sim.port, "--capture-preview", home=tmp_path)
    frame = (tmp_path / "capture_preview.jpg").read_bytes()
    assert frame[:2] == b"\xff\xd8" and frame[-2:] == b"\xff\xd9"
    with Image.open(io.BytesIO(frame)) as image:
        assert image.format == "JPEG" and image.size == (960, 640)
    stamp = frame_stamp(frame)
    assert stamp is not None and stamp.frame == 0


def test_wait_event_shows_the_dial_turned_on_the_body(tmp_path: Path) -> None:
    """--dial-every: the main dial steps the shutter speed; gphoto2 prints each change it polls."""
    with running_sim("canon", "--battery-interval", "0", "--dial-every", "0.3") as sim:
        out = eos(sim.port, "--wait-event=2s", home=tmp_path)
    speeds = re.findall(r'Property d102 changed, "shutterspeed" to "([^"]+)"', out)
    distinct = list(dict.fromkeys(speeds))
    assert len(distinct) >= 3, out  # the dump's value, then at least two turns of the dial
    assert 'Property d103 changed, "iso" to "100"' in out  # the dump lists the other properties too

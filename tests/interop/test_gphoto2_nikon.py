"""Debian's gphoto2 (libgphoto2 2.5.30) as ``--camera "Nikon DSLR (WLAN)"`` against the simulated Nikons.

gphoto2 is an independent Nikon initiator: it takes a body for a Nikon from its DeviceInfo (VendorExtensionID
0x0A, or Microsoft/MTP with "Nikon" in the Manufacturer on the Z), merges the 0x90CA property codes, polls
0x90C7 for events, captures with 0x90C0 (D750) or 0x9207 (Z 6) and DeviceReady 0x90C8, and cuts the
live-view JPEG out of the 0x9203 answer itself (NIKON.md §5). What it changed is read back over a raw
socket (tests/interop/gphoto2.py), not through our own initiator. The simulated Z 6 runs in STA mode with
gphoto2's GUID registered, except where a test shows the refusal or the registration.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ptpipd.ip.packets import InitFail, InitFailReason
from ptpipd.sim.nikon import parse_guid
from ptpipd.sim.nikon_model import photo_bytes
from tests.interop.gphoto2 import GPHOTO2, GUID, RawCamera, gphoto2
from tests.procs import SimProcess
from tests.sim.nikon_sim import QUIET, init_answer, running_nikon
from tests.sim.test_pictures import read_counter

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(GPHOTO2 is None, reason="gphoto2 is not installed (make system-deps)"),
]

CAMERA = "Nikon DSLR (WLAN)"
GPHOTO_GUID = parse_guid(GUID)
RAW_GUID = bytes(16)  # RawCamera's
REGISTERED = ("--registered", f"{GPHOTO_GUID.hex()},{RAW_GUID.hex()}")
MODELS = {"d750": ("D750",), "z6": ("Z 6",)}


@pytest.fixture(params=["d750", "z6"])
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def body(model: str) -> Iterator[SimProcess]:
    with running_nikon("--model", model, *QUIET, *REGISTERED) as sim:
        yield sim


def run(sim: SimProcess, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return gphoto2(sim.port, *args, home=home, camera=CAMERA)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def raw_value(port: int, code: int, fmt: str) -> int:
    with RawCamera(port) as raw:
        value: int = struct.unpack(fmt, raw.data(0x1015, code))[0]
        return value


def test_summary(body: SimProcess, model: str, tmp_path: Path) -> None:
    out = ok(run(body, "--summary", home=tmp_path))
    assert "Manufacturer: Nikon Corporation" in out
    assert f"Model: {MODELS[model][0]}" in out.splitlines()
    # the Z 6 reports 0xFFFFFFFF (MTP): libgphoto2 restores Nikon from the Manufacturer (NIKON.md §5.1)
    assert re.search(r"^Vendor Extension ID: 0xa \(1\.(0|10)\)$", out, re.MULTILINE)
    assert ("Nikon Capture 1" if model == "d750" else "Nikon Capture 3") in out
    # a Nikon property known from 0x90CA only, with its current value (1/250 s = 0x000100FA)
    assert re.search(r"^Nikon Exposure Time\(0xd100\):\(readwrite\) .* value: 65786$", out, re.MULTILINE)


def test_list_config(body: SimProcess, tmp_path: Path) -> None:
    names = set(ok(run(body, "--list-config", home=tmp_path)).splitlines())
    expected = {
        "/main/imgsettings/iso",
        "/main/capturesettings/f-number",
        "/main/capturesettings/shutterspeed2",
        "/main/capturesettings/imagequality",
        "/main/settings/recordingmedia",
        "/main/status/batterylevel",
        "/main/other/d100",
        "/main/other/d1a2",
    }
    assert expected <= names


def test_set_and_read_back(body: SimProcess, model: str, tmp_path: Path) -> None:
    settings = {"iso": "800", "f-number": "f/8", "shutterspeed2": "1/125"}
    if model == "d750":  # the Z 6's 0x500D is read-only (N-link: 0xD100 is the Z's shutter speed)
        settings["shutterspeed"] = "0.0167s"
    before = ok(run(body, *(f"--get-config={name}" for name in settings), home=tmp_path))
    assert "Current: 400" in before and "Current: f/5.6" in before and "Current: 1/250" in before
    sets = [arg for name, value in settings.items() for arg in ("--set-config", f"{name}={value}")]
    ok(run(body, *sets, home=tmp_path))
    after = ok(run(body, *(f"--get-config={name}" for name in settings), home=tmp_path))
    currents = re.findall(r"^Current: (.*)$", after, re.MULTILINE)
    shown = dict(zip(settings, currents, strict=True))
    if model == "d750":
        # 0x500D was written last (1/60 s = 167): 0xD100 followed it
        assert shown == {"iso": "800", "f-number": "f/8", "shutterspeed2": "1/60", "shutterspeed": "0.0167s"}
        assert raw_value(body.port, 0xD100, "<I") == 0x0001_003C
    else:
        assert shown == settings
        assert raw_value(body.port, 0xD100, "<I") == 0x0001_007D
    assert raw_value(body.port, 0x500F, "<H") == 800
    assert raw_value(body.port, 0x5007, "<H") == 800


def test_capture_image_and_download(body: SimProcess, tmp_path: Path) -> None:
    out = ok(run(body, "--capture-image-and-download", "--filename", "shot.jpg", home=tmp_path))
    assert "New file is in location /capt0000.jpg on the camera" in out
    # two pictures on the card at start-up: the capture is picture 3, taken to SDRAM and deleted there
    expected = photo_bytes(0, 3)
    assert (
        hashlib.sha256((tmp_path / "shot.jpg").read_bytes()).hexdigest()
        == hashlib.sha256(expected).hexdigest()
    )
    with RawCamera(body.port) as raw:
        assert raw.call(0x1008, 0xFFFF_0001)[0] == 0x2009  # gphoto2 deleted it from SDRAM
        assert raw.call(0x90C7) == (0x2001, b"\x00\x00")  # and read every event


def test_capture_preview(body: SimProcess, tmp_path: Path) -> None:
    out = ok(run(body, "--capture-preview", "--filename", "preview.jpg", home=tmp_path))
    assert "Saving file as thumb_preview.jpg" in out
    jpeg = (tmp_path / "thumb_preview.jpg").read_bytes()
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    assert image.size == (640, 480)
    # gphoto2 drops the first frame after StartLiveView (NIKON.md §3.3): it kept the second
    assert read_counter(image) == "000002"
    assert raw_value(body.port, 0xD1A2, "<B") == 0  # and ended live view on its way out


def test_wait_event_shows_a_change(model: str, tmp_path: Path) -> None:
    with running_nikon("--model", model, *REGISTERED, "--battery-interval", "0.2") as sim:
        out = ok(run(sim, "--wait-event=2s", home=tmp_path))
    # the battery loses 1 % every 0.2 s on the body; gphoto2 learns it from 0x90C7 and re-reads 0x5001
    changes = re.findall(r'PTP Property 5001 changed, "batterylevel" to "(\d+)%"', out)
    assert changes and all(int(level) < 100 for level in changes), out


def test_an_unregistered_computer_is_refused_by_the_z(tmp_path: Path) -> None:
    with running_nikon("--model", "z6", *QUIET) as sim:
        result = run(sim, "--summary", home=tmp_path)
        log = sim.stop()
    assert result.returncode == 1
    assert "An error occurred in the io-library" in result.stderr  # InitFail (NIKON.md §5.5)
    assert "is not registered (InitFail, rejected initiator)" in log


def test_registered_in_the_wizard_then_admitted(tmp_path: Path) -> None:
    with running_nikon("--model", "z6", *QUIET, "--wizard") as sim:
        with RawCamera(sim.port, guid=GPHOTO_GUID) as raw:
            info = raw.data(0x1001)
            assert struct.unpack_from("<I", info, 2)[0] == 0xFFFF_FFFF
            assert raw.call(0x1014, 0x500F)[0] == 0x2005  # the wizard's session does nothing else
            assert raw.call(0x952B) == (0x2001, None)  # PrepareHost
            assert raw.call(0x935A, 0x2001) == (0x2001, None)  # ConfirmHost
        out = ok(run(sim, "--summary", home=tmp_path))
        assert "Model: Z 6" in out.splitlines() and "Nikon Exposure Time(0xd100)" in out
        # the body left its wizard: a computer that did not register is refused now
        assert init_answer(sim.port, RAW_GUID) == InitFail(InitFailReason.RejectedInitiator)

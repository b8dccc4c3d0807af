"""The hostile fake camera itself: a standard PTP/IP camera until told otherwise.

These tests pass today and must keep passing: they show that the expected failures of the fault tests come
from the daemon's defects, not from a fake camera the daemon cannot talk to. gphoto2 (Debian's libgphoto2
PTP/IP driver) is the independent initiator that checks the fake camera speaks the standard.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.faults.conftest import daemon_on, hostile_process
from tests.hostile import ISO_VALUES, MANUFACTURER, MODEL, HostileCamera
from tests.interop.gphoto2 import GPHOTO2, gphoto2
from tests.procs import read_line_until


@pytest.mark.interop
@pytest.mark.skipif(GPHOTO2 is None, reason="gphoto2 is not installed (make system-deps)")
def test_gphoto2_accepts_the_hostile_camera(camera: HostileCamera, tmp_path: Path) -> None:
    """gphoto2 connects, reads the DeviceInfo, the storage and the ExposureIndex description."""
    proc = gphoto2(camera.port, "--summary", "--get-config", "/main/other/500f", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"Manufacturer: {MANUFACTURER}" in proc.stdout
    assert f"Model: {MODEL}" in proc.stdout
    assert "Current: 400" in proc.stdout
    assert [int(c) for c in re.findall(r"Choice: \d+ (\d+)", proc.stdout)] == list(ISO_VALUES)


def test_the_daemon_works_against_the_hostile_camera(camera: HostileCamera, tmp_path: Path) -> None:
    """Before any misbehaviour, every operation the fault tests use works through a real daemon."""
    with daemon_on(camera, tmp_path / "d") as daemon, daemon.connect() as conn:
        status = conn.call("status")
        assert status["camera"]["model"] == MODEL
        assert conn.call("get", ["iso"])["value"] == 400
        assert conn.call("set", ["iso", "800"])["value"] == 800
        assert camera.iso == 800
        assert [f["filename"] for f in conn.call("files")] == ["IMG_0001.JPG"]
        shot = conn.call("capture", {"inline": False})
        assert Path(shot["path"]).stat().st_size == shot["size"] == 8192
        assert conn.call("download", {"handle": 1})["size"] == 4096
    assert camera.sessions == 1


def test_the_hostile_process_announces_itself(tmp_path: Path) -> None:
    """As a subprocess it prints ``listening on``, then ``session N`` and ``fired OP`` as they happen."""
    with (
        hostile_process("--on", "GetDevicePropValue=close") as cam,
        daemon_on(cam, tmp_path / "d") as daemon,
        daemon.connect() as conn,
    ):
        read_line_until(cam.proc, re.compile(r"session 1"), 10)
        response = conn.request("get", ["iso"])
        assert response["error"]["code"] == -32000, response
        read_line_until(cam.proc, re.compile(r"fired GetDevicePropValue"), 10)
        read_line_until(cam.proc, re.compile(r"session 2"), 10)  # the daemon came back

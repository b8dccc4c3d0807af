"""Issue 14, defects 6 and 10: files the daemon writes — no temporary file outlives a killed daemon, and
names from the camera always become safe local names.

A real ``ptpipd`` subprocess (SIGKILLed, then restarted) against the hostile fake camera, and the real
``ptpipctl`` for the client side of defect 10.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ptpipd.camera import Camera
from ptpipd.errors import CameraError
from ptpipd.ip.packets import UNKNOWN_LENGTH
from ptpipd.ip.transport import BytesSink
from tests.daemon.conftest import wait_until
from tests.faults.conftest import check_all, daemon_on, send_request
from tests.hostile import OC, FakeObject, HostileCamera, object_info, ok_then_hold, picture, stream_data
from tests.web.conftest import Web, http_port

PTPIPCTL = Path(sys.executable).with_name("ptpipctl")
#: The daemon's temporary files (ptpipd/files.py): ``.ptpipd-XXXX.part`` in the target directory.
TEMP_GLOB = ".ptpipd-*.part"


# ------------------------------------------------------------------------------------------------ defect 6


@pytest.mark.parametrize("transfer", ["download", "capture"])
def test_a_restarted_daemon_removes_the_temp_files_of_a_killed_one(
    camera: HostileCamera, tmp_path: Path, transfer: str
) -> None:
    """Issue 14 defect 6: the daemon is SIGKILLed mid-download (data flowing) or mid-capture (waiting for
    CaptureComplete), which leaves a ``.ptpipd-*.part`` file in the capture directory. A daemon started
    again on that directory removes it by the time it is connected, and removes nothing else: not a file
    of another name in the capture directory, not our pattern in another directory (today: kept)."""
    captures = tmp_path / "captures"
    elsewhere = tmp_path / "elsewhere"
    captures.mkdir()
    elsewhere.mkdir()
    keep = [captures / ".ptpipd-notes.txt", captures / "holiday.part", elsewhere / ".ptpipd-abcd1234.part"]
    for path in keep:
        path.write_text("not the daemon's temporary file\n")
    if transfer == "download":
        camera.on(OC.GetObject, stream_data(1 << 30, chunk=64 * 1024, interval=0.05))
        method, params = "download", {"handle": 1}
    else:
        camera.on(OC.InitiateCapture, ok_then_hold)
        method, params = "capture", {"inline": False}
    with (
        daemon_on(camera, tmp_path / "first", "--capture-dir", str(captures)) as daemon,
        daemon.connect() as c,
    ):
        send_request(c, method, params)
        assert camera.fired.wait(10), f"the daemon never started the {transfer}"
        wait_until(lambda: list(captures.glob(TEMP_GLOB)), 5, "the daemon's temporary file")
        daemon.stop(signal.SIGKILL)
    left = sorted(p.name for p in captures.glob(TEMP_GLOB))
    assert left, "the killed daemon left no temporary file: nothing to clean"
    with daemon_on(camera, tmp_path / "second", "--capture-dir", str(captures)):
        still = sorted(p.name for p in captures.glob(TEMP_GLOB))
        gone = [str(p) for p in keep if not p.exists()]
    check_all(
        ([f"the restarted daemon kept {still} (left by the killed one: {left})"] if still else [])
        + ([f"the restarted daemon removed files that are not its own: {gone}"] if gone else [])
    )


# ----------------------------------------------------------------------------------------------- defect 10

#: Names a camera may report, by handle.
HOSTILE_NAMES = {2: "..", 3: ".", 4: "IMG\x00.JPG", 5: "IMG\x1b[2J.JPG"}


def unsafe(name: str) -> str | None:
    """Why ``name`` is not a safe local file name, or None."""
    if not name:
        return "empty"
    if "/" in name:
        return "contains a slash"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "contains a control character"
    if name[0] in ".-":
        return f"starts with {name[0]!r} (hidden, or read as an option)"
    return None


def test_camera_file_names_become_safe_local_names(camera: HostileCamera, tmp_path: Path) -> None:
    """Issue 14 defect 10: the camera reports files named ``..``, ``.``, ``IMG<NUL>.JPG`` and one with a
    terminal escape. ``download`` saves each one (no error: the params are valid) as a regular file directly
    in the capture directory, under a safe name; ``ptpipctl download HANDLE`` (saving in the current
    directory) does the same and exits 0 without a traceback (today: -32602 "embedded null byte" and a
    ptpipctl traceback for NUL, ``..-1`` and ``-1`` for ``..`` and ``.``)."""
    for handle, name in HOSTILE_NAMES.items():
        camera.objects[handle] = FakeObject(object_info(name, 4096), picture(4096, seed=handle))
    captures = tmp_path / "captures"
    problems: list[str] = []
    with (
        daemon_on(camera, tmp_path / "d", "--capture-dir", str(captures)) as daemon,
        daemon.connect() as conn,
    ):
        for handle, name in HOSTILE_NAMES.items():
            response = conn.request("download", {"handle": handle})
            if "error" in response:
                problems.append(f"download of {name!r}: {response['error']}")
                continue
            saved = Path(response["result"]["path"])
            why = unsafe(saved.name)
            if saved.parent != captures or not saved.is_file() or saved.stat().st_size != 4096:
                problems.append(
                    f"download of {name!r} saved {str(saved)!r}, not a 4096-byte file in {captures}"
                )
            elif why:
                problems.append(f"download of {name!r} saved as {saved.name!r}: {why}")
        cwd = tmp_path / "cli"
        cwd.mkdir()
        env = dict(os.environ, PTPIPCTL_SOCKET=str(daemon.socket_path))
        for handle, name in HOSTILE_NAMES.items():
            before = set(os.listdir(cwd))
            proc = subprocess.run(
                [str(PTPIPCTL), "download", str(handle)], cwd=cwd, env=env, capture_output=True, timeout=30
            )
            new = sorted(set(os.listdir(cwd)) - before)
            if proc.returncode != 0 or b"Traceback" in proc.stderr:
                problems.append(
                    f"ptpipctl download of {name!r}: exit {proc.returncode}, {proc.stderr[-200:]!r}"
                )
            elif len(new) != 1 or unsafe(new[0]):
                problems.append(
                    f"ptpipctl download of {name!r} wrote {new} ({unsafe(new[0]) if new else ''})"
                )
    check_all(problems)


def test_a_body_without_deleteobject_says_so_in_its_capabilities(
    camera: HostileCamera, tmp_path: Path
) -> None:
    """The hostile camera, a generic body, does not list DeleteObject: ``status.capabilities.delete`` is
    false (the page shows no Delete button), and ``delete`` answers what the capability foretold."""
    camera.objects[7] = FakeObject(object_info("IMG_0007.JPG", 4096), picture(4096, seed=7))
    assert OC.DeleteObject not in camera.device_info().operations_supported
    with daemon_on(camera, tmp_path / "d") as daemon, daemon.connect() as conn:
        assert daemon.call("status")["capabilities"]["delete"] is False
        response = conn.request("delete", {"handle": 7})
    assert response["error"]["code"] == -32003, response
    assert 7 in camera.objects


def test_a_body_without_getpartialobject_is_read_whole(camera: HostileCamera, tmp_path: Path) -> None:
    """The hostile camera does not list GetPartialObject either: ``status.capabilities.partial_objects``
    is false, and ``GET /files/{handle}`` reads the object with GetObject (not pieces the body would
    refuse), every byte of it."""
    data = picture(300_000, seed=8)
    camera.objects[8] = FakeObject(object_info("IMG_0008.JPG", len(data)), data)
    assert OC.GetPartialObject not in camera.device_info().operations_supported
    with daemon_on(camera, tmp_path / "d", "--http", "127.0.0.1:0") as daemon:
        assert daemon.call("status")["capabilities"]["partial_objects"] is False
        web = Web(daemon, "127.0.0.1", http_port(daemon), daemon.socket_path.parent / "ptpipd-http.sock")
        status, _, body = web.request("GET", "/files/8")
    assert (status, body == data) == (200, True)
    assert OC.GetObject in camera.requests and OC.GetPartialObject not in camera.requests


# ----------------------------------------------------------------------- more data than the camera listed

#: What the hostile camera sends for object 1, listed (and asked for) at 4096 bytes.
OVERSIZED = 10240


def list_partial_reads(camera: HostileCamera) -> None:
    """The hostile camera lists GetPartialObject among its operations (the standard answer is scripted)."""
    standard = camera.device_info()
    camera.device_info = lambda: dataclasses.replace(  # type: ignore[method-assign]
        standard, operations_supported=(*standard.operations_supported, OC.GetPartialObject)
    )


@pytest.mark.parametrize("announced", [OVERSIZED, UNKNOWN_LENGTH], ids=["announced", "unannounced"])
async def test_a_partial_read_passes_on_no_more_than_it_asked_for(
    camera: HostileCamera, announced: int
) -> None:
    """Review w/rev-daemon: GetPartialObject(1, 0, 4096) answered with 10240 bytes went whole to the sink (an
    ingested file, a JSON-RPC download saved 10240 bytes). More than was asked for is the camera's protocol
    error: a clear error, no byte past the length in the sink, the connection closed as for any malformed
    data phase."""
    list_partial_reads(camera)
    camera.on(
        OC.GetPartialObject, stream_data(announced, chunk=1024, interval=0, limit=OVERSIZED, finish=True)
    )
    sink = BytesSink()
    async with Camera(host=camera.host, port=camera.port, vendor="generic") as cam:
        assert cam.capabilities.partial_objects
        with pytest.raises(CameraError, match=r"more than it was asked for: .* at most 4096 bytes") as error:
            await asyncio.wait_for(cam.download_part(1, 0, 4096, sink), 10)
        assert not cam.is_open, "the link stayed open after a malformed data phase"
    assert sink.size <= 4096, f"the sink got {sink.size} bytes of a 4096-byte read"
    assert "0x101B" in str(error.value)


def test_an_object_sent_longer_than_listed_is_kept_and_said(camera: HostileCamera, tmp_path: Path) -> None:
    """Review w/rev-daemon: GetObject has no length to hold the camera to (a Fujifilm lists placeholder sizes),
    so a JSON-RPC download keeps what the camera sent; the difference from its listing is logged."""
    camera.objects[1] = FakeObject(object_info("IMG_0001.JPG", 4096), picture(OVERSIZED))
    with daemon_on(camera, tmp_path / "d", "--capture-dir", str(tmp_path / "captures")) as daemon:
        result = daemon.call("download", {"handle": 1})
        assert result["size"] == OVERSIZED and Path(result["path"]).stat().st_size == OVERSIZED
        wait_until(lambda: "listed 4096 bytes but sent 10240" in daemon.stderr_text(), 5, "the warning")
    line = next(x for x in daemon.stderr_text().splitlines() if "listed 4096 bytes" in x)
    assert " WARNING " in line and "object 1 (IMG_0001.JPG)" in line, line

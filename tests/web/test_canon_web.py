"""The HTTP data plane on the simulated EOS 6D (``ptpipd --vendor canon`` and ``ptpipd-sim --vendor canon`` as
subprocesses): 100 live-view frames of the polled GetViewFinderData through ``/liveview.mjpeg``, read with
our own multipart reader and Pillow, at the configured ``liveview_fps`` at most (counted by the simulator);
a capture downloaded through ``/files/{handle}`` (whole and by range)
with the SHA-256 the simulator logged; the web page. Nothing Canon-specific in the daemon: the vendor's
capabilities say "polled live view" and "files"."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from PIL import Image

from tests.camera.test_fuji_camera import digits_shown
from tests.procs import SimProcess, running_sim
from tests.web.conftest import Web, running_web
from tests.web.mjpeg import open_stream

NEW_PICTURE = re.compile(
    r"new picture (\S+) \((card|RAM, for the host)\): (\d+) bytes, sha256 ([0-9a-f]{64})"
)

#: the daemon's cap on polled live-view frames here (the default is 30: 60 keeps the 100 frames below short)
FPS = 60
#: the simulator's log of one GetViewFinderData (``-v``: every transaction), with its time
VIEWFINDER = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) DEBUG \S+: 0x9153 tid=", re.MULTILINE)


@pytest.fixture(scope="module")
def canon_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimProcess, Web]]:
    workdir = tmp_path_factory.mktemp("web-canon")
    env = {"PTPIPD_LIVEVIEW_FPS": str(FPS)}
    with (
        running_sim("canon", "--battery-interval", "0", "-v") as sim,
        running_web(workdir, sim, "canon", env=env) as web,
    ):
        yield sim, web


def test_100_live_view_frames_through_liveview_mjpeg(canon_web: tuple[SimProcess, Web]) -> None:
    _, web = canon_web
    reader = open_stream(web.host, web.port)
    try:
        assert reader.status == 200, reader.headers
        parts = [reader.next_part() for _ in range(100)]
    finally:
        reader.sock.close()
    shown = []
    for part in parts:
        with Image.open(io.BytesIO(part.jpeg)) as image:
            image.load()
            assert (image.format, image.size) == ("JPEG", (960, 640))
            shown.append(int(digits_shown(image)))
    # one viewer gets the newest frame: never an older one, never the same one twice
    assert all(a < b for a, b in itertools.pairwise(shown)), shown
    assert all(a.sequence < b.sequence for a, b in itertools.pairwise(parts))


def test_polled_live_view_is_capped_at_liveview_fps(canon_web: tuple[SimProcess, Web]) -> None:
    """Without the cap the simulated body answers GetViewFinderData as fast as it can (~170 a second here):
    the viewer gets at most ``liveview_fps``, and the camera is asked for no more frames than that."""
    sim, web = canon_web
    reader = open_stream(web.host, web.port)
    try:
        assert reader.status == 200, reader.headers
        reader.next_part()  # the camera's stream runs
        before = len(VIEWFINDER.findall(sim.stderr_text()))
        parts = [reader.next_part() for _ in range(FPS)]
        calls = VIEWFINDER.findall(sim.stderr_text())[before:]
    finally:
        reader.sock.close()
    received = (len(parts) - 1) / (parts[-1].arrived - parts[0].arrived)
    assert received <= FPS * 1.1, f"{received:.1f} frames a second"
    # one GetViewFinderData per frame the viewer got (give or take the one in flight at each end)
    assert len(parts) - 2 <= len(calls) <= len(parts) + 2, (len(calls), len(parts))
    times = [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f") for stamp in calls]
    asked = (len(times) - 1) / (times[-1] - times[0]).total_seconds()  # the simulator's clock
    assert asked <= FPS * 1.1, f"the camera was asked {asked:.1f} times a second"


def test_capture_and_download_through_files(canon_web: tuple[SimProcess, Web]) -> None:
    sim, web = canon_web
    status, _, body = web.request("POST", "/capture")
    assert status == 200, body
    shot = json.loads(body)
    made = list(NEW_PICTURE.finditer(sim.stderr_text()))[-1]
    assert shot["url"] == f"/files/{shot['handle']}" and shot["format"] == "jpeg"
    status, headers, data = web.request("GET", shot["url"])
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert (len(data), hashlib.sha256(data).hexdigest()) == (int(made[3]), made[4])
    assert made[1] in headers["content-disposition"]
    status, headers, head = web.request("GET", shot["url"], headers={"Range": "bytes=0-15"})
    assert status == 206 and head == data[:16]
    status, listing = web.get_json("/files")
    assert status == 200
    assert any(f["url"] == shot["url"] and f["filename"] == made[1] for f in listing)


def test_the_web_page_is_served(canon_web: tuple[SimProcess, Web]) -> None:
    _, web = canon_web
    status, headers, body = web.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html"), body
    assert b'<script type="module" src="/static/app.js"></script>' in body  # the remote-control page
    assert web.daemon.call("status")["vendor"] == "canon"

"""Live view over HTTP from the simulated X-T1 at 30 fps: the fan-out (10 viewers, each at ≥ 29 fps, every
part a JPEG Pillow decodes, a stalled viewer costing the others nothing), the camera stream's lifetime,
``status``, ffprobe reading the stream, 501 on a camera without live view, and 1,000 viewers that come and go
leaving no task or file descriptor behind."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.daemon.conftest import wait_until
from tests.procs import running_sim
from tests.web.conftest import Web, running_web
from tests.web.mjpeg import Part, open_stream

WARMUP = 1.0
WINDOW = 3.0


def watch(web: Web, parts: list[Part], errors: list[BaseException], until: float) -> None:
    try:
        reader = open_stream(web.host, web.port)
        assert reader.status == 200, reader.headers
        assert reader.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=")
        while time.monotonic() < until:
            parts.append(reader.next_part())
        reader.sock.close()
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def stalled_viewer(web: Web) -> socket.socket:
    """A viewer that asks for the stream and never reads a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((web.host, web.port))
    sock.sendall(b"GET /liveview.mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock


def liveview_status(web: Web) -> dict[str, object]:
    return dict(web.daemon.call("status")["liveview"])


def test_ten_viewers_at_camera_rate_and_a_stalled_one_costs_nothing(fuji_web: Web) -> None:
    stalled = stalled_viewer(fuji_web)
    try:
        start = time.monotonic()
        until = start + WARMUP + WINDOW + 0.5
        results: list[list[Part]] = [[] for _ in range(10)]
        errors: list[BaseException] = []
        threads = [threading.Thread(target=watch, args=(fuji_web, r, errors, until)) for r in results]
        for t in threads:
            t.start()
        wait_until(lambda: liveview_status(fuji_web)["viewers"] == 11, 20, "11 viewers")
        for t in threads:
            t.join(60)
        status = liveview_status(fuji_web)
        assert not errors, errors
        assert status["running"] is True and status["viewers"] == 1, status  # the stalled one, still there
        for parts in results:
            window = [p for p in parts if start + WARMUP <= p.arrived < start + WARMUP + WINDOW]
            fps = len(window) / WINDOW
            # X-Frame numbers every frame the daemon got from the camera: the share this viewer received
            sent = window[-1].sequence - window[0].sequence + 1
            assert fps >= 29, f"a viewer got {fps:.1f} fps ({len(window)} of the camera's {sent} frames)"
            assert len(window) >= sent * 29 / 30, f"a viewer got {len(window)} of the camera's {sent} frames"
            sequences = [p.sequence for p in parts]
            assert sequences == sorted(set(sequences)), "a frame came twice or out of order"
            for part in parts:
                with Image.open(io.BytesIO(part.jpeg)) as image:
                    image.load()
                    assert image.format == "JPEG" and image.size[0] > 0
    finally:
        stalled.close()


def test_camera_stream_starts_with_the_first_viewer_and_stops_after_the_last(fuji_web: Web) -> None:
    wait_until(lambda: not liveview_status(fuji_web)["running"], 30, "the live view to stop (earlier tests)")
    before = liveview_status(fuji_web)
    status, headers, body = fuji_web.request("GET", "/liveview.jpg")
    assert (
        status == 200 and headers["content-type"] == "image/jpeg" and headers["cache-control"] == "no-store"
    )
    Image.open(io.BytesIO(body)).verify()
    after = liveview_status(fuji_web)
    assert after["starts"] == int(str(before["starts"])) + 1 and after["running"] is True
    # a second request within the linger time reuses the running stream
    assert fuji_web.request("GET", "/liveview.jpg")[0] == 200
    assert liveview_status(fuji_web)["starts"] == after["starts"]
    wait_until(lambda: not liveview_status(fuji_web)["running"], 20, "the live view to stop after the linger")
    assert liveview_status(fuji_web)["viewers"] == 0


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/liveview.mjpeg", "multipart/x-mixed-replace; boundary="), ("/liveview.jpg", "image/jpeg")],
)
def test_head_of_live_view_sends_the_headers_only(fuji_web: Web, path: str, media_type: str) -> None:
    """``HEAD`` of a live-view route (aiohttp adds HEAD to every GET route) answers the headers and ends: a
    HEAD response has no content (RFC 9110 §9.3.2), so the next request on the same keep-alive connection is
    answered, not buried under an endless multipart body. No viewer joins and the camera's live view does not
    start for a client that never looks."""
    wait_until(lambda: not liveview_status(fuji_web)["running"], 30, "the live view to stop (earlier tests)")
    before = liveview_status(fuji_web)
    conn = http.client.HTTPConnection(fuji_web.host, fuji_web.port, timeout=30)
    try:
        conn.request("HEAD", path)
        head = conn.getresponse()
        assert head.status == 200 and head.getheader("Content-Type", "").startswith(media_type)
        assert head.getheader("Cache-Control") == "no-store"
        assert head.read() == b""
        conn.request("GET", "/static/style.css")
        page = conn.getresponse()
        assert page.status == 200 and page.getheader("Content-Type", "").startswith("text/css")
        assert page.read()
    finally:
        conn.close()
    after = liveview_status(fuji_web)
    assert (after["starts"], after["viewers"], after["running"]) == (before["starts"], 0, False), after


def test_a_viewer_that_stops_reading_is_dropped_with_a_reason(tmp_path: Path) -> None:
    """A viewer that never reads is dropped after the write timeout (``http_timeout``, 2 s here) and the
    daemon's log line says why ("write timeout"), not an empty reason."""
    env = {"PTPIPD_HTTP_TIMEOUT": "2"}
    with (
        running_sim("fuji", "--fps", "30", "--accept-any-client") as sim,
        running_web(tmp_path, sim, "fuji", env=env) as web,
    ):
        stalled = stalled_viewer(web)
        try:
            wait_until(lambda: liveview_status(web)["viewers"] == 1, 20, "the viewer to join")
            wait_until(lambda: liveview_status(web)["viewers"] == 0, 60, "the stalled viewer to be dropped")
        finally:
            stalled.close()
        lines = [line for line in web.daemon.stderr_text().splitlines() if "live-view viewer" in line]
    assert len(lines) == 1 and lines[0].endswith(f"live-view viewer {web.host}: write timeout"), lines


def test_ffprobe_reads_the_stream(fuji_web: Web) -> None:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe is not None, "ffprobe (Debian ffmpeg) is installed by make system-deps"
    done = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
            fuji_web.url("/liveview.mjpeg"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (stream,) = json.loads(done.stdout)["streams"]
    assert stream["codec_name"] == "mjpeg" and stream["width"] == 640 and stream["height"] == 480


def test_no_liveview_on_a_camera_without_one(generic_web: Web) -> None:
    for path in ("/liveview.mjpeg", "/liveview.jpg"):
        status, body = generic_web.get_json(path)
        assert status == 501, path
        assert body["error"]["code"] == -32003 and body["error"]["data"]["vendor"] == "generic"
        assert generic_web.request("HEAD", path)[0] == 501, path  # HEAD as GET, without the body


def _fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _come_and_go(web: Web, rng: random.Random) -> None:
    with contextlib.suppress(OSError):
        sock = socket.create_connection((web.host, web.port), timeout=10)
        with sock:
            if rng.random() < 0.1:
                return  # connects and leaves without a word
            sock.sendall(b"GET /liveview.mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for _ in range(rng.randrange(0, 4)):
                if not sock.recv(rng.choice((100, 5000, 65536))):
                    break
            if rng.random() < 0.5:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_a_thousand_viewers_come_and_go_and_leave_nothing_behind(fuji_web: Web) -> None:
    wait_until(lambda: not liveview_status(fuji_web)["running"], 30, "the live view to stop (earlier tests)")
    pid = fuji_web.daemon.pid
    idle = fuji_web.daemon.call("status")["http"]
    fds = _fd_count(pid)
    rng = random.Random(1000)
    seeds = [rng.random() for _ in range(1000)]
    lock = threading.Lock()
    pending = list(seeds)

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                seed = pending.pop()
            _come_and_go(fuji_web, random.Random(seed))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert fuji_web.request("GET", "/liveview.jpg")[0] == 200  # still serving
    wait_until(lambda: not liveview_status(fuji_web)["running"], 30, "the live view to stop")

    def settled() -> bool:
        http = fuji_web.daemon.call("status")["http"]
        return bool(http["connections"] <= idle["connections"] and http["tasks"] <= idle["tasks"])

    wait_until(settled, 30, "connections and tasks back to their idle numbers")
    wait_until(lambda: _fd_count(pid) <= fds, 30, f"file descriptors back to {fds}")
    assert liveview_status(fuji_web)["viewers"] == 0
    assert "Traceback" not in fuji_web.daemon.stderr_text()


def test_parts_are_what_the_camera_sent(fuji_web: Web, tmp_path: Path) -> None:
    """Each part's bytes are one whole JPEG (SOI … EOI) with the simulator's frame comment."""
    reader = open_stream(fuji_web.host, fuji_web.port)
    try:
        parts = [reader.next_part() for _ in range(5)]
    finally:
        reader.sock.close()
    for part in parts:
        assert part.jpeg.startswith(b"\xff\xd8") and part.jpeg.endswith(b"\xff\xd9")
        assert b"ptpipd-sim frame=" in part.jpeg

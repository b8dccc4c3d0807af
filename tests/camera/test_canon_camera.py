"""Our initiator (``ptpipd.camera.Camera``, vendor canon) against ``ptpipd-sim --vendor canon`` in its own
process: 100 live-view frames read pixel by pixel, the live-view output put back, capture of RAW + JPEG and
to the host (TransferComplete frees the body's RAM), partial downloads, the body's shutter seen by polling.

The live-view digits are read with the font and layout :func:`ptpipd.sim.pictures.live_jpeg` documents;
pictures are compared with the simulator's log of what it made.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from ptpipd.camera import Camera, CameraEvent
from ptpipd.errors import NotSupported
from ptpipd.ip.transport import BytesSink
from ptpipd.sim.canon_card import RAM_HANDLES
from ptpipd.vendors.liveview import LiveFrame
from tests.camera.test_fuji_camera import digits_shown
from tests.procs import SimProcess, running_sim

NEW_PICTURE = re.compile(
    r"new picture (\S+) \((card|RAM, for the host)\): (\d+) bytes, sha256 ([0-9a-f]{64})"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with running_sim("canon", "--battery-interval", "0") as process:
        yield process


@pytest.fixture
async def cam(sim: SimProcess) -> AsyncIterator[Camera]:
    async with Camera(host=sim.host, vendor="canon", port=sim.port) as camera:
        yield camera


def last_picture(sim: SimProcess) -> tuple[str, str, int, str]:
    match = list(NEW_PICTURE.finditer(sim.stderr_text()))[-1]
    return match[1], match[2], int(match[3]), match[4]


async def test_100_live_view_frames_in_order(cam: Camera) -> None:
    frames: list[LiveFrame] = []
    async for frame in cam.liveview(fps=0):  # as fast as the body answers
        frames.append(frame)
        if len(frames) == 100:
            break
    shown = []
    for frame in frames:
        with Image.open(io.BytesIO(frame.jpeg)) as image:
            image.load()
            assert (image.format, image.size) == ("JPEG", (960, 640))
            shown.append(int(digits_shown(image)))
    assert shown == list(range(shown[0], shown[0] + 100))  # one new frame per GetViewFinderData
    assert [f.sequence for f in frames] == list(range(1, 101))
    assert (await cam.get("output")).label == "off"  # the output the body had before


async def test_live_view_is_paced_for_a_polled_body(cam: Camera) -> None:
    """Each frame is a GetViewFinderData: the library asks at most ``fps`` times a second (a lower bound on
    the time taken, so a slow machine cannot fail it), and every frame asked for arrives, none skipped."""
    loop = asyncio.get_running_loop()
    began, frames = loop.time(), []
    async for frame in cam.liveview(fps=20):
        frames.append(frame)
        if len(frames) == 6:
            break
    assert loop.time() - began >= 5 / 20
    assert [f.sequence for f in frames] == list(range(1, 7))


async def test_capture_raw_and_jpeg_returns_the_jpeg(sim: SimProcess, cam: Camera) -> None:
    await cam.set("imageformat", "RAW+L")
    shot = await cam.capture()
    assert shot.data is not None
    name, where, size, sha = last_picture(sim)
    assert (shot.transfer.format, shot.transfer.filename, where) == ("jpeg", name, "card")
    assert (len(shot.data), hashlib.sha256(shot.data).hexdigest()) == (size, sha)
    files = {f.filename: f for f in await cam.files()}
    raw = files[name.replace(".JPG", ".CR2")]
    assert (raw.format, raw.folder) == ("cr2", "DCIM/100CANON")
    head = BytesSink(1 << 20)
    assert await cam.download_part(raw.handle, 0, 16, head) == 16
    assert bytes(head.buffer) == b"II*\0\x10\0\0\0CR\x02\0\0\0\0\0"  # a CR2 header
    await cam.set("imageformat", "L")


async def test_capture_to_the_host_frees_the_bodys_ram(sim: SimProcess, cam: Camera) -> None:
    await cam.set("capturetarget", "PC")
    shot = await cam.capture()
    assert (
        shot.data is not None and shot.transfer.handle is None
    )  # not on the card: nothing to download later
    _, where, size, sha = last_picture(sim)
    assert where == "RAM, for the host" and (len(shot.data), hashlib.sha256(shot.data).hexdigest()) == (
        size,
        sha,
    )
    assert (await cam.opreq(0x1009, [RAM_HANDLES])).name == "InvalidObjectHandle"  # TransferComplete sent
    await cam.set("capturetarget", "card")


async def test_the_shutter_pressed_on_the_body_is_polled(sim: SimProcess, cam: Camera) -> None:
    seen: list[CameraEvent] = []
    cam.add_event_listener(seen.append)
    sim.proc.send_signal(signal.SIGUSR1)
    for _ in range(100):  # each poll is one GetEvent round trip; the signal lands within a few
        await cam.poll_events()
        if any(e.name == "ObjectAdded" for e in seen):
            break
    added = [e for e in seen if e.name == "ObjectAdded"]
    assert added, seen
    name = last_picture(sim)[0]
    assert name in [f.filename for f in await cam.files() if f.handle == added[0].params[0]]
    assert {e.name for e in seen} >= {"ObjectAdded", "DevicePropChanged"}  # shots left and the counter


async def test_a_body_that_is_not_an_eos_is_refused_with_the_reason() -> None:
    with (
        running_sim("generic", "--battery-interval", "0") as generic,
        pytest.raises(NotSupported, match=r"Simulated PTP/IP camera is not a Canon EOS body .*0x0.*missing"),
    ):
        await Camera(host=generic.host, vendor="canon", port=generic.port).open()

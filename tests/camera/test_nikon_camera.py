"""The library and the service against the simulated Nikons (a subprocess): live view by polling 0x9203.

The HTTP data plane (``/liveview.mjpeg``) is another helper's; until it lands, the 100 frames of issue 18
are taken through :meth:`CameraService.live_frames`, the API the data plane's fan-out reads. Each frame is
the JPEG the body drew with its frame counter: decoded here, its digits must count up one by one (a polled
camera skips nothing), and live view must end on the body when the reader stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal

import pytest
from PIL import Image

from ptpipd.camera import Camera
from ptpipd.service import CameraService, ServiceOptions
from ptpipd.sim.pictures import frame_stamp
from ptpipd.vendors.base import CameraConfig
from tests.procs import SimProcess
from tests.sim.nikon_sim import QUIET, running_nikon
from tests.sim.test_pictures import read_counter

WAIT = 30.0


MODELS = ["d750", "z6"]


def body(model: str) -> contextlib.AbstractContextManager[SimProcess]:
    """The simulated body, started and stopped inside the test (while its event loop still runs, so the
    loop closes our connections before it ends)."""
    return running_nikon("--model", model, "--wifi", "ap", *QUIET)


def config(sim: SimProcess) -> CameraConfig:
    return CameraConfig(host=sim.host, port=sim.port, vendor="nikon")


@pytest.mark.parametrize("model", MODELS)
async def test_100_live_view_frames_through_the_service(model: str) -> None:
    with body(model) as sim:
        await live_frames(sim)


async def live_frames(sim: SimProcess) -> None:
    async with CameraService(config(sim), ServiceOptions(poll_interval=0.1)) as service:
        await asyncio.wait_for(service.session.connected.wait(), WAIT)
        assert service.capabilities.liveview == "poll"
        counters: list[int] = []
        frames = service.live_frames()
        async with asyncio.timeout(WAIT):
            async for frame in frames:
                stamp = frame_stamp(frame.jpeg)
                assert stamp is not None and frame.jpeg.endswith(b"\xff\xd9")
                counters.append(stamp.frame)
                if len(counters) in (1, 100):  # the digits in the picture say the same
                    image = Image.open(io.BytesIO(frame.jpeg)).convert("RGB")
                    assert image.size == (640, 480)
                    assert read_counter(image) == f"{stamp.frame:06d}"
                if len(counters) == 100:
                    break
            await frames.aclose()
        assert counters == list(range(1, 101))
        live = await service.get("liveview")
        assert live.label == "off"  # EndLiveView went out when the reader stopped


@pytest.mark.parametrize("model", MODELS)
async def test_live_view_and_events_share_the_command_channel(model: str) -> None:
    """Event polls go on between frames: a shot on the body during live view is announced."""
    with body(model) as sim:
        await shot_during_live_view(sim)


async def shot_during_live_view(sim: SimProcess) -> None:
    async with Camera(config(sim)) as cam:
        seen: list[int] = []
        cam.add_event_listener(lambda event: seen.append(event.code))
        view = await cam.open_liveview()
        try:
            await cam.next_frame(view)
            sim.proc.send_signal(signal.SIGUSR1)
            async with asyncio.timeout(WAIT):
                while 0x4002 not in seen and 0xC101 not in seen:
                    await cam.next_frame(view)
                    await cam.poll_events()
        finally:
            await view.close()
        assert (await cam.get("liveview")).label == "off"

"""The library against the simulated Nikons (a subprocess): live view by polling 0x9203 shares the command
channel with the event polls (the 100 frames of issue 18 go through ``/liveview.mjpeg``:
tests/web/test_nikon_web.py)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from ptpipd.camera import Camera
from ptpipd.vendors.base import CameraConfig
from tests.procs import SimProcess
from tests.sim.nikon_sim import QUIET, running_nikon

WAIT = 30.0


MODELS = ["d750", "z6"]


def body(model: str) -> contextlib.AbstractContextManager[SimProcess]:
    """The simulated body, started and stopped inside the test (while its event loop still runs, so the
    loop closes our connections before it ends)."""
    return running_nikon("--model", model, "--wifi", "ap", *QUIET)


def config(sim: SimProcess) -> CameraConfig:
    return CameraConfig(host=sim.host, port=sim.port, vendor="nikon")


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

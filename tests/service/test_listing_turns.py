"""A listing hands the camera to the requests waiting between its steps (Requests.let_others_run),
in-process against a fake camera: the order the camera sees, and a listing cancelled while it waits for
its turn back never leaves the camera to two requests at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ptpipd.service import CameraService, ConnectionState, ServiceOptions
from ptpipd.vendors.base import CameraConfig, FileEntry, PropertyValue
from tests.service.fake import WAIT, FakeCamera, States, World


class ListingCamera(FakeCamera):
    """A camera whose listing takes three steps, the first held until ``step_gate`` opens."""

    step_gate: asyncio.Event
    listing: asyncio.Event  # set once the listing has begun

    async def files(self, between: Callable[[], Awaitable[None]] | None = None) -> list[FileEntry]:
        assert between is not None, "the service gives the listing its hand-over point"
        for step in range(3):
            self.world.calls.append(f"step {step}")
            if step == 0:
                self.listing.set()
                await self.step_gate.wait()
            await between()
        return []


def listing_service(world: World) -> tuple[CameraService, asyncio.Event, asyncio.Event]:
    gate, listing = asyncio.Event(), asyncio.Event()

    def factory(cfg: CameraConfig, **kw: Any) -> ListingCamera:
        camera = ListingCamera(world, cfg, **kw)
        camera.step_gate, camera.listing = gate, listing
        return camera

    opts = ServiceOptions(backoff_initial=0.001, backoff_max=0.002, keepalive_interval=60.0)
    return CameraService(CameraConfig(host="fake"), opts, camera_factory=factory), gate, listing


async def listing_then_get(
    service: CameraService, listing: asyncio.Event
) -> tuple[asyncio.Task[list[FileEntry]], asyncio.Task[PropertyValue]]:
    """A listing under way (held at its first step), and a ``get`` queued behind it."""
    await States(service).wait_for(ConnectionState.CONNECTED)
    files = asyncio.create_task(service.files())
    await asyncio.wait_for(listing.wait(), WAIT)
    get = asyncio.create_task(service.get("iso"))
    while service.requests.queued < 2:  # noqa: ASYNC110 - the get queues behind the listing (no signal of its own)
        await asyncio.sleep(0)
    return files, get


async def test_a_request_queued_during_a_listing_runs_between_its_steps() -> None:
    world = World()
    service, gate, listing = listing_service(world)
    async with service:
        files, get = await listing_then_get(service, listing)
        gate.set()
        assert (await asyncio.wait_for(get, WAIT)).value == 400
        assert await asyncio.wait_for(files, WAIT) == []
    assert world.calls.index("get iso") == world.calls.index("step 0") + 1  # not after "step 2"
    assert world.calls[-1] == "step 2"


async def test_a_listing_cancelled_while_it_waits_for_its_turn_back() -> None:
    world = World()
    service, gate, listing = listing_service(world)
    world.gate.clear()  # the get will hold the camera until the test opens it
    async with service:
        files, get = await listing_then_get(service, listing)
        gate.set()
        await asyncio.wait_for(world.started.wait(), WAIT)  # the get has the camera; the listing waits
        files.cancel()
        await asyncio.sleep(0)
        assert not files.done(), "a cancelled listing first waits for its turn back"
        assert service.requests.busy
        world.gate.set()
        assert (await asyncio.wait_for(get, WAIT)).value == 400
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(files, WAIT)
        assert not service.requests.busy and service.requests.queued == 0, (
            "the camera is free again, held by nobody"
        )
        assert (await asyncio.wait_for(service.get("iso"), WAIT)).value == 400

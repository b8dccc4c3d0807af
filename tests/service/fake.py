"""A fake camera for in-process tests of :class:`ptpipd.service.CameraService`.

:class:`FakeCamera` is a :class:`~ptpipd.camera.Camera` whose session is a script held by a shared
:class:`World`: how many connection attempts fail, whether the keepalive answers, what a ``get`` waits for,
which events a poll returns. The test drives the camera's side (events, a dropped link) through the World,
and waits on the service's own signals (state changes, notifications) — never on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ptpipd.camera import Camera
from ptpipd.errors import CameraTimeout, NotConnected
from ptpipd.ip.errors import ConnectionClosed
from ptpipd.ip.packets import Event
from ptpipd.ptp import DataType
from ptpipd.service import CameraService, ConnectionState, ServiceOptions
from ptpipd.vendors.base import CameraConfig, Capabilities, DeviceSummary, PropertyValue
from ptpipd.vendors.liveview import LiveView

#: Upper bound of every wait in these tests, in seconds.
WAIT = 5.0


@dataclass
class World:
    """The script of every camera the service makes, and what happened to them."""

    refuse: int = 0  # connection attempts still to fail
    keepalive: str = "ok"  # "ok", "fail" (the camera refuses) or "hang" (no answer)
    capabilities: Capabilities = field(default_factory=Capabilities)
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # what a `get` waits for, once closed
    to_poll: list[Event] = field(default_factory=list)
    pairing: asyncio.Event | None = None  # set: open() asks for a confirmation and waits for it
    liveview: Callable[[], LiveView] | None = None
    iso: int = 400
    attempts: int = 0
    cameras: list[FakeCamera] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)  # a `get` has begun
    bugs: dict[str, int] = field(default_factory=dict)  # "open", "poll", "get": times still to raise

    def __post_init__(self) -> None:
        self.gate.set()

    def bug(self, where: str) -> None:
        """Raises RuntimeError (a bug in a driver, say) while ``bugs[where]`` says so."""
        if self.bugs.get(where, 0) > 0:
            self.bugs[where] -= 1
            raise RuntimeError(f"a bug in {where}")

    @property
    def camera(self) -> FakeCamera:
        """The newest camera."""
        return self.cameras[-1]


class FakeCamera(Camera):
    """A camera whose answers come from its :class:`World`."""

    def __init__(self, world: World, config: CameraConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.world = world
        self.closed = False

    @property
    def capabilities(self) -> Capabilities:
        return self.world.capabilities

    async def open(self) -> DeviceSummary:
        world = self.world
        world.attempts += 1
        world.bug("open")
        if world.refuse > 0:
            world.refuse -= 1
            raise NotConnected(f"attempt {world.attempts} refused")
        if world.pairing is not None and self.on_pairing is not None:
            self.on_pairing()
            await world.pairing.wait()
        world.cameras.append(self)
        return DeviceSummary("Fake", "Camera", str(world.attempts), "1.0")

    async def close(self, timeout: float | None = None) -> None:
        self.closed = True

    async def keepalive(self) -> None:
        self.world.calls.append("keepalive")
        if self.world.keepalive == "fail":
            raise CameraTimeout("the camera did not answer the probe", timeout_s=0.01)
        if self.world.keepalive == "hang":
            await asyncio.Event().wait()

    @property
    def probes(self) -> bool:
        return True

    async def probe(self, timeout: float) -> None:
        """A probe beside a request: answered as the keepalive is."""
        await self.keepalive()

    async def get(self, prop: str | int) -> PropertyValue:
        self.world.calls.append(f"get {prop}")
        self.world.started.set()
        await self.world.gate.wait()
        self.world.bug("get")
        return PropertyValue("iso", 0x500F, "ExposureIndex", DataType.UINT16, self.world.iso, "", True)

    async def poll_events(self) -> int:
        self.world.calls.append("poll")
        self.world.bug("poll")
        events, self.world.to_poll = self.world.to_poll, []
        for event in events:
            self._on_event(event)
        return len(events)

    async def open_liveview(self) -> LiveView:
        assert self.world.liveview is not None
        return self.world.liveview()

    # the camera's side

    def drop(self, reason: str | BaseException) -> None:
        """The link breaks (as the initiator reports it)."""
        self._on_close(ConnectionClosed(reason) if isinstance(reason, str) else reason)

    def emit(self, code: int, *params: int) -> None:
        """The camera pushes an event."""
        self._on_event(Event(code, 0, params))


class States:
    """The service's state changes, to wait on."""

    def __init__(self, service: CameraService) -> None:
        self.seen: list[tuple[ConnectionState, str | None]] = []
        self._changed = asyncio.Event()
        service.add_state_listener(self._add)

    def _add(self, state: ConnectionState, reason: str | None) -> None:
        self.seen.append((state, reason))
        self._changed.set()

    async def wait_for(self, state: ConnectionState, count: int = 1) -> str | None:
        """The reason of the ``count``-th change to ``state``."""
        async with asyncio.timeout(WAIT):
            while True:
                matches = [reason for s, reason in self.seen if s is state]
                if len(matches) >= count:
                    return matches[count - 1]
                self._changed.clear()
                await self._changed.wait()


def make_service(world: World, vendor: str = "generic", **options: Any) -> CameraService:
    """A service whose cameras are :class:`FakeCamera` of ``world``; fast timings unless given."""
    opts = {"backoff_initial": 0.001, "backoff_max": 0.002, "keepalive_interval": 60.0, **options}
    config = CameraConfig(host="fake", vendor=vendor, friendly_name="pytest")
    return CameraService(
        config,
        ServiceOptions(**opts),
        camera_factory=lambda cfg, **kw: FakeCamera(world, cfg, **kw),
    )


async def hold_camera(world: World, service: CameraService) -> asyncio.Task[PropertyValue]:
    """A ``get`` that holds the camera (the request in flight) until ``world.gate`` is set again."""
    world.gate.clear()
    world.started.clear()
    task = asyncio.create_task(service.get("iso"))
    await asyncio.wait_for(world.started.wait(), WAIT)
    return task

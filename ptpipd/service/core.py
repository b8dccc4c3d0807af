"""CameraService: the one owner of the camera, serving every client's requests one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Self, TypeVar

from ptpipd import API_VERSION, __version__
from ptpipd.camera import MEMORY_CAP, Camera, CameraEvent, Capture, resolve_ports, tell_each
from ptpipd.errors import CameraError
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import BytesSink, DataSink
from ptpipd.ptp import EventCode
from ptpipd.service.faults import TaskFaults
from ptpipd.service.notify import Fanout, Refresher, Subscription
from ptpipd.service.requests import Requests
from ptpipd.service.session import Session
from ptpipd.service.state import ConnectionState, ServiceOptions
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import (
    CameraConfig,
    Capabilities,
    FileEntry,
    NewObject,
    PropertyValue,
)
from ptpipd.vendors.liveview import LiveFrame, LiveView, Pacer

log = logging.getLogger("ptpipd.service")
T = TypeVar("T")

#: Makes the camera of one connection attempt: ``factory(config, on_pairing=callback)``. Tests pass fakes.
CameraFactory = Callable[..., Camera]
#: Told about every new object: what the camera announced, and its bytes when a client's capture already
#: received them (an object the camera keeps nowhere else, such as a Fujifilm's capture preview).
ObjectListener = Callable[[NewObject, bytes | None], None]


class CameraService:
    """Owns the camera session for as long as it is entered (``async with CameraService(config) as s``).

    Entering starts the session loop (connect, serve, notice loss, back off, reconnect); leaving stops it in
    order: :meth:`drain` (no new requests, the one in flight finishes, CloseSession), then the tasks end.
    """

    def __init__(
        self,
        config: CameraConfig,
        options: ServiceOptions | None = None,
        *,
        camera_factory: CameraFactory = Camera,
    ) -> None:
        self.config = config
        self.options = opts = options or ServiceOptions()
        driver = vendor_driver(config.vendor)
        self.vendor_name = driver.name
        self._declared = driver.capabilities
        self.ports = resolve_ports(config, driver)
        self.fanout = Fanout(opts.subscriber_queue)
        #: unexpected failures of the background tasks (each logged; the task went on)
        self.faults = TaskFaults()
        self.session = Session(self, camera_factory)
        self._refresher = Refresher(self.get, self.fanout, self.faults)
        #: the requests' queue: ``queued`` (running or waiting), ``busy`` (one runs), ``idle`` (seconds since one ran)
        self.requests = Requests(self.session, opts)
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._object_listeners: list[ObjectListener] = []

    # ---------------------------------------------------------------- state

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        return self.session.state

    @property
    def capabilities(self) -> Capabilities:
        """What the connected camera can do (while none is: what its vendor declares)."""
        camera = self.session.camera
        return camera.capabilities if camera is not None else self._declared

    def add_state_listener(self, listener: Callable[[ConnectionState, str | None], None]) -> None:
        """Called with (state, reason) on every state change."""
        self.session.listeners.append(listener)

    def status(self) -> dict[str, Any]:
        """The ``status`` result of DESIGN.md §4, less ``clients`` (the listeners count those)."""
        session = self.session
        s = session.summary
        pairing = self.state is ConnectionState.PAIRING
        return {
            "state": self.state.value,
            "vendor": self.vendor_name,
            "host": self.config.host,
            "ports": list(dict.fromkeys(p for p in dataclasses.astuple(self.ports) if p is not None)),
            "camera": None if s is None else dataclasses.asdict(s),
            "connected_since": session.connected_since,
            "reconnects": session.reconnects,
            "last_error": session.last_error,
            "last_error_time": session.last_error_time,
            "attempts": session.attempts,
            "api_version": API_VERSION,
            "daemon_version": __version__,
            "capabilities": self.capabilities.describe(),
            "pairing": session.pairing_steps() if pairing else [],
            "next_retry": session.retry_at if self.state is ConnectionState.DISCONNECTED else None,
            "internal_errors": self.faults.count,
        }

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        group = await self._stack.enter_async_context(asyncio.TaskGroup())
        self._tasks = [
            group.create_task(self.session.run(), name="camera-session"),
            group.create_task(self._refresher.run(self.session.stopped), name="property-refresh"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.drain()
        for task in self._tasks:
            task.cancel()  # the loop may be waiting for a camera that does not answer: no need to wait
        await self._stack.aclose()

    async def drain(self) -> None:
        """Ordered end of the camera session: new requests are refused, the one in flight finishes (bounded
        by ``shutdown_grace``), CloseSession (bounded by ``close_timeout``), connections closed."""
        if self.requests.closed:
            return
        self.session.stop()
        async with self.requests.last_turn(self.options.shutdown_grace):
            await self.session.end("daemon stopping")

    # ---------------------------------------------------------------- requests

    async def request(self, op: Callable[[Camera], Awaitable[T]]) -> T:
        """Runs ``op`` on the camera when its turn comes: requests run one at a time, clients take turns
        (round-robin, :mod:`.turns`; the client is :data:`~.turns.REQUESTER`), each client's in arrival order.

        At most ``max_queue`` requests of one client may wait, ``max_total_queue`` in all
        (:class:`TooManyRequests`); when the camera link drops, the request in flight fails at once with
        :class:`NotConnected`, whatever it was waiting for, and so do the requests queued behind it (none
        runs on the next connection).
        """
        return await self.requests.run(op)

    async def get(self, prop: str | int) -> PropertyValue:
        """A property's value."""
        return await self.request(lambda cam: cam.get(prop))

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Sets a property and announces the new value to subscribers."""
        result = await self.request(lambda cam: cam.set(prop, value))
        self.fanout.value(result)
        return result

    async def capture(self, sink: DataSink | None = None) -> Capture:
        """Takes a picture. When it is no object on the camera's storage (no handle: a preview, a picture
        sent to the host), the object listeners get its bytes too."""
        if not self._object_listeners:
            return await self.request(lambda cam: cam.capture(sink))
        copy = BytesSink(MEMORY_CAP)  # for the listeners, no more than a capture without a sink keeps
        cap = await self.request(lambda cam: cam.capture(Tee(sink, copy) if sink is not None else None))
        data = cap.data if cap.data is not None else None if copy.overflow else bytes(copy.buffer)
        if cap.transfer.handle is None and data is not None:
            self._tell(NewObject(None, cap.transfer.size, cap.transfer.filename), data)
        return cap

    async def files(self) -> list[FileEntry]:
        """The objects on the camera's storage. A long listing lets the requests queued meanwhile run
        between its steps (:meth:`.requests.Requests.let_others_run`)."""
        return await self.request(lambda cam: cam.files(between=lambda: self.requests.let_others_run(cam)))

    async def download(self, handle: int, sink: DataSink | None = None) -> Capture:
        """One object from the camera."""
        return await self.request(lambda cam: cam.download(handle, sink))

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """Up to ``length`` bytes of an object from ``offset`` (one queued request per piece)."""
        return await self.request(lambda cam: cam.download_part(handle, offset, length, sink))

    async def file_entry(self, handle: int) -> FileEntry:
        """One object's entry as ``files`` lists it."""
        return await self.request(lambda cam: cam.file_entry(handle))

    async def delete(self, handle: int) -> None:
        """Deletes one object from the camera (DeleteObject)."""
        await self.request(lambda cam: cam.on_driver(lambda d: d.delete_object(handle)))

    async def live_frames(self) -> AsyncIterator[LiveFrame]:
        """The camera's live-view frames until the caller stops iterating. A polled frame is a transaction
        and waits its turn like any request, at most ``options.liveview_fps`` a second; a streamed one needs
        no lock and comes at the camera's rate."""

        async def start(cam: Camera) -> tuple[Camera, LiveView]:
            return cam, await cam.open_liveview()

        camera, view = await self.request(start)
        pacer = Pacer(self.options.liveview_fps, asyncio.get_running_loop().time)
        try:
            while True:
                if view.polled:
                    # the wait holds nothing: other clients' requests reach the camera meanwhile
                    await asyncio.sleep(pacer.take())
                    yield await self.request(lambda _: camera.next_frame(view))
                else:
                    yield await camera.next_frame(view)
        finally:
            with contextlib.suppress(CameraError, OSError):
                await (self.request(lambda _: view.close()) if view.polled else view.close())

    # ---------------------------------------------------------------- events and notifications

    def subscribe(self, topics: Iterable[str] | None = None) -> Subscription:
        """A bounded notification queue for ``topics`` (all of them by default)."""
        return self.fanout.subscribe(topics)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stops notifications to ``sub``."""
        self.fanout.subscriptions.discard(sub)

    def add_object_listener(self, listener: ObjectListener) -> None:
        """Calls ``listener`` (synchronously, must not block) for every new object the camera announces
        (ObjectAdded and the vendors' equivalents) and for every capture kept nowhere on the camera."""
        self._object_listeners.append(listener)

    def on_event(self, event: CameraEvent) -> None:
        """Every camera event, pushed or polled: to subscribers, and changed properties are read back."""
        self.fanout.event(event)
        if event.code == EventCode.DevicePropChanged and event.params:
            self._refresher.changed(event.params[0])
        camera = self.session.camera
        if self._object_listeners and camera is not None and camera.is_open:
            new = camera.driver.new_object(Event(event.code, event.transaction_id, event.params))
            if new is not None:
                self._tell(new, None)

    def _tell(self, new: NewObject, data: bytes | None) -> None:
        tell_each(log, "object", self._object_listeners, new, data)


class Tee:
    """A data sink writing to two sinks."""

    def __init__(self, first: DataSink, second: DataSink) -> None:
        self.first, self.second = first, second

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.first.write(data)
        self.second.write(data)

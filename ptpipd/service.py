"""The one owner of the camera session: state, serialised transactions, reconnects, keepalive, events.

Cameras accept a single initiator and pairing is slow, so the daemon keeps exactly one session open for as
long as it runs, and every client's request goes through :class:`CameraService`:

* **State** is one :class:`ConnectionState` with explicit transitions
  (disconnected → connecting → pairing → connected → disconnected …); every change is announced to
  listeners (systemd STATUS=, ``notify.connection``).
* **Serialisation**: requests from all clients run one at a time, in arrival order; at most
  ``max_queue`` may wait (more get :class:`~ptpipd.errors.TooManyRequests`).
* **Failure**: when the camera vanishes, stalls or sends garbage, the request in flight fails at once
  (-32000, or -32001 for a timeout), queued ones fail with -32000, and the service reconnects with capped
  exponential backoff and jitter. A keepalive notices a silent camera while nobody is asking anything.
* **Events** fan out to subscribers through bounded per-client queues: a slow subscriber is dropped, it
  never holds up the camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from ptpipd import API_VERSION, __version__
from ptpipd.camera import Camera, CameraEvent, CameraInfo, Capture
from ptpipd.errors import CameraError, NotConnected, TooManyRequests
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import EventCode
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import (
    CameraConfig,
    DeviceSummary,
    FileEntry,
    OpreqResult,
    PropertyDesc,
    PropertyValue,
    StateEntry,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

TOPICS = ("event", "property", "connection")


class ConnectionState(StrEnum):
    """Where the session with the camera stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    PAIRING = "pairing"
    CONNECTED = "connected"


#: The only transitions the service makes.
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset(
        {ConnectionState.PAIRING, ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}
    ),
    ConnectionState.PAIRING: frozenset({ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}),
    ConnectionState.CONNECTED: frozenset({ConnectionState.DISCONNECTED}),
}


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """Tuning of the service; the defaults suit a camera on Wi-Fi."""

    keepalive_interval: float = 3.0
    keepalive_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0  # a Wi-Fi camera switched back on should be seen within seconds
    max_queue: int = 64
    wait_connected: float = 3.0
    subscriber_queue: int = 256
    shutdown_grace: float = 3.0


@dataclass(frozen=True, slots=True)
class Notification:
    """A JSON-RPC notification for subscribers: ``method`` and ``params``."""

    topic: str
    method: str
    params: dict[str, Any]


class SubscriberOverflow(Exception):
    """The subscriber did not read its notifications fast enough and was dropped."""


@dataclass(eq=False)
class Subscription:
    """One client's bounded notification queue."""

    topics: frozenset[str]
    queue: asyncio.Queue[Notification]
    overflowed: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, note: Notification) -> None:
        """Queues a notification without waiting; marks the subscription overflowed when full."""
        if self.overflowed or note.topic not in self.topics:
            return
        try:
            self.queue.put_nowait(note)
        except asyncio.QueueFull:
            self.overflowed = True
            self.wakeup.set()

    async def next(self) -> Notification:
        """The next notification; :class:`SubscriberOverflow` once the queue has overflowed."""
        while True:
            if self.overflowed:
                raise SubscriberOverflow(f"more than {self.queue.maxsize} notifications were waiting")
            if not self.queue.empty():
                return self.queue.get_nowait()
            getter = asyncio.ensure_future(self.queue.get())
            waker = asyncio.ensure_future(self.wakeup.wait())
            try:
                await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waker.cancel()
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                return getter.result()


class CameraService:
    """Owns the camera session for the daemon's lifetime. Run :meth:`run` in a task; call the operations."""

    def __init__(
        self,
        config: CameraConfig,
        options: ServiceOptions | None = None,
        *,
        camera_factory: Callable[..., Camera] = Camera,
    ) -> None:
        self.config = config
        self.options = options or ServiceOptions()
        self._factory = camera_factory
        self._state = ConnectionState.DISCONNECTED
        self._camera: Camera | None = None
        self._lock = asyncio.Lock()
        self._queued = 0
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost_reason: BaseException | None = None
        self._connected = asyncio.Event()
        self._subscriptions: set[Subscription] = set()
        self._state_listeners: list[Callable[[ConnectionState, str | None], None]] = []
        self._refresh_codes: dict[int, None] = {}
        self._refresh_wakeup = asyncio.Event()
        self._last_published: dict[int, object] = {}
        self._last_activity = 0.0
        self.summary: DeviceSummary | None = None
        self.connected_since: float | None = None
        self.reconnects = 0
        self.last_error: str | None = None
        self.clients = 0
        driver = vendor_driver(config.vendor)
        self.vendor_name = driver.name
        self.ports = Camera.resolve_ports(config, driver)

    # ---------------------------------------------------------------- state

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        return self._state

    def add_state_listener(self, listener: Callable[[ConnectionState, str | None], None]) -> None:
        """Called with (state, reason) on every state change."""
        self._state_listeners.append(listener)

    def _set_state(self, new: ConnectionState, reason: str | None = None) -> None:
        old = self._state
        if new == old:
            return
        if new not in TRANSITIONS[old]:
            raise RuntimeError(f"invalid camera state transition {old.value} → {new.value}")
        self._state = new
        if new is ConnectionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        failed = new is ConnectionState.DISCONNECTED and reason and not self._stop.is_set()
        level = logging.WARNING if failed else logging.INFO
        log.log(level, "camera %s%s", new.value, f": {reason}" if reason else "")
        params: dict[str, Any] = {"state": new.value}
        if reason:
            params["reason"] = reason
        self._publish(Notification("connection", "notify.connection", params))
        for listener in list(self._state_listeners):
            try:
                listener(new, reason)
            except Exception:
                log.exception("state listener failed")

    def status(self) -> dict[str, Any]:
        """The ``status`` result of DESIGN.md §4."""
        s = self.summary
        ports = [p for p in (self.ports.command, self.ports.event, self.ports.stream) if p is not None]
        return {
            "state": self._state.value,
            "vendor": self.vendor_name,
            "host": self.config.host,
            "ports": sorted(set(ports), key=ports.index),
            "camera": None
            if s is None
            else {"manufacturer": s.manufacturer, "model": s.model, "serial": s.serial, "version": s.version},
            "connected_since": self.connected_since,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "api_version": API_VERSION,
            "daemon_version": __version__,
            "clients": self.clients,
        }

    # ---------------------------------------------------------------- the session loop

    async def run(self) -> None:
        """Keeps a session open until :meth:`stop`: connect, serve, notice loss, back off, reconnect."""
        attempt = 0
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._refresher())
            while not self._stop.is_set():
                if await self._connect():
                    attempt = 0
                    await self._serve_connected()
                    if self._stop.is_set():
                        break
                    self.reconnects += 1
                    continue
                delay = min(self.options.backoff_max, self.options.backoff_initial * 2**attempt)
                delay *= random.uniform(0.5, 1.0)  # jitter: many daemons do not hammer one camera in step
                attempt += 1
                log.info("reconnecting in %.1f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            self._refresh_wakeup.set()

    async def _connect(self) -> bool:
        self._set_state(ConnectionState.CONNECTING)
        self._lost.clear()
        self._lost_reason = None
        camera = self._factory(self.config, on_pairing=self._pairing)
        camera.add_event_listener(self._on_event)
        camera.add_close_listener(self._on_link_closed)
        try:
            summary = await camera.open()
        except (CameraError, OSError) as exc:
            self.last_error = str(exc)
            self._set_state(ConnectionState.DISCONNECTED, self.last_error)
            return False
        self._camera = camera
        self.summary = summary
        self.connected_since = time.time()
        self._last_activity = time.monotonic()
        self._last_published.clear()
        self._set_state(ConnectionState.CONNECTED)
        return True

    def _pairing(self) -> None:
        if self._state is ConnectionState.CONNECTING:
            self._set_state(ConnectionState.PAIRING, "confirm the connection on the camera")

    def _on_link_closed(self, reason: BaseException) -> None:
        self._lost_reason = reason
        self._lost.set()

    async def _serve_connected(self) -> None:
        opts = self.options
        reason: str | None = None
        while True:
            lost = asyncio.ensure_future(self._lost.wait())
            stop = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait(
                    {lost, stop}, timeout=opts.keepalive_interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                lost.cancel()
                stop.cancel()
            if self._stop.is_set():
                return  # close() ends the session in order
            if self._lost.is_set():
                reason = str(self._lost_reason or "connection lost")
                break
            idle = time.monotonic() - self._last_activity
            if idle >= opts.keepalive_interval and not self._lock.locked():
                try:
                    async with self._lock:
                        await asyncio.wait_for(self._require_camera().keepalive(), opts.keepalive_timeout)
                except (CameraError, TimeoutError) as exc:
                    reason = f"keepalive failed: {exc or 'no answer'}"
                    break
                finally:
                    self._last_activity = time.monotonic()
        self.last_error = reason
        await self._drop_camera(reason)

    async def _drop_camera(self, reason: str | None) -> None:
        camera, self._camera = self._camera, None
        self._set_state(ConnectionState.DISCONNECTED, reason)
        self.connected_since = None
        if camera is not None:
            await camera.close()

    def stop(self) -> None:
        """Asks :meth:`run` to end (after :meth:`close` has ended the session)."""
        self._stop.set()
        self._refresh_wakeup.set()

    async def close(self) -> None:
        """Ordered end: let the request in flight finish (bounded), CloseSession, close the connections."""
        self.stop()
        try:
            await asyncio.wait_for(self._lock.acquire(), self.options.shutdown_grace)
            acquired = True
        except TimeoutError:
            acquired = False
            log.warning(
                "a camera request was still running after %.1f s; closing anyway", self.options.shutdown_grace
            )
        try:
            if self._camera is not None:
                await self._drop_camera("daemon stopping")
        finally:
            if acquired:
                self._lock.release()

    # ---------------------------------------------------------------- requests

    def _require_camera(self) -> Camera:
        camera = self._camera
        if camera is None or self._state is not ConnectionState.CONNECTED:
            raise NotConnected(
                f"the camera is {self._state.value}" + (f" ({self.last_error})" if self.last_error else ""),
                state=self._state.value,
                last_error=self.last_error,
            )
        return camera

    async def _run(self, op: Callable[[Camera], Awaitable[T]]) -> T:
        if self._queued >= self.options.max_queue:
            raise TooManyRequests(self._queued)
        self._queued += 1
        try:
            if self._state is ConnectionState.CONNECTING and self.options.wait_connected > 0:
                # A request right after start-up waits briefly for the first connection instead of failing.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), self.options.wait_connected)
            async with self._lock:
                camera = self._require_camera()
                try:
                    return await op(camera)
                finally:
                    self._last_activity = time.monotonic()
        finally:
            self._queued -= 1

    async def get(self, prop: str | int) -> PropertyValue:
        """A property's value."""
        return await self._run(lambda cam: cam.get(prop))

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Sets a property and announces the new value to subscribers."""
        result = await self._run(lambda cam: cam.set(prop, value))
        self._announce(result)
        return result

    async def describe(self, prop: str | int) -> PropertyDesc:
        """A property's description."""
        return await self._run(lambda cam: cam.describe(prop))

    async def info(self) -> CameraInfo:
        """Device description and all property descriptions."""
        return await self._run(lambda cam: cam.info())

    async def state_list(self) -> list[StateEntry]:
        """The camera's state list (Fuji)."""
        return await self._run(lambda cam: cam.state())

    async def capture(self, sink: DataSink | None = None) -> Capture:
        """Takes a picture."""
        return await self._run(lambda cam: cam.capture(sink))

    async def files(self) -> list[FileEntry]:
        """The objects on the camera's storage."""
        return await self._run(lambda cam: cam.files())

    async def download(self, handle: int, sink: DataSink | None = None) -> Capture:
        """One object from the camera."""
        return await self._run(lambda cam: cam.download(handle, sink))

    async def opreq(self, code: int, params: list[int]) -> OpreqResult:
        """A raw operation."""
        return await self._run(lambda cam: cam.opreq(code, params))

    # ---------------------------------------------------------------- events and notifications

    def subscribe(self, topics: Iterable[str] | None = None) -> Subscription:
        """A bounded notification queue for ``topics`` (all three by default)."""
        chosen = frozenset(topics) if topics is not None else frozenset(TOPICS)
        unknown = chosen - set(TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {sorted(unknown)}; known: {list(TOPICS)}")
        sub = Subscription(chosen, asyncio.Queue(self.options.subscriber_queue))
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stops notifications to ``sub``."""
        self._subscriptions.discard(sub)

    def _publish(self, note: Notification) -> None:
        for sub in list(self._subscriptions):
            sub.offer(note)
            if sub.overflowed:
                self._subscriptions.discard(sub)

    def _on_event(self, event: CameraEvent) -> None:
        self._publish(
            Notification(
                "event",
                "notify.event",
                {
                    "code": f"0x{event.code:04x}",
                    "name": event.name,
                    "params": list(event.params),
                    "time": event.time,
                },
            )
        )
        if event.code == EventCode.DevicePropChanged and event.params:
            self._refresh_codes[event.params[0]] = None
            self._refresh_wakeup.set()

    def _announce(self, value: PropertyValue) -> None:
        if self._last_published.get(value.code) == value.value:
            return
        self._last_published[value.code] = value.value
        self._publish(
            Notification(
                "property",
                "notify.property",
                {
                    "property": value.prop,
                    "code": f"0x{value.code:04x}",
                    "value": value.value,
                    "label": value.label,
                },
            )
        )

    async def _refresher(self) -> None:
        """Reads properties the camera says changed and announces the new values (one at a time)."""
        while not self._stop.is_set():
            await self._refresh_wakeup.wait()
            self._refresh_wakeup.clear()
            while self._refresh_codes and not self._stop.is_set():
                code = next(iter(self._refresh_codes))
                del self._refresh_codes[code]
                if not any("property" in s.topics for s in self._subscriptions):
                    continue
                try:
                    self._announce(await self.get(code))
                except CameraError as exc:
                    log.debug("could not refresh property 0x%04X: %s", code, exc)

"""The camera, as a program sees it: ``async with Camera(host=..., vendor=...) as cam: await cam.get("iso")``.

:class:`Camera` opens the connections (through :mod:`ptpipd.ip`), lets the vendor driver run its session
set-up, and then offers the operations of DESIGN.md §3 for every vendor alike: property names or codes,
human labels, values checked against the camera's own description *before* anything is sent, and errors
from :mod:`ptpipd.errors` with the reason. What a vendor can do comes from its driver's
:class:`~ptpipd.vendors.base.Capabilities`. It does not serialise callers or reconnect: that is the job of
:class:`ptpipd.service.CameraService`, which owns one Camera at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, Self, TypeVar

from ptpipd.camera_images import MEMORY_CAP, Capture, ImageAccess
from ptpipd.camera_properties import CameraInfo, PropertyAccess
from ptpipd.errors import (
    CameraError,
    CameraTimeout,
    NotConnected,
    NotSupported,
    PairingFailed,
    WriteFailed,
)
from ptpipd.ip.errors import (
    ConnectionClosed,
    InitFailed,
    PTPIPError,
    RemoteProtocolError,
    SinkFailed,
    TransactionDeadline,
    TransactionTimeout,
)
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import BytesSink, DataTooLarge, Initiator
from ptpipd.ptp import DecodeError, EventCode, ResponseCode, code_name
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import (
    CameraConfig,
    DeviceSummary,
    EventDelivery,
    LiveViewSource,
    OpreqResult,
    Ports,
    StateEntry,
    VendorDriver,
)
from ptpipd.vendors.liveview import LiveFrame, LiveView, Pacer

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["MEMORY_CAP", "Camera", "CameraConfig", "CameraEvent", "CameraInfo", "Capture"]

#: The most of a raw operation's data (and, apart, of its raw packets) :meth:`Camera.opreq` keeps: the camera
#: decides how much it sends, and the answer goes to a client as base64 and hex.
OPREQ_CAP = 8 << 20


def tell_each(
    logger: logging.Logger, what: str, listeners: list[Callable[P, None]], *args: P.args, **kwargs: P.kwargs
) -> None:
    """Calls every listener (of a copy: one may add or remove listeners); one that raises is logged on
    ``logger`` (``WHAT listener failed``), and the others are still called: a listener's bug must not break
    its caller (the event connection, the session loop)."""
    for listener in list(listeners):
        try:
            listener(*args, **kwargs)
        except Exception:
            logger.exception("%s listener failed", what)


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """An event the camera sent, as passed to listeners."""

    code: int
    name: str
    transaction_id: int
    params: tuple[int, ...]
    time: float


def resolve_ports(config: CameraConfig, driver: type[VendorDriver]) -> Ports:
    """The ports to use: the configured ones, else derived from the command port, else the vendor's."""
    default = driver.default_ports
    command = config.port or default.command
    shift = command - default.command  # libgphoto2 derives event = command + 1 etc. for Fuji
    event = config.event_port or default.event + shift
    stream = config.stream_port or (default.stream + shift if default.stream is not None else None)
    return Ports(command, event, stream)


def failure_reason(exc: BaseException) -> str:
    """Why a link failed, in words and said once: the innermost reason of a chain of "connection closed"
    wrappers (``[Errno 104] Connection reset by peer`` rather than ``camera connection lost: camera
    connection lost: …``), or the exception's class when it carries no text (an empty ``TimeoutError``)."""
    seen: set[int] = set()
    while isinstance(exc, ConnectionClosed) and exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return str(exc).strip() or type(exc).__name__


@contextlib.contextmanager
def camera_errors(driver: type[VendorDriver], config: CameraConfig) -> Iterator[None]:
    """Turns transport errors into :mod:`ptpipd.errors` exceptions with the reason."""
    try:
        yield
    except TransactionTimeout as exc:
        verb = "did not finish in time" if isinstance(exc, TransactionDeadline) else "did not answer"
        raise CameraTimeout(f"the camera {verb}: {exc}", timeout_s=exc.timeout, opcode=exc.opcode) from exc
    except InitFailed as exc:
        raise PairingFailed(driver.explain_init_failure(exc.reason, config) or str(exc)) from exc
    except (ConnectionClosed, RemoteProtocolError) as exc:
        reason = failure_reason(exc)
        raise NotConnected(f"camera connection lost: {reason}", last_error=reason) from exc
    except DataTooLarge as exc:
        raise NotSupported(str(exc), vendor=driver.name) from exc
    except SinkFailed as exc:
        raise WriteFailed(exc.error) from exc
    except DecodeError as exc:
        raise NotSupported(
            f"the camera's answer is not in the standard format: {exc}", vendor=driver.name
        ) from exc
    except OSError as exc:
        raise NotConnected(f"cannot reach the camera at {config.host}: {exc}", last_error=str(exc)) from exc


class Camera(PropertyAccess, ImageAccess):
    """One session with one camera. Use as an async context manager, or call :meth:`open` and :meth:`close`.

    Its properties (get, set, describe, info) are :class:`~.camera_properties.PropertyAccess`'s, its images
    (capture, files, download, thumbnails) :class:`~.camera_images.ImageAccess`'s."""

    def __init__(
        self,
        config: CameraConfig | None = None,
        *,
        on_pairing: Callable[[], None] | None = None,
        **fields: Any,
    ) -> None:
        self.config = replace(config or CameraConfig(), **fields)
        self.on_pairing = on_pairing
        self.driver_class = vendor_driver(self.config.vendor)
        self.ports = resolve_ports(self.config, self.driver_class)
        self.summary: DeviceSummary | None = None
        self._link: Initiator | None = None
        self._driver: VendorDriver | None = None
        self._descs = {}
        self._event_listeners: list[Callable[[CameraEvent], None]] = []
        self._close_listeners: list[Callable[[BaseException], None]] = []

    # -------------------------------------------------------------- lifecycle

    @property
    def is_open(self) -> bool:
        """True while the session works."""
        return self._link is not None and self._link.alive and self._driver is not None

    def add_event_listener(self, listener: Callable[[CameraEvent], None]) -> None:
        """Calls ``listener`` (synchronously, must not block) for every event the camera sends."""
        self._event_listeners.append(listener)

    def add_close_listener(self, listener: Callable[[BaseException], None]) -> None:
        """Calls ``listener`` once with the reason when the connection to the camera breaks."""
        self._close_listeners.append(listener)

    async def open(self) -> DeviceSummary:
        """Connects, runs the vendor's set-up (pairing where the camera asks) and returns who the camera is."""
        cfg = self.config
        link = Initiator(
            self.driver_class.dialect,
            cfg.host,
            guid=cfg.guid,
            name=cfg.friendly_name,
            timeouts=cfg.timeouts,
            on_event=self._on_event,
            on_close=self._on_close,
        )
        self._link = link
        try:
            with self._errors():
                await link.connect(self.ports.command)
                driver = self.driver_class(link, cfg, self.ports, self.on_pairing)
                self._driver = driver
                self.summary = summary = await driver.open()
        except BaseException:
            await link.close()
            self._driver = None
            raise
        log.debug(  # the service says it, as loudly as its reconnect loop allows
            "connected to %s %s (serial %s) at %s",
            summary.manufacturer,
            summary.model,
            summary.serial,
            cfg.host,
        )
        return summary

    async def close(self, timeout: float | None = None) -> None:
        """Ends the session (CloseSession when the camera still answers, within ``timeout`` seconds) and
        closes the connections."""
        link, driver = self._link, self._driver
        if link is None:
            return
        if driver is not None and link.alive:
            with contextlib.suppress(PTPIPError, CameraError, OSError, TimeoutError):
                async with asyncio.timeout(timeout):
                    await driver.close()
        await link.close()
        self._driver = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _on_event(self, event: Event) -> None:
        self._forget_descs(event)
        if self._driver is not None:
            self._driver.handle_event(event)
        name = self.driver_class.event_names.get(event.code) or code_name(EventCode, event.code)
        camera_event = CameraEvent(event.code, name, event.transaction_id, event.params, time.time())
        tell_each(log, "event", self._event_listeners, camera_event)

    def _on_close(self, reason: BaseException) -> None:
        tell_each(log, "close", self._close_listeners, reason)

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return camera_errors(self.driver_class, self.config)

    def error_for(self, exc: BaseException) -> BaseException:
        """The :mod:`ptpipd.errors` exception a transport failure stands for (the reason a link dropped)."""
        try:
            with self._errors():
                raise exc
        except Exception as mapped:
            return mapped

    # -------------------------------------------------------------- properties

    async def state(self) -> list[StateEntry]:
        """The camera's state list, where the vendor has one; :class:`NotSupported` elsewhere."""
        driver = self._require(self.capabilities.state_list, "'state'")
        with self._errors():
            return await driver.state()

    async def poll_events(self) -> int:
        """Asks a polling camera for its events and passes them on like pushed ones; returns how many."""
        driver = self._require(self.capabilities.events is EventDelivery.POLL, "event polling")
        with self._errors():
            events = await driver.poll_events()
        for event in events:
            self._on_event(event)
        return len(events)

    async def on_driver(self, op: Callable[[VendorDriver], Awaitable[T]]) -> T:
        """A driver operation (``delete_object``, ``fetch_new``…) with this layer's errors."""
        with self._errors():
            return await op(self.driver)

    async def open_liveview(self) -> LiveView:
        """Starts the live view; frames from ``await view.next_frame()`` (see :mod:`ptpipd.vendors.liveview`)."""
        driver = self._require(self.capabilities.liveview is not LiveViewSource.NONE, "live view")
        with self._errors():
            return await driver.open_liveview()

    async def next_frame(self, view: LiveView) -> LiveFrame:
        """The next frame of ``view``, with the camera layer's errors."""
        with self._errors():
            return await view.next_frame()

    async def liveview(self, fps: float = 30.0) -> AsyncIterator[LiveFrame]:
        """Live-view frames until the iteration stops; :class:`NotSupported` without live view. A camera that
        hands out one frame per operation (Canon, Nikon) is asked at most ``fps`` times a second (0: as fast as
        it answers, which keeps both sides busy); a stream (Fujifilm) comes at the camera's own rate."""
        view = await self.open_liveview()
        pacer = Pacer(fps if view.polled else 0, asyncio.get_running_loop().time)
        try:
            while True:
                if wait := pacer.take():
                    await asyncio.sleep(wait)
                yield await self.next_frame(view)
        finally:
            with contextlib.suppress(PTPIPError, CameraError, OSError):
                await view.close()

    # -------------------------------------------------------------- raw

    async def opreq(self, code: int, params: list[int] | tuple[int, ...] = ()) -> OpreqResult:
        """Runs any operation and returns the response, data and raw packets. The code and its at most 5
        parameters are checked by the JSON-RPC params (:class:`~ptpipd.rpc.models.OpreqParams`); a library
        caller's code or parameters that do not fit are refused by the dialect's encoder
        (:class:`~ptpipd.ip.errors.LocalProtocolError`) before anything is sent."""
        link = self.driver.link  # NotConnected when the camera is not open
        sink = BytesSink(OPREQ_CAP)  # a sink of our own: more than the cap is counted, not an error
        with self._errors():
            reply = await link.transaction(code, tuple(params), sink=sink, record_cap=OPREQ_CAP)
        data = bytes(sink.buffer) if sink.size else None
        truncated = sink.overflow or reply.raw_truncated
        name = code_name(ResponseCode, reply.code)
        return OpreqResult(reply.code, name, reply.params, data, reply.raw, sink.size, truncated)

    async def keepalive(self) -> None:
        """Proves the camera still answers (a probe, or a cheap transaction)."""
        with self._errors():
            await self.driver.keepalive()

    @property
    def probes(self) -> bool:
        """True when the dialect has probe packets: :meth:`probe` then works beside a transaction."""
        return self.driver_class.dialect.probes

    async def probe(self, timeout: float) -> None:
        """A ProbeRequest on the event connection, answered within ``timeout`` seconds (else the link is
        closed and :class:`~ptpipd.errors.CameraTimeout` raised). Unlike :meth:`keepalive` it takes no
        transaction, so it can prove a camera alive while a capture waits for its events."""
        link = self.driver.link  # NotConnected when the camera is not open
        with self._errors():
            await link.probe(timeout)

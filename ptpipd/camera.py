"""The camera, as a program sees it: ``async with Camera(host=..., vendor=...) as cam: await cam.get("iso")``.

:class:`Camera` opens the connections (through :mod:`ptpipd.ip`), lets the vendor driver run its session
set-up, and then offers the operations of DESIGN.md §3 for every vendor alike: property names or codes,
human labels, values checked against the camera's own description *before* anything is sent, and errors
from :mod:`ptpipd.errors` with the reason. It does not serialise callers or reconnect: that is the job of
:class:`ptpipd.service.CameraService`, which owns one Camera at a time.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self

from ptpipd.errors import (
    CameraError,
    CameraTimeout,
    InvalidValue,
    NotConnected,
    NotSupported,
    PairingFailed,
    UnknownProperty,
)
from ptpipd.ip.errors import ConnectionClosed, InitFailed, PTPIPError, RemoteProtocolError, TransactionTimeout
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import BytesSink, DataSink, DataTooLarge, Initiator
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropCode,
    DevicePropDesc,
    EncodeError,
    EnumForm,
    EventCode,
    RangeForm,
    ResponseCode,
    Value,
    check_value,
    code_name,
)
from ptpipd.vendors import vendor_driver
from ptpipd.vendors.base import (
    CameraConfig,
    DeviceSummary,
    EnumValues,
    FileEntry,
    LabelledValue,
    OpreqResult,
    Ports,
    PropertyDesc,
    PropertySpec,
    PropertyValue,
    RangeValues,
    StateEntry,
    Transfer,
    VendorDriver,
    labelled,
)
from ptpipd.vendors.labels import normalize

log = logging.getLogger(__name__)

__all__ = ["Camera", "CameraConfig", "CameraEvent", "CameraInfo", "Capture"]


@dataclass(frozen=True, slots=True)
class CameraEvent:
    """An event the camera sent, as passed to listeners."""

    code: int
    name: str
    transaction_id: int
    params: tuple[int, ...]
    time: float


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """The answer to ``info``: the device's self-description and every property's description."""

    device: dict[str, Any]
    properties: list[PropertyDesc]


@dataclass(frozen=True, slots=True)
class Capture:
    """An image received from the camera; ``data`` is set when it was collected in memory."""

    transfer: Transfer
    data: bytes | None


_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_INT = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def parse_int(text: str) -> int | None:
    """A decimal (``800``, ``-1``) or hex (``0x320``) integer, or None."""
    t = text.strip()
    if _INT.fullmatch(t):
        return int(t, 10)
    if _HEX.fullmatch(t):
        return int(t, 16)
    return None


class Camera:
    """One session with one camera. Use as an async context manager, or call :meth:`open` and :meth:`close`."""

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
        self.ports = self.resolve_ports(self.config, self.driver_class)
        self.summary: DeviceSummary | None = None
        self._link: Initiator | None = None
        self._driver: VendorDriver | None = None
        self._descs: dict[int, DevicePropDesc] = {}
        self._event_listeners: list[Callable[[CameraEvent], None]] = []
        self._close_listeners: list[Callable[[BaseException], None]] = []

    @staticmethod
    def resolve_ports(config: CameraConfig, driver: type[VendorDriver]) -> Ports:
        """The ports to use: the configured ones, else derived from the command port, else the vendor's."""
        default = driver.default_ports
        command = config.port or default.command
        shift = command - default.command  # libgphoto2 derives event = command + 1 etc. for Fuji
        event = config.event_port or default.event + shift
        stream = config.stream_port or (default.stream + shift if default.stream is not None else None)
        return Ports(command, event, stream)

    # -------------------------------------------------------------- lifecycle

    @property
    def vendor(self) -> str:
        """The vendor name."""
        return self.driver_class.name

    @property
    def driver(self) -> VendorDriver:
        """The vendor driver of the open session."""
        if self._driver is None:
            raise NotConnected("the camera is not open")
        return self._driver

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
        """Connects, runs the vendor's set-up (pairing on a Fuji) and returns who the camera is."""
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
                self.summary = await driver.open()
        except BaseException:
            await link.close()
            self._driver = None
            raise
        log.info(
            "connected to %s %s (serial %s) at %s",
            self.summary.manufacturer,
            self.summary.model,
            self.summary.serial,
            cfg.host,
        )
        return self.summary

    async def close(self) -> None:
        """Ends the session (CloseSession when the camera still answers) and closes the connections."""
        link, driver = self._link, self._driver
        if link is None:
            return
        if driver is not None and link.alive:
            with contextlib.suppress(PTPIPError, CameraError, OSError):
                await driver.close()
        await link.close()
        self._driver = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _on_event(self, event: Event) -> None:
        if event.code in (EventCode.DevicePropChanged, EventCode.DeviceInfoChanged):
            # A changed property may have a new form (e.g. an ISO list that depends on the mode).
            if event.code == EventCode.DeviceInfoChanged:
                self._descs.clear()
            elif event.params:
                self._descs.pop(event.params[0], None)
        driver = self._driver
        if driver is not None:
            driver.handle_event(event)
        camera_event = CameraEvent(
            event.code, event_name(event.code, driver), event.transaction_id, event.params, time.time()
        )
        for listener in list(self._event_listeners):
            try:
                listener(camera_event)
            except Exception:  # a listener's bug must not break the event connection
                log.exception("event listener failed")

    def _on_close(self, reason: BaseException) -> None:
        for listener in list(self._close_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("close listener failed")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turns transport errors into :mod:`ptpipd.errors` exceptions with the reason."""
        try:
            yield
        except TransactionTimeout as exc:
            raise CameraTimeout(
                f"the camera did not answer: {exc}", timeout_s=exc.timeout, opcode=exc.opcode
            ) from exc
        except InitFailed as exc:
            message = self.driver_class.explain_init_failure(exc.reason, self.config) or str(exc)
            raise PairingFailed(message) from exc
        except (ConnectionClosed, RemoteProtocolError) as exc:
            raise NotConnected(f"camera connection lost: {exc}", last_error=str(exc)) from exc
        except DataTooLarge as exc:
            raise NotSupported(str(exc), vendor=self.vendor) from exc
        except DecodeError as exc:
            raise NotSupported(
                f"the camera's answer is not in the standard format: {exc}", vendor=self.vendor
            ) from exc
        except OSError as exc:
            raise NotConnected(
                f"cannot reach the camera at {self.config.host}: {exc}", last_error=str(exc)
            ) from exc

    # -------------------------------------------------------------- properties

    def resolve(self, prop: str | int) -> PropertySpec:
        """The property a name or code refers to; :class:`UnknownProperty` when there is none."""
        table = self.driver_class.properties
        supported = self._driver.supported_properties() if self._driver is not None else None
        code: int | None = None
        if isinstance(prop, int) and not isinstance(prop, bool):
            code = prop
        elif isinstance(prop, str):
            text = prop.strip()
            spec = table.by_name(text)
            if spec is not None and (supported is None or spec.code in supported):
                return spec
            if _HEX.fullmatch(text) or _HEX4.fullmatch(text):
                code = int(text.removeprefix("0x").removeprefix("0X"), 16)  # the seed reads "5005" as hex
            elif text.isdigit():
                code = int(text)
        if code is not None and 0 <= code <= 0xFFFF and (supported is None or code in supported):
            return table.spec_for(code)
        known = [s.name for s in table.specs if supported is None or s.code in supported]
        raise UnknownProperty(str(prop), known)

    async def _desc(self, spec: PropertySpec, *, fresh: bool = False) -> DevicePropDesc:
        desc = None if fresh else self._descs.get(spec.code)
        if desc is None:
            with self._errors():
                desc = await self.driver.describe(spec.code)
            self._descs[spec.code] = desc
        return desc

    def _value(self, spec: PropertySpec, desc: DevicePropDesc, value: Value) -> PropertyValue:
        lv = labelled(desc.datatype, value, spec.labels)
        return PropertyValue(spec.name, spec.code, spec.title, desc.datatype, value, lv.label, desc.writable)

    def _describe(self, spec: PropertySpec, desc: DevicePropDesc) -> PropertyDesc:
        form: EnumValues | RangeValues | None
        if isinstance(desc.form, EnumForm):
            form = EnumValues(tuple(labelled(desc.datatype, v, spec.labels) for v in desc.form.values))
        elif isinstance(desc.form, RangeForm):
            form = RangeValues(desc.form.minimum, desc.form.maximum, desc.form.step)
        else:
            form = None
        return PropertyDesc(
            self._value(spec, desc, desc.current),
            labelled(desc.datatype, desc.factory_default, spec.labels),
            form,
            desc,
        )

    async def get(self, prop: str | int) -> PropertyValue:
        """A property's current value, read from the camera."""
        spec = self.resolve(prop)
        desc = await self._desc(spec)
        with self._errors():
            value = await self.driver.get_value(spec.code, desc.datatype)
        return self._value(spec, desc, value)

    async def describe(self, prop: str | int) -> PropertyDesc:
        """A property's description, read from the camera."""
        spec = self.resolve(prop)
        return self._describe(spec, await self._desc(spec, fresh=True))

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Checks ``value`` against the camera's description, writes it, and returns the value read back.

        ``value`` is a label (case-insensitive, spaces ignored), an integer, or a hex string ``"0x320"``.
        An invalid value raises :class:`InvalidValue` and nothing is sent.
        """
        spec = self.resolve(prop)
        desc = await self._desc(spec, fresh=True)
        wire = coerce_value(spec, desc, value)
        with self._errors():
            await self.driver.set_value(spec.code, desc.datatype, wire)
            current = await self.driver.get_value(spec.code, desc.datatype)
        return self._value(spec, desc, current)

    async def info(self) -> CameraInfo:
        """The device description and every property's description."""
        with self._errors():
            device = await self.driver.device_info()
            descs = await self.driver.describe_all()
        table = self.driver_class.properties
        out = []
        for desc in descs:
            self._descs[desc.code] = desc
            out.append(self._describe(table.spec_for(desc.code), desc))
        return CameraInfo(device, out)

    async def state(self) -> list[StateEntry]:
        """The camera's state list (Fuji); :class:`NotSupported` elsewhere."""
        with self._errors():
            return await self.driver.state()

    # -------------------------------------------------------------- images

    async def capture(self, sink: DataSink | None = None, *, cap: int = 64 << 20) -> Capture:
        """Takes a picture; the image (generic) or preview (Fuji) goes to ``sink`` or is returned in memory."""
        collector = BytesSink(cap) if sink is None else None
        with self._errors():
            transfer = await self.driver.capture(sink or collector or BytesSink(cap))
        return self._collected(transfer, collector)

    async def files(self) -> list[FileEntry]:
        """The images and files on the camera's storage."""
        with self._errors():
            return await self.driver.files()

    async def download(self, handle: int, sink: DataSink | None = None, *, cap: int = 64 << 20) -> Capture:
        """One object from the camera's storage, to ``sink`` or in memory."""
        collector = BytesSink(cap) if sink is None else None
        with self._errors():
            transfer = await self.driver.download(handle, sink or collector or BytesSink(cap))
        return self._collected(transfer, collector)

    def _collected(self, transfer: Transfer, collector: BytesSink | None) -> Capture:
        if collector is None:
            return Capture(transfer, None)
        if collector.overflow:
            raise NotSupported(
                f"the image is {collector.size} bytes, more than the {collector.cap}-byte in-memory limit",
                vendor=self.vendor,
            )
        return Capture(transfer, bytes(collector.buffer))

    def liveview(self) -> AsyncIterator[Any]:
        """Live-view frames (Fuji); :class:`NotSupported` elsewhere."""
        return self.driver.liveview()

    # -------------------------------------------------------------- raw

    async def opreq(self, code: int, params: list[int] | tuple[int, ...] = ()) -> OpreqResult:
        """Runs any operation (at most 5 parameters) and returns the response, data and raw packets."""
        if not 0 <= code <= 0xFFFF:
            raise InvalidValue("code", code, [], "an operation code is a 16-bit number")
        if len(params) > 5 or any(not 0 <= p <= 0xFFFF_FFFF for p in params):
            raise InvalidValue("params", list(params), [], "at most 5 parameters, each a 32-bit number")
        link = self._link
        if link is None or self._driver is None:
            raise NotConnected("the camera is not open")
        with self._errors():
            reply = await link.transaction(code, tuple(params), record=True)
        return OpreqResult(
            reply.code,
            code_name(ResponseCode, reply.code),
            reply.params,
            reply.data if reply.data_length else None,
            reply.raw,
        )

    async def keepalive(self) -> None:
        """Proves the camera still answers (a probe, or a cheap transaction)."""
        with self._errors():
            await self.driver.keepalive()


def event_name(code: int, driver: VendorDriver | None) -> str:
    """The name of an event code (standard or the vendor's)."""
    names = getattr(driver, "event_names", None) if driver is not None else None
    if isinstance(names, dict) and code in names:
        return str(names[code])
    return code_name(EventCode, code)


def coerce_value(spec: PropertySpec, desc: DevicePropDesc, value: str | int) -> Value:
    """The wire value for what a user asked for; :class:`InvalidValue` when the camera would not accept it.

    A string is tried, in order, as one of the allowed values' labels, as a label of the property's kind
    (``f/5.6``, ``1/250``, ``+1/3``), and as a plain integer (``800``, ``-3000``, ``0x320``); the first
    reading that the property's type and form accept wins.
    """
    allowed = allowed_labels(spec, desc)
    if not desc.writable:
        raise InvalidValue(spec.name, value, [], f"{spec.name} is read-only")
    dt = desc.datatype
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidValue(spec.name, value, allowed, "give a label, an integer or a hex string")
    if dt.is_array:
        raise InvalidValue(spec.name, value, allowed, "array properties cannot be set")
    candidates: list[Value] = []
    if isinstance(value, int) or dt == DataType.STR:
        candidates.append(value)
    else:
        if isinstance(desc.form, EnumForm):
            wanted = normalize(value)
            candidates += [
                v for v in desc.form.values if normalize(labelled(dt, v, spec.labels).label) == wanted
            ]
        parsed = spec.labels.parse(value)
        if parsed is not None:
            candidates.append(parsed)
        number = parse_int(value)
        if number is not None:
            candidates.append(number)
    reason: str | None = None
    for candidate in candidates:
        try:
            check_value(dt, candidate)
        except EncodeError:
            reason = f"does not fit a {dt.label}"
            continue
        if desc.allows(candidate):
            return candidate
        reason = None
    raise InvalidValue(spec.name, value, allowed, reason)


def allowed_labels(spec: PropertySpec, desc: DevicePropDesc) -> list[str]:
    """What a user may pass for a property, for error messages."""
    if isinstance(desc.form, EnumForm):
        return [labelled(desc.datatype, v, spec.labels).label for v in desc.form.values]
    if isinstance(desc.form, RangeForm):
        lo = labelled(desc.datatype, desc.form.minimum, spec.labels).label
        hi = labelled(desc.datatype, desc.form.maximum, spec.labels).label
        return [f"{lo}..{hi} (step {desc.form.step})"]
    return []


def property_name(code: int) -> str:
    """The standard PTP name of a property code, or its hex."""
    return code_name(DevicePropCode, code)


__all__ += ["LabelledValue", "coerce_value", "parse_int"]

"""What every vendor module provides, and the values camera operations return.

A vendor is a file: each ``ptpipd.vendors.N`` defines a :class:`VendorDriver` subclass with the dialect it
speaks, its default ports, its property names and labels, what it can do (:class:`Capabilities`), and the
sequences it needs (init, capture, state, event polling, live view). :class:`ptpipd.camera.Camera` does
everything that is the same for all vendors (name resolution, value validation, labels, caching) on top of
a driver, and asks the driver's :class:`Capabilities`, never its name.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from ptpipd.errors import CameraRefused, NotSupported, UnknownProperty
from ptpipd.ip.codec import Dialect
from ptpipd.ip.errors import ConnectionClosed
from ptpipd.ip.packets import Buffer, Event
from ptpipd.ip.transport import DataSink, Initiator, Reply, Timeouts
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropCode,
    DevicePropDesc,
    EventCode,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    Value,
    code_name,
)
from ptpipd.vendors.labels import PLAIN, Labels, hex_label
from ptpipd.vendors.legacy_labels import STANDARD, LegacyLabels
from ptpipd.vendors.liveview import LiveView

T = TypeVar("T")

# ------------------------------------------------------------------------------------------------ config


@dataclass(frozen=True, slots=True)
class Ports:
    """The TCP ports of a camera: command/data, events and (Fuji) live view."""

    command: int
    event: int
    stream: int | None = None


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """Where the camera is and how to talk to it.

    ``port`` is the command/data port (the only one for a standard PTP/IP camera); unset ports take the
    vendor's defaults. ``pairing_timeout`` bounds the wait for a first-time confirmation on the camera.
    """

    host: str = "192.168.0.1"
    vendor: str = "generic"
    port: int | None = None
    event_port: int | None = None
    stream_port: int | None = None
    guid: bytes = field(default_factory=lambda: uuid.uuid4().bytes)
    friendly_name: str = "ptpipd"
    timeouts: Timeouts = field(default_factory=Timeouts)
    pairing_timeout: float = 60.0
    capture_timeout: float = 30.0


class EventDelivery(StrEnum):
    """How a camera tells about changes: pushed on its event connection, or listed when asked."""

    #: events arrive on the event connection or port (standard PTP/IP, Fuji X-T1)
    CHANNEL = "channel"
    #: the service calls the driver's poll_events() every poll_interval (EOS 0x9116, Nikon 0x90C7)
    POLL = "poll"


class LiveViewSource(StrEnum):
    """Where live-view frames come from."""

    NONE = "none"
    STREAM = "stream"  # a connection of its own (Fuji port 55742)
    POLL = "poll"  # one operation per frame on the command channel (EOS 0x9153, Nikon 0x9203)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a vendor's driver can do. The camera and service layers ask this, never the vendor's name.

    ``files``: lists and downloads full-size objects; ``partial_objects``: reads byte ranges of them
    (GetPartialObject, where the body lists it); ``state_list``: a state list (Fuji 0xD212); ``pairing``:
    what the user must do on the camera on a first connection (``{name}`` is our friendly name);
    ``delete``: deletes objects from its storage (DeleteObject, where the body lists it).
    """

    events: EventDelivery = EventDelivery.CHANNEL
    poll_interval: float = 0.5
    liveview: LiveViewSource = LiveViewSource.NONE
    files: bool = False
    partial_objects: bool = False
    state_list: bool = False
    pairing: tuple[str, ...] = ()
    delete: bool = False

    def describe(self) -> dict[str, Any]:
        """The capabilities as JSON (``status``): what a client can ask for."""
        shown = ("events", "liveview", "files", "partial_objects", "state_list", "delete")
        return {key: getattr(self, key) for key in shown}


# ------------------------------------------------------------------------------------------------ properties

_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One property a vendor knows by name: its code, unified name, PTP/vendor name and value labels."""

    code: int
    name: str
    title: str
    labels: Labels = PLAIN
    aliases: tuple[str, ...] = ()


class PropertyTable:
    """A vendor's properties, found by unified name, alias or code."""

    def __init__(self, specs: Iterable[PropertySpec]) -> None:
        self.specs = tuple(specs)
        self._by_code = {s.code: s for s in self.specs}
        self._by_name: dict[str, PropertySpec] = {}
        for spec in self.specs:
            for name in (spec.name, *spec.aliases, spec.title):
                self._by_name.setdefault(name.lower(), spec)

    def by_name(self, name: str) -> PropertySpec | None:
        """The property called ``name`` (unified name, alias or PTP name; case-insensitive)."""
        return self._by_name.get(name.lower())

    def spec_for(self, code: int) -> PropertySpec:
        """The named spec, or a plain one for a code the vendor does not name."""
        spec = self._by_code.get(code)
        if spec is not None:
            return spec
        title = code_name(DevicePropCode, code)
        return PropertySpec(code, f"0x{code:04x}", title)

    def resolve(self, prop: str | int, supported: set[int] | None) -> PropertySpec:
        """The property a name or code refers to. A name must be one of the ``supported`` codes (None: any);
        a code (``0xd999``, ``d999``, an integer) is taken even when the camera did not list it, and the
        camera's refusal is the answer. ``"5005"`` is read as hex, as the seed tool does.
        :class:`UnknownProperty` (naming the supported properties) when there is none."""
        code: int | None = None
        if isinstance(prop, int) and not isinstance(prop, bool):
            code = prop
        elif isinstance(prop, str):
            text = prop.strip()
            spec = self.by_name(text)
            if spec is not None:
                if supported is None or spec.code in supported:
                    return spec
            elif _HEX.fullmatch(text) or _HEX4.fullmatch(text):
                code = int(text.removeprefix("0x").removeprefix("0X"), 16)
            elif text.isdigit():
                code = int(text)
        if code is not None and 0 <= code <= 0xFFFF:
            return self.spec_for(code)
        known = [s.name for s in self.specs if supported is None or s.code in supported]
        raise UnknownProperty(str(prop), known)


# ------------------------------------------------------------------------------------------------ results


def format_hex(datatype: DataType, value: Value) -> str | None:
    """The wire value as hex, as wide as its type (``0x00000320`` for a UINT32); None for strings and arrays."""
    size = datatype.size
    if not isinstance(value, int) or size is None:
        return None
    return f"0x{value & ((1 << (8 * size)) - 1):0{2 * size}x}"


@dataclass(frozen=True, slots=True)
class LabelledValue:
    """A value with its hex form and label."""

    value: Value
    hex: str | None
    label: str


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """A property's current value (DESIGN.md §4 ``PropertyValue``; ``prop`` is its ``property`` field)."""

    prop: str
    code: int
    name: str
    datatype: DataType
    value: Value
    label: str
    writable: bool

    @property
    def hex(self) -> str | None:
        """The value in hex, as wide as its type."""
        return format_hex(self.datatype, self.value)


@dataclass(frozen=True, slots=True)
class EnumValues:
    """An enumeration form with labelled values."""

    values: tuple[LabelledValue, ...]


@dataclass(frozen=True, slots=True)
class RangeValues:
    """A range form: min + N·step up to max."""

    minimum: Value
    maximum: Value
    step: Value


@dataclass(frozen=True, slots=True)
class PropertyDesc:
    """A property's description (DESIGN.md §4 ``PropertyDesc``): the value, the default, the allowed values."""

    current: PropertyValue
    factory_default: LabelledValue
    form: EnumValues | RangeValues | None
    desc: DevicePropDesc


@dataclass(frozen=True, slots=True)
class StateEntry:
    """One entry of a camera's state list (Fuji 0xD212)."""

    code: int
    name: str
    prop: str
    value: int
    label: str


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """Who the camera says it is."""

    manufacturer: str
    model: str
    serial: str
    version: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """An image or file received from the camera (the bytes went to a sink)."""

    format: str
    size: int
    handle: int | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """An object on the camera's storage."""

    handle: int
    storage: int
    filename: str
    format: str
    size: int
    captured: str | None
    folder: str = ""


@dataclass(frozen=True, slots=True)
class NewObject:
    """An object the camera announced (a picture taken by a client or with the body's shutter button).

    With a ``handle`` it is on the camera's storage and is read like any file (``files`` capability); without
    one the camera offers it once and :meth:`VendorDriver.fetch_new` reads it (a Fujifilm's capture preview).
    ``size`` and ``filename`` are what the announcement said, where it said it.
    """

    handle: int | None
    size: int | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class OpreqResult:
    """The outcome of a raw operation: the response, the data, and the raw packets received.

    ``data`` and ``packets`` are kept up to a cap; ``size`` is how many data bytes the camera really sent, and
    ``truncated`` says that ``data`` or ``packets`` stop at the cap."""

    code: int
    name: str
    params: tuple[int, ...]
    data: bytes | None
    packets: tuple[bytes, ...]
    size: int = 0
    truncated: bool = False


def labelled(datatype: DataType, value: Value, labels: Labels) -> LabelledValue:
    """A value with its hex and label."""
    try:
        label = labels.label(value)
    except (TypeError, ValueError):
        label = hex_label(value)
    return LabelledValue(value, format_hex(datatype, value), label)


# ------------------------------------------------------------------------------------------------ drivers


def no_property(opcode: int, message: str) -> CameraRefused:
    """The refusal for a property the camera gives no value or description of, as it would answer it
    (DevicePropNotSupported to ``opcode``), with ``message`` saying why."""
    return CameraRefused(ResponseCode.DevicePropNotSupported, "DevicePropNotSupported", opcode, message)


def unsupported(vendor: str, what: str) -> NotSupported:
    """The error for an operation a vendor cannot do (``'state' is not supported by the generic vendor``)."""
    return NotSupported(f"{what} is not supported by the {vendor} vendor", vendor=vendor)


class VendorDriver(ABC):
    """A vendor's way of running a session over an :class:`~ptpipd.ip.transport.Initiator`.

    Drivers talk to the camera only through ``self.link``; they raise :mod:`ptpipd.errors` exceptions for
    refusals and let :mod:`ptpipd.ip` errors (timeouts, lost connections) pass up to the camera layer.
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]
    default_ports: ClassVar[Ports]
    properties: ClassVar[PropertyTable]
    capabilities: ClassVar[Capabilities]
    #: Names of the vendor's own operation and event codes (standard ones are named by :mod:`ptpipd.ptp`).
    operation_names: ClassVar[Mapping[int, str]] = {}
    event_names: ClassVar[Mapping[int, str]] = {}
    #: Names of the vendor's own response codes (Canon's 0xA102 …), for errors.
    response_names: ClassVar[Mapping[int, str]] = {}
    #: The seed tool's words for this vendor's values in the legacy text view (``get``, ``info``, ``state``).
    legacy_labels: ClassVar[LegacyLabels] = STANDARD

    def __init__(
        self,
        link: Initiator,
        config: CameraConfig,
        ports: Ports,
        on_pairing: Callable[[], None] | None = None,
    ) -> None:
        self.link = link
        self.config = config
        self.ports = ports
        self._on_pairing = on_pairing
        self._between: list[Callable[[], Awaitable[None]]] = []  # the listings under way, innermost last

    async def call(
        self,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data_out: Buffer | None = None,
        sink: DataSink | None = None,
        timeout: float | None = None,
        max_data: int | None = None,
    ) -> Reply:
        """Runs a transaction and raises :class:`CameraRefused` unless the camera answers OK. ``max_data``: the
        most data the request asks for (GetPartialObject's length); more is the camera's protocol error."""
        reply = await self.link.transaction(
            code, params, data_out=data_out, sink=sink, timeout=timeout, max_data=max_data
        )
        if reply.code != ResponseCode.OK:
            raise self.refused(reply.code, code)
        return reply

    def operation_name(self, code: int) -> str:
        """The name of a standard or vendor operation code (its hex form when it has none)."""
        return self.operation_names.get(code) or code_name(OperationCode, code)

    def event_name(self, code: int) -> str:
        """The name of a standard or vendor event code (its hex form when it has none)."""
        return self.event_names.get(code) or code_name(EventCode, code)

    def refused(self, response: int, opcode: int, message: str | None = None) -> CameraRefused:
        """The error for a response other than OK to ``opcode``, naming the response and the operation (the
        vendor's own codes too)."""
        name = self.response_names.get(response) or code_name(ResponseCode, response)
        text = f"the camera refused {self.operation_name(opcode)} (0x{opcode:04X}): {name} (0x{response:04X})"
        return CameraRefused(response, name, opcode, message or text)

    async def wait_event(self, fut: asyncio.Future[T], limit: float) -> T:
        """The result of ``fut`` (completed by the camera's events) within ``limit`` seconds, else
        ``TimeoutError``; ends at once with :class:`~ptpipd.ip.errors.ConnectionClosed` when the link drops
        meanwhile (a capture must not wait out its timeout for a camera that is gone). ``fut`` itself is
        left as it is."""
        down = asyncio.ensure_future(self.link.down.wait())
        try:
            await asyncio.wait((fut, down), timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            down.cancel()
        if fut.done():
            return fut.result()
        if self.link.down.is_set():
            raise ConnectionClosed("the connection dropped while waiting for the camera") from self.link.error
        raise TimeoutError

    @classmethod
    def explain_init_failure(cls, reason: int, config: CameraConfig) -> str | None:
        """A user-facing explanation of an InitFail reason (what to do on the camera), or None."""
        return None

    def pairing(self) -> None:
        """Drivers call this when they start waiting for a confirmation on the camera (first pairing)."""
        if self._on_pairing is not None:
            self._on_pairing()

    @abstractmethod
    async def open(self) -> DeviceSummary:
        """Runs the vendor's session set-up after the command connection's handshake."""

    async def close(self) -> None:
        """Ends the session politely (CloseSession); the caller closes the connections."""
        await self.link.transaction(OperationCode.CloseSession, timeout=2.0)

    @abstractmethod
    async def device_info(self) -> dict[str, Any]:
        """The camera's self-description for ``info``."""

    @abstractmethod
    async def describe_all(self) -> list[DevicePropDesc]:
        """Descriptions of every property the camera reports, for ``info``."""

    @abstractmethod
    async def describe(self, code: int) -> DevicePropDesc:
        """One property's description (GetDevicePropDesc or the vendor's equivalent)."""

    @abstractmethod
    async def get_value(self, code: int, datatype: DataType) -> Value:
        """A property's current value."""

    @abstractmethod
    async def set_value(self, code: int, datatype: DataType, value: Value) -> None:
        """Writes a property's value (already validated)."""

    @abstractmethod
    async def capture(self, sink: DataSink) -> Transfer:
        """Takes a picture and writes the image (or the preview the camera offers) to ``sink``."""

    @abstractmethod
    async def keepalive(self) -> None:
        """A cheap exchange proving the camera still answers."""

    def supported_properties(self) -> set[int] | None:
        """The property codes the camera says it has (None when it does not say)."""
        return None

    def handle_event(self, event: Event) -> None:  # noqa: B027 - optional hook
        """Called for every event the camera sends, before it is passed on to listeners."""

    def body_capabilities(self) -> Capabilities:
        """What the connected body can do, once :meth:`open` has identified it (a vendor whose bodies
        differ narrows or widens its declared :attr:`capabilities` here)."""
        return self.capabilities

    def body_properties(self) -> PropertyTable:
        """The property names and labels of the connected body, once :meth:`open` has identified it (a
        vendor whose bodies name or label properties differently returns its own table here)."""
        return self.properties

    def unsupported(self, what: str) -> NotSupported:
        """The error for an operation this vendor or body cannot do."""
        return unsupported(self.name, what)

    def new_object(self, event: Event) -> NewObject | None:
        """The object ``event`` announces, if it announces one: ObjectAdded (0x4002) names a new object on
        the storage of a body with file access. A vendor whose bodies announce new pictures otherwise
        overrides this (and :meth:`fetch_new` for objects without a handle)."""
        if event.code == EventCode.ObjectAdded and event.params and self.body_capabilities().files:
            return NewObject(event.params[0])
        return None

    # The operations below exist where :attr:`capabilities` says so; the camera layer checks before calling.

    async def poll_events(self) -> list[Event]:
        """The events since the last poll (``EventDelivery.POLL``)."""
        raise self.unsupported("event polling")

    async def state(self) -> list[StateEntry]:
        """The camera's state list (``state_list``)."""
        raise self.unsupported("'state'")

    async def files(self) -> list[FileEntry]:
        """The objects on the camera's storage (``files``)."""
        raise self.unsupported("'files'")

    async def download(self, handle: int, sink: DataSink) -> Transfer:
        """Writes one object to ``sink`` (``files``)."""
        raise self.unsupported("'download'")

    @contextlib.contextmanager
    def taking_turns(self, between: Callable[[], Awaitable[None]] | None) -> Iterator[None]:
        """For the operation run inside: ``between`` is awaited between its steps (the service lets other
        clients' requests run there), see :meth:`let_others_run`. Operations nest (another client's listing
        run in this one's turn) and may end in any order: each one's end leaves the others' ``between``."""
        self._between += [between] if between is not None else []
        try:
            yield
        finally:
            if between is not None:
                self._between.remove(between)

    async def let_others_run(self) -> None:
        """A point in a long operation (a listing) where other requests may run: only where the operation
        leaves the camera in no state of its own, so another client's request cannot disturb it."""
        if self._between:
            await self._between[-1]()

    async def object_infos(self, handles: Iterable[int]) -> dict[int, ObjectInfo]:
        """The ObjectInfo of each handle, letting other requests run between two (a listing of a full card
        does not hold the camera for seconds); an object deleted meanwhile (InvalidObjectHandle) is left
        out."""
        infos: dict[int, ObjectInfo] = {}
        for handle in handles:
            await self.let_others_run()
            try:
                infos[handle] = await self.object_info(handle)
            except CameraRefused as exc:
                if exc.response != ResponseCode.InvalidObjectHandle:
                    raise
        return infos

    async def object_info(self, handle: int) -> ObjectInfo:
        """One object's ObjectInfo (``files``): GetObjectInfo, unless the vendor needs more around it (a body
        that hides it describes the object its own way)."""
        reply = await self.call(OperationCode.GetObjectInfo, (handle,))
        if not reply.data:
            raise DecodeError(f"GetObjectInfo {handle}: the camera sent no data")
        return ObjectInfo.decode(reply.data)

    async def thumb(self, handle: int) -> bytes:
        """One object's thumbnail (``files``): GetThumb, unless the vendor needs more around it."""
        return (await self.call(OperationCode.GetThumb, (handle,))).data or b""

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """Writes up to ``length`` bytes of an object from ``offset`` to ``sink``; returns how many came
        (``partial_objects``)."""
        raise self.unsupported("partial downloads")

    async def file_entry(self, handle: int) -> FileEntry:
        """One object's entry as ``files`` lists it (``files``)."""
        raise self.unsupported("'files'")

    async def delete_object(self, handle: int) -> None:
        """Deletes one object from the camera's storage (DeleteObject, where the body has it)."""
        raise self.unsupported("'delete'")

    async def fetch_new(self, obj: NewObject, sink: DataSink) -> Transfer:
        """Reads an announced object that has no handle (:meth:`new_object` returned it) into ``sink``."""
        raise self.unsupported("reading an announced object without a handle")

    async def open_liveview(self) -> LiveView:
        """Starts the live view (``liveview`` is not NONE)."""
        raise self.unsupported("live view")

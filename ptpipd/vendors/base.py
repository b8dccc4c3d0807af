"""What every vendor module provides, and the values camera operations return.

A vendor is a file: :mod:`ptpipd.vendors.generic` (standard PTP) and :mod:`ptpipd.vendors.fuji` each define
a :class:`VendorDriver` subclass with the dialect it speaks, its default ports, its property names and
labels, and the sequences it needs (init, capture, state). :class:`ptpipd.camera.Camera` does everything
that is the same for all vendors (name resolution, value validation, labels, caching) on top of a driver.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ptpipd.errors import CameraRefused, NotSupported
from ptpipd.ip.codec import Dialect
from ptpipd.ip.packets import Buffer, Event
from ptpipd.ip.transport import DataSink, Initiator, Reply, Timeouts
from ptpipd.ptp import DataType, DevicePropCode, DevicePropDesc, ResponseCode, Value, code_name
from ptpipd.vendors.labels import PLAIN, Labels, hex_label

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


# ------------------------------------------------------------------------------------------------ properties


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

    def by_code(self, code: int) -> PropertySpec | None:
        """The property with this code, if the vendor names it."""
        return self._by_code.get(code)

    def spec_for(self, code: int) -> PropertySpec:
        """The named spec, or a plain one for a code the vendor does not name."""
        spec = self._by_code.get(code)
        if spec is not None:
            return spec
        title = code_name(DevicePropCode, code)
        return PropertySpec(code, f"0x{code:04x}", title)

    def names(self) -> list[str]:
        """The unified names, in table order."""
        return [s.name for s in self.specs]


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
class OpreqResult:
    """The outcome of a raw operation: the response, the data, and the raw packets received."""

    code: int
    name: str
    params: tuple[int, ...]
    data: bytes | None
    packets: tuple[bytes, ...]


def labelled(datatype: DataType, value: Value, labels: Labels) -> LabelledValue:
    """A value with its hex and label."""
    try:
        label = labels.label(value)
    except (TypeError, ValueError):
        label = hex_label(value)
    return LabelledValue(value, format_hex(datatype, value), label)


# ------------------------------------------------------------------------------------------------ drivers


class VendorDriver(ABC):
    """A vendor's way of running a session over an :class:`~ptpipd.ip.transport.Initiator`.

    Drivers talk to the camera only through ``self.link``; they raise :mod:`ptpipd.errors` exceptions for
    refusals and let :mod:`ptpipd.ip` errors (timeouts, lost connections) pass up to the camera layer.
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]
    default_ports: ClassVar[Ports]
    properties: ClassVar[PropertyTable]

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

    async def call(
        self,
        code: int,
        params: tuple[int, ...] = (),
        *,
        data_out: Buffer | None = None,
        sink: DataSink | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """Runs a transaction and raises :class:`CameraRefused` unless the camera answers OK."""
        reply = await self.link.transaction(code, params, data_out=data_out, sink=sink, timeout=timeout)
        if reply.code != ResponseCode.OK:
            raise CameraRefused(reply.code, code_name(ResponseCode, reply.code), code)
        return reply

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

    @abstractmethod
    async def close(self) -> None:
        """Ends the session politely (CloseSession); the caller closes the connections."""

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

    async def state(self) -> list[StateEntry]:
        """The camera's state list (Fuji 0xD212)."""
        raise NotSupported(f"'state' is not supported by the {self.name} vendor", vendor=self.name)

    async def files(self) -> list[FileEntry]:
        """The objects on the camera's storage."""
        raise NotSupported(f"'files' is not supported by the {self.name} vendor", vendor=self.name)

    async def download(self, handle: int, sink: DataSink) -> Transfer:
        """Writes one object to ``sink``."""
        raise NotSupported(f"'download' is not supported by the {self.name} vendor", vendor=self.name)

    def liveview(self) -> AsyncIterator[Any]:
        """Live-view frames, newest first when the reader is slow."""
        raise NotSupported(f"live view is not supported by the {self.name} vendor", vendor=self.name)

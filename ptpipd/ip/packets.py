"""The 14 packet types of standard PTP/IP (CIPA DC-X005), as frozen dataclasses.

Every packet starts with the same 8-byte header::

    offset  size  type    field
    0       4     u32 LE  Length of the whole packet, these 8 bytes included
    4       4     u32 LE  PacketType (1..14)
    8       ...           type-specific payload (layouts in each class's docstring)

All integers are little-endian. :func:`decode_generic` turns one whole packet into its dataclass and
:func:`encode` turns a dataclass back into bytes; the two are exact inverses for every well-formed packet.
Streaming (a byte stream split anywhere, big data packets delivered in pieces) is the job of
:class:`ptpipd.ip.generic.GenericCodec`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError

HEADER = struct.Struct("<II")
HEADER_SIZE = 8
U32 = struct.Struct("<I")
PROTOCOL_VERSION_1_0 = 0x00010000
#: TotalDataLength value of StartData meaning "unknown length": the data phase ends at EndData.
UNKNOWN_LENGTH = 0xFFFF_FFFF_FFFF_FFFF
#: Event TransactionID of an event that belongs to no transaction (PTP.md §4).
NO_TRANSACTION = 0xFFFF_FFFF

Buffer = bytes | bytearray | memoryview


class PacketType(IntEnum):
    """PacketType field values (PTPIP.md §3)."""

    InitCommandRequest = 1
    InitCommandAck = 2
    InitEventRequest = 3
    InitEventAck = 4
    InitFail = 5
    OperationRequest = 6
    OperationResponse = 7
    Event = 8
    StartData = 9
    Data = 10
    Cancel = 11
    EndData = 12
    ProbeRequest = 13
    ProbeResponse = 14


class DataPhase(IntEnum):
    """DataPhaseInfo of an OperationRequest (PTPIP.md §4.6)."""

    NoDataOrDataIn = 1
    DataOut = 2
    Unknown = 3


class InitFailReason(IntEnum):
    """Reason codes of InitFail (PTPIP.md §4.5). A dialect may have its own (Fuji's: :mod:`ptpipd.ip.fuji`)."""

    RejectedInitiator = 0x0000_0001
    Busy = 0x0000_0002
    Unspecified = 0x0000_0003


INIT_FAIL_TEXT: Mapping[int, str] = {
    InitFailReason.RejectedInitiator: "the camera does not allow this initiator",
    InitFailReason.Busy: "the camera has too many active connections",
    InitFailReason.Unspecified: "the camera refused the connection (unspecified reason)",
}


# --------------------------------------------------------------------------------------------------------
# Friendly names and GUIDs
# --------------------------------------------------------------------------------------------------------


def encode_name(name: str) -> bytes:
    """A PTP/IP friendly name: UTF-16LE code units and a 0x0000 terminator, no length prefix (PTPIP.md §6)."""
    if "\x00" in name:
        raise LocalProtocolError("a friendly name may not contain NUL")
    try:
        return name.encode("utf-16-le") + b"\x00\x00"
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"a friendly name must be valid text: {exc}") from None


def decode_name(data: Buffer, offset: int, end: int, what: str) -> tuple[str, int]:
    """Reads a NUL-terminated UTF-16LE name in ``data[offset:end]``; returns it and the offset after it."""
    pos = offset
    while pos + 2 <= end:
        if data[pos] == 0 and data[pos + 1] == 0:
            try:
                text = bytes(data[offset:pos]).decode("utf-16-le")
            except UnicodeDecodeError as exc:
                raise RemoteProtocolError(f"{what}: friendly name is not valid UTF-16LE ({exc})") from None
            return text, pos + 2
        pos += 2
    raise RemoteProtocolError(f"{what}: friendly name at offset {offset} has no NUL terminator")


# --------------------------------------------------------------------------------------------------------
# Packets
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitCommandRequest:
    """Type 1, initiator → responder on the command/data connection::

    8        16       GUID (opaque bytes)
    24       2(n+1)   FriendlyName, UTF-16LE + 0x0000, no length prefix
    24+2(n+1) 4       ProtocolVersion u32 (0x00010000 = 1.0); some initiators omit it (version=None)
    """

    guid: bytes
    name: str
    version: int | None = PROTOCOL_VERSION_1_0


@dataclass(frozen=True, slots=True)
class InitCommandAck:
    """Type 2, responder → initiator::

    8        4        ConnectionNumber u32 (chosen by the responder, echoed in InitEventRequest)
    12       16       Responder GUID
    28       2(n+1)   Responder FriendlyName, UTF-16LE + 0x0000
    ...      4        ProtocolVersion u32 (may be absent: version=None)
    """

    connection_number: int
    guid: bytes
    name: str
    version: int | None = PROTOCOL_VERSION_1_0


@dataclass(frozen=True, slots=True)
class InitEventRequest:
    """Type 3, initiator → responder on the event connection: ``8  4  ConnectionNumber u32``."""

    connection_number: int


@dataclass(frozen=True, slots=True)
class InitEventAck:
    """Type 4, responder → initiator on the event connection; no payload."""


@dataclass(frozen=True, slots=True)
class InitFail:
    """Type 5, responder → initiator on the connection being initialised: ``8  4  Reason u32``."""

    reason: int


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """Type 6, initiator → responder::

    8        4        DataPhaseInfo u32 (1 none/in, 2 out, 3 unknown)
    12       2        OperationCode u16
    14       4        TransactionID u32
    18       4·N      Param1..ParamN u32, N = 0..5, from the length
    """

    data_phase: int
    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class OperationResponse:
    """Type 7, responder → initiator::

    8        2        ResponseCode u16
    10       4        TransactionID u32
    14       4·N      Param u32 × N, N = 0..5
    """

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """Type 8, responder → initiator on the event connection::

    8        2        EventCode u16
    10       4        TransactionID u32
    14       4·N      Param u32 × N, N = 0..3 on the wire
    """

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StartData:
    """Type 9, either direction::

    8        4        TransactionID u32
    12       8        TotalDataLength u64 (payload bytes to follow; 0xFFFF_FFFF_FFFF_FFFF = unknown)
    """

    transaction_id: int
    total_length: int

    @property
    def known_length(self) -> int | None:
        """The announced payload size, or None for the "unknown length" marker."""
        return None if self.total_length == UNKNOWN_LENGTH else self.total_length


@dataclass(frozen=True, slots=True)
class Data:
    """Type 10, either direction: ``8  4  TransactionID u32``, then data bytes to the end of the packet.

    A streaming decoder may deliver the payload of one wire packet as several :class:`Data` values.
    """

    transaction_id: int
    payload: Buffer = field(default=b"", compare=True)


@dataclass(frozen=True, slots=True)
class Cancel:
    """Type 11: ``8  4  TransactionID u32`` of the transaction to cancel."""

    transaction_id: int


@dataclass(frozen=True, slots=True)
class EndData:
    """Type 12, either direction: ``8  4  TransactionID u32``, then the last data bytes (possibly none)."""

    transaction_id: int
    payload: Buffer = b""


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """Type 13, either direction on the event connection; no payload. The receiver answers at once."""


@dataclass(frozen=True, slots=True)
class ProbeResponse:
    """Type 14, the answer to :class:`ProbeRequest`; no payload."""


Packet = (
    InitCommandRequest
    | InitCommandAck
    | InitEventRequest
    | InitEventAck
    | InitFail
    | OperationRequest
    | OperationResponse
    | Event
    | StartData
    | Data
    | Cancel
    | EndData
    | ProbeRequest
    | ProbeResponse
)


class _Layout:
    """A packet's payload: fixed fields packed by ``head`` (the first dataclass fields), then the ``tail``:

    * ``"init"``: GUID (16 bytes), friendly name, optional ProtocolVersion u32 (the init packets);
    * ``"params"``: up to ``most`` u32 parameters, as many as the length leaves room for;
    * ``"payload"``: raw data bytes to the end of the packet;
    * ``""``: nothing, the payload is exactly ``head.size`` bytes.
    """

    def __init__(self, cls: type[Packet], head: str, tail: str = "", most: int = 0) -> None:
        self.cls = cls
        self.ptype = PacketType[cls.__name__]
        self.head = struct.Struct("<" + head)
        self.fixed = len(self.head.unpack(bytes(self.head.size)))  # how many fields ``head`` packs
        self.tail = tail
        self.most = most


_LAYOUTS = (
    _Layout(InitCommandRequest, "", "init"),
    _Layout(InitCommandAck, "I", "init"),
    _Layout(InitEventRequest, "I"),
    _Layout(InitEventAck, ""),
    _Layout(InitFail, "I"),
    _Layout(OperationRequest, "IHI", "params", 5),
    _Layout(OperationResponse, "HI", "params", 5),
    _Layout(Event, "HI", "params", 3),
    _Layout(StartData, "IQ"),
    _Layout(Data, "I", "payload"),
    _Layout(Cancel, "I"),
    _Layout(EndData, "I", "payload"),
    _Layout(ProbeRequest, ""),
    _Layout(ProbeResponse, ""),
)
_BY_CLASS: dict[type, _Layout] = {layout.cls: layout for layout in _LAYOUTS}
_BY_TYPE: dict[int, _Layout] = {layout.ptype: layout for layout in _LAYOUTS}


def encode(packet: Packet) -> bytes:
    """The wire bytes of one packet, header included. Raises :class:`LocalProtocolError` on bad fields."""
    layout = _BY_CLASS.get(type(packet))
    if layout is None:
        raise LocalProtocolError(f"not a PTP/IP packet: {packet!r}")
    values = [getattr(packet, name) for name in layout.cls.__match_args__]
    try:
        body = layout.head.pack(*values[: layout.fixed]) + _encode_tail(layout, values[layout.fixed :])
    except struct.error as exc:
        raise LocalProtocolError(
            f"{layout.cls.__name__}: a field does not fit its wire type ({exc})"
        ) from None
    return HEADER.pack(HEADER_SIZE + len(body), layout.ptype) + body


def _encode_tail(layout: _Layout, values: list[Any]) -> bytes:
    if layout.tail == "init":
        guid: bytes = values[0]
        name, version = values[1:]
        if len(guid) != 16:
            raise LocalProtocolError(f"a GUID is 16 bytes, got {len(guid)}")
        return guid + encode_name(name) + (b"" if version is None else U32.pack(version))
    if layout.tail == "params":
        (params,) = values
        if len(params) > layout.most:
            raise LocalProtocolError(
                f"{layout.cls.__name__} carries at most {layout.most} parameters, got {len(params)}"
            )
        return struct.pack(f"<{len(params)}I", *params)
    return bytes(values[0]) if values else b""


def encode_header(ptype: PacketType, payload_length: int) -> bytes:
    """Only the 8-byte header, for writers that send a large payload separately."""
    return HEADER.pack(HEADER_SIZE + payload_length, ptype)


def decode_generic(data: Buffer) -> Packet:
    """Decodes exactly one whole packet (header included).

    Raises :class:`RemoteProtocolError` with the reason when the length field disagrees with the data,
    the packet type is unknown, or the payload does not fit the type's layout.
    """
    if len(data) < HEADER_SIZE:
        raise RemoteProtocolError(f"packet of {len(data)} bytes is shorter than the 8-byte header")
    length, ptype = HEADER.unpack_from(data, 0)
    if length != len(data):
        raise RemoteProtocolError(f"length field says {length} bytes but the packet has {len(data)}")
    return decode_body(ptype, memoryview(data)[HEADER_SIZE:])


def decode_body(ptype: int, body: memoryview) -> Packet:
    """Decodes a packet from its type and the payload after the 8-byte header."""
    layout = _BY_TYPE.get(ptype)
    if layout is None:
        raise RemoteProtocolError(f"unknown PTP/IP packet type {ptype}")
    what, size, tail = layout.cls.__name__, layout.head.size, layout.tail
    if len(body) < size or (not tail and len(body) != size):
        raise RemoteProtocolError(f"{what}: payload of {len(body)} bytes does not fit its {size}-byte fields")
    values: tuple[Any, ...] = layout.head.unpack_from(body, 0)
    if tail == "init":
        if len(body) < size + 18:
            raise RemoteProtocolError(f"{what}: too short for a GUID and a friendly name")
        guid = bytes(body[size : size + 16])
        name, end = decode_name(body, size + 16, len(body), what)
        values += (guid, name, _version_tail(what, body, end))
    elif tail == "params":
        values += (_params(what, body, size, layout.most),)
    elif tail == "payload":
        values += (bytes(body[size:]),)
    return layout.cls(*values)


def _params(what: str, body: memoryview, offset: int, most: int) -> tuple[int, ...]:
    rest = len(body) - offset
    if rest % 4:
        raise RemoteProtocolError(f"{what}: {len(body)}-byte payload is not {offset} + 4·N bytes")
    if rest // 4 > most:
        raise RemoteProtocolError(f"{what}: {rest // 4} parameters, at most {most} allowed")
    return struct.unpack_from(f"<{rest // 4}I", body, offset)


def _version_tail(what: str, body: memoryview, offset: int) -> int | None:
    rest = len(body) - offset
    if rest == 0:
        return None  # atotto-style packets omit the version (PTPIP.md §5 rule 6)
    if rest < 4:
        raise RemoteProtocolError(f"{what}: {rest} stray bytes after the friendly name")
    version: int = U32.unpack_from(body, offset)[0]
    return version  # anything after the version is ignored, as libgphoto2 does

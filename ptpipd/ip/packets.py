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
from dataclasses import dataclass, field
from enum import IntEnum

from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError

HEADER = struct.Struct("<II")
HEADER_SIZE = 8
U32 = struct.Struct("<I")
PROTOCOL_VERSION_1_0 = 0x00010000
#: TotalDataLength value of StartData meaning "unknown length": the data phase ends at EndData.
UNKNOWN_LENGTH = 0xFFFF_FFFF_FFFF_FFFF

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
    """Reason codes of InitFail (PTPIP.md §4.5); the Fuji ones equal PTP response codes."""

    RejectedInitiator = 0x0000_0001
    Busy = 0x0000_0002
    Unspecified = 0x0000_0003
    FujiDeviceBusy = 0x0000_2019
    FujiInvalidParameter = 0x0000_201D


INIT_FAIL_TEXT = {
    InitFailReason.RejectedInitiator: "the camera does not allow this initiator",
    InitFailReason.Busy: "the camera has too many active connections",
    InitFailReason.Unspecified: "the camera refused the connection (unspecified reason)",
    InitFailReason.FujiDeviceBusy: "the camera is busy or does not know this client name",
    InitFailReason.FujiInvalidParameter: "the camera rejected the protocol version",
}


def init_fail_text(reason: int) -> str:
    """A human explanation of an InitFail reason code."""
    try:
        return f"{INIT_FAIL_TEXT[InitFailReason(reason)]} (InitFail 0x{reason:08X})"
    except ValueError:
        return f"the camera refused the connection (InitFail 0x{reason:08X})"


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


def _check_guid(guid: bytes) -> None:
    if len(guid) != 16:
        raise LocalProtocolError(f"a GUID is 16 bytes, got {len(guid)}")


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF_FFFF:
        raise LocalProtocolError(f"{what} {value} does not fit in 32 bits")


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise LocalProtocolError(f"{what} {value} does not fit in 16 bits")


def _check_params(params: tuple[int, ...], most: int, what: str) -> None:
    if len(params) > most:
        raise LocalProtocolError(f"{what} carries at most {most} parameters, got {len(params)}")
    for p in params:
        _check_u32(p, f"{what} parameter")


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

_OPREQ = struct.Struct("<IHI")  # data phase, opcode, transaction id
_CODE_TID = struct.Struct("<HI")  # response/event code, transaction id
_START_DATA = struct.Struct("<IQ")


def _params_bytes(params: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(params)}I", *params)


def encode(packet: Packet) -> bytes:
    """The wire bytes of one packet, header included. Raises :class:`LocalProtocolError` on bad fields."""
    ptype, body = _encode_body(packet)
    return HEADER.pack(HEADER_SIZE + len(body), ptype) + body


def encode_header(ptype: PacketType, payload_length: int) -> bytes:
    """Only the 8-byte header, for writers that send a large payload separately."""
    return HEADER.pack(HEADER_SIZE + payload_length, ptype)


def _encode_body(packet: Packet) -> tuple[int, bytes]:
    match packet:
        case InitCommandRequest(guid, name, version):
            _check_guid(guid)
            tail = b"" if version is None else U32.pack(version)
            return PacketType.InitCommandRequest, guid + encode_name(name) + tail
        case InitCommandAck(number, guid, name, version):
            _check_guid(guid)
            _check_u32(number, "connection number")
            tail = b"" if version is None else U32.pack(version)
            return PacketType.InitCommandAck, U32.pack(number) + guid + encode_name(name) + tail
        case InitEventRequest(number):
            _check_u32(number, "connection number")
            return PacketType.InitEventRequest, U32.pack(number)
        case InitEventAck():
            return PacketType.InitEventAck, b""
        case InitFail(reason):
            _check_u32(reason, "InitFail reason")
            return PacketType.InitFail, U32.pack(reason)
        case OperationRequest(phase, code, tid, params):
            _check_u32(phase, "data phase")
            _check_u16(code, "operation code")
            _check_u32(tid, "transaction id")
            _check_params(params, 5, "OperationRequest")
            return PacketType.OperationRequest, _OPREQ.pack(phase, code, tid) + _params_bytes(params)
        case OperationResponse(code, tid, params):
            _check_u16(code, "response code")
            _check_u32(tid, "transaction id")
            _check_params(params, 5, "OperationResponse")
            return PacketType.OperationResponse, _CODE_TID.pack(code, tid) + _params_bytes(params)
        case Event(code, tid, params):
            _check_u16(code, "event code")
            _check_u32(tid, "transaction id")
            _check_params(params, 3, "Event")
            return PacketType.Event, _CODE_TID.pack(code, tid) + _params_bytes(params)
        case StartData(tid, total):
            _check_u32(tid, "transaction id")
            if not 0 <= total <= UNKNOWN_LENGTH:
                raise LocalProtocolError(f"total data length {total} does not fit in 64 bits")
            return PacketType.StartData, _START_DATA.pack(tid, total)
        case Data(tid, payload):
            _check_u32(tid, "transaction id")
            return PacketType.Data, U32.pack(tid) + bytes(payload)
        case Cancel(tid):
            _check_u32(tid, "transaction id")
            return PacketType.Cancel, U32.pack(tid)
        case EndData(tid, payload):
            _check_u32(tid, "transaction id")
            return PacketType.EndData, U32.pack(tid) + bytes(payload)
        case ProbeRequest():
            return PacketType.ProbeRequest, b""
        case ProbeResponse():
            return PacketType.ProbeResponse, b""
    raise LocalProtocolError(f"not a PTP/IP packet: {packet!r}")


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


def _fixed(name: str, body: memoryview, size: int) -> None:
    if len(body) != size:
        raise RemoteProtocolError(f"{name}: payload must be {size} bytes, got {len(body)}")


def _params(name: str, body: memoryview, offset: int, most: int) -> tuple[int, ...]:
    rest = len(body) - offset
    if rest < 0 or rest % 4:
        raise RemoteProtocolError(f"{name}: {len(body)}-byte payload is not {offset} + 4·N bytes")
    count = rest // 4
    if count > most:
        raise RemoteProtocolError(f"{name}: {count} parameters, at most {most} allowed")
    return struct.unpack_from(f"<{count}I", body, offset)


def _version_tail(name: str, body: memoryview, offset: int) -> int | None:
    rest = len(body) - offset
    if rest == 0:
        return None  # atotto-style packets omit the version (PTPIP.md §5 rule 6)
    if rest < 4:
        raise RemoteProtocolError(f"{name}: {rest} stray bytes after the friendly name")
    version: int = U32.unpack_from(body, offset)[0]
    return version  # anything after the version is ignored, as libgphoto2 does


def decode_body(ptype: int, body: memoryview) -> Packet:
    """Decodes a packet from its type and the payload after the 8-byte header."""
    match ptype:
        case PacketType.InitCommandRequest:
            if len(body) < 18:
                raise RemoteProtocolError("InitCommandRequest: too short for a GUID and a name")
            name, end = decode_name(body, 16, len(body), "InitCommandRequest")
            return InitCommandRequest(bytes(body[:16]), name, _version_tail("InitCommandRequest", body, end))
        case PacketType.InitCommandAck:
            if len(body) < 22:
                raise RemoteProtocolError("InitCommandAck: too short for a number, a GUID and a name")
            name, end = decode_name(body, 20, len(body), "InitCommandAck")
            number = U32.unpack_from(body, 0)[0]
            return InitCommandAck(number, bytes(body[4:20]), name, _version_tail("InitCommandAck", body, end))
        case PacketType.InitEventRequest:
            _fixed("InitEventRequest", body, 4)
            return InitEventRequest(U32.unpack_from(body, 0)[0])
        case PacketType.InitEventAck:
            _fixed("InitEventAck", body, 0)
            return InitEventAck()
        case PacketType.InitFail:
            _fixed("InitFail", body, 4)
            return InitFail(U32.unpack_from(body, 0)[0])
        case PacketType.OperationRequest:
            if len(body) < _OPREQ.size:
                raise RemoteProtocolError(f"OperationRequest: payload of {len(body)} bytes is too short")
            phase, code, tid = _OPREQ.unpack_from(body, 0)
            return OperationRequest(phase, code, tid, _params("OperationRequest", body, _OPREQ.size, 5))
        case PacketType.OperationResponse:
            if len(body) < _CODE_TID.size:
                raise RemoteProtocolError(f"OperationResponse: payload of {len(body)} bytes is too short")
            code, tid = _CODE_TID.unpack_from(body, 0)
            return OperationResponse(code, tid, _params("OperationResponse", body, _CODE_TID.size, 5))
        case PacketType.Event:
            if len(body) < _CODE_TID.size:
                raise RemoteProtocolError(f"Event: payload of {len(body)} bytes is too short")
            code, tid = _CODE_TID.unpack_from(body, 0)
            return Event(code, tid, _params("Event", body, _CODE_TID.size, 3))
        case PacketType.StartData:
            _fixed("StartData", body, _START_DATA.size)
            tid, total = _START_DATA.unpack_from(body, 0)
            return StartData(tid, total)
        case PacketType.Data | PacketType.EndData:
            if len(body) < 4:
                raise RemoteProtocolError(f"{PacketType(ptype).name}: payload too short for a transaction id")
            tid = U32.unpack_from(body, 0)[0]
            cls = Data if ptype == PacketType.Data else EndData
            return cls(tid, bytes(body[4:]))
        case PacketType.Cancel:
            _fixed("Cancel", body, 4)
            return Cancel(U32.unpack_from(body, 0)[0])
        case PacketType.ProbeRequest:
            _fixed("ProbeRequest", body, 0)
            return ProbeRequest()
        case PacketType.ProbeResponse:
            _fixed("ProbeResponse", body, 0)
            return ProbeResponse()
    raise RemoteProtocolError(f"unknown PTP/IP packet type {ptype}")


def packet_type(packet: Packet) -> PacketType:
    """The PacketType of a packet dataclass."""
    return PacketType[type(packet).__name__]

"""Fujifilm's Wi-Fi dialect of PTP/IP (FUJI.md §2–§3): the init packet, then PTP "USB bulk" containers.

Only the first exchange on the command port uses PTP/IP framing. The initiator's request puts a magic
protocol version *first*::

    offset  size  field
    0       4     Length u32 (82 in the fixed form libgphoto2, hkr and Fuji's apps send)
    4       4     PacketType u32 = 1
    8       4     ProtocolVersion u32 = 0x8F53E4F2
    12      16    Initiator GUID
    28      54    FriendlyName, UTF-16LE + NUL, zero-padded (≤ 26 characters); malc0mn sends it unpadded

The camera answers with a standard InitCommandAck (or InitFail: 0x2019 name refused/busy, 0x201D wrong
version). After that every packet, on the command *and* the event port, is a container::

    offset  size  field
    0       4     Length u32 of the whole container
    4       2     ContainerType u16: 1 command, 2 data, 3 response, 4 event
    6       2     Code u16: the operation code (command and data), response code, event code
    8       4     TransactionID u32
    12      ...   parameters (u32 each) for commands, responses and events; raw bytes for data

There is no StartData/EndData: one data container carries a whole data phase. The event port has no
handshake at all. hkr's tool ends a session with the 8-byte marker ``08 00 00 00 ff ff ff ff``.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Codec, Decoded, Dialect, ExtraPacket, FramedCodec, Role
from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.framing import (
    DEFAULT_MAX_FRAME,
    DEFAULT_STREAM_THRESHOLD,
    FrameChunk,
    FrameHead,
    FrameReader,
)
from ptpipd.ip.packets import Buffer, Packet

#: The ProtocolVersion Fuji cameras expect in the init request (bytes ``f2 e4 53 8f``).
FUJI_PROTOCOL_VERSION = 0x8F53E4F2
#: Size of the fixed-form init request; the X-T4 closes the connection for any other length.
INIT_REQUEST_SIZE = 82
NAME_FIELD_SIZE = INIT_REQUEST_SIZE - 28
MAX_NAME_CHARS = NAME_FIELD_SIZE // 2 - 1
CONTAINER_HEADER = struct.Struct("<IHHI")  # length, type, code, transaction id
TERMINATE_MARKER = b"\x08\x00\x00\x00\xff\xff\xff\xff"
_INIT_HEAD = struct.Struct("<III")  # length, packet type, protocol version


class ContainerKind(IntEnum):
    """The u16 container type after the length (PTP USB bulk container types)."""

    Command = 1
    Data = 2
    Response = 3
    Event = 4


@dataclass(frozen=True, slots=True)
class Container:
    """One Fuji container. ``payload`` holds the u32 parameters (command/response/event) or the data."""

    kind: int
    code: int
    transaction_id: int
    payload: bytes = b""

    @property
    def params(self) -> tuple[int, ...]:
        """The payload read as u32 parameters (commands, responses, events)."""
        if len(self.payload) % 4:
            raise RemoteProtocolError(
                f"container type {self.kind}: {len(self.payload)}-byte payload is not a list of u32 values"
            )
        return struct.unpack(f"<{len(self.payload) // 4}I", self.payload)

    @classmethod
    def with_params(cls, kind: int, code: int, transaction_id: int, params: tuple[int, ...]) -> Container:
        """A command, response or event container carrying ``params``."""
        for p in params:
            if not 0 <= p <= 0xFFFF_FFFF:
                raise LocalProtocolError(f"parameter {p} does not fit in 32 bits")
        return cls(kind, code, transaction_id, struct.pack(f"<{len(params)}I", *params))


@dataclass(frozen=True, slots=True)
class FujiInitCommandRequest(ExtraPacket):
    """The Fuji init request (layout in the module docstring). ``fixed_length`` selects the 82-byte form."""

    guid: bytes
    name: str
    version: int = FUJI_PROTOCOL_VERSION
    fixed_length: bool = True


@dataclass(frozen=True, slots=True)
class TerminateMarker(ExtraPacket):
    """hkr's 8-byte end-of-session marker ``08 00 00 00 ff ff ff ff`` (also seen as an error/busy reply)."""


def encode_container(container: Container) -> bytes:
    """The wire bytes of a container."""
    c = container
    if not (0 <= c.kind <= 0xFFFF and 0 <= c.code <= 0xFFFF and 0 <= c.transaction_id <= 0xFFFF_FFFF):
        raise LocalProtocolError(f"container field out of range: {c!r}")
    return CONTAINER_HEADER.pack(
        CONTAINER_HEADER.size + len(c.payload), c.kind, c.code, c.transaction_id
    ) + bytes(c.payload)


def decode_container(data: Buffer) -> Container:
    """Decodes one whole container (at least 12 bytes, length field equal to the data's size)."""
    if len(data) < CONTAINER_HEADER.size:
        raise RemoteProtocolError(f"Fuji container of {len(data)} bytes is shorter than its 12-byte header")
    length, kind, code, tid = CONTAINER_HEADER.unpack_from(data, 0)
    if length != len(data):
        raise RemoteProtocolError(f"Fuji container length field says {length} bytes but it has {len(data)}")
    return Container(kind, code, tid, bytes(data[CONTAINER_HEADER.size :]))


def decode_frame(data: Buffer) -> Container | TerminateMarker:
    """Decodes a container, or the 8-byte terminate marker."""
    if bytes(data) == TERMINATE_MARKER:
        return TerminateMarker()
    return decode_container(data)


def encode_init_command_request(guid: bytes, name: str, *, fixed_length: bool = True) -> bytes:
    """The Fuji init request: 82 bytes by default (name zero-padded), or malc0mn's variable-length form."""
    if len(guid) != 16:
        raise LocalProtocolError(f"a GUID is 16 bytes, got {len(guid)}")
    name_bytes = pk.encode_name(name)
    if fixed_length:
        if len(name) > MAX_NAME_CHARS or len(name_bytes) > NAME_FIELD_SIZE:
            raise LocalProtocolError(f"a Fuji client name has at most {MAX_NAME_CHARS} characters: {name!r}")
        name_bytes = name_bytes.ljust(NAME_FIELD_SIZE, b"\x00")
    body = struct.pack("<I", FUJI_PROTOCOL_VERSION) + guid + name_bytes
    return pk.encode_header(pk.PacketType.InitCommandRequest, len(body)) + body


def encode_fuji_init(request: FujiInitCommandRequest) -> bytes:
    """Encodes a :class:`FujiInitCommandRequest` (any version, for tests of refusals)."""
    raw = encode_init_command_request(request.guid, request.name, fixed_length=request.fixed_length)
    return raw[:8] + struct.pack("<I", request.version) + raw[12:]


def decode_init_command_request(data: Buffer) -> FujiInitCommandRequest:
    """Decodes a Fuji init request, in the fixed 82-byte form or the variable one."""
    if len(data) < 30:
        raise RemoteProtocolError(f"Fuji init request of {len(data)} bytes is too short")
    length, ptype, version = _INIT_HEAD.unpack_from(data, 0)
    if length != len(data):
        raise RemoteProtocolError(f"Fuji init request length field says {length} but it has {len(data)}")
    if ptype != pk.PacketType.InitCommandRequest:
        raise RemoteProtocolError(f"expected an init request (type 1), got packet type {ptype}")
    name, end = pk.decode_name(data, 28, len(data), "Fuji init request")
    if any(bytes(data[end:])):
        raise RemoteProtocolError("Fuji init request: non-zero bytes after the friendly name")
    return FujiInitCommandRequest(
        bytes(data[12:28]), name, version, fixed_length=len(data) == INIT_REQUEST_SIZE
    )


def _is_data_container(head: bytes) -> bool:
    return bool(struct.unpack_from("<H", head, 4)[0] == ContainerKind.Data)


def _is_repeated_init(frame: bytes) -> bool:
    # libgphoto2 2.5.30 sends the init request twice; read as a container it is kind 1, code 0 and a TID
    # equal to the magic version, which no real command has.
    return len(frame) >= 30 and _INIT_HEAD.unpack_from(frame, 4)[:2] == (1, FUJI_PROTOCOL_VERSION)


class FujiCodec(FramedCodec[Decoded]):
    """Sans-I/O codec for the Fuji dialect on the command port or the event port.

    The command port starts in the init phase (PTP/IP framing); an initiator codec switches to containers
    by itself when it decodes the InitCommandAck, a responder codec when :meth:`start_containers` is called
    after it has sent its ack. An event-port codec is created with ``containers=True``.
    """

    dialect = "fuji"

    def __init__(
        self,
        role: Role,
        *,
        containers: bool = False,
        max_packet: int = DEFAULT_MAX_FRAME,
        stream_threshold: int = DEFAULT_STREAM_THRESHOLD,
    ) -> None:
        self.containers = containers
        reader = FrameReader(
            min_length=8,
            head_size=12,
            is_streamed=self._streamable,
            max_length=max_packet,
            stream_threshold=stream_threshold,
            what="Fuji container",
        )
        super().__init__(role, reader)
        self._ready: deque[Decoded] = deque()
        self._stream_tid = 0

    def _streamable(self, head: bytes) -> bool:
        return self.containers and _is_data_container(head)

    def start_containers(self) -> None:
        """Switches from the init phase to container framing."""
        self.containers = True

    def _next_event(self) -> Decoded | None:
        while not self._ready:
            frame = self._reader.next_frame()
            if frame is None:
                return None
            if isinstance(frame, FrameHead):
                _, _, _, self._stream_tid = CONTAINER_HEADER.unpack_from(frame.head, 0)
                self._ready.append(pk.StartData(self._stream_tid, frame.length - CONTAINER_HEADER.size))
            elif isinstance(frame, FrameChunk):
                self._chunk(frame)
            elif self.containers:
                self._container(frame)
            else:
                self._init_packet(frame)
        return self._ready.popleft()

    def _chunk(self, chunk: FrameChunk) -> None:
        if chunk.last:
            self._ready.append(pk.EndData(self._stream_tid, chunk.data))
        elif chunk.data:
            self._ready.append(pk.Data(self._stream_tid, chunk.data))

    def _init_packet(self, frame: bytes) -> None:
        if self.role is Role.RESPONDER:
            ptype = struct.unpack_from("<I", frame, 4)[0]
            if ptype == pk.PacketType.InitCommandRequest:
                self._ready.append(decode_init_command_request(frame))
                return
        packet = pk.decode_generic(frame)
        if isinstance(packet, pk.InitCommandAck) and self.role is Role.INITIATOR:
            self.containers = True
        self._ready.append(packet)

    def _container(self, frame: bytes) -> None:
        if len(frame) < CONTAINER_HEADER.size:
            if frame == TERMINATE_MARKER:
                self._ready.append(TerminateMarker())
                return
            raise RemoteProtocolError(f"Fuji container of {len(frame)} bytes is shorter than its header")
        if self.role is Role.RESPONDER and _is_repeated_init(frame):
            self._ready.append(decode_init_command_request(frame))
            return
        c = decode_container(frame)
        match c.kind:
            case ContainerKind.Command:
                params = c.params
                if len(params) > 5:
                    raise RemoteProtocolError(f"command container with {len(params)} parameters (at most 5)")
                self._ready.append(
                    pk.OperationRequest(pk.DataPhase.NoDataOrDataIn, c.code, c.transaction_id, params)
                )
            case ContainerKind.Data:
                self._ready.append(pk.StartData(c.transaction_id, len(c.payload)))
                self._ready.append(pk.EndData(c.transaction_id, c.payload))
            case ContainerKind.Response:
                params = c.params
                if len(params) > 5:
                    raise RemoteProtocolError(f"response container with {len(params)} parameters (at most 5)")
                self._ready.append(pk.OperationResponse(c.code, c.transaction_id, params))
            case ContainerKind.Event:
                self._ready.append(pk.Event(c.code, c.transaction_id, c.params))
            case _:
                raise RemoteProtocolError(f"unknown Fuji container type {c.kind}")

    def encode(self, packet: Packet) -> bytes:
        """Requests, responses and events as containers; handshake packets in PTP/IP framing."""
        match packet:
            case pk.OperationRequest(_, code, tid, params):
                return encode_container(Container.with_params(ContainerKind.Command, code, tid, params))
            case pk.OperationResponse(code, tid, params):
                return encode_container(Container.with_params(ContainerKind.Response, code, tid, params))
            case pk.Event(code, tid, params):
                return encode_container(Container.with_params(ContainerKind.Event, code, tid, params))
            case pk.InitCommandAck() | pk.InitFail() | pk.InitCommandRequest():
                return pk.encode(packet)
        raise LocalProtocolError(f"{type(packet).__name__} has no Fuji encoding; use encode_data for data")

    def encode_data(self, transaction_id: int, code: int, payload: Buffer) -> list[bytes]:
        """One data container carrying the whole payload."""
        return [encode_container(Container(ContainerKind.Data, code, transaction_id, bytes(payload)))]

    def data_pieces(
        self, transaction_id: int, code: int, total: int, chunks: Iterator[Buffer]
    ) -> Iterator[Buffer]:
        """The data container's header, then the payload pieces as they come."""
        yield CONTAINER_HEADER.pack(CONTAINER_HEADER.size + total, ContainerKind.Data, code, transaction_id)
        sent = 0
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
        if sent != total:
            raise LocalProtocolError(f"data container announced {total} bytes but produced {sent}")


def _fuji_command_codec(role: Role) -> Codec:
    return FujiCodec(role)


def _fuji_event_codec(role: Role) -> Codec:
    return FujiCodec(role, containers=True)


#: Fuji Wi-Fi: 82-byte init request, containers afterwards, no event handshake, OpenSession with TID 1
#: (what malc0mn's X-T1 client sends; FUJI.md §4).
FUJI = Dialect(
    name="fuji",
    command_codec=_fuji_command_codec,
    event_codec=_fuji_event_codec,
    init_request=encode_init_command_request,
    event_handshake=False,
    open_session_transaction_id=1,
    probes=False,
)

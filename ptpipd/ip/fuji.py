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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import partial

from ptpipd.ip import packets as pk
from ptpipd.ip.codec import Codec, Dialect, ExtraPacket, Role
from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.framing import DEFAULT_MAX_FRAME, DEFAULT_STREAM_THRESHOLD, FrameHead, FrameReader
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


class FujiInitFail(IntEnum):
    """Fuji's InitFail reasons (FUJI.md): PTP response codes rather than the standard 1–3."""

    #: A session is active, or the camera knows another client name (it asks the user: change / retry).
    DeviceBusy = 0x0000_2019
    #: The init request's protocol version is not Fuji's.
    InvalidParameter = 0x0000_201D


#: What each InitFail reason of a Fuji camera means (the standard ones, and Fuji's own).
FUJI_INIT_FAIL_TEXT: Mapping[int, str] = {
    **pk.INIT_FAIL_TEXT,
    FujiInitFail.DeviceBusy: "the camera is busy or does not know this client name",
    FujiInitFail.InvalidParameter: "the camera rejected the protocol version",
}


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
        """A command, response or event container carrying ``params`` (at most five, as the decoder and a
        camera take: a sixth would make the camera drop the session)."""
        if len(params) > 5:
            raise LocalProtocolError(f"a container carries at most 5 parameters, got {len(params)}")
        if not 0 <= code <= 0xFFFF:
            raise LocalProtocolError(f"code 0x{code:X} does not fit in 16 bits")
        try:
            return cls(kind, code, transaction_id, struct.pack(f"<{len(params)}I", *params))
        except struct.error as exc:
            raise LocalProtocolError(f"a parameter does not fit in 32 bits ({exc})") from None


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
    try:
        head = CONTAINER_HEADER.pack(CONTAINER_HEADER.size + len(c.payload), c.kind, c.code, c.transaction_id)
    except struct.error:
        raise LocalProtocolError(f"container field out of range: {c!r}") from None
    return head + bytes(c.payload)


def decode_container(data: Buffer) -> Container:
    """Decodes one whole container (at least 12 bytes, length field equal to the data's size)."""
    if len(data) < CONTAINER_HEADER.size:
        raise RemoteProtocolError(f"Fuji container of {len(data)} bytes is shorter than its 12-byte header")
    length, kind, code, tid = CONTAINER_HEADER.unpack_from(data, 0)
    if length != len(data):
        raise RemoteProtocolError(f"Fuji container length field says {length} bytes but it has {len(data)}")
    return Container(kind, code, tid, bytes(data[CONTAINER_HEADER.size :]))


def encode_init_command_request(
    guid: bytes, name: str, *, fixed_length: bool = True, version: int = FUJI_PROTOCOL_VERSION
) -> bytes:
    """The Fuji init request: 82 bytes by default (name zero-padded), or malc0mn's variable-length form;
    ``version`` is Fuji's unless given (tests of refusals send others)."""
    if len(guid) != 16:
        raise LocalProtocolError(f"a GUID is 16 bytes, got {len(guid)}")
    name_bytes = pk.encode_name(name)
    if fixed_length:
        if len(name) > MAX_NAME_CHARS or len(name_bytes) > NAME_FIELD_SIZE:
            raise LocalProtocolError(f"a Fuji client name has at most {MAX_NAME_CHARS} characters: {name!r}")
        name_bytes = name_bytes.ljust(NAME_FIELD_SIZE, b"\x00")
    body = pk.U32.pack(version) + guid + name_bytes
    return pk.encode_header(pk.PacketType.InitCommandRequest, len(body)) + body


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


def _is_repeated_init(frame: bytes) -> bool:
    # libgphoto2 2.5.30 sends the init request twice; read as a container it is kind 1, code 0 and a TID
    # equal to the magic version, which no real command has.
    return len(frame) >= 30 and _INIT_HEAD.unpack_from(frame, 4)[:2] == (1, FUJI_PROTOCOL_VERSION)


class FujiCodec(Codec):
    """Sans-I/O codec for the Fuji dialect on the command port or the event port.

    The command port starts in the init phase (PTP/IP framing); an initiator codec switches to containers
    by itself when it decodes the InitCommandAck, a responder codec when :meth:`start_containers` is called
    after it has sent its ack. An event-port codec is created with ``containers=True``.
    """

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

    def _streamable(self, head: bytes) -> bool:
        return self.containers and bool(struct.unpack_from("<H", head, 4)[0] == ContainerKind.Data)

    def start_containers(self) -> None:
        """Switches from the init phase to container framing."""
        self.containers = True

    def _head(self, frame: FrameHead) -> None:
        _, _, _, self._stream_tid = CONTAINER_HEADER.unpack_from(frame.head, 0)
        self._ready.append(pk.StartData(self._stream_tid, frame.length - CONTAINER_HEADER.size))

    def _frame(self, frame: bytes) -> None:
        if not self.containers:
            self._init_packet(frame)
        elif frame == TERMINATE_MARKER:
            self._ready.append(TerminateMarker())
        elif self.role is Role.RESPONDER and _is_repeated_init(frame):
            self._ready.append(decode_init_command_request(frame))
        else:
            self._container(decode_container(frame))

    def _init_packet(self, frame: bytes) -> None:
        if (
            self.role is Role.RESPONDER
            and pk.U32.unpack_from(frame, 4)[0] == pk.PacketType.InitCommandRequest
        ):
            self._ready.append(decode_init_command_request(frame))
            return
        packet = pk.decode_generic(frame)
        if isinstance(packet, pk.InitCommandAck) and self.role is Role.INITIATOR:
            self.containers = True
        self._ready.append(packet)

    def _container(self, c: Container) -> None:
        tid = c.transaction_id
        if c.kind == ContainerKind.Data:
            self._ready += (pk.StartData(tid, len(c.payload)), pk.EndData(tid, c.payload))
            return
        params = c.params
        if c.kind == ContainerKind.Event:
            self._ready.append(pk.Event(c.code, tid, params))
        elif c.kind not in (ContainerKind.Command, ContainerKind.Response):
            raise RemoteProtocolError(f"unknown Fuji container type {c.kind}")
        elif len(params) > 5:
            raise RemoteProtocolError(f"{ContainerKind(c.kind).name} container with {len(params)} parameters")
        elif c.kind == ContainerKind.Command:
            self._ready.append(pk.OperationRequest(pk.DataPhase.NoDataOrDataIn, c.code, tid, params))
        else:
            self._ready.append(pk.OperationResponse(c.code, tid, params))

    def encode(self, packet: Packet) -> bytes:
        """Requests, responses and events as containers; handshake packets in PTP/IP framing."""
        if isinstance(packet, pk.OperationRequest | pk.OperationResponse | pk.Event):
            kind = _CONTAINER_KINDS[type(packet)]
            return encode_container(
                Container.with_params(kind, packet.code, packet.transaction_id, packet.params)
            )
        if isinstance(packet, pk.InitCommandAck | pk.InitFail | pk.InitCommandRequest):
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


_CONTAINER_KINDS = {
    pk.OperationRequest: ContainerKind.Command,
    pk.OperationResponse: ContainerKind.Response,
    pk.Event: ContainerKind.Event,
}


#: Fuji Wi-Fi: 82-byte init request, containers afterwards, no event handshake, OpenSession with TID 1
#: (what malc0mn's X-T1 client sends; FUJI.md §4).
FUJI = Dialect(
    name="fuji",
    command_codec=FujiCodec,
    event_codec=partial(FujiCodec, containers=True),
    init_request=encode_init_command_request,
    event_handshake=False,
    open_session_transaction_id=1,
    probes=False,
    init_fail_texts=FUJI_INIT_FAIL_TEXT,
)

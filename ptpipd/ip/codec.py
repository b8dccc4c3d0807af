"""What the two dialect codecs have in common: the role they play and the interface both implement.

A codec is sans-I/O, in the manner of h11: feed it bytes with ``receive_data()``, take decoded packets out
with ``next_event()`` until it returns ``None``, and get the bytes to write from its ``encode*`` methods.
Both dialects decode to the *same* packet dataclasses (:mod:`ptpipd.ip.packets`), so the layers above never
need to know which dialect is on the wire:

* an operation request, response or event decodes to OperationRequest / OperationResponse / Event;
* a data phase decodes to ``StartData``, zero or more ``Data`` and a final ``EndData`` — whatever the wire
  used (PTP/IP's StartData/Data/EndData packets, or one Fuji data container). A large data packet comes out
  as several ``Data`` values whose payloads are views into the caller's buffer, valid until the next
  ``receive_data()``; drain ``next_event()`` to ``None`` before feeding more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Generic, Protocol, TypeVar

from ptpipd.ip.errors import RemoteProtocolError
from ptpipd.ip.framing import FrameReader, RawRecorder
from ptpipd.ip.packets import Buffer, Packet


class ExtraPacket:
    """Base of dialect-specific packets that are not among the 14 standard ones (e.g. Fuji's init request)."""

    __slots__ = ()


Decoded = Packet | ExtraPacket


class Role(Enum):
    """Which end of the connection a codec serves."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


T = TypeVar("T", bound=Packet | ExtraPacket)


class FramedCodec(Generic[T]):
    """What both dialects' codecs share: a :class:`FrameReader`, the raw recorder, and final errors."""

    def __init__(self, role: Role, reader: FrameReader) -> None:
        self.role = role
        self._reader = reader
        self._error: RemoteProtocolError | None = None

    @property
    def recorder(self) -> RawRecorder | None:
        """When set, a copy of every received frame is kept in it (bounded)."""
        return self._reader.recorder

    @recorder.setter
    def recorder(self, value: RawRecorder | None) -> None:
        self._reader.recorder = value

    def receive_data(self, data: Buffer) -> None:
        """Feeds bytes received from the peer."""
        self._reader.receive_data(data)

    def next_event(self) -> T | None:
        """The next decoded packet, or None when more bytes are needed. After a protocol error the codec
        keeps raising it: the bytes that follow cannot be trusted."""
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _next_event(self) -> T | None:
        raise NotImplementedError


class Codec(Protocol):
    """The interface of :class:`~ptpipd.ip.generic.GenericCodec` and :class:`~ptpipd.ip.fuji.FujiCodec`."""

    role: Role
    recorder: RawRecorder | None

    def receive_data(self, data: Buffer) -> None:
        """Feeds bytes received from the peer."""

    def next_event(self) -> Decoded | None:
        """The next decoded packet, or None when more bytes are needed."""

    def encode(self, packet: Packet) -> bytes:
        """The wire bytes of one request, response, event or handshake packet."""

    def encode_data(self, transaction_id: int, code: int, payload: Buffer) -> list[bytes]:
        """The packets of a whole data phase, each to be written with one write."""

    def data_pieces(
        self, transaction_id: int, code: int, total: int, chunks: Iterator[Buffer]
    ) -> Iterator[Buffer]:
        """Byte pieces of a data phase of ``total`` bytes streamed from ``chunks`` (for big objects)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one dialect sets up its connections; the codecs do the rest.

    ``event_handshake``: the event connection starts with InitEventRequest/Ack (standard) or with nothing
    (Fuji). ``open_session_transaction_id``: the TransactionID OpenSession goes out with. ``probes``: the
    dialect has ProbeRequest/ProbeResponse (Fuji's has none).
    """

    name: str
    command_codec: Callable[[Role], Codec]
    event_codec: Callable[[Role], Codec]
    init_request: Callable[[bytes, str], bytes]
    event_handshake: bool
    open_session_transaction_id: int
    probes: bool = True

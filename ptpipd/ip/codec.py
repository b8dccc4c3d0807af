"""What the two dialect codecs have in common: the role they play, the frame-to-packet loop, the interface.

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

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

from ptpipd.ip.errors import InitFailed, RemoteProtocolError
from ptpipd.ip.framing import FrameChunk, FrameHead, FrameReader
from ptpipd.ip.packets import INIT_FAIL_TEXT, Buffer, Data, EndData, Packet


class ExtraPacket:
    """Base of dialect-specific packets that are not among the 14 standard ones (e.g. Fuji's init request)."""

    __slots__ = ()


Decoded = Packet | ExtraPacket


class Role(Enum):
    """Which end of the connection a codec serves."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


class Codec:
    """The codec of one connection: a :class:`FrameReader` (``reader``; set ``reader.recorder`` to keep copies
    of the received frames) whose frames a dialect turns into packets, and the dialect's encoders.

    A dialect implements :meth:`_frame` (a whole frame), :meth:`_head` (the head of a data frame that is
    streamed: it sets ``_stream_tid``, and ``_stream_ends`` when the frame's last piece ends the data phase),
    and the three ``encode`` methods; decoded packets go to ``_ready``.
    """

    def __init__(self, role: Role, reader: FrameReader) -> None:
        self.role = role
        self.reader = reader
        self._ready: deque[Decoded] = deque()
        self._stream_tid = 0
        self._stream_ends = True

    @property
    def streaming_tid(self) -> int | None:
        """The TransactionID of the data frame whose body is still to arrive (:attr:`FrameReader.body_left`),
        or None."""
        return self._stream_tid if self.reader.body_left else None

    def receive_data(self, data: Buffer) -> None:
        """Feeds bytes received from the peer."""
        self.reader.receive_data(data)

    def next_event(self) -> Decoded | None:
        """The next decoded packet, or None when more bytes are needed. After a protocol error the codec
        keeps raising it (:meth:`FrameReader.fail`): the bytes that follow cannot be trusted."""
        try:
            while not self._ready:
                frame = self.reader.next_frame()
                if frame is None:
                    return None
                if isinstance(frame, FrameChunk):
                    self._chunk(frame)
                elif isinstance(frame, FrameHead):
                    self._head(frame)
                else:
                    self._frame(frame)
        except RemoteProtocolError as exc:
            self.reader.fail(exc)
            raise
        return self._ready.popleft()

    def _chunk(self, chunk: FrameChunk) -> None:
        if chunk.last and self._stream_ends:
            self._ready.append(EndData(self._stream_tid, chunk.data))
        elif chunk.data:
            self._ready.append(Data(self._stream_tid, chunk.data))

    def _head(self, frame: FrameHead) -> None:
        raise NotImplementedError

    def _frame(self, frame: bytes) -> None:
        raise NotImplementedError

    def encode(self, packet: Packet) -> bytes:
        """The wire bytes of one request, response, event or handshake packet."""
        raise NotImplementedError

    def encode_data(self, transaction_id: int, code: int, payload: Buffer) -> list[bytes]:
        """The packets of a whole data phase, each to be written with one write."""
        raise NotImplementedError

    def data_pieces(
        self, transaction_id: int, code: int, total: int, chunks: Iterator[Buffer]
    ) -> Iterator[Buffer]:
        """Byte pieces of a data phase of ``total`` bytes streamed from ``chunks`` (for big objects); the
        chunks must add up to ``total`` bytes exactly."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one dialect sets up its connections; the codecs do the rest.

    ``event_handshake``: the event connection starts with InitEventRequest/Ack (standard) or with nothing
    (Fuji). ``open_session_transaction_id``: the TransactionID OpenSession goes out with. ``probes``: the
    dialect has ProbeRequest/ProbeResponse (Fuji's has none). ``init_fail_texts``: what each InitFail reason
    of the dialect means (the standard ones, and the dialect's own).
    """

    name: str
    command_codec: Callable[[Role], Codec]
    event_codec: Callable[[Role], Codec]
    init_request: Callable[[bytes, str], bytes]
    event_handshake: bool
    open_session_transaction_id: int
    probes: bool = True
    init_fail_texts: Mapping[int, str] = field(default_factory=lambda: INIT_FAIL_TEXT)

    def init_failed(self, reason: int) -> InitFailed:
        """The error of an InitFail the camera sent, with a human explanation of its reason."""
        said = self.init_fail_texts.get(reason, "the camera refused the connection")
        return InitFailed(reason, f"{said} (InitFail 0x{reason:08X})")

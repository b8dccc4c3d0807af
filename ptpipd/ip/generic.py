"""Sans-I/O codec for standard PTP/IP (PTPIP.md), for either end of a command/data or event connection."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ptpipd.ip.codec import Codec, Dialect, Role
from ptpipd.ip.errors import LocalProtocolError
from ptpipd.ip.framing import DEFAULT_MAX_FRAME, DEFAULT_STREAM_THRESHOLD, FrameHead, FrameReader
from ptpipd.ip.packets import (
    HEADER_SIZE,
    U32,
    Buffer,
    Data,
    EndData,
    InitCommandRequest,
    Packet,
    PacketType,
    StartData,
    decode_generic,
    encode,
    encode_header,
)

_DATA_HEAD = struct.Struct("<III")  # length, type, transaction id
#: Payload bytes per Data packet when we send a large data phase.
DATA_CHUNK = 1 << 20


def _is_data_packet(head: bytes) -> bool:
    ptype = U32.unpack_from(head, 4)[0]
    return ptype in (PacketType.Data, PacketType.EndData)


class GenericCodec(Codec):
    """Standard PTP/IP framing: an 8-byte header on every packet (PTPIP.md §2).

    Data and EndData packets longer than ``stream_threshold`` are not buffered whole: their payload comes out
    as several :class:`Data` values (and, for EndData, a final :class:`EndData`) as the bytes arrive.
    Any other packet over ``max_packet`` bytes is a :class:`~ptpipd.ip.errors.FrameTooLarge` error.
    """

    def __init__(
        self,
        role: Role,
        *,
        max_packet: int = DEFAULT_MAX_FRAME,
        stream_threshold: int = DEFAULT_STREAM_THRESHOLD,
    ) -> None:
        reader = FrameReader(
            min_length=HEADER_SIZE,
            head_size=12,
            is_streamed=_is_data_packet,
            max_length=max_packet,
            stream_threshold=stream_threshold,
            what="PTP/IP packet",
        )
        super().__init__(role, reader)

    def _head(self, frame: FrameHead) -> None:
        _, ptype, self._stream_tid = _DATA_HEAD.unpack_from(frame.head, 0)
        self._stream_ends = ptype == PacketType.EndData

    def _frame(self, frame: bytes) -> None:
        self._ready.append(decode_generic(frame))

    def encode(self, packet: Packet) -> bytes:
        """The wire bytes of one packet."""
        return encode(packet)

    def encode_data(self, transaction_id: int, code: int, payload: Buffer) -> list[bytes]:
        """StartData with the exact length, Data packets of at most 1 MiB, and EndData with the last piece.

        The exact length is always sent (never "unknown"): libgphoto2 cannot handle the unknown marker.
        """
        del code  # PTP/IP data packets do not repeat the operation code
        view = memoryview(payload).cast("B")
        out = [encode(StartData(transaction_id, len(view)))]
        while len(view) > DATA_CHUNK:
            out.append(encode(Data(transaction_id, view[:DATA_CHUNK])))
            view = view[DATA_CHUNK:]
        out.append(encode(EndData(transaction_id, view)))
        return out

    def data_pieces(
        self, transaction_id: int, code: int, total: int, chunks: Iterator[Buffer]
    ) -> Iterator[Buffer]:
        """StartData, then for each chunk a Data header and the chunk; the last one goes out as EndData."""
        del code
        yield encode(StartData(transaction_id, total))
        sent = 0
        previous: Buffer | None = None
        for chunk in chunks:
            if previous is not None:
                yield encode_header(PacketType.Data, 4 + len(previous)) + U32.pack(transaction_id)
                yield previous
            previous = chunk
            sent += len(chunk)
        if sent != total:
            raise LocalProtocolError(f"data phase announced {total} bytes but produced {sent}")
        last = previous if previous is not None else b""
        yield encode_header(PacketType.EndData, 4 + len(last)) + U32.pack(transaction_id)
        if last:
            yield last


#: Standard PTP/IP: one port for both connections, InitEventRequest on the event one, OpenSession with TID 0.
GENERIC = Dialect(
    name="generic",
    command_codec=GenericCodec,
    event_codec=GenericCodec,
    init_request=lambda guid, name: encode(InitCommandRequest(guid, name)),
    event_handshake=True,
    open_session_transaction_id=0,
)

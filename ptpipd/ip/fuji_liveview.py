"""The Fuji live-view stream (port 55742): length-prefixed frames, each a small header and a JPEG.

Layout of one frame (FUJI.md §13; no real frame bytes exist in any source, only this description)::

    offset  size  field
    0       4     Length u32 LE of the whole frame, these 4 bytes included
    4       4     zero
    8       4     frame counter u32 (hkr); malc0mn reads only its first byte, which is the same value mod 256
    12      4     unknown, zero
    16      2     unknown (malc0mn saw ff ff, 5e 49, 4b bf)
    18      ...   JPEG, starting FF D8

The host sends nothing on this port. Readers look for the first FF D8 at or after offset 14 rather than
trusting offset 18, as the notes advise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.framing import FrameReader
from ptpipd.ip.packets import Buffer

HEADER = struct.Struct("<IIIIH")  # length, zero, counter, unknown, unknown
HEADER_SIZE = 18
#: A live-view frame larger than this is refused (a 1280×960 JPEG is far smaller).
MAX_FRAME = 8 << 20
_SOI = b"\xff\xd8"


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One frame as it came off the wire: the camera's counter and the JPEG bytes."""

    counter: int
    jpeg: bytes


def encode_frame(counter: int, jpeg: bytes, marker: int = 0xFFFF) -> bytes:
    """One live-view frame in the layout above (used by the simulated camera)."""
    if not jpeg.startswith(_SOI):
        raise LocalProtocolError("a live-view frame must carry a JPEG (starting FF D8)")
    return HEADER.pack(HEADER_SIZE + len(jpeg), 0, counter & 0xFFFF_FFFF, 0, marker) + jpeg


def decode_frame(frame: Buffer) -> StreamFrame:
    """Decodes one whole frame."""
    if len(frame) < HEADER_SIZE:
        raise RemoteProtocolError(f"live-view frame of {len(frame)} bytes is shorter than its header")
    counter = struct.unpack_from("<I", frame, 8)[0]
    if bytes(frame[HEADER_SIZE : HEADER_SIZE + 2]) == _SOI:
        return StreamFrame(counter, bytes(frame[HEADER_SIZE:]))
    # Not where three sources put it: take the first FF D8 from offset 14 on (libgphoto2 counts 14 bytes).
    start = bytes(frame[14:]).find(_SOI)
    if start < 0:
        raise RemoteProtocolError("live-view frame without a JPEG start marker (FF D8)")
    return StreamFrame(counter, bytes(frame[14 + start :]))


class LiveViewReader:
    """Sans-I/O splitter of the live-view byte stream into :class:`StreamFrame` values."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._reader = FrameReader(
            min_length=HEADER_SIZE,
            head_size=HEADER_SIZE,
            is_streamed=lambda head: False,
            decide_size=4,
            max_length=max_frame,
            stream_threshold=max_frame,
            what="live-view frame",
        )

    def receive_data(self, data: Buffer) -> None:
        """Feeds received bytes."""
        self._reader.receive_data(data)

    def next_frame(self) -> StreamFrame | None:
        """The next complete frame, or None when more bytes are needed. Errors are final."""
        frame = self._reader.next_frame()
        if frame is None:
            return None
        assert isinstance(frame, bytes)
        try:
            return decode_frame(frame)
        except RemoteProtocolError as exc:
            self._reader.fail(exc)
            raise

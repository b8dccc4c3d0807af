"""Splitting a TCP byte stream into length-prefixed frames, with a cap, without hanging or over-allocating.

Both dialects frame everything the same way: a u32 little-endian length that counts itself, then the rest::

    offset  size  field
    0       4     Length (u32 LE, the whole frame including these 4 bytes)
    4       ...   PTP/IP: u32 packet type + payload; Fuji: u16 container type, u16 code, u32 TID + payload

Length fields come from the peer, so they are not trusted: a length under ``min_length`` is an error at once,
and a frame over ``max_length`` is refused before a single byte of it is buffered — unless it is a *data*
frame, which is never buffered whole but handed out in pieces as the bytes arrive (:class:`FrameChunk`).
That is what lets a 1 GB object flow through in bounded memory.

The reader keeps no reference to the caller's buffers once :meth:`FrameReader.next_frame` has returned
``None``: whatever is left is copied. Chunks it returns *are* views of the caller's buffer, valid until the
next :meth:`FrameReader.receive_data`.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ptpipd.ip.errors import FrameTooLarge, RemoteProtocolError

_U32 = struct.Struct("<I")

#: Default cap for frames that are buffered whole (everything but data): far above any real control packet.
DEFAULT_MAX_FRAME = 1 << 20
#: Data frames above this size are streamed in pieces instead of being buffered whole.
DEFAULT_STREAM_THRESHOLD = 256 * 1024


@dataclass(frozen=True, slots=True)
class FrameHead:
    """The first ``head_size`` bytes of a streamed frame; :class:`FrameChunk` values follow."""

    head: bytes
    length: int


@dataclass(frozen=True, slots=True)
class FrameChunk:
    """A piece of a streamed frame's body. ``last`` marks the piece that completes the frame."""

    data: memoryview | bytes
    last: bool


class RawRecorder:
    """Keeps copies of whole received frames (for hex dumps), up to ``cap`` bytes in all."""

    def __init__(self, cap: int = 16 << 20) -> None:
        self.cap = cap
        self.frames: list[bytearray] = []
        self.truncated = False
        self._size = 0

    def add(self, data: bytes | memoryview, *, new_frame: bool) -> None:
        """Records a frame that arrived whole or the head of a streamed one (``new_frame``), or a further
        piece of the current streamed frame."""
        room = self.cap - self._size
        if room <= 0:
            self.truncated = True
            return
        piece = data[:room]
        if len(piece) < len(data):
            self.truncated = True
        if new_frame:
            self.frames.append(bytearray(piece))
        elif self.frames:
            self.frames[-1] += piece
        self._size += len(piece)


class FrameReader:
    """Sans-I/O splitter of length-prefixed frames.

    ``is_streamed(head)`` looks at the first ``decide_size`` bytes of a frame (length included; 8 is enough to
    see a PTP/IP packet type or a Fuji container type) and says whether it is a data frame that may be
    streamed; a streamed frame is announced with its first ``head_size`` bytes. A frame over ``max_length``
    that is not streamable is refused as soon as those ``decide_size`` bytes are in. Frames of at most
    ``stream_threshold`` bytes always come whole.
    """

    def __init__(
        self,
        *,
        min_length: int,
        head_size: int,
        is_streamed: Callable[[bytes], bool],
        decide_size: int = 8,
        max_length: int = DEFAULT_MAX_FRAME,
        stream_threshold: int = DEFAULT_STREAM_THRESHOLD,
        what: str = "packet",
    ) -> None:
        if head_size < 4 or min_length < 4:
            raise ValueError("a frame is at least its 4-byte length")
        self.min_length = min_length
        self.max_length = max_length
        self.head_size = head_size
        self.decide_size = min(decide_size, head_size)
        self.stream_threshold = stream_threshold
        self.is_streamed = is_streamed
        self.what = what
        self.recorder: RawRecorder | None = None
        self._pending: deque[memoryview] = deque()
        self._acc = bytearray()
        self._length = 0  # length of the current frame, 0 while it is still unknown
        self._left = -1  # bytes of a streamed body still to come; -1 when not streaming
        self._failed: RemoteProtocolError | None = None

    @property
    def body_left(self) -> int:
        """Bytes of the streamed frame's body still to arrive, once every byte received has been handed out;
        0 when no streamed body is in progress or received bytes are still pending."""
        return 0 if self._left <= 0 or self._pending else self._left

    def skip_body(self, n: int) -> None:
        """``n`` bytes of the streamed body were received outside the reader (spliced straight to where they
        go): the body goes on after them. At most :attr:`body_left`."""
        if not 0 <= n <= self.body_left:
            raise ValueError(f"cannot skip {n} bytes of a body with {self.body_left} to come")
        self._left -= n

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feeds received bytes. They are not copied until :meth:`next_frame` needs to keep them."""
        if data:
            self._pending.append(memoryview(data).cast("B"))

    def next_frame(self) -> bytes | FrameHead | FrameChunk | None:
        """The next whole frame, streamed head or chunk; None when more bytes are needed."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except RemoteProtocolError as exc:
            self.fail(exc)
            raise

    def fail(self, exc: RemoteProtocolError) -> None:
        """Makes ``exc`` final (a frame, or what a caller decoded from one, broke the protocol): the stream is
        out of step, everything after this point is garbage, and :meth:`next_frame` raises ``exc`` from now
        on."""
        self._failed = exc
        self._pending.clear()

    def _fill(self, n: int) -> bool:
        acc = self._acc
        pending = self._pending
        while len(acc) < n and pending:
            view = pending[0]
            take = n - len(acc)
            if take >= len(view):
                acc += view
                pending.popleft()
            else:
                acc += view[:take]
                pending[0] = view[take:]
        return len(acc) >= n

    def _next(self) -> bytes | FrameHead | FrameChunk | None:
        if self._left >= 0:
            return self._body_chunk()
        if not self._length:
            if not self._fill(4):
                return None
            length = _U32.unpack_from(self._acc, 0)[0]
            if length < self.min_length:
                raise RemoteProtocolError(
                    f"{self.what} length field {length} is under the {self.min_length}-byte minimum"
                )
            self._length = length
        length = self._length
        decide = min(self.decide_size, length)
        if not self._fill(decide):
            return None
        streamed = (
            length > self.stream_threshold and length >= self.head_size and self.is_streamed(bytes(self._acc))
        )
        if not streamed and length > self.max_length:
            raise FrameTooLarge(length, self.max_length)
        if not self._fill(self.head_size if streamed else length):
            return None
        data = bytes(self._acc)
        self._acc.clear()
        self._length = 0
        if self.recorder is not None:
            self.recorder.add(data, new_frame=True)
        if streamed:
            self._left = length - len(data)
            return FrameHead(data, length)
        return data

    def _body_chunk(self) -> FrameChunk | None:
        if self._left == 0:
            self._left = -1
            return FrameChunk(b"", True)
        if not self._pending:
            return None
        view = self._pending[0]
        if len(view) <= self._left:
            self._pending.popleft()
        else:
            self._pending[0] = view[self._left :]
            view = view[: self._left]
        self._left -= len(view)
        last = self._left == 0
        if last:
            self._left = -1
        if self.recorder is not None:
            self.recorder.add(view, new_frame=False)
        return FrameChunk(view, last)

"""The simulated X-T1's live-view stream (port 55742): synthetic frames paced by the clock, never queued.

Each frame on the wire is FUJI.md §13's layout (:func:`ptpipd.ip.liveview.encode_frame`)::

    offset  size  field
    0       4     Length u32 LE of the whole frame
    4       4     zero
    8       4     frame counter u32 (the schedule index n below; malc0mn reads its low byte)
    12      4     zero
    16      2     ff ff (unknown on the real camera)
    18      ...   JPEG: jpeg.counter_frame(n), 640×480, n drawn in big digits, with a COM segment added

The JPEG carries the simulator's production time in a comment (COM, ``FF FE``) segment placed right after
the JFIF APP0 segment, so a reader can measure how old a frame is when it gets it (``bench/liveview.py``)::

    FF FE <u16 BE length> "ptpipd-sim frame=<n> mono=<seconds> wall=<seconds>"

``mono`` is ``time.monotonic()`` (Linux's CLOCK_MONOTONIC: one clock for every process of the host, so a
reader on the same machine compares it with its own ``time.monotonic()``), ``wall`` is ``time.time()`` for
readers elsewhere. Both have six decimals. :func:`frame_stamp` reads the segment back.

Pacing (:class:`FramePacer`): frame ``n`` is due at ``t0 + n / fps``, computed from ``n`` each time, so
timer jitter never accumulates into drift. When the simulator wakes up after the slot of a later frame
(CPU starvation), it skips to the newest due frame instead of sending a burst of stale ones: the counter
jumps. When the reader is slow and the previous frame has not left the connection's user-space buffer,
the frame is dropped (the counter jumps too). The socket's send buffer is shrunk to about one frame, so
at most a frame or two ever wait on the simulator's side; whatever the reader's own kernel buffers hold
is the reader's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from ptpipd.ip.liveview import encode_frame
from ptpipd.sim.jpeg import counter_frame

log = logging.getLogger("ptpipd.sim")

#: Frame size of the simulated live view.
LIVE_WIDTH, LIVE_HEIGHT = 640, 480
#: SO_SNDBUF of a live-view connection (the kernel doubles it): about one 30 kB frame.
STREAM_SNDBUF = 32 * 1024
_STAMP = re.compile(rb"ptpipd-sim frame=(\d+) mono=(\d+\.\d+) wall=(\d+\.\d+)")


@dataclass(frozen=True, slots=True)
class FrameStamp:
    """What the COM segment of a simulated live-view frame says: its index and when it was produced."""

    frame: int
    monotonic: float
    wall: float


def stamp_jpeg(jpeg: bytes, frame: int, monotonic: float, wall: float) -> bytes:
    """``jpeg`` with a COM segment naming the frame and its production times, after SOI and APP0 (if any)."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI)")
    at = 2
    if jpeg[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first, as the standard wants
        at = 4 + struct.unpack_from(">H", jpeg, 4)[0]
    text = f"ptpipd-sim frame={frame} mono={monotonic:.6f} wall={wall:.6f}".encode()
    segment = b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text
    return jpeg[:at] + segment + jpeg[at:]


def frame_stamp(jpeg: bytes) -> FrameStamp | None:
    """The stamp :func:`stamp_jpeg` put in a JPEG's header, or None when there is none."""
    at = 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker = jpeg[at + 1]
        length = struct.unpack_from(">H", jpeg, at + 2)[0]
        if marker == 0xFE:
            match = _STAMP.fullmatch(jpeg[at + 4 : at + 2 + length])
            if match:
                return FrameStamp(int(match[1]), float(match[2]), float(match[3]))
        if marker == 0xDA:  # start of scan: the header is over
            break
        at += 2 + length
    return None


def live_frame(counter: int, monotonic: float | None = None, wall: float | None = None) -> bytes:
    """One complete live-view frame (header + stamped JPEG) showing ``counter``."""
    jpeg = counter_frame(counter, LIVE_WIDTH, LIVE_HEIGHT)
    mono = time.monotonic() if monotonic is None else monotonic
    stamped = stamp_jpeg(jpeg, counter, mono, time.time() if wall is None else wall)
    return encode_frame(counter, stamped)


class FramePacer:
    """The clock schedule of one stream: frame ``n`` is due at ``t0 + n / fps``."""

    def __init__(self, fps: float, t0: float) -> None:
        if not fps > 0 or math.isinf(fps):
            raise ValueError(f"not a frame rate: {fps!r}")
        self.fps = fps
        self.t0 = t0

    def due(self, n: int) -> float:
        """When frame ``n`` is due."""
        return self.t0 + n / self.fps

    def latest(self, now: float) -> int:
        """The newest frame whose time has come at ``now`` (0 before t0)."""
        # the small epsilon keeps a timer that fires on the exact due time from landing one frame short
        return max(0, math.floor((now - self.t0) * self.fps + 1e-6))


@dataclass
class LiveStats:
    """What the live-view connections of one simulator did."""

    sent: int = 0
    #: frames not sent because the previous one was still waiting in the connection's buffer
    dropped_slow_reader: int = 0
    #: frame slots skipped because the simulator woke up too late for them
    skipped_late: int = 0


class LiveViewConnection(asyncio.Protocol):
    """One live-view connection: pushes a frame at every slot of its :class:`FramePacer`."""

    def __init__(
        self, fps: float, stats: LiveStats, on_lost: Callable[[LiveViewConnection], None] | None = None
    ) -> None:
        self.fps = fps
        self.stats = stats
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.next = 0
        self._pacer: FramePacer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._told = False
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self._closed:  # closed before asyncio finished accepting it
            transport.abort()
            return
        log.debug("live view: a reader connected, %g frames/s", self.fps)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        loop = asyncio.get_running_loop()
        self._pacer = FramePacer(self.fps, loop.time())
        self._tick()

    def data_received(self, data: bytes) -> None:
        if not self._told:
            self._told = True
            log.info(
                "live view: the host sent %d bytes on the stream port (ignored; it should send nothing)",
                len(data),
            )

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop()
        if self.on_lost is not None:
            self.on_lost(self)

    def stop(self) -> None:
        """Stops producing frames (the connection is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Stops and closes the connection at once (the session ended)."""
        self._closed = True
        self.stop()
        if self.transport is not None:
            self.transport.abort()

    def _tick(self) -> None:
        transport, pacer = self.transport, self._pacer
        if transport is None or pacer is None or transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        n = max(self.next, pacer.latest(loop.time()))
        self.stats.skipped_late += n - self.next
        if transport.get_write_buffer_size() > 0:
            self.stats.dropped_slow_reader += 1
        else:
            transport.write(live_frame(n))
            self.stats.sent += 1
        self.next = n + 1
        self._timer = loop.call_at(pacer.due(self.next), self._tick)

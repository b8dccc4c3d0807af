"""A stream port's connection (live view): frames paced by the clock, never queued.

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
import socket
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("ptpipd.sim")

#: SO_SNDBUF of a stream connection (the kernel doubles it): about one frame.
STREAM_SNDBUF = 32 * 1024


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
    """What the stream connections of one simulator did."""

    sent: int = 0
    #: frames not sent because the previous one was still waiting in the connection's buffer
    dropped_slow_reader: int = 0
    #: frame slots skipped because the simulator woke up too late for them
    skipped_late: int = 0


class StreamConnection(asyncio.Protocol):
    """One stream connection: writes ``frame(n)`` at every slot of its :class:`FramePacer`."""

    def __init__(self, fps: float, frame: Callable[[int], bytes], stats: LiveStats) -> None:
        self.fps = fps
        self.frame = frame
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.next = 0
        self._pacer: FramePacer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._told = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        log.debug("stream: a reader connected, %g frames/s", self.fps)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        loop = asyncio.get_running_loop()
        self._pacer = FramePacer(self.fps, loop.time())
        self._tick()

    def data_received(self, data: bytes) -> None:
        if not self._told:
            self._told = True
            log.info("stream: the host sent %d bytes (ignored; it should send nothing)", len(data))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Stops producing frames."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

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
            transport.write(self.frame(n))
            self.stats.sent += 1
        self.next = n + 1
        self._timer = loop.call_at(pacer.due(self.next), self._tick)

"""A stream port's connection (live view): frames paced by the clock, never queued.

Frame ``n`` is due at ``t0 + n / fps``, computed from ``n`` each time, so timer jitter never accumulates
into drift. When the simulator wakes up after the slot of a later frame (CPU starvation), it skips to the
newest due frame instead of sending a burst of stale ones: the counter jumps. When the reader is slow and
the previous frame has not left the connection's user-space buffer, the frame is dropped (the counter jumps
too). The socket's send buffer is shrunk to about one frame, so at most a frame or two ever wait on the
simulator's side; whatever the reader's own kernel buffers hold is the reader's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger("ptpipd.sim")

#: SO_SNDBUF of a stream connection (the kernel doubles it): about one frame.
STREAM_SNDBUF = 32 * 1024


class StreamConnection(asyncio.Protocol):
    """One stream connection: writes ``frame(n)`` at every slot; it is in ``conns`` while it is open."""

    def __init__(self, fps: float, frame: Callable[[int], bytes], conns: set[Any]) -> None:
        if not fps > 0 or math.isinf(fps):
            raise ValueError(f"not a frame rate: {fps!r}")
        self.fps = fps
        self.frame = frame
        self.conns = conns
        self.transport: asyncio.Transport | None = None
        self.next = 0
        self.t0 = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._told = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conns.add(self)
        log.debug("stream: a reader connected, %g frames/s", self.fps)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        self.t0 = asyncio.get_running_loop().time()
        self._tick()

    def data_received(self, data: bytes) -> None:
        if not self._told:
            self._told = True
            log.info("stream: the host sent %d bytes (ignored; it should send nothing)", len(data))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        self.abort()

    def abort(self) -> None:
        """Stops producing frames and closes at once."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.abort()

    def _tick(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        # the newest frame whose time has come; the epsilon keeps a timer that fires on the exact due time
        # from landing one frame short
        n = max(self.next, math.floor((loop.time() - self.t0) * self.fps + 1e-6))
        if transport.get_write_buffer_size() == 0:  # else the slow reader misses this frame
            transport.write(self.frame(n))
        self.next = n + 1
        self._timer = loop.call_at(self.t0 + self.next / self.fps, self._tick)

"""Zero-copy forwarding of a data payload: the camera's socket → a pipe → the sink's socket (Linux splice(2)).

Forwarding a download through user space copies every byte twice (received into our buffer, sent out of
it): most of the daemon's CPU per GiB. When a transaction's sink is a :class:`~.sinks.SpliceTarget` (an HTTP
response on a plain socket), the payload of a large data packet goes from the camera's socket into a pipe
and from the pipe into the client's socket instead: the kernel moves page references, the bytes never enter
the process. :class:`Splicer` drives it for :class:`~.transactions.Transactions`; the session stays in step
throughout:

1. Everything received so far has been decoded and handed to the sink's ``write`` (reads are kept small
   while a splice may follow, :data:`HEAD_READ`): the packet's header is known, the rest of its payload
   (``InitiatorSession.splice_room``) is still in the kernel.
2. Reading the camera connection is paused, the sink's socket is flushed (``SpliceTarget.flushed``), and
   :class:`Pump` moves the bytes, waiting for readiness on duplicates of both descriptors (the transports
   keep their own registered).
3. The bytes taken from the camera are accounted to the codec and the session (``InitiatorSession.spliced``)
   as if decoded, and reading resumes: the packet's end, the next header, the response go the ordinary way.

The pump stops early and the rest of the data phase goes the ordinary way when the client has left bytes
waiting for ``SpliceTarget.hold`` seconds in all, over the transaction (what the pipe holds is read out and written through the
sink: a slow client never holds the camera, so other clients' requests, longer than that), or when the
client's socket fails (what the pipe holds is dropped, the rest of the payload is read and discarded). A
camera that closes or fails mid-payload fails the connection, as it would anywhere else.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ptpipd.ip.errors import ConnectionClosed, TransactionTimeout

log = logging.getLogger(__name__)

#: splice(2) is Linux's; elsewhere every payload goes the ordinary way.
AVAILABLE = sys.platform == "linux" and hasattr(os, "splice")
#: Payload bytes left in a packet below which it is not worth pausing the connection to splice them.
SPLICE_MIN = 64 << 10
#: Bytes read at a time while a transaction's payload may be spliced: enough for the packet headers, while
#: the payload stays in the kernel.
HEAD_READ = 4 << 10
#: The pipe's capacity (F_SETPIPE_SZ; Linux's default 64 KiB would take 16 round trips per MiB).
PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


@dataclass(slots=True)
class Moved:
    """What a :class:`Pump` run did with a payload's bytes."""

    taken: int = 0  # from the camera's socket (all of them belong to the payload)
    delivered: int = 0  # into the client's socket, in order
    leftover: bytes = b""  # taken, not delivered: the client was too slow, they go through the sink's write
    failed: str | None = None  # the client's socket failed: what the pipe held was dropped
    held: float = 0.0  # seconds the camera went unread because the client took nothing


@dataclass(frozen=True, slots=True)
class Job:
    """One payload for a :class:`Pump`: ``length`` bytes; the client may leave bytes waiting ``hold`` seconds
    in all; the camera may stay ``silence`` seconds without a byte; ``wanted`` says whether anyone still
    wants them; ``on_rx`` hears of every byte taken from the camera."""

    length: int
    hold: float
    silence: float
    wanted: Callable[[], bool]
    on_rx: Callable[[int], None]


def _splice(src: int, dst: int, count: int) -> int | None:
    """Bytes moved, or None when either end would block."""
    try:
        return os.splice(src, dst, count, flags=_FLAGS)
    except BlockingIOError:
        return None


def _wake(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


async def ready(fd: int, *, write: bool, timeout: float) -> bool:
    """Waits until ``fd`` is readable (or writable); False after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bool] = loop.create_future()
    watch, unwatch = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    watch(fd, _wake, future, True)
    timer = loop.call_later(timeout, _wake, future, False)
    try:
        return await future
    finally:
        timer.cancel()
        unwatch(fd)


class Pump:
    """Moves one payload at a time from a socket to a socket through a pipe it owns (made on first use, kept
    while it is known to be empty, closed by :meth:`close`). :attr:`moved` tells how far the last run got,
    also when it was cancelled or raised."""

    def __init__(self) -> None:
        self._pipe: tuple[int, int] | None = None
        self._size = PIPE_SIZE
        self.moved = Moved()

    def _open(self) -> tuple[int, int]:
        if self._pipe is None:
            self._pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                self._size = fcntl.fcntl(self._pipe[1], _F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:  # over the user's pipe quota: the default size works, in more steps
                self._size = fcntl.fcntl(self._pipe[1], _F_SETPIPE_SZ - 1)  # F_GETPIPE_SZ
        return self._pipe

    def close(self) -> None:
        """Closes the pipe (whatever it held is gone)."""
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    async def run(self, src: int, dst: int, job: Job) -> Moved:
        """Moves ``job.length`` bytes from socket ``src`` (the camera) to socket ``dst`` (the client); see the
        module's docstring for when it stops early. Raises :class:`ConnectionClosed` when the camera closes,
        :class:`TransactionTimeout` after ``job.silence`` seconds without a byte from it, the camera socket's
        :class:`OSError`. Both descriptors stay open."""
        self.moved = Moved()
        self._open()
        src, dst = os.dup(src), os.dup(dst)
        clean = False
        try:
            await self._move(src, dst, job)
            clean = True
        finally:
            os.close(src)
            os.close(dst)
            if not clean or self.moved.failed is not None:
                self.close()  # it may hold bytes nobody will read
        return self.moved

    async def _move(self, src: int, dst: int, job: Job) -> None:
        moved = self.moved
        loop = asyncio.get_running_loop()
        hold, silence, wanted = job.hold, job.silence, job.wanted
        while moved.delivered < job.length:
            if not wanted():
                moved.failed = "the transfer was abandoned"
                return
            if self._step(src, dst, job.length, job.on_rx):
                continue
            if moved.failed is not None:
                return
            if moved.taken == moved.delivered:  # the pipe is empty: the camera is the one to wait for
                if not await ready(src, write=False, timeout=silence):
                    raise TransactionTimeout("the camera's data packet", silence)
                continue
            began = loop.time()
            ready_in_time = moved.held < hold and await ready(dst, write=True, timeout=hold - moved.held)
            moved.held += loop.time() - began
            if not ready_in_time:
                if wanted():
                    self._read_back()
                else:
                    moved.failed = "the transfer was abandoned"
                return

    def _step(self, src: int, dst: int, length: int, on_rx: Callable[[int], None]) -> bool:
        """One splice each way; True when a byte moved."""
        moved = self.moved
        read_end, write_end = self._open()
        progressed = False
        in_pipe = moved.taken - moved.delivered
        if moved.taken < length and in_pipe < self._size:
            n = _splice(src, write_end, min(length - moved.taken, self._size - in_pipe))
            if n == 0:
                raise ConnectionClosed("the camera closed the connection in the middle of a data packet")
            if n:
                moved.taken += n
                on_rx(n)
                progressed = True
        if moved.taken > moved.delivered:
            try:
                n = _splice(read_end, dst, moved.taken - moved.delivered)
            except OSError as exc:  # the client's socket (gone, reset): never the camera's business
                moved.failed = exc.strerror or "the client's connection failed"
                return False
            if n:
                moved.delivered += n
                progressed = True
        return progressed

    def _read_back(self) -> None:
        """The client is too slow: the pipe's bytes come back to user space, for the sink's ``write``."""
        moved = self.moved
        read_end, _ = self._open()
        parts: list[bytes] = []
        left = moved.taken - moved.delivered
        while left:
            part = os.read(read_end, left)
            parts.append(part)
            left -= len(part)
        moved.leftover = b"".join(parts)

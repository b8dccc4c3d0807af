"""One TCP connection to the camera (:class:`Channel`) and the ways to open one, each wait bounded.

Bytes are received straight into a buffer the channel owns (:class:`asyncio.BufferedProtocol`) and handed
synchronously to a ``feed`` callback, which decodes them before the buffer is refilled: nothing is copied
or queued on the way in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from typing import cast

from ptpipd.ip.errors import ConnectionClosed, TransactionTimeout
from ptpipd.ip.packets import Buffer
from ptpipd.ip.transport.timeouts import Timeouts

RECEIVE_BUFFER = 1 << 20


class Channel(asyncio.BufferedProtocol):
    """One TCP connection to the camera whose received bytes are handed synchronously to ``feed``.

    ``on_lost`` is called once with the reason when the connection fails (not after :meth:`close`).
    """

    def __init__(
        self, name: str, feed: Callable[[memoryview], None], on_lost: Callable[[BaseException], None]
    ) -> None:
        self.name = name
        self._feed = feed
        self._on_lost = on_lost
        self._buf = bytearray(RECEIVE_BUFFER)
        self._view = memoryview(self._buf)
        self._read_view = self._view  # what one read may fill (see limit_reads)
        self.transport: asyncio.Transport | None = None
        self.fd: int | None = None  # the socket's descriptor, for splice(2) (None: not a plain socket)
        self.error: BaseException | None = None
        self.last_rx = 0.0
        self.rx_bytes = 0  # bytes received so far (a transfer's progress, packets complete or not)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's or uvloop's transport (uvloop's do not subclass asyncio's classes)
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Every packet goes out in one write; Nagle would hold small ones back (gphoto2 saw 40 ms stalls).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self.fd = sock.fileno()
        self.last_rx = asyncio.get_running_loop().time()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        self.received(nbytes)
        try:
            self._feed(self._read_view[:nbytes])
        except Exception as exc:  # a malformed packet or a sink failure: this connection is done
            self.fail(exc)

    def received(self, nbytes: int) -> None:
        """Counts bytes received (also those spliced past the buffer): progress, and the end of a silence."""
        self.last_rx = asyncio.get_running_loop().time()
        self.rx_bytes += nbytes

    def read_now(self) -> bool:
        """While reading is paused: reads what the socket holds already, without waiting, and feeds it; False
        when it held nothing or the camera closed it (after a splice, the next packet's header is usually
        there: no turn of the loop). A socket error fails the channel here: the kernel reports it only once."""
        if self.fd is None or self.error is not None:
            return False
        try:
            n = os.readv(self.fd, [self._read_view])
        except BlockingIOError:  # nothing yet: reading resumes the ordinary way
            return False
        except OSError as exc:
            self.fail(exc)
            return True
        if n:
            self.buffer_updated(n)
        return n > 0

    def limit_reads(self, size: int | None) -> None:
        """Reads at most ``size`` bytes at a time (None: the whole buffer). Small reads leave a large payload
        in the kernel, where it can be spliced, once its packet's header has been read."""
        size = RECEIVE_BUFFER if size is None else min(size, RECEIVE_BUFFER)
        if size != len(self._read_view):
            self._read_view = self._view[:size]

    def pause_reading(self) -> None:
        """Stops reading (the socket's bytes are then the business of whoever paused it)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Reads again after :meth:`pause_reading`."""
        if self.error is None and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        self.fail(ConnectionClosed(f"the camera closed the {self.name} connection"))
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.fail(exc or ConnectionClosed(f"the {self.name} connection was closed"))

    def write(self, data: Buffer) -> None:
        """Sends bytes; :class:`ConnectionClosed` once the connection is closing."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed(f"the {self.name} connection is closed")
        self.transport.write(data)

    def fail(self, exc: BaseException) -> None:
        """Aborts the connection and reports ``exc`` to ``on_lost`` (once)."""
        if self.error is None:
            self.error = exc
            if self.transport is not None:
                self.transport.abort()
            self._on_lost(exc)

    def close(self, reason: BaseException | None = None) -> None:
        """Closes the connection; ``on_lost`` hears of it only when a ``reason`` is given."""
        if self.error is None:
            self.error = reason or ConnectionClosed(f"the {self.name} connection was closed by us")
            if reason is not None:
                self._on_lost(reason)
        if self.transport is not None:
            self.transport.close()


async def open_channel(
    name: str,
    host: str,
    port: int,
    feed: Callable[[memoryview], None],
    on_lost: Callable[[BaseException], None],
    timeout: float,
) -> Channel:
    """Connects a :class:`Channel` within ``timeout`` seconds (else :class:`TransactionTimeout`)."""
    loop = asyncio.get_running_loop()
    try:
        _, link = await asyncio.wait_for(
            loop.create_connection(lambda: Channel(name, feed, on_lost), host, port), timeout
        )
    except TimeoutError:
        raise TransactionTimeout(f"connecting the {name} channel to {host}:{port}", timeout) from None
    return link


async def open_channel_retrying(
    name: str,
    host: str,
    port: int,
    feed: Callable[[memoryview], None],
    on_lost: Callable[[BaseException], None],
    timeouts: Timeouts,
) -> Channel:
    """Cameras may refuse a secondary connection at first (libgphoto2 and malc0mn both retry)."""
    attempts = max(1, timeouts.event_connect_attempts)
    for _ in range(attempts - 1):
        with contextlib.suppress(ConnectionRefusedError):
            return await open_channel(name, host, port, feed, on_lost, timeouts.connect)
        await asyncio.sleep(timeouts.event_connect_delay)
    return await open_channel(name, host, port, feed, on_lost, timeouts.connect)

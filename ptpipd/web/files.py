"""``GET/HEAD /files/{handle}``: an object streamed from the camera as it arrives, never whole in memory.

Where the camera reads byte ranges (GetPartialObject, 0x101B) the object goes in pieces of at most
:data:`~ptpipd.web.backend.CHUNK` bytes, each one camera transaction queued like any other client's request,
so a long download never freezes the camera for others. The bytes go onto the client's connection as they
arrive (:class:`Forward`, no piece is collected first), and the next piece is asked for once the client has
taken the previous one: a client that reads slowly delays the camera's next transaction, never the others'
(backpressure), and the daemon holds at most about one piece per download. A ``Range`` becomes the pieces
it covers. Without partial reads the object comes in one GetObject; a client that falls more than
:data:`PIPE_CAP` bytes behind it is disconnected (PTP cannot pause a data phase).

Large payloads skip user space on Linux: :class:`Forward` is a splice target, the camera link moves them from
the camera's socket to the client's with ``splice(2)`` (:mod:`ptpipd.ip.transport.splice`), falling back to
copying for whatever does not fit (a byte range to trim, a client too slow to keep up).

A client that goes away mid-transfer cancels the handler: the piece in flight completes on the wire (its
bytes are discarded, the session stays in step) and nothing more is asked. Once the head is out, any other
failure (the camera gone mid-object, a client that stopped reading) ends the connection too: the client sees
a body shorter than its ``Content-Length``, never an error answer inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import mimetypes
import os
import socket
import sys
import zlib
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from ptpipd.errors import CameraError, NotSupported
from ptpipd.errors import ErrorCode as codes
from ptpipd.ip.transport import splice
from ptpipd.vendors.base import FileEntry
from ptpipd.web.backend import CHUNK, Backend
from ptpipd.web.errors import HttpError, reason
from ptpipd.web.ranges import BadRange, ByteRange, none_match, parse_range

log = logging.getLogger(__name__)

#: Bytes a GetObject may run ahead of a slow client before that client is disconnected (cameras without
#: partial reads cannot be paused mid-object: PTP has no flow control of its own).
PIPE_CAP = 16 << 20
#: Seconds in all a client may keep the camera's spliced bytes of one piece (transaction) waiting: past them
#: the rest of the piece is copied into the connection's buffer, so that a slow client never holds the camera
#: (and every other client's requests) for long.
SPLICE_HOLD = 0.02
#: The send buffer of a Unix-socket connection spliced into (SO_SNDBUF, which the kernel doubles, up to
#: net.core.wmem_max): the default (about 200 KiB) made the camera link wait for the client five times per MiB.
UNIX_SEND_BUFFER = 4 << 20

_FORMAT_TYPES = {"exif_jpeg": "image/jpeg", "jpeg": "image/jpeg", "jfif": "image/jpeg", "png": "image/png"}


def parse_handle(text: str) -> int:
    """An object handle from the URL (decimal, or hex with 0x); 404 for anything else."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= 0xFFFF_FFFF:
        raise HttpError(404, codes.INVALID_PARAMS, f"{text[:40]!r} is not an object handle (a 32-bit number)")
    return value


def content_type(meta: FileEntry) -> str:
    """The object's media type, from its format or its file name."""
    guessed, _ = mimetypes.guess_type(meta.filename)
    return _FORMAT_TYPES.get(meta.format) or guessed or "application/octet-stream"


def etag(meta: FileEntry) -> str:
    """A strong validator: the handle, size, name and capture time (what identifies a picture on a card)."""
    digest = zlib.crc32(f"{meta.filename}\0{meta.captured}".encode())
    return f'"{meta.handle:x}-{meta.size:x}-{digest:08x}"'


def disposition(kind: str, filename: str) -> str:
    """``Content-Disposition`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _wanted(request: web.Request, meta: FileEntry, tag: str) -> ByteRange | None:
    header = request.headers.get("Range")
    if header is None:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != tag:
        # the object changed since the client's partial copy (a strong comparison, RFC 9110 §13.1.5: a weak
        # tag or a date never matches): the whole object
        return None
    return _satisfiable(header, meta.size)


def _satisfiable(header: str, size: int) -> ByteRange | None:
    """The range ``header`` asks of ``size`` bytes (None: the whole object, :func:`parse_range`); 416 (-32602,
    ``Content-Range: bytes */SIZE``) when it lies wholly beyond the object."""
    try:
        return parse_range(header, size)
    except BadRange as exc:
        raise HttpError(
            416, codes.INVALID_PARAMS, str(exc), {"size": size}, {"Content-Range": f"bytes */{size}"}
        ) from None


def check_range(request: web.Request, size: int) -> None:
    """Refuses (416, as :func:`serve_object` does) a ``Range`` that a file of ``size`` bytes cannot satisfy;
    a satisfiable one, or none, is left to the file's own response."""
    header = request.headers.get("Range")
    if header is not None and request.headers.get("If-Range") is None:
        _satisfiable(header, size)


async def serve_object(
    request: web.Request, backend: Backend, handle: int, write_timeout: float
) -> web.StreamResponse:
    """The object, or the range asked for, with its headers."""
    meta = await backend.file_entry(handle)
    tag = etag(meta)
    if none_match(request.headers.get("If-None-Match", ""), tag):
        return web.Response(status=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
    wanted = _wanted(request, meta, tag)
    span = wanted or ByteRange(0, meta.size, meta.size)
    response = web.StreamResponse(status=200 if wanted is None else 206, headers=_headers(meta, tag))
    if wanted is not None:
        response.headers["Content-Range"] = wanted.content_range
    response.content_length = span.length
    await response.prepare(request)
    if request.method == "HEAD" or span.length == 0:
        return response
    await response.write(b"")  # the headers go out now: the body goes straight onto the connection
    transport = request.transport  # asyncio's or uvloop's (which does not subclass asyncio's classes)
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client went away")
    try:
        forward = Forward(transport, span, splicing=True)
        await _body(response, transport, backend, handle, forward, write_timeout)
    except (TimeoutError, ConnectionError, CameraError) as exc:
        # headers are out: the only way left to say "incomplete" is to end the connection (the client sees a
        # short body); the camera gone mid-object (NotConnected) ends it the same way
        log.info(
            "download of object %d to %s stopped: %s",
            handle,
            request.remote,
            reason(exc, timeout="write timeout"),
        )
        transport.abort()
        return response
    except asyncio.CancelledError:  # the client closed its connection (aiohttp's handler cancellation)
        log.info("download of object %d to %s stopped: the client went away", handle, request.remote)
        raise
    await response.write_eof()
    return response


def _headers(meta: FileEntry, tag: str) -> dict[str, str]:
    return {
        "Content-Type": content_type(meta),
        "Content-Disposition": disposition("attachment", meta.filename),
        "ETag": tag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
    }


async def _body(
    response: web.StreamResponse,
    transport: asyncio.WriteTransport,
    backend: Backend,
    handle: int,
    forward: Forward,
    write_timeout: float,
) -> None:
    # after a piece, the next one is asked for at once while less than 256 KiB waits for the client, else
    # once it is down to 64 KiB: the camera's next transaction overlaps the client's reading, and at most
    # about a piece is held (larger limits measured slower as well as bigger: asyncio copies whatever the
    # socket does not take at once)
    transport.set_write_buffer_limits(high=256 << 10, low=64 << 10)

    async def drained() -> None:
        if forward.watched:  # a client that keeps taking bytes is never timed out, a stalled one is
            if not await forward.settled(64 << 10, write_timeout):
                raise (
                    ConnectionResetError("the client went away") if transport.is_closing() else TimeoutError()
                )
            return
        async with asyncio.timeout(write_timeout):
            await _drain(response)

    if backend.service.capabilities.partial_objects:
        try:
            await _in_pieces(backend, handle, forward, drained)
            return
        except NotSupported:  # the vendor reads ranges, this body does not list GetPartialObject
            if forward.sent:
                raise
            forward.position = 0
    await _in_one(backend, handle, forward, drained)


async def _drain(response: web.StreamResponse) -> None:
    """Waits until the client has taken what was written, down to the transport's low-water mark."""
    writer = getattr(response, "_payload_writer", None)  # aiohttp has no public drain on a response
    if writer is not None:
        await writer.drain()


def write_copies(transport: asyncio.BaseTransport) -> bool:
    """True when ``transport.write`` copies whatever the socket does not take at once before it returns, so a
    view into a buffer about to be reused may be handed over without a copy of our own: asyncio's selector
    transports up to CPython 3.11 (``bytearray.extend``). From 3.12 they keep the object itself (a deque of
    views), and another transport (uvloop, a proactor) is not known to copy: those get a copy."""
    return sys.version_info < (3, 12) and type(transport).__module__ == "asyncio.selector_events"


#: The transports known to write nothing behind a splice once they hold nothing (:meth:`Forward.flushed`):
#: asyncio's selector loop and uvloop's (its ``get_write_buffer_size`` counts what libuv still holds too).
SPLICE_SAFE_TRANSPORTS = ("asyncio.selector_events", "uvloop.loop")


def splice_fd(transport: asyncio.BaseTransport) -> int | None:
    """The descriptor of the transport's socket when bytes may be spliced into it behind the transport's back
    (:class:`Forward`): a plain socket (no TLS) of asyncio's selector loop or uvloop, on Linux. None
    otherwise."""
    if not splice.AVAILABLE or type(transport).__module__ not in SPLICE_SAFE_TRANSPORTS:
        return None
    if transport.get_extra_info("sslcontext") is not None or transport.get_extra_info("ssl_object"):
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    if sock.family == socket.AF_UNIX:  # TCP sizes its buffers itself (autotuning)
        with contextlib.suppress(OSError):  # only an optimisation: the client may be gone already
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SEND_BUFFER)
    return int(sock.fileno())


class Forward:
    """The camera's bytes of ``span`` straight onto the client's connection, as they arrive.

    Data phases are handed over synchronously by the camera link, so :meth:`write` cannot wait: it writes (the
    transport keeps what the socket does not take at once) and the caller waits for the client between
    transactions. It never raises (that would break the camera link): once the client is gone, or more
    than ``cap`` bytes are waiting for it, the rest is dropped and ``dropped`` says why.

    It is also a :class:`~ptpipd.ip.transport.sinks.SpliceTarget`: on a plain socket the camera link may
    splice a payload into the connection (``splicing``; after :meth:`flushed`), and tells how it went
    (:meth:`spliced`, :meth:`splice_failed`).
    """

    hold = SPLICE_HOLD

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        span: ByteRange,
        cap: int = PIPE_CAP,
        splicing: bool = False,
    ) -> None:
        self.transport = transport
        self.span = span
        self.cap = cap
        self.position = 0  # of the next byte the camera sends, in the object
        self.sent = 0
        self.dropped: str | None = None
        self._keeps_views = not write_copies(transport)
        self._fd = splice_fd(transport) if splicing else None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        start = self.position
        self.position += len(data)
        lo, hi = max(start, self.span.start), min(self.position, self.span.end)
        if lo >= hi or self.dropped is not None:
            return
        transport = self.transport
        if transport.is_closing():
            self.dropped = "the client went away"
            return
        if transport.get_write_buffer_size() > self.cap:
            self.dropped = f"the client fell more than {self.cap} bytes behind the camera"
            transport.abort()
            return
        # The camera link reuses its receive buffer once this returns: a transport that may keep the object
        # itself (not a copy) for what the socket does not take at once gets a copy of its own.
        piece = memoryview(data)[lo - start : hi - start]
        transport.write(bytes(piece) if self._keeps_views else piece)
        self.sent += hi - lo

    def splice_fd(self, length: int) -> int | None:
        """The client's socket, while it works and the next ``length`` bytes are all within ``span``."""
        if self._fd is None or self.dropped is not None or self.transport.is_closing():
            return None
        if not self.span.start <= self.position <= self.span.end - length:
            return None
        return self._fd

    async def flushed(self, limit: float) -> bool:
        """Waits (at most ``limit`` s) until the transport has handed all it holds to the socket."""
        return await self.settled(0, limit, limit)

    @property
    def watched(self) -> bool:
        """True when :meth:`settled` can watch the socket (a plain socket on Linux)."""
        return self._fd is not None

    async def settled(self, low: int, quiet: float, limit: float = math.inf) -> bool:
        """Waits until the transport holds at most ``low`` bytes; False once the client has taken nothing for
        ``quiet`` seconds, after ``limit`` seconds in all, or when the connection closes (or cannot be
        watched: :attr:`watched`)."""
        transport = self.transport
        if transport.get_write_buffer_size() <= low:
            return True
        if self._fd is None or transport.is_closing():
            return False
        # Woken when the socket can take more, as the transport's own writer is (which sends from its buffer
        # on that same turn of the loop). Not the protocol's drain: a timeout would cancel aiohttp's shared
        # drain waiter, and the response's next drain would then raise CancelledError at once.
        loop = asyncio.get_running_loop()
        start = since = loop.time()
        last = transport.get_write_buffer_size()
        fd = os.dup(self._fd)
        try:
            while (size := transport.get_write_buffer_size()) > low:
                now = loop.time()
                if size < last:
                    last, since = size, now
                left = min(since + quiet, start + limit) - now
                if transport.is_closing() or left <= 0:
                    return False
                await splice.ready(fd, write=True, timeout=left)
        finally:
            os.close(fd)
        return True

    def spliced(self, n: int) -> None:
        """``n`` bytes went onto the connection past the transport."""
        self.position += n
        self.sent += n

    def splice_failed(self, reason: str) -> None:
        """The connection failed under a splice: it is dropped."""
        if self.dropped is None:
            self.dropped = reason
        self.transport.abort()

    def check(self) -> None:
        """Raises when the client did not get everything asked so far."""
        if self.dropped is not None:
            raise ConnectionAbortedError(self.dropped)


async def _in_pieces(
    backend: Backend, handle: int, forward: Forward, drained: Callable[[], Awaitable[None]]
) -> None:
    span = forward.span
    offset = span.start
    while offset < span.end:
        forward.position = offset
        got = await backend.read_part(handle, offset, min(CHUNK, span.end - offset), forward)
        forward.check()
        if got <= 0:
            raise ConnectionAbortedError(f"the camera sent no bytes of object {handle} at {offset}")
        offset += got
        await drained()  # backpressure: the next piece once the client has taken this one


async def _in_one(
    backend: Backend, handle: int, forward: Forward, drained: Callable[[], Awaitable[None]]
) -> None:
    await backend.read_all(handle, forward)
    forward.check()
    if forward.sent < forward.span.length:
        raise ConnectionAbortedError(f"object {handle} ended after {forward.position} bytes")
    await drained()

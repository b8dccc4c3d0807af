"""The data plane's own bounds beyond aiohttp's: a request body must arrive whole within ``http_timeout``, and
at most ``http_max_connections`` HTTP connections from this machine, and as many from elsewhere, are open at a
time.

aiohttp's ``keepalive_timeout`` only covers a connection between requests: a client that announces a body and
stops sending it would be waited for without end, with what it sent buffered. :func:`body_middleware` reads
every body (at most 1 MiB, the data plane's cap) before the handler runs, within the timeout; a body that does
not arrive in time is answered 408 and its connection closed. A request without credentials (a peer off
loopback that has not shown the token: it can only log in, ``POST /auth``) may send at most
:data:`ANONYMOUS_BODY` bytes, declared by ``Content-Length``, so that strangers cannot make the daemon hold
megabytes.

:class:`ConnectionCap` counts connections as they are accepted (before aiohttp's own handler sees them, so a
burst of connects cannot slip past it), those from this machine and those from elsewhere apart (strangers
cannot lock local users out); one over its cap gets a short 503 and is closed, unread, after a
bounded linger (its request bytes are read and dropped, so that closing does not reset the connection and
destroy the answer before the client has read it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from typing import cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from ptpipd.errors import ErrorCode as codes
from ptpipd.net import is_loopback_peer
from ptpipd.rpc.dispatcher import MAX_MESSAGE
from ptpipd.web.auth import CREDENTIALS, Handler
from ptpipd.web.errors import HttpError

log = logging.getLogger(__name__)

#: How long a refused connection may take to read its 503 (and how much of its request is read and dropped).
REFUSAL_LINGER_SECONDS = 1.0
REFUSAL_LINGER_BYTES = 64 << 10
#: The largest body of a request without credentials (``POST /auth {"token": …}`` needs a few dozen bytes).
ANONYMOUS_BODY = 8 << 10
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def too_large() -> HttpError:
    """413 for a body over the 1 MiB cap (JSON like every error answer)."""
    return HttpError(413, codes.INVALID_REQUEST, f"request over {MAX_MESSAGE >> 20} MiB")


def _anonymous_too_large(request: web.Request) -> bool:
    """True for a body a request without credentials may not send: over :data:`ANONYMOUS_BODY`, or of a
    length it does not declare (chunked)."""
    length = request.content_length
    return not request.get(CREDENTIALS, True) and (length is None or length > ANONYMOUS_BODY)


def body_middleware(timeout: float) -> Middleware:
    """Reads each request's body before its handler, within ``timeout`` seconds and the 1 MiB cap (the
    handlers then find it read: ``request.read()``, ``json()``, ``post()``)."""

    @web.middleware
    async def bounded_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            if request.content_length is not None and request.content_length > MAX_MESSAGE:
                return _closing(too_large())  # from the headers alone, before a byte of the body is read
            if _anonymous_too_large(request):
                message = (
                    f"without the token a request body is at most {ANONYMOUS_BODY} bytes, with Content-Length"
                )
                return _closing(HttpError(413, codes.INVALID_REQUEST, message))
            try:
                async with asyncio.timeout(timeout):
                    # a form is parsed now (a multipart one cannot be read twice), anything else kept as bytes
                    await (request.post() if request.content_type in _FORMS else request.read())
            except TimeoutError:
                message = f"the request body did not arrive within {timeout:g} s"
                return _closing(HttpError(408, codes.INVALID_REQUEST, message))
            except web.HTTPRequestEntityTooLarge:  # a chunked body, found too long as it came
                return _closing(too_large())
        return await handler(request)

    return bounded_body


def _closing(error: HttpError) -> web.Response:
    """The error answer, after which the connection closes (the rest of its body is never read)."""
    response = error.response()
    response.force_close()
    return response


class ConnectionCap:
    """At most ``limit`` HTTP connections at a time from this machine (the Unix socket and loopback), and at
    most ``limit`` from other addresses: strangers holding every slot they may take (a connection that never
    shows the token is only dropped after ``http_timeout``, and may come back) never lock local users out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: the connections being served, local ones (True) and the others (weak: a connection that never
        #: started is forgotten with it)
        self.served: dict[bool, weakref.WeakSet[_Counted]] = {
            True: weakref.WeakSet(),
            False: weakref.WeakSet(),
        }
        self.refused: weakref.WeakSet[_Refusal] = weakref.WeakSet()
        self._full = {True: False, False: False}

    def factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """The protocol factory for ``loop.create_server``: a connection counted as it is accepted, served
        by ``make()``'s protocol (aiohttp's handler) while its pool is under the cap, else refused."""
        return lambda: _Counted(make, self)

    def admit(self, conn: _Counted, local: bool) -> bool:
        """Counts ``conn`` in its pool (True) unless the pool is full (False: a warning, once per filling)."""
        pool = self.served[local]
        if len(pool) >= self.limit:
            if not self._full[local]:
                self._full[local] = True
                where = "from this machine" if local else "from other addresses"
                log.warning("HTTP: %d connections open %s, refusing more until one closes", self.limit, where)
            return False
        self._full[local] = False
        pool.add(conn)
        return True

    def close(self) -> None:
        """Ends the refusals still lingering (shutdown)."""
        for refusal in list(self.refused):
            refusal.abort()


class _Counted(asyncio.Protocol):
    """One accepted connection: counted in its pool when it is made (before aiohttp sees it, so a burst of
    connects cannot slip past the cap), then passed to aiohttp's protocol, or to a :class:`_Refusal`."""

    def __init__(self, make: Callable[[], asyncio.Protocol], cap: ConnectionCap) -> None:
        self.make = make
        self.cap = cap
        self.inner: asyncio.Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        local = is_loopback_peer(transport.get_extra_info("peername"))  # the Unix socket's peer too
        self.inner = self.make() if self.cap.admit(self, local) else _Refusal(self.cap)
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        for pool in self.cap.served.values():
            pool.discard(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


def _refusal_bytes(limit: int) -> bytes:
    body = json.dumps(
        {
            "error": {
                "code": codes.TOO_MANY_REQUESTS,
                "message": f"too many connections: the daemon serves {limit} HTTP connections at a time",
                "data": None,
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Refusal(asyncio.Protocol):
    """A connection over the cap: a 503, then the connection lingers (reading and dropping) until the client
    closes, :data:`REFUSAL_LINGER_BYTES` came, or :data:`REFUSAL_LINGER_SECONDS` passed."""

    def __init__(self, cap: ConnectionCap) -> None:
        self.cap = cap
        self.transport: asyncio.WriteTransport | None = None
        self.received = 0
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(
            asyncio.WriteTransport, transport
        )  # uvloop's subclass none of asyncio's
        self.cap.refused.add(self)
        transport.write(_refusal_bytes(self.cap.limit))
        if transport.can_write_eof():
            transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER_SECONDS, self.abort)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > REFUSAL_LINGER_BYTES:
            self.abort()

    def eof_received(self) -> bool:
        return False  # the client is done too: the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.cap.refused.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.close()

"""One client connection, Unix or TCP alike: request lines in, response lines out, in order, plus
notifications after ``subscribe`` (from a second task of the same connection, through a bounded queue).

Each line goes to :meth:`Dispatcher.respond` as it came (bytes; the dispatcher parses it once). The handler
closes a connection after an answer when the method asked for it (``Client.closing``: too many wrong ``auth``
tokens). Counting and closing the connections at shutdown is the :class:`~ptpipd.transports.listeners.Listener`'s
job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket

from ptpipd.net import is_loopback_peer
from ptpipd.rpc import Client, Dispatcher
from ptpipd.rpc.dispatcher import error_response, notification_text
from ptpipd.rpc.errors import INVALID_REQUEST
from ptpipd.service import CameraService, SubscriberOverflow, Subscription
from ptpipd.transports.lines import LineTooLong, read_line

log = logging.getLogger(__name__)


#: After refusing an over-long line: how long, and how much, the rest of it is read and dropped.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 << 20


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-closes and discards what the client is still sending (bounded) before the connection is closed.

    Closing a socket with unread input makes the kernel send a reset, and a client still writing its
    over-long line (a simple script writes everything before it reads) would then see "connection reset"
    instead of the -32600 already sent.
    """
    if writer.can_write_eof():
        writer.write_eof()
    received = 0
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        async with asyncio.timeout(LINGER_SECONDS):
            while received < LINGER_BYTES:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                received += len(chunk)


class ClientHandler:
    """Serves connections for a dispatcher."""

    def __init__(
        self, dispatcher: Dispatcher, service: CameraService, *, require_auth_off_loopback: bool
    ) -> None:
        self.dispatcher = dispatcher
        self.service = service
        self.require_auth = require_auth_off_loopback
        self._ids = itertools.count(1)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        kind = "unix" if sock is not None and sock.family == socket.AF_UNIX else "tcp"
        peer = writer.get_extra_info("peername")
        client = Client(
            next(self._ids),
            kind,
            str(peer or kind),
            authenticated=not self.require_auth or is_loopback_peer(peer),
        )
        log.debug("client %d connected over %s from %s", client.id, kind, client.peer)
        notifier: asyncio.Task[None] | None = None

        def on_subscribe(sub: Subscription | None) -> None:
            nonlocal notifier
            if notifier is not None:
                notifier.cancel()
                notifier = None
            if sub is not None:
                notifier = asyncio.create_task(self._notify(sub, writer, client), name=f"notify-{client.id}")

        client.on_subscribe = on_subscribe
        try:
            await self._serve(reader, writer, client)
        except (ConnectionError, OSError) as exc:
            log.debug("client %d: %s", client.id, exc)
        finally:
            if notifier is not None:
                notifier.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await notifier
            if client.subscription is not None:
                self.service.unsubscribe(client.subscription)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.debug("client %d gone", client.id)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: Client
    ) -> None:
        while True:
            try:
                line = await read_line(reader)
            except LineTooLong as exc:
                log.warning("client %d: %s; closing the connection", client.id, exc)
                writer.write(error_response(INVALID_REQUEST, f"Invalid request: {exc}").encode() + b"\n")
                await writer.drain()
                await _linger(reader, writer)
                return
            if line is None:
                return
            if not line.strip():
                continue
            response = await self.dispatcher.respond(line, client)
            if response is not None:
                writer.write(response.encode() + b"\n")
                await writer.drain()
            if client.closing:
                log.warning("client %d: closing the connection after too many wrong tokens", client.id)
                await _linger(reader, writer)
                return

    async def _notify(self, sub: Subscription, writer: asyncio.StreamWriter, client: Client) -> None:
        try:
            while True:
                note = await sub.next()
                writer.write(notification_text(note.method, note.params).encode() + b"\n")
                await writer.drain()
        except SubscriberOverflow as exc:
            log.warning("client %d dropped: %s", client.id, exc)
            final = notification_text("notify.connection", {"state": "dropped", "reason": str(exc)})
            with contextlib.suppress(Exception):
                writer.write(final.encode() + b"\n")
            writer.close()
        except (ConnectionError, OSError):
            writer.close()

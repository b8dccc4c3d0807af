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

from ptpipd.config import Settings
from ptpipd.errors import ErrorCode as codes
from ptpipd.net import LineTooLong, WriteTimeout, close, is_loopback_peer, linger, peer_host, read_line, send
from ptpipd.rpc import Client, Dispatcher, notifying
from ptpipd.rpc.dispatcher import MAX_MESSAGE, error_response, notification_text
from ptpipd.service import CameraService, SubscriberOverflow, Subscription

log = logging.getLogger(__name__)


class ClientHandler:
    """Serves connections for a dispatcher, as the settings say (``auth_token``: a client off loopback
    authenticates first; ``write_timeout``, ``rpc_idle_timeout``)."""

    def __init__(self, dispatcher: Dispatcher, service: CameraService, settings: Settings) -> None:
        self.dispatcher = dispatcher
        self.service = service
        self.require_auth = bool(settings.auth_token)
        #: A client that takes nothing of an answer or notification for this long is disconnected.
        self.write_timeout = settings.write_timeout
        #: A client without a subscription that sends no request for this long is closed (0: never).
        self.idle_timeout = settings.rpc_idle_timeout
        self._ids = itertools.count(1)

    def refusal(self, limit: int) -> bytes:
        """The one line a connection over the listener's cap gets before it is closed: a JSON-RPC error."""
        message = f"Too many connections: this listener serves at most {limit} at a time; try again later"
        return error_response(codes.TOO_MANY_REQUESTS, message, data={"connections": limit}).encode() + b"\n"

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        kind = "unix" if sock is not None and sock.family == socket.AF_UNIX else "tcp"
        peer = writer.get_extra_info("peername")
        client = Client(
            next(self._ids),
            kind,
            peer_host(peer) or kind,
            authenticated=not self.require_auth or is_loopback_peer(peer),
        )
        log.debug("client %d connected over %s from %s", client.id, kind, peer or kind)
        try:
            async with notifying(client, self.service, lambda sub: self._notify(sub, writer, client)):
                await self._serve(reader, writer, client)
        except WriteTimeout as exc:
            log.warning("client %d dropped: %s", client.id, exc)
        except (ConnectionError, OSError) as exc:
            log.debug("client %d: %s", client.id, exc)
        finally:
            await close(writer, self.write_timeout)
            log.debug("client %d gone", client.id)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: Client
    ) -> None:
        while True:
            try:
                line = await self._next_line(reader, client)
            except TimeoutError:
                await self._drop_idle(writer, client)
                return
            except LineTooLong as exc:
                log.warning("client %d: %s; closing the connection", client.id, exc)
                refused = error_response(codes.INVALID_REQUEST, f"Invalid request: {exc}")
                await send(writer, refused.encode() + b"\n", self.write_timeout)
                await linger(reader, writer)
                return
            if line is None:
                return
            if not line.strip():
                continue
            response = await self.dispatcher.respond(line, client)
            if response is not None:
                await send(writer, response.encode() + b"\n", self.write_timeout)
            if client.closing:
                log.warning("client %d: closing the connection after too many wrong tokens", client.id)
                await linger(reader, writer)
                return

    async def _next_line(self, reader: asyncio.StreamReader, client: Client) -> bytes | None:
        """The next request line (None at end of stream); TimeoutError after ``idle_timeout`` seconds of
        silence, unless the client has subscribed (it then waits for notifications as long as it likes)."""
        limit = self.idle_timeout if self.idle_timeout > 0 and client.subscription is None else None
        async with asyncio.timeout(limit):
            return await read_line(reader, MAX_MESSAGE)

    async def _drop_idle(self, writer: asyncio.StreamWriter, client: Client) -> None:
        """Tells a client silent for ``idle_timeout`` why its connection ends (the caller then closes it)."""
        log.info("client %d: no request for %g s; closing the connection", client.id, self.idle_timeout)
        reason = f"no request for {self.idle_timeout:g} s"
        note = notification_text("notify.connection", {"state": "dropped", "reason": reason})
        await send(writer, note.encode() + b"\n", self.write_timeout)

    async def _notify(self, sub: Subscription, writer: asyncio.StreamWriter, client: Client) -> None:
        try:
            while True:
                note = await sub.next()
                line = notification_text(note.method, note.params).encode() + b"\n"
                await send(writer, line, self.write_timeout)
        except SubscriberOverflow as exc:
            log.warning("client %d dropped: %s", client.id, exc)
            final = notification_text("notify.connection", {"state": "dropped", "reason": str(exc)})
            with contextlib.suppress(Exception):
                writer.write(final.encode() + b"\n")
            await close(writer, self.write_timeout)  # bounded: a client that reads nothing is aborted
        except WriteTimeout as exc:
            log.warning("client %d dropped: %s", client.id, exc)
        except (ConnectionError, OSError):
            writer.close()

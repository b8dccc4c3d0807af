"""The legacy text listener (DESIGN.md §5): the seed's server mode over TCP.

As in the seed, a connection carries one command: the server answers it and closes the connection, so
``echo 'get iso' | nc 127.0.0.1 15740`` returns by itself. Blank lines before the command are skipped.
With ``[server] keep_open = true`` a connection serves line after line until the client closes it
(interactive use with ``nc``/``telnet``); an error then leaves the connection usable.

Lines are capped at :data:`~ptpipd.legacy.parser.MAX_LINE` bytes: a longer line gets one error line and the
connection is closed. A line that is not UTF-8 gets an error line. On a listener that is not on a loopback
address (allowed only with an ``auth_token``), a client sends ``auth TOKEN`` first (the answer does not end a
one-command connection); until then every command answers ``unauthorised``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os

from ptpipd.config import Settings
from ptpipd.legacy.adapter import Adapter
from ptpipd.legacy.parser import MAX_LINE
from ptpipd.net import is_loopback_peer
from ptpipd.rpc import Client, Dispatcher

log = logging.getLogger(__name__)

#: The stream reader's limit for a text connection: the line cap plus room for ``\r\n``, so that a longer
#: line is detected without buffering it.
READER_LIMIT = MAX_LINE + 2

#: Client ids of legacy connections start high so they do not collide with the JSON-RPC handler's in logs.
_IDS = itertools.count(1_000_000)


class LegacyHandler:
    """Serves text connections for one dispatcher."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.keep_open = settings.legacy_keep_open
        self.require_auth = bool(settings.auth_token)
        self.capture_dir = settings.captures_path(os.environ)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = Client(
            next(_IDS), "legacy", str(peer), authenticated=not self.require_auth or is_loopback_peer(peer)
        )
        adapter = Adapter(self.dispatcher, client, self.capture_dir)
        log.debug("legacy client %d connected from %s", client.id, client.peer)
        try:
            await self._serve(reader, writer, adapter)
            await _finish(reader, writer)
        except (ConnectionError, OSError) as exc:
            log.debug("legacy client %d: %s", client.id, exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, adapter: Adapter
    ) -> None:
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raw = exc.partial  # a last line without newline still counts
                if not raw:
                    return
            except asyncio.LimitOverrunError:
                writer.write(f"error: line longer than {MAX_LINE} bytes; closing\n".encode())
                await writer.drain()
                return
            if len(raw.rstrip(b"\r\n")) > MAX_LINE:
                writer.write(f"error: line longer than {MAX_LINE} bytes; closing\n".encode())
                await writer.drain()
                return
            eof = not raw.endswith(b"\n")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                writer.write(b"error: the line is not UTF-8\n")
                await writer.drain()
                if not self.keep_open or eof:
                    return
                continue
            reply = await adapter.run_line(line)
            if reply is not None:
                word = (line.split() or [""])[0]  # the command only: `auth TOKEN` must not reach the log
                log.debug("legacy client %d: %s ok=%s", adapter.client.id, word, reply.ok)
                writer.write(reply.text.encode())
                await writer.drain()
                authenticating = word.lower() == "auth" and reply.ok
                if not self.keep_open and not authenticating:
                    return
            if eof:
                return


#: How long a closing connection waits for the client to close its side, and how much it reads meanwhile.
FINISH_TIMEOUT = 2.0
FINISH_BYTES = 1 << 20


async def _finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-closes, then reads (and drops) what the client still sends until it closes, bounded.

    Closing a socket with unread input makes the kernel send a reset, and a reset can destroy the answer
    before the client has read it (``printf 'get iso\\nget iso\\n' | nc …``). Clients such as ``nc`` close
    as soon as they see our end of stream, so this normally takes no time at all.
    """
    if writer.can_write_eof():
        writer.write_eof()
    dropped = 0
    with contextlib.suppress(TimeoutError, asyncio.LimitOverrunError, ValueError):
        async with asyncio.timeout(FINISH_TIMEOUT):
            while dropped < FINISH_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                dropped += len(chunk)

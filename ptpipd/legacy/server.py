"""The legacy text listener (DESIGN.md §5): the seed's server mode over TCP.

As in the seed, a connection carries one command: the server answers it and closes the connection, so
``echo 'get iso' | nc 127.0.0.1 15740`` returns by itself. Blank lines before the command are skipped.
With ``[server] keep_open = true`` a connection serves line after line until the client closes it
(interactive use with ``nc``/``telnet``); an error then leaves the connection usable.

Lines are capped at :data:`~ptpipd.legacy.parser.MAX_LINE` bytes: a longer line gets one error line and the
connection is closed. A line that is not UTF-8 gets an error line. On a listener that is not on a loopback
address (allowed only with an ``auth_token``), a client sends ``auth TOKEN`` first (the answer does not end a
one-command connection); until then every command answers ``unauthorised``.

Nothing waits for ever: a one-command connection that has not sent its command within ``[server]
command_timeout`` seconds, or a keep-open one silent for ``[server] idle_timeout``, gets one error line and is
closed; a client that takes nothing of an answer for ``[daemon] write_timeout`` seconds is dropped. The
listener serves at most ``[daemon] max_connections`` at a time and tells the next one so in one line.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping

from ptpipd.config import Settings
from ptpipd.legacy.adapter import Adapter
from ptpipd.legacy.parser import MAX_LINE
from ptpipd.net import LineTooLong, WriteTimeout, close, is_loopback_peer, linger, peer_host, read_line, send
from ptpipd.rpc import Client, Dispatcher

log = logging.getLogger(__name__)

#: The stream reader's limit for a text connection: the line cap plus room for ``\r\n``, so that a longer
#: line is detected without buffering it.
READER_LIMIT = MAX_LINE + 2

#: Client ids of legacy connections start high so they do not collide with the JSON-RPC handler's in logs.
_IDS = itertools.count(1_000_000)


class LegacyHandler:
    """Serves text connections for one dispatcher."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher, env: Mapping[str, str]) -> None:
        self.dispatcher = dispatcher
        self.keep_open = settings.legacy_keep_open
        self.require_auth = bool(settings.auth_token)
        self.capture_dir = settings.captures_path(env)
        #: How long a one-command connection may take to send its command, a keep-open one to send its next.
        self.read_timeout = (
            settings.legacy_idle_timeout if self.keep_open else settings.legacy_command_timeout
        )
        self.write_timeout = settings.write_timeout

    def refusal(self, limit: int) -> bytes:
        """The line a connection over the listener's cap gets before it is closed."""
        return f"error: too many connections (at most {limit}); try again later\n".encode()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        client = Client(
            next(_IDS),
            "legacy",
            peer_host(peer) or "unix",
            authenticated=not self.require_auth or is_loopback_peer(peer),
        )
        adapter = Adapter(self.dispatcher, client, self.capture_dir)
        log.debug("legacy client %d connected from %s", client.id, peer)
        try:
            await self._serve(reader, writer, adapter)
            await linger(reader, writer)
        except WriteTimeout as exc:
            log.warning("legacy client %d dropped: %s", client.id, exc)
        except (ConnectionError, OSError) as exc:
            log.debug("legacy client %d: %s", client.id, exc)
        finally:
            await close(writer, self.write_timeout)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, adapter: Adapter
    ) -> None:
        while (line := await self._next_text(reader, writer)) is not None:
            if not await self._run(line, writer, adapter):
                return

    async def _next_text(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str | None:
        """The next command line as text; None when the connection ends: at end of stream, or after an
        error line (too long, too slow, or not UTF-8 on a one-command connection). A keep-open connection
        goes on after a line that is not UTF-8 (it gets ``""``, a blank line)."""
        try:
            raw = await self._next_line(reader)
        except LineTooLong:
            error = f"error: line longer than {MAX_LINE} bytes; closing\n"
        except TimeoutError:
            error = f"error: no command within {self.read_timeout:g} s; closing\n"
        else:
            if raw is None:
                return None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                error = "error: the line is not UTF-8\n"
                if self.keep_open:
                    await send(writer, error.encode(), self.write_timeout)
                    return ""
        await send(writer, error.encode(), self.write_timeout)
        return None

    async def _run(self, line: str, writer: asyncio.StreamWriter, adapter: Adapter) -> bool:
        """Runs one command line and writes its answer; False when the connection ends after it."""
        reply = await adapter.run_line(line)
        if reply is None:  # blank to str.split() (Unicode spaces) though not to bytes.strip()
            return True
        word = (line.split() or [""])[0]  # the command only: `auth TOKEN` must not reach the log
        log.debug("legacy client %d: %s ok=%s", adapter.client.id, word, reply.ok)
        await send(writer, reply.text.encode(), self.write_timeout)
        authenticating = word.lower() == "auth" and reply.ok
        return self.keep_open or authenticating

    async def _next_line(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next line that is not blank (None at end of stream), within :attr:`read_timeout` seconds: a
        client that connects and says nothing (or only blank lines) does not hold a connection for ever."""
        async with asyncio.timeout(self.read_timeout):
            while True:
                raw = await read_line(reader, MAX_LINE)
                if raw is None or raw.strip():
                    return raw

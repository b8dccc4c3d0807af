"""The listener's cap holds connections whose handler is still at work, however the client left."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from ptpipd.loops import run_on
from ptpipd.net import close
from ptpipd.transports.listeners import Listener


class Working:
    """A handler that reads one line, then works until told to stop (a long camera operation)."""

    def __init__(self) -> None:
        self.started = asyncio.Queue[None]()
        self.finish = asyncio.Event()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        self.started.put_nowait(None)
        try:
            await self.finish.wait()
        finally:
            await close(writer, 1.0)

    def refusal(self, limit: int) -> bytes:
        return b"full\n"


def _reset_after_a_line(port: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"work\n")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
    sock.close()


LOOPS = pytest.mark.parametrize("loop", ["asyncio", "uvloop"])


@contextlib.asynccontextmanager
async def listening(handler: Working) -> AsyncIterator[tuple[Listener, int]]:
    """A listener of at most 2 connections on a free loopback port, closed on leaving."""
    async with Listener(handler, max_connections=2) as listener:
        listener.server = await asyncio.start_server(listener, "127.0.0.1", 0)
        yield listener, listener.server.sockets[0].getsockname()[1]


@LOOPS
def test_clients_that_reset_still_count_while_their_handler_works(loop: str) -> None:
    async def main() -> None:
        handler = Working()
        async with listening(handler) as (listener, port):
            for _ in range(2):
                await asyncio.to_thread(_reset_after_a_line, port)
                await asyncio.wait_for(handler.started.get(), 5)
            assert listener.clients == 2
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.readline(), 5) == b"full\n"  # the cap still holds
            writer.close()
            handler.finish.set()

    run_on(main(), loop)  # type: ignore[arg-type]


@LOOPS
def test_a_connection_its_handler_closed_stops_counting_once_nothing_is_left_to_send(loop: str) -> None:
    async def main() -> None:
        handler = Working()
        async with listening(handler) as (listener, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"work\n")
            await asyncio.wait_for(handler.started.get(), 5)
            assert listener.clients == 1
            handler.finish.set()  # the handler closes: its close may take a turn or two
            await asyncio.wait_for(reader.read(), 5)  # the daemon's side is closed: EOF here
            assert listener.clients == 0
            writer.close()

    run_on(main(), loop)  # type: ignore[arg-type]

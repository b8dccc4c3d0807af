"""Channel.read_now on a real loopback TCP connection: nothing waiting, bytes waiting, the peer's close, and a
reset (which the kernel reports once: it must fail the channel there, not read as a plain close later)."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from ptpipd.ip.transport.channel import Channel, open_channel


class Peer:
    """The camera's end: a listening socket and the one connection it accepts."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None


@pytest.fixture
async def linked() -> AsyncIterator[tuple[Channel, socket.socket, list[bytes], list[BaseException]]]:
    peer = Peer()
    fed: list[bytes] = []
    lost: list[BaseException] = []
    channel = await open_channel(
        "command", "127.0.0.1", peer.port, lambda v: fed.append(bytes(v)), lost.append, 5
    )
    conn, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_accept(peer.listener), 5)
    channel.transport.pause_reading()  # type: ignore[union-attr]  # as after a splice
    try:
        yield channel, conn, fed, lost
    finally:
        channel.close()
        conn.close()
        peer.listener.close()


async def _arrived(channel: Channel) -> None:
    """Waits (bounded) until the kernel holds bytes for the channel's socket."""
    assert channel.fd is not None
    ready = asyncio.Event()
    loop = asyncio.get_running_loop()
    watched = os.dup(channel.fd)  # the transport owns fd itself in the loop's selector
    loop.add_reader(watched, ready.set)
    try:
        await asyncio.wait_for(ready.wait(), 5)
    finally:
        loop.remove_reader(watched)
        os.close(watched)


async def test_nothing_waiting_is_false_and_leaves_the_channel_alone(linked) -> None:  # type: ignore[no-untyped-def]
    channel, _, fed, lost = linked
    assert channel.read_now() is False
    assert (fed, lost, channel.error) == ([], [], None)


async def test_waiting_bytes_are_read_and_fed_at_once(linked) -> None:  # type: ignore[no-untyped-def]
    channel, conn, fed, lost = linked
    conn.sendall(b"\x0c\x00\x00\x00\x07\x00\x00\x00head")
    await _arrived(channel)
    assert channel.read_now() is True
    assert b"".join(fed) == b"\x0c\x00\x00\x00\x07\x00\x00\x00head"
    assert channel.rx_bytes == 12 and lost == []


async def test_the_peers_close_is_left_to_the_transport(linked) -> None:  # type: ignore[no-untyped-def]
    channel, conn, fed, _ = linked
    conn.shutdown(socket.SHUT_WR)
    await _arrived(channel)
    assert channel.read_now() is False  # the transport sees the end once reading resumes
    assert (fed, channel.error) == ([], None)


async def test_a_reset_fails_the_channel_with_the_reset(linked) -> None:  # type: ignore[no-untyped-def]
    channel, conn, fed, lost = linked
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST, not FIN
    await _arrived(channel)
    assert channel.read_now() is True
    assert isinstance(channel.error, ConnectionResetError), channel.error
    assert lost == [channel.error] and fed == []

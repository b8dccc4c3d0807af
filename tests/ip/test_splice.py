"""Data payloads spliced camera socket → pipe → client socket (``ptpipd.ip.transport.splice``), over real
loopback TCP: a scripted camera (:mod:`tests.ip.scripted`) on one side, on the other the download's own sink
(``ptpipd.web.files.Forward``) on a real connection whose far end a test client reads.

Every test checks the bytes the client got against the payload, that the splice really moved them (the
sink's ``spliced`` count), and that nothing is left behind: no pipe or duplicated descriptor, no task.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import os
import random
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web

from ptpipd.ip.codec import Dialect
from ptpipd.ip.errors import ConnectionClosed, RemoteProtocolError, TransactionTimeout
from ptpipd.ip.generic import DATA_CHUNK, GENERIC
from ptpipd.ip.packets import EndData, PacketType, StartData, encode
from ptpipd.ip.transport import Reply, Timeouts, splice
from ptpipd.web.files import Forward
from ptpipd.web.ranges import ByteRange
from tests.ip.scripted import HOST, OK, Net, Session, within

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not splice.AVAILABLE, reason="splice(2) is Linux's"),
]


def blob(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def descriptors() -> collections.Counter[str]:
    """What this process's descriptors point to (``socket:[inode]``, ``pipe:[inode]``, files)."""
    found: collections.Counter[str] = collections.Counter()
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found[os.readlink(f"/proc/self/fd/{name}")] += 1
    return found


def leftovers(before: collections.Counter[str]) -> list[str]:
    """Descriptors opened since ``before`` that are pipes or second descriptors of one socket (dups)."""
    after = descriptors()
    grown = after - before
    return [
        what for what in grown if what.startswith("pipe:") or (what.startswith("socket:") and after[what] > 1)
    ]


def splice_tasks() -> list[asyncio.Task[object]]:
    """The camera link's splicing tasks still around."""
    return [
        t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == "Transactions._splice"
    ]


class CountingForward(Forward):
    """The download's sink, counting what went by splice, and telling when a splice starts."""

    def __init__(self, transport: asyncio.BaseTransport, size: int) -> None:
        super().__init__(transport, ByteRange(0, size, size), splicing=True)
        self.by_splice = 0
        self.splicing = asyncio.Event()

    async def flushed(self, limit: float) -> bool:
        self.splicing.set()
        return await super().flushed(limit)

    def spliced(self, n: int) -> None:
        super().spliced(n)
        self.by_splice += n


@dataclass
class Client:
    """An HTTP client stand-in: ``reader`` is its end; ``sink`` feeds the daemon's end of the connection."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    near: asyncio.StreamWriter
    sink: CountingForward

    async def read(self, n: int) -> bytes:
        return await within(self.reader.readexactly(n), 30)

    def close(self) -> None:
        self.writer.transport.abort()  # unread bytes: the kernel answers with a reset


@pytest.fixture
async def connect_client() -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    servers: list[asyncio.Server] = []
    clients: list[Client] = []

    async def make(size: int, rcvbuf: int | None = None) -> Client:
        accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

        async def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set_result(writer)

        server = await asyncio.start_server(on_connect, HOST, 0)
        servers.append(server)
        sock = socket.socket()
        if rcvbuf is not None:  # a small window, so that a client that does not read blocks the splice
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (HOST, server.sockets[0].getsockname()[1]))
        reader, writer = await asyncio.open_connection(sock=sock)
        near = await within(accepted)
        if rcvbuf is not None:
            near.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, rcvbuf)
        client = Client(reader, writer, near, CountingForward(near.transport, size))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.writer.transport.abort()
        client.near.transport.abort()
    for server in servers:
        server.close()


async def get_object(s: Session, sink: Forward) -> tuple[asyncio.Task[Reply], int]:
    """GetObject into ``sink`` under way: the task and the camera's view of its transaction ID."""
    tx = asyncio.create_task(s.init.transaction(0x1009, (1,), sink=sink))
    request = await s.cmd.recv_request()
    return tx, request.transaction_id


def data_phase(s: Session, tid: int, payload: bytes) -> bytes:
    """The data phase's wire bytes: 1 MiB Data packets (generic) or one container (Fuji)."""
    chunks = (memoryview(payload)[i : i + DATA_CHUNK] for i in range(0, len(payload), DATA_CHUNK))
    return b"".join(bytes(p) for p in s.cmd.codec.data_pieces(tid, 0x1009, len(payload), chunks))


async def next_transaction_works(s: Session) -> None:
    tx = asyncio.create_task(s.init.transaction(0x1001))
    request = await s.cmd.recv_request()
    await s.cmd.send_data(request.transaction_id, 0x1001, b"device info")
    await s.cmd.respond(OK, request.transaction_id)
    reply = await within(tx)
    assert reply.code == OK and reply.data == b"device info"


async def spliced_download_works(s: Session, connect_client: Callable[..., Awaitable[Client]]) -> None:
    """Another download into a new client gets exactly its own bytes (nothing left over in the pipe)."""
    payload = blob(1 << 20, seed=99)
    client = await connect_client(len(payload))
    tx, tid = await get_object(s, client.sink)
    reading = asyncio.create_task(client.read(len(payload)))
    await s.cmd.send(data_phase(s, tid, payload))
    await s.cmd.respond(OK, tid)
    assert (await within(tx)).code == OK
    assert await within(reading) == payload and client.sink.by_splice > 0


async def test_a_large_payload_is_spliced_to_the_client(
    net: Net, dialect: Dialect, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(dialect)
    payload = blob(3 << 20, seed=1)
    client = await connect_client(len(payload))
    before = descriptors()
    tx, tid = await get_object(s, client.sink)
    reading = asyncio.create_task(client.read(len(payload)))
    await s.cmd.send(data_phase(s, tid, payload))
    await s.cmd.respond(OK, tid)
    reply = await within(tx)
    assert hashlib.sha256(await within(reading)).digest() == hashlib.sha256(payload).digest()
    assert reply.code == OK and reply.data_length == len(payload)
    assert client.sink.sent == len(payload) and client.sink.dropped is None
    # all but the bytes read with each packet's header went past user space
    assert client.sink.by_splice >= len(payload) - 4 * splice.HEAD_READ
    await next_transaction_works(s)
    await s.init.close()
    assert leftovers(before) == [] and splice_tasks() == []


async def test_a_client_that_goes_away_mid_splice_leaves_the_session_usable(
    net: Net, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(GENERIC)
    payload = blob(2 << 20, seed=2)
    client = await connect_client(len(payload))
    before = descriptors()
    tx, tid = await get_object(s, client.sink)
    wire = data_phase(s, tid, payload)
    await s.cmd.send(wire[: 1 << 20])
    await within(client.sink.splicing.wait())
    assert await client.read(256 << 10) == payload[: 256 << 10]
    client.close()
    await s.cmd.send(wire[1 << 20 :])
    await s.cmd.respond(OK, tid)
    reply = await within(tx)
    assert reply.code == OK and reply.data_length == len(payload)
    assert client.sink.dropped is not None  # the download knows it did not get through
    assert client.near.transport.is_closing()
    await next_transaction_works(s)
    await spliced_download_works(s, connect_client)
    assert s.init.alive
    await s.init.close()
    assert leftovers(before) == [] and splice_tasks() == []


async def test_a_cancelled_download_stops_feeding_the_client(
    net: Net, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(GENERIC)
    payload = blob(2 << 20, seed=3)
    client = await connect_client(len(payload), rcvbuf=64 << 10)
    client.sink.hold = 2.0  # the splice waits on the client (which soon reads nothing) past the cancel
    tx, tid = await get_object(s, client.sink)
    wire = data_phase(s, tid, payload)
    await s.cmd.send(wire[: 1 << 20])
    await within(client.sink.splicing.wait())
    tx.cancel()  # the HTTP handler went away: the transaction runs on, its bytes go nowhere
    with pytest.raises(asyncio.CancelledError):
        await tx
    await s.cmd.send(wire[1 << 20 :])
    await s.cmd.respond(OK, tid)
    await next_transaction_works(s)
    assert client.sink.dropped is not None and client.near.transport.is_closing()
    await spliced_download_works(s, connect_client)
    assert splice_tasks() == []


async def test_a_slow_client_gets_the_rest_copied_without_holding_the_camera(
    net: Net, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(GENERIC)
    payload = blob(8 << 20, seed=4)
    client = await connect_client(len(payload), rcvbuf=64 << 10)
    tx, tid = await get_object(s, client.sink)
    # the client reads nothing until the camera's transaction is over: a splice would block on it
    await s.cmd.send(data_phase(s, tid, payload))
    await s.cmd.respond(OK, tid)
    reply = await within(tx, 10)
    assert reply.code == OK
    got = await client.read(len(payload))
    assert got == payload
    assert 0 < client.sink.by_splice < len(payload)  # spliced while it could, the rest copied
    assert client.sink.dropped is None
    await next_transaction_works(s)


async def test_the_camera_closing_mid_splice_is_a_clean_error(
    net: Net, dialect: Dialect, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(dialect)
    payload = blob(2 << 20, seed=5)
    client = await connect_client(len(payload))
    before = descriptors()
    tx, tid = await get_object(s, client.sink)
    wire = data_phase(s, tid, payload)
    await s.cmd.send(wire[: 600 << 10])  # a packet cut short: its length promises more than comes
    await within(client.sink.splicing.wait())
    await s.cmd.aclose()
    with pytest.raises(ConnectionClosed, match="closed"):
        await within(tx)
    assert not s.init.alive and len(s.seen.closes) == 1
    assert leftovers(before) == [] and splice_tasks() == []


async def test_a_camera_silent_mid_splice_times_out(
    net: Net, connect_client: Callable[..., Awaitable[Client]]
) -> None:
    s = await net.connect(GENERIC, timeouts=Timeouts(transaction=0.5))
    payload = blob(2 << 20, seed=6)
    client = await connect_client(len(payload))
    before = descriptors()
    tx, tid = await get_object(s, client.sink)
    await s.cmd.send(data_phase(s, tid, payload)[: 600 << 10])
    await within(client.sink.splicing.wait())
    with pytest.raises(TransactionTimeout):
        await within(tx)
    assert not s.init.alive
    assert leftovers(before) == [] and splice_tasks() == []


@pytest.mark.parametrize("extra", [-1000, 1000], ids=["short", "long"])
async def test_a_payload_that_does_not_match_its_start_data_is_a_protocol_error(
    net: Net, connect_client: Callable[..., Awaitable[Client]], extra: int
) -> None:
    s = await net.connect(GENERIC)
    announced = 1 << 20
    payload = blob(announced + extra, seed=7)
    client = await connect_client(announced)
    before = descriptors()
    tx, tid = await get_object(s, client.sink)
    await s.cmd.send(encode(StartData(tid, announced)), encode(EndData(tid, payload)))
    await s.cmd.respond(OK, tid)
    with pytest.raises(RemoteProtocolError, match="StartData announced"):
        await within(tx)
    assert client.sink.by_splice > 0  # the error was found with the payload spliced
    assert client.sink.sent <= announced  # never a byte past what StartData announced
    assert not s.init.alive
    assert leftovers(before) == [] and splice_tasks() == []


def test_the_packet_header_layout_used_here() -> None:
    # EndData: u32 length, u32 type 12, u32 transaction id, then the payload (PTPIP.md §2, §7)
    assert encode(EndData(7, b"ab")) == struct.pack("<III", 14, PacketType.EndData, 7) + b"ab"


async def test_flushed_waits_for_the_connection_buffer_within_its_limit(
    connect_client: Callable[..., Awaitable[Client]],
) -> None:
    """Before a splice, what ``write`` left in the transport's buffer must be out: ``flushed`` waits for it
    (at most its limit) and puts the transport's flow-control limits back."""
    payload = blob(4 << 20, seed=8)
    client = await connect_client(len(payload), rcvbuf=64 << 10)
    transport = client.near.transport
    limits = transport.get_write_buffer_limits()
    client.sink.write(payload)  # the client reads nothing yet: most of it stays in the buffer
    assert transport.get_write_buffer_size() > 0
    assert await client.sink.flushed(0.05) is False
    assert transport.get_write_buffer_limits() == limits
    reading = asyncio.create_task(client.read(len(payload)))
    assert await client.sink.flushed(10) is True
    assert transport.get_write_buffer_size() == 0
    assert transport.get_write_buffer_limits() == limits
    assert await within(reading) == payload


async def test_a_flush_that_times_out_leaves_the_responses_drain_working() -> None:
    """Under aiohttp: ``Forward.flushed`` timing out (the client reads nothing yet) must leave the response's
    own drain usable afterwards (waiting on aiohttp's drain waiter under a timeout would cancel that shared
    waiter, and every later drain of the response would raise CancelledError at once)."""
    size = 4 << 20
    payload = blob(size, seed=9)
    outcome: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()
    reading = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = size
        await response.prepare(request)
        await response.write(b"")
        assert request.transport is not None
        request.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 << 10)
        forward = Forward(request.transport, ByteRange(0, size, size), splicing=True)
        forward.write(payload)  # far more than the socket takes: the rest waits in the transport
        early = await forward.flushed(0.01)
        reading.set()
        writer = response._payload_writer
        assert writer is not None
        await within(writer.drain())  # raised CancelledError at once when the waiter had been cancelled
        outcome.set_result((early, await forward.flushed(10)))
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 10)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=64 << 10)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await within(reading.wait())
        body = (await within(reader.read(), 30)).partition(b"\r\n\r\n")[2]
        writer.close()
        assert await within(outcome) == (False, True)
        assert body == payload
    finally:
        await runner.cleanup()

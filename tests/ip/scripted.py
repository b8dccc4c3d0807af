"""Scripted PTP/IP responders for the loopback tests.

A :class:`Listener` is an asyncio server on 127.0.0.1, port 0. Every connection it accepts is handed to the
test as a :class:`Peer`: the responder's end of the socket plus a responder-role codec. The test then
drives the peer step by step (``await peer.recv()``, ``await peer.send(...)``) while the initiator under
test runs in a task. Every wait is bounded by :data:`WAIT`; nothing sleeps to synchronise.

:class:`Net` owns the listeners, peers and initiators of one test and closes them all at teardown, and knows
the two dialects' handshakes (:meth:`Net.connect`).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ptpipd.ip.codec import Codec, Decoded, Dialect, Role
from ptpipd.ip.fuji import FUJI, FujiCodec, FujiInitCommandRequest
from ptpipd.ip.generic import GENERIC, GenericCodec
from ptpipd.ip.packets import (
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    OperationRequest,
    OperationResponse,
    StartData,
    encode,
)
from ptpipd.ip.transport import Initiator, Timeouts

#: Upper bound of every wait in the loopback tests, in seconds.
WAIT = 5.0
HOST = "127.0.0.1"
INITIATOR_GUID = bytes(range(0x10, 0x20))
INITIATOR_NAME = "pytest-initiator"
CAMERA_GUID = bytes(range(0xA0, 0xB0))
CAMERA_NAME = "X-T1 (scripted)"
CONNECTION_NUMBER = 0x1234
OK = 0x2001

T = TypeVar("T")


async def within(aw: Awaitable[T], timeout: float = WAIT) -> T:
    """Awaits ``aw`` but fails the test (TimeoutError) after ``timeout`` seconds."""
    return await asyncio.wait_for(aw, timeout)


def _own(packet: Decoded) -> Decoded:
    """A copy of a decoded packet whose payload no longer refers to a receive buffer."""
    if isinstance(packet, Data):
        return Data(packet.transaction_id, bytes(packet.payload))
    if isinstance(packet, EndData):
        return EndData(packet.transaction_id, bytes(packet.payload))
    return packet


class Peer:
    """The responder's end of one accepted connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, codec: Codec) -> None:
        self.reader = reader
        self.writer = writer
        self.codec = codec
        #: Every byte received from the initiator, in order.
        self.raw = bytearray()

    # ------------------------------------------------------------------ receiving

    async def recv(self, timeout: float = WAIT) -> Decoded:
        """The next packet from the initiator (its payload copied)."""
        while True:
            packet = self.codec.next_event()
            if packet is not None:
                return _own(packet)
            chunk = await asyncio.wait_for(self.reader.read(1 << 20), timeout)
            if not chunk:
                raise EOFError("the initiator closed the connection")
            self.raw += chunk
            self.codec.receive_data(chunk)

    async def recv_request(self) -> OperationRequest:
        """The next packet, which must be an OperationRequest."""
        packet = await self.recv()
        assert isinstance(packet, OperationRequest), packet
        return packet

    async def recv_data_out(self) -> tuple[StartData, bytes]:
        """A whole data phase from the initiator: its StartData and the concatenated payload."""
        start = await self.recv()
        assert isinstance(start, StartData), start
        payload = bytearray()
        while True:
            packet = await self.recv()
            assert isinstance(packet, Data | EndData), packet
            assert packet.transaction_id == start.transaction_id
            payload += packet.payload
            if isinstance(packet, EndData):
                return start, bytes(payload)

    async def read_to_eof(self, timeout: float = WAIT) -> bytes:
        """Everything the initiator still sends until it closes the connection."""
        rest = await asyncio.wait_for(self.reader.read(), timeout)
        self.raw += rest
        return rest

    # ------------------------------------------------------------------ sending

    async def send(self, *chunks: bytes) -> None:
        """Writes raw bytes and waits until they are handed to the kernel."""
        for chunk in chunks:
            self.writer.write(chunk)
        await self.writer.drain()

    async def respond(self, code: int, transaction_id: int, params: tuple[int, ...] = ()) -> bytes:
        """Sends an OperationResponse in this connection's dialect; returns its bytes."""
        raw = self.codec.encode(OperationResponse(code, transaction_id, params))
        await self.send(raw)
        return raw

    async def send_data(self, transaction_id: int, code: int, payload: bytes) -> list[bytes]:
        """Sends a whole data phase in this connection's dialect; returns the packets written."""
        packets = self.codec.encode_data(transaction_id, code, payload)
        await self.send(*packets)
        return packets

    async def send_event(self, event: Event) -> bytes:
        """Sends one event in this connection's dialect; returns its bytes."""
        raw = self.codec.encode(event)
        await self.send(raw)
        return raw

    async def aclose(self) -> None:
        """Closes the connection (a no-op when it is already closed)."""
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), WAIT)


class Listener:
    """A responder's listening socket on 127.0.0.1; accepted connections queue up as :class:`Peer`."""

    def __init__(self, make_codec: Callable[[], Codec]) -> None:
        self.make_codec = make_codec
        self.server: asyncio.Server | None = None
        self.port = 0
        self.peers: list[Peer] = []
        self._accepted: asyncio.Queue[Peer] = asyncio.Queue()

    async def start(self, serving: bool = True) -> Listener:
        """Binds a fresh port; with ``serving=False`` it does not listen yet, so connections are refused."""
        self.server = await asyncio.start_server(self._on_connect, HOST, 0, start_serving=serving)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def serve(self) -> None:
        """Starts listening (after ``start(serving=False)``)."""
        assert self.server is not None
        await self.server.start_serving()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer, self.make_codec())
        self.peers.append(peer)
        self._accepted.put_nowait(peer)

    async def accept(self, timeout: float = WAIT) -> Peer:
        """The next accepted connection."""
        return await asyncio.wait_for(self._accepted.get(), timeout)

    async def aclose(self) -> None:
        """Closes every accepted connection and the server."""
        for peer in self.peers:
            await peer.aclose()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), WAIT)


def generic_responder_codec() -> Codec:
    return GenericCodec(Role.RESPONDER)


def fuji_command_responder_codec() -> Codec:
    return FujiCodec(Role.RESPONDER)


def fuji_event_responder_codec() -> Codec:
    return FujiCodec(Role.RESPONDER, containers=True)


class Observed:
    """What an initiator reported through ``on_event`` and ``on_close``."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closes: list[BaseException] = []
        self._arrived = asyncio.Event()
        self._closed = asyncio.Event()

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self._arrived.set()

    def on_close(self, exc: BaseException) -> None:
        self.closes.append(exc)
        self._closed.set()

    async def wait_closed(self, timeout: float = WAIT) -> BaseException:
        """Waits until ``on_close`` has been called; returns its first reason."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.closes[0]

    async def wait_events(self, count: int, timeout: float = WAIT) -> list[Event]:
        """Waits until ``count`` events have reached ``on_event``; returns them."""
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.events)


@dataclass
class Session:
    """An initiator connected to scripted responder connections (``evt`` is None until events are open)."""

    dialect: Dialect
    init: Initiator
    cmd: Peer
    evt: Peer | None
    cmd_listener: Listener
    evt_listener: Listener
    seen: Observed


class Net:
    """Listeners, peers and initiators of one test, all closed at teardown."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.initiators: list[Initiator] = []

    async def listen(self, make_codec: Callable[[], Codec], serving: bool = True) -> Listener:
        listener = Listener(make_codec)
        self.listeners.append(listener)
        return await listener.start(serving)

    def initiator(self, dialect: Dialect, **kwargs: Any) -> Initiator:
        kwargs.setdefault("guid", INITIATOR_GUID)
        kwargs.setdefault("name", INITIATOR_NAME)
        init = Initiator(dialect, HOST, **kwargs)
        self.initiators.append(init)
        return init

    async def aclose(self) -> None:
        for init in self.initiators:
            await init.close()
        for listener in self.listeners:
            await listener.aclose()

    # ------------------------------------------------------------------ handshakes

    async def listeners_for(self, dialect: Dialect) -> tuple[Listener, Listener]:
        """Command and event listeners: one shared port for generic PTP/IP, two ports for Fuji."""
        if dialect is GENERIC:
            shared = await self.listen(generic_responder_codec)
            return shared, shared
        return (
            await self.listen(fuji_command_responder_codec),
            await self.listen(fuji_event_responder_codec),
        )

    async def connect(
        self, dialect: Dialect, *, timeouts: Timeouts | None = None, events: bool = True
    ) -> Session:
        """An initiator through the dialect's init handshake (and, with ``events``, its event connection)."""
        cmd_listener, evt_listener = await self.listeners_for(dialect)
        seen = Observed()
        init = self.initiator(dialect, timeouts=timeouts, on_event=seen.on_event, on_close=seen.on_close)
        connecting = asyncio.create_task(init.connect(cmd_listener.port))
        cmd = await cmd_listener.accept()
        await answer_init(cmd, dialect)
        await within(connecting)
        session = Session(dialect, init, cmd, None, cmd_listener, evt_listener, seen)
        if events:
            await open_events(session)
        return session


async def answer_init(cmd: Peer, dialect: Dialect) -> InitCommandRequest | FujiInitCommandRequest:
    """Reads the initiator's init request and answers it with an InitCommandAck."""
    request = await cmd.recv()
    if dialect is GENERIC:
        assert isinstance(request, InitCommandRequest), request
        await cmd.send(encode(InitCommandAck(CONNECTION_NUMBER, CAMERA_GUID, CAMERA_NAME)))
    else:
        assert isinstance(request, FujiInitCommandRequest), request
        await cmd.send(encode(InitCommandAck(CONNECTION_NUMBER, CAMERA_GUID, CAMERA_NAME, 0)))
        assert isinstance(cmd.codec, FujiCodec)
        cmd.codec.start_containers()
    return request


async def open_events(session: Session) -> Peer:
    """Runs ``open_events`` against the session's event listener (InitEventRequest/Ack on generic)."""
    opening = asyncio.create_task(session.init.open_events(session.evt_listener.port))
    evt = await session.evt_listener.accept()
    if session.dialect is GENERIC:
        request = await evt.recv()
        assert request == InitEventRequest(CONNECTION_NUMBER)
        await evt.send(encode(InitEventAck()))
    await within(opening)
    session.evt = evt
    return evt


# ------------------------------------------------------------------ independent wire parsers


def split_generic(raw: bytes) -> list[tuple[int, bytes]]:
    """Splits PTP/IP bytes into (packet type, payload) pairs, independently of the code under test."""
    out = []
    offset = 0
    while offset < len(raw):
        length, ptype = struct.unpack_from("<II", raw, offset)
        assert length >= 8 and offset + length <= len(raw), (offset, length, len(raw))
        out.append((ptype, raw[offset + 8 : offset + length]))
        offset += length
    return out


def split_containers(raw: bytes) -> list[tuple[int, int, int, bytes]]:
    """Splits Fuji container bytes into (kind, code, transaction id, payload), independently."""
    out = []
    offset = 0
    while offset < len(raw):
        length, kind, code, tid = struct.unpack_from("<IHHI", raw, offset)
        assert length >= 12 and offset + length <= len(raw), (offset, length, len(raw))
        out.append((kind, code, tid, raw[offset + 12 : offset + length]))
        offset += length
    return out


DIALECTS = {"generic": GENERIC, "fuji": FUJI}

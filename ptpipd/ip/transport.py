"""The asyncio side of an initiator: TCP connections, the init handshake, transactions, events, probes.

This is the only module of :mod:`ptpipd.ip` that does I/O. Bytes are received straight into a buffer we
own (:class:`asyncio.BufferedProtocol`), decoded synchronously by the sans-I/O codecs, and data payloads go
to the caller's sink without being copied or queued, so a download of any size runs in bounded memory.

Every wait is bounded: connecting, each handshake step, and a transaction's *inactivity* (a transaction
fails when nothing at all arrives for ``Timeouts.transaction`` seconds, however long the transfer). Any
failure of the command or event connection — timeout, malformed packet, peer gone — closes the whole
:class:`Initiator` and fails the transaction in flight with the reason; a new one must be connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ptpipd.ip.codec import Codec, Decoded, Dialect, Role
from ptpipd.ip.errors import (
    ConnectionClosed,
    InitFailed,
    LocalProtocolError,
    PTPIPError,
    RemoteProtocolError,
    TransactionTimeout,
)
from ptpipd.ip.framing import RawRecorder
from ptpipd.ip.initiator import InitiatorSession
from ptpipd.ip.liveview import LiveViewReader
from ptpipd.ip.packets import (
    Buffer,
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitEventAck,
    InitEventRequest,
    InitFail,
    OperationResponse,
    ProbeRequest,
    ProbeResponse,
    StartData,
    init_fail_text,
)

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 1 << 20
#: In-memory data phases (datasets, property values, previews) are capped at this size by default.
DEFAULT_COLLECT_CAP = 64 << 20


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait of the initiator, in seconds."""

    connect: float = 10.0
    handshake: float = 10.0
    transaction: float = 10.0
    event_connect_attempts: int = 10
    event_connect_delay: float = 0.2


class DataSink(Protocol):
    """Receives the data phase of a transaction, chunk by chunk, synchronously and in order."""

    def write(self, data: Buffer) -> object:
        """Takes one chunk. The chunk is only valid during the call: copy what must be kept."""


class BytesSink:
    """Collects a data phase in memory up to ``cap`` bytes; past the cap it only counts."""

    def __init__(self, cap: int = DEFAULT_COLLECT_CAP) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.size = 0

    @property
    def overflow(self) -> bool:
        """True when more than ``cap`` bytes arrived."""
        return self.size > self.cap

    def write(self, data: Buffer) -> None:
        """Appends a chunk (or only counts it, past the cap)."""
        self.size += len(data)
        if self.size <= self.cap:
            self.buffer += data


class _Discard:
    def write(self, data: Buffer) -> None:
        del data


DISCARD = _Discard()


class DataTooLarge(PTPIPError):
    """A data phase collected in memory was larger than its cap; the session itself is still fine."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"the camera sent {size} bytes, more than the {cap}-byte limit for in-memory data")
        self.size = size
        self.cap = cap


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of a transaction: the response, the data (when collected in memory), the raw packets."""

    code: int
    transaction_id: int
    params: tuple[int, ...]
    data: bytes | None
    data_length: int
    raw: tuple[bytes, ...] = ()
    raw_truncated: bool = False


@dataclass(slots=True)
class _Pending:
    code: int
    transaction_id: int
    sink: DataSink
    future: asyncio.Future[OperationResponse]
    timeout: float
    received: int = 0
    total: int | None = None
    progress: Callable[[int, int | None], None] | None = None


class _Link(asyncio.BufferedProtocol):
    """One TCP connection whose received bytes are handed synchronously to ``feed``."""

    def __init__(
        self, name: str, feed: Callable[[memoryview], None], on_lost: Callable[[BaseException], None]
    ) -> None:
        self.name = name
        self._feed = feed
        self._on_lost = on_lost
        self._buf = bytearray(RECEIVE_BUFFER)
        self._view = memoryview(self._buf)
        self.transport: asyncio.Transport | None = None
        self.error: BaseException | None = None
        self.last_rx = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Every packet goes out in one write; Nagle would hold small ones back (gphoto2 saw 40 ms stalls).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.last_rx = asyncio.get_running_loop().time()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.last_rx = asyncio.get_running_loop().time()
        try:
            self._feed(self._view[:nbytes])
        except Exception as exc:  # a malformed packet or a sink failure: this connection is done
            self.fail(exc)

    def eof_received(self) -> bool:
        self.fail(ConnectionClosed(f"the camera closed the {self.name} connection"))
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.fail(exc or ConnectionClosed(f"the {self.name} connection was closed"))

    def write(self, data: Buffer) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed(f"the {self.name} connection is closed")
        self.transport.write(data)

    def fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
            if self.transport is not None:
                self.transport.abort()
            self._on_lost(exc)

    def close(self) -> None:
        if self.error is None:
            self.error = ConnectionClosed(f"the {self.name} connection was closed by us")
        if self.transport is not None:
            self.transport.close()


async def _open(
    name: str,
    host: str,
    port: int,
    feed: Callable[[memoryview], None],
    on_lost: Callable[[BaseException], None],
    timeout: float,
) -> _Link:
    loop = asyncio.get_running_loop()
    try:
        _, link = await asyncio.wait_for(
            loop.create_connection(lambda: _Link(name, feed, on_lost), host, port), timeout
        )
    except TimeoutError:
        raise TransactionTimeout(f"connecting the {name} channel to {host}:{port}", timeout) from None
    return link


class Initiator:
    """An initiator's connections to one camera: command/data, events, and (Fuji) the live-view stream.

    ``on_event`` is called synchronously for every event; it must not block. ``on_close`` is called once,
    with the reason, when the initiator stops working for any reason other than :meth:`close`.
    """

    def __init__(
        self,
        dialect: Dialect,
        host: str,
        *,
        guid: bytes,
        name: str,
        timeouts: Timeouts | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_close: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.dialect = dialect
        self.host = host
        self.guid = guid
        self.name = name
        self.timeouts = timeouts or Timeouts()
        self.on_event = on_event
        self.on_close = on_close
        self.ack: InitCommandAck | None = None
        self._command: _Link | None = None
        self._events: _Link | None = None
        self._command_codec: Codec = dialect.command_codec(Role.INITIATOR)
        self._session = InitiatorSession(
            self._command_codec, first_transaction_id=dialect.open_session_transaction_id
        )
        self._handshake: asyncio.Queue[Decoded | _Failure] = asyncio.Queue(maxsize=8)
        self._in_session = False
        self._event_codec: Codec | None = None
        self._event_handshake: asyncio.Queue[Decoded | _Failure] = asyncio.Queue(maxsize=8)
        self._probes: list[asyncio.Future[None]] = []
        self._lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending: _Pending | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._started_at = 0.0
        self._error: BaseException | None = None
        self._closing = False
        self._extra_links: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ state

    @property
    def error(self) -> BaseException | None:
        """Why the initiator stopped working, or None while it works."""
        return self._error

    @property
    def alive(self) -> bool:
        """True while the command connection works."""
        return self._error is None and self._command is not None

    @property
    def next_transaction_id(self) -> int:
        """The ID the next transaction will carry."""
        return self._session.next_transaction_id

    def _check_alive(self) -> None:
        if self._error is not None:
            raise ConnectionClosed(f"the camera connection is down: {self._error}") from self._error
        if self._command is None:
            raise ConnectionClosed("not connected")

    # ------------------------------------------------------------------ connections

    async def connect(self, port: int) -> InitCommandAck:
        """Opens the command/data connection and runs the init handshake; returns the camera's ack."""
        self._command = await _open(
            "command/data", self.host, port, self._feed_command, self._lost, self.timeouts.connect
        )
        self._command.write(self.dialect.init_request(self.guid, self.name))
        reply = await self._next_handshake(self._handshake, "the init command request")
        if isinstance(reply, InitFail):
            failed = self._error if isinstance(self._error, InitFailed) else None
            raise failed or InitFailed(reply.reason, init_fail_text(reply.reason))
        if not isinstance(reply, InitCommandAck):
            error = RemoteProtocolError(f"expected InitCommandAck, got {type(reply).__name__}")
            self._shutdown(error)
            raise error
        self.ack = reply
        self._in_session = True
        return reply

    async def open_events(self, port: int) -> None:
        """Opens the event connection (after the ack; on Fuji after InitiateOpenCapture)."""
        self._check_alive()
        codec = self.dialect.event_codec(Role.INITIATOR)
        self._event_codec = codec
        attempts = max(1, self.timeouts.event_connect_attempts)
        for attempt in range(attempts):
            try:
                self._events = await _open(
                    "event", self.host, port, self._feed_events, self._lost, self.timeouts.connect
                )
                break
            except ConnectionRefusedError:
                # Cameras may refuse the event connection at first (libgphoto2 and malc0mn both retry).
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.timeouts.event_connect_delay)
        if self.dialect.event_handshake:
            assert self.ack is not None
            assert self._events is not None
            self._events.write(codec.encode(InitEventRequest(self.ack.connection_number)))
            reply = await self._next_handshake(self._event_handshake, "the init event request")
            if isinstance(reply, InitFail):
                error = InitFailed(reply.reason, init_fail_text(reply.reason))
                self._shutdown(error)
                raise error
            if not isinstance(reply, InitEventAck):
                error2 = RemoteProtocolError(f"expected InitEventAck, got {type(reply).__name__}")
                self._shutdown(error2)
                raise error2

    async def _next_handshake(self, queue: asyncio.Queue[Decoded | _Failure], what: str) -> Decoded:
        getter = asyncio.ensure_future(queue.get())
        try:
            done, _ = await asyncio.wait({getter}, timeout=self.timeouts.handshake)
        finally:
            if not getter.done():
                getter.cancel()
        if not done:
            error = TransactionTimeout(f"waiting for the answer to {what}", self.timeouts.handshake)
            self._shutdown(error)
            raise error
        item = getter.result()
        if isinstance(item, _Failure):
            raise item.error
        return item

    async def open_stream(self, port: int, *, frame_timeout: float | None = None) -> LiveViewStream:
        """Opens the live-view connection (Fuji port 55742, after InitiateOpenCapture)."""
        self._check_alive()
        stream = LiveViewStream(frame_timeout if frame_timeout is not None else self.timeouts.handshake)
        attempts = max(1, self.timeouts.event_connect_attempts)
        for attempt in range(attempts):
            try:
                link = await _open(
                    "live-view", self.host, port, stream._feed, stream._lost, self.timeouts.connect
                )
                break
            except ConnectionRefusedError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.timeouts.event_connect_delay)
        stream._link = link
        self.add_cleanup(stream._close_now)
        return stream

    def add_cleanup(self, close: Callable[[], None]) -> None:
        """Registers an extra connection (live view) to close with the initiator, before the others."""
        self._extra_links.append(close)

    # ------------------------------------------------------------------ receiving

    def _feed_command(self, data: memoryview) -> None:
        if not self._in_session:
            codec = self._command_codec
            codec.receive_data(data)
            while (packet := codec.next_event()) is not None:
                self._handshake.put_nowait(packet)
                if isinstance(packet, InitFail):
                    # Record the reason now: the camera closes the connection right after InitFail
                    # (PTPIP.md §4.5), and that close must not be what the caller is told.
                    self._shutdown(InitFailed(packet.reason, init_fail_text(packet.reason)))
                    return
                if isinstance(packet, InitCommandAck | InitFail):
                    self._in_session = isinstance(packet, InitCommandAck)
                    # bytes after the ack belong to the session: decode them through it
                    if self._in_session:
                        self._drain_session()
                    return
            return
        self._session.receive_data(data)
        self._drain_session()

    def _drain_session(self) -> None:
        session = self._session
        while (packet := session.next_event()) is not None:
            pending = self._pending
            if pending is None:  # cannot happen: the session checks a transaction is in flight
                raise RemoteProtocolError(f"unexpected {type(packet).__name__}")
            if isinstance(packet, Data | EndData):
                if packet.payload:
                    pending.sink.write(packet.payload)
                    pending.received += len(packet.payload)
                    if pending.progress is not None:
                        pending.progress(pending.received, pending.total)
            elif isinstance(packet, StartData):
                pending.total = packet.known_length
            elif isinstance(packet, OperationResponse):
                self._finish(pending, packet)

    def _feed_events(self, data: memoryview) -> None:
        codec = self._event_codec
        assert codec is not None
        codec.receive_data(data)
        while (packet := codec.next_event()) is not None:
            if isinstance(packet, Event):
                if self.on_event is not None:
                    self.on_event(packet)
            elif isinstance(packet, ProbeRequest):
                assert self._events is not None
                self._events.write(codec.encode(ProbeResponse()))
            elif isinstance(packet, ProbeResponse):
                for fut in self._probes:
                    if not fut.done():
                        fut.set_result(None)
                self._probes.clear()
            elif isinstance(packet, InitEventAck | InitFail) and self.dialect.event_handshake:
                self._event_handshake.put_nowait(packet)
            else:
                raise RemoteProtocolError(f"unexpected {type(packet).__name__} on the event connection")

    # ------------------------------------------------------------------ transactions

    async def transaction(
        self,
        code: int,
        params: tuple[int, ...] | list[int] = (),
        *,
        data_out: Buffer | None = None,
        sink: DataSink | None = None,
        timeout: float | None = None,
        record: bool = False,
        collect_cap: int = DEFAULT_COLLECT_CAP,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Reply:
        """Runs one transaction and returns its reply, whatever the response code.

        Without a ``sink`` the data phase is collected in memory (up to ``collect_cap`` bytes, else
        :class:`DataTooLarge` once the transaction has ended). ``timeout`` bounds the *silence* while the
        transaction is in flight. With ``record``, copies of the raw packets received are returned.
        If the caller is cancelled, the transaction still completes on the wire (its data is discarded)
        before the next one starts, so the session never gets out of step.
        """
        limit = self.timeouts.transaction if timeout is None else timeout
        collector = BytesSink(collect_cap) if sink is None else None
        recorder = RawRecorder() if record else None
        async with self._lock:
            await self._idle.wait()
            self._check_alive()
            assert self._command is not None
            packets = self._session.start(code, tuple(params), data_out)
            tx = self._session.current
            assert tx is not None
            loop = asyncio.get_running_loop()
            pending = _Pending(
                code,
                tx.transaction_id,
                sink if sink is not None else collector if collector is not None else DISCARD,
                loop.create_future(),
                limit,
                progress=progress,
            )
            self._pending = pending
            self._idle.clear()
            self._command_codec.recorder = recorder
            self._started_at = loop.time()
            self._arm_stall_timer(limit)
            for packet in packets:
                self._command.write(packet)
        try:
            response = await pending.future
        except asyncio.CancelledError:
            pending.sink = DISCARD
            pending.progress = None
            raise
        if collector is not None and collector.overflow:
            raise DataTooLarge(collector.size, collector.cap)
        return Reply(
            response.code,
            response.transaction_id,
            response.params,
            bytes(collector.buffer) if collector is not None else None,
            pending.received,
            tuple(bytes(f) for f in recorder.frames) if recorder else (),
            recorder.truncated if recorder else False,
        )

    def _finish(self, pending: _Pending, response: OperationResponse) -> None:
        self._pending = None
        self._command_codec.recorder = None
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if not pending.future.done():
            pending.future.set_result(response)
        self._idle.set()

    def _arm_stall_timer(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._stall_timer = loop.call_later(delay, self._check_stall)

    def _check_stall(self) -> None:
        pending = self._pending
        if pending is None or self._command is None:
            return
        loop = asyncio.get_running_loop()
        quiet_since = max(self._command.last_rx, self._started_at)
        silent = loop.time() - quiet_since
        if silent >= pending.timeout:
            self._shutdown(
                TransactionTimeout(f"operation 0x{pending.code:04X}", pending.timeout, opcode=pending.code)
            )
        else:
            self._arm_stall_timer(pending.timeout - silent)

    async def probe(self, timeout: float | None = None) -> None:
        """Sends a ProbeRequest on the event connection and waits for the ProbeResponse."""
        if not self.dialect.probes:
            raise LocalProtocolError(f"the {self.dialect.name} dialect has no probe packets")
        self._check_alive()
        if self._events is None or self._event_codec is None:
            raise ConnectionClosed("the event connection is not open")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probes.append(fut)
        self._events.write(self._event_codec.encode(ProbeRequest()))
        limit = self.timeouts.handshake if timeout is None else timeout
        try:
            await asyncio.wait_for(asyncio.shield(fut), limit)
        except TimeoutError:
            if fut in self._probes:
                self._probes.remove(fut)
            fut.cancel()  # nobody will await it: it must not carry the shutdown error
            error = TransactionTimeout("waiting for the ProbeResponse", limit)
            self._shutdown(error)
            raise error from None

    # ------------------------------------------------------------------ closing

    def _lost(self, exc: BaseException) -> None:
        if self._closing:
            return
        if not isinstance(exc, PTPIPError):
            wrapped = ConnectionClosed(f"camera connection lost: {exc}")
            wrapped.__cause__ = exc
            exc = wrapped
        self._shutdown(exc)

    def _shutdown(self, exc: BaseException) -> None:
        first = self._error is None
        if first:
            self._error = exc
            log.debug("initiator down: %s", exc)
        self._closing = True
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        pending, self._pending = self._pending, None
        self._session.abandon()
        if pending is not None and not pending.future.done():
            pending.future.set_exception(self._error or exc)
        for fut in self._probes:
            if not fut.done():
                fut.set_exception(self._error or exc)
        self._probes.clear()
        for queue in (self._handshake, self._event_handshake):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_Failure(self._error or exc))
        for close in reversed(self._extra_links):
            close()
        self._extra_links.clear()
        for link in (self._events, self._command):
            if link is not None:
                link.close()
        self._idle.set()
        if first and self.on_close is not None and not isinstance(exc, _ClosedByUs):
            self.on_close(exc)

    async def close(self) -> None:
        """Closes every connection (live view first, as malc0mn does, then events, then command/data)."""
        self._shutdown(_ClosedByUs("the initiator was closed"))
        await asyncio.sleep(0)


class _ClosedByUs(ConnectionClosed):
    pass


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """One live-view frame as delivered: our sequence number (gaps = frames dropped because the reader was
    slow), the camera's counter, when its last byte arrived (monotonic and wall clock), and the JPEG."""

    sequence: int
    counter: int
    received_at: float
    wall_time: float
    jpeg: bytes


class LiveViewStream:
    """Frames from the live-view connection, as an async iterator.

    It holds at most one unread frame: when the reader is slower than the camera, the newest frame replaces
    the unread one (counted in ``dropped``), so a reader never falls behind. Waiting for a frame is bounded
    by ``frame_timeout``.
    """

    def __init__(self, frame_timeout: float) -> None:
        self.frame_timeout = frame_timeout
        self.received = 0
        self.dropped = 0
        self._reader = LiveViewReader()
        self._latest: LiveFrame | None = None
        self._ready = asyncio.Event()
        self._error: BaseException | None = None
        self._link: _Link | None = None

    def _feed(self, data: memoryview) -> None:
        self._reader.receive_data(data)
        now = asyncio.get_running_loop().time()
        while (frame := self._reader.next_frame()) is not None:
            self.received += 1
            if self._latest is not None:
                self.dropped += 1
            self._latest = LiveFrame(self.received, frame.counter, now, time.time(), frame.jpeg)
            self._ready.set()

    def _lost(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc if isinstance(exc, PTPIPError) else ConnectionClosed(f"live view lost: {exc}")
        self._ready.set()

    def _close_now(self) -> None:
        self._lost(_ClosedByUs("live view closed"))
        if self._link is not None:
            self._link.close()

    def __aiter__(self) -> LiveViewStream:
        return self

    async def __anext__(self) -> LiveFrame:
        while self._latest is None:
            if isinstance(self._error, _ClosedByUs):
                raise StopAsyncIteration
            if self._error is not None:
                raise self._error
            try:
                await asyncio.wait_for(self._ready.wait(), self.frame_timeout)
            except TimeoutError:
                raise TransactionTimeout("waiting for a live-view frame", self.frame_timeout) from None
            self._ready.clear()
        frame, self._latest = self._latest, None
        return frame

    async def close(self) -> None:
        """Closes the live-view connection; iteration then stops."""
        self._close_now()
        await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException

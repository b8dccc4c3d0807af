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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ptpipd.ip.codec import Codec, Decoded, Dialect, Role
from ptpipd.ip.errors import (
    ConnectionClosed,
    InitFailed,
    LocalProtocolError,
    PTPIPError,
    RemoteProtocolError,
    SinkFailed,
    TransactionDeadline,
    TransactionTimeout,
)
from ptpipd.ip.framing import RawRecorder
from ptpipd.ip.initiator import InitiatorSession, Transaction
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
)

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 1 << 20
#: Event-connection packets handled in one turn of the event loop (a flood waits its turn; see _drain).
EVENT_BURST = 256
#: In-memory data phases (datasets, property values, previews) are capped at this size by default.
DEFAULT_COLLECT_CAP = 64 << 20


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait of the initiator, in seconds."""

    connect: float = 10.0
    handshake: float = 10.0
    #: The longest silence while a transaction is in flight (each transaction may give its own).
    transaction: float = 10.0
    event_connect_attempts: int = 10
    event_connect_delay: float = 0.2
    #: Whatever arrives, a transaction ends within ``deadline_factor`` times its silence timeout
    #: (a property read is not a download) …
    deadline_factor: float = 3.0
    #: … plus, for a transfer into a caller's sink (a download, a capture), one second per this many bytes
    #: received: a download's deadline follows its progress, a trickle's does not.
    deadline_rate: float = 64 << 10


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

    def release(self) -> None:
        """Frees what was collected (a failed transfer: its memory goes back at once)."""
        self.buffer = bytearray()


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
    """The transaction in flight as the transport sees it; the session keeps its wire state in ``tx``."""

    tx: Transaction
    sink: DataSink
    future: asyncio.Future[OperationResponse]
    timeout: float
    started: float
    progress: Callable[[int, int | None], None] | None
    deadline: float  # seconds from ``started``, before any progress
    rate: float | None  # bytes per second of progress that earn more time (None: a fixed deadline)
    rx_start: int  # the command channel's ``rx_bytes`` when the transaction started
    optional: bool = False
    sink_error: OSError | None = None  # the sink failed: the rest of the data phase is discarded

    def allowed(self, rx_bytes: int) -> float:
        """Seconds from ``started`` this transaction may take, given the channel's ``rx_bytes`` now."""
        return self.deadline + ((rx_bytes - self.rx_start) / self.rate if self.rate else 0.0)


class Channel(asyncio.BufferedProtocol):
    """One TCP connection to the camera whose received bytes are handed synchronously to ``feed``.

    ``on_lost`` is called once with the reason when the connection fails (not after :meth:`close`).
    """

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
        self.rx_bytes = 0  # bytes received so far (a transfer's progress, packets complete or not)

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
        self.rx_bytes += nbytes
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
        """Sends bytes; :class:`ConnectionClosed` once the connection is closing."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed(f"the {self.name} connection is closed")
        self.transport.write(data)

    def fail(self, exc: BaseException) -> None:
        """Aborts the connection and reports ``exc`` to ``on_lost`` (once)."""
        if self.error is None:
            self.error = exc
            if self.transport is not None:
                self.transport.abort()
            self._on_lost(exc)

    def close(self, reason: BaseException | None = None) -> None:
        """Closes the connection; ``on_lost`` hears of it only when a ``reason`` is given."""
        if self.error is None:
            self.error = reason or ConnectionClosed(f"the {self.name} connection was closed by us")
            if reason is not None:
                self._on_lost(reason)
        if self.transport is not None:
            self.transport.close()


async def _open(
    name: str,
    host: str,
    port: int,
    feed: Callable[[memoryview], None],
    on_lost: Callable[[BaseException], None],
    timeout: float,
) -> Channel:
    loop = asyncio.get_running_loop()
    try:
        _, link = await asyncio.wait_for(
            loop.create_connection(lambda: Channel(name, feed, on_lost), host, port), timeout
        )
    except TimeoutError:
        raise TransactionTimeout(f"connecting the {name} channel to {host}:{port}", timeout) from None
    return link


async def _open_retrying(
    name: str,
    host: str,
    port: int,
    feed: Callable[[memoryview], None],
    on_lost: Callable[[BaseException], None],
    timeouts: Timeouts,
) -> Channel:
    """Cameras may refuse a secondary connection at first (libgphoto2 and malc0mn both retry)."""
    attempts = max(1, timeouts.event_connect_attempts)
    for _ in range(attempts - 1):
        with contextlib.suppress(ConnectionRefusedError):
            return await _open(name, host, port, feed, on_lost, timeouts.connect)
        await asyncio.sleep(timeouts.event_connect_delay)
    return await _open(name, host, port, feed, on_lost, timeouts.connect)


T = TypeVar("T", bound=Decoded)


class _EventChannel:
    """The event connection: its handshake (standard PTP/IP only), events to ``on_event``, and probes."""

    def __init__(self, initiator: Initiator) -> None:
        self._init = initiator
        self.codec: Codec = initiator.dialect.event_codec(Role.INITIATOR)
        self.channel: Channel | None = None
        self.probes: list[asyncio.Future[None]] = []
        self._paused = False

    async def open(self, port: int) -> None:
        init = self._init
        self.channel = await _open_retrying("event", init.host, port, self.feed, init._lost, init.timeouts)
        if init.dialect.event_handshake:
            assert init.ack is not None
            request = self.codec.encode(InitEventRequest(init.ack.connection_number))
            await init._handshake(self.channel, request, "the init event request", InitEventAck)

    def feed(self, data: memoryview) -> None:
        self.codec.receive_data(data)
        self._drain()

    def _drain(self) -> None:
        """Handles at most :data:`EVENT_BURST` packets, then lets the event loop serve others: with reading
        paused (the codec's pending bytes are views of the receive buffer, which must not be refilled
        yet), the rest is handled on the loop's next turn. A camera's flood of events is thus worked
        through between other clients' requests instead of holding the loop for seconds."""
        codec = self.codec
        for _ in range(EVENT_BURST):
            packet = codec.next_event()
            if packet is None:
                if self._paused and self.channel is not None and self.channel.transport is not None:
                    self._paused = False
                    self.channel.transport.resume_reading()
                return
            self._handle(packet)
        channel = self.channel
        if channel is not None and channel.transport is not None and channel.error is None:
            if not self._paused:
                self._paused = True
                channel.transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self) -> None:
        channel = self.channel
        if channel is None or channel.error is not None:
            return
        try:
            self._drain()
        except Exception as exc:  # as in Channel.buffer_updated: a malformed packet ends the connection
            channel.fail(exc)

    def _handle(self, packet: object) -> None:
        if isinstance(packet, Event):
            if self._init.on_event is not None:
                self._init.on_event(packet)
        elif isinstance(packet, ProbeRequest):
            assert self.channel is not None
            self.channel.write(self.codec.encode(ProbeResponse()))
        elif isinstance(packet, ProbeResponse):
            for fut in self.probes:
                if not fut.done():
                    fut.set_result(None)
            self.probes.clear()
        elif isinstance(packet, InitEventAck | InitFail) and self._init.dialect.event_handshake:
            self._init._handshake_packet(packet)
        else:
            raise RemoteProtocolError(f"unexpected {type(packet).__name__} on the event connection")

    async def probe(self, limit: float) -> None:
        if self.channel is None:
            raise ConnectionClosed("the event connection is not open")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.probes.append(fut)
        self.channel.write(self.codec.encode(ProbeRequest()))
        try:
            async with asyncio.timeout(limit):
                await fut  # cancelled on timeout, so that it does not carry the shutdown error unretrieved
        except TimeoutError:
            error = TransactionTimeout("waiting for the ProbeResponse", limit)
            self._init._shutdown(error)
            raise error from None
        finally:  # answered, timed out, or the caller gave up: nobody awaits it any more, so it must not
            if fut in self.probes:  # carry a shutdown error ("Future exception was never retrieved")
                self.probes.remove(fut)
            if fut.done() and not fut.cancelled():
                fut.exception()
            fut.cancel()

    def fail(self, exc: BaseException) -> None:
        for fut in self.probes:
            if not fut.done():
                fut.set_exception(exc)
        self.probes.clear()
        if self.channel is not None:
            self.channel.close()


class Initiator:
    """An initiator's connections to one camera: command/data, events, and any extra channel a vendor opens
    (:meth:`open_channel`, e.g. Fujifilm's live-view stream).

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
        self._command: Channel | None = None
        self._events: _EventChannel | None = None
        self._command_codec: Codec = dialect.command_codec(Role.INITIATOR)
        self._session = InitiatorSession(
            self._command_codec, first_transaction_id=dialect.open_session_transaction_id
        )
        self._reply: asyncio.Future[Decoded] | None = None  # the answer to the handshake request in flight
        self._in_session = False
        self._lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending: _Pending | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._error: BaseException | None = None
        self._closing = False
        #: Set once the initiator stopped working (a failure, or :meth:`close`): waits that do not run a
        #: transaction (a capture waiting for its events) watch it to end at once.
        self.down = asyncio.Event()
        self._extra: list[Channel] = []

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
        request = self.dialect.init_request(self.guid, self.name)
        self.ack = await self._handshake(self._command, request, "the init command request", InitCommandAck)
        return self.ack

    async def open_events(self, port: int) -> None:
        """Opens the event connection (after the ack; on Fuji after InitiateOpenCapture)."""
        self._check_alive()
        self._events = _EventChannel(self)
        await self._events.open(port)

    async def open_channel(
        self,
        name: str,
        port: int,
        feed: Callable[[memoryview], None],
        on_lost: Callable[[BaseException], None],
    ) -> Channel:
        """Opens an extra connection to the camera (a vendor's live-view stream, say), retried while the
        camera refuses it, and closed with the initiator (before the others, as malc0mn does). ``feed`` gets
        its bytes; ``on_lost`` the reason once it fails, the initiator's own failure included."""
        self._check_alive()
        channel = await _open_retrying(name, self.host, port, feed, on_lost, self.timeouts)
        self._extra.append(channel)
        return channel

    async def _handshake(self, channel: Channel, request: bytes, what: str, kind: type[T]) -> T:
        """Sends a handshake request and returns its answer, which must be a ``kind``: a timeout, InitFail (as
        InitFailed) or any other packet shuts the initiator down and is raised."""
        reply = self._reply = asyncio.get_running_loop().create_future()
        channel.write(request)
        limit = self.timeouts.handshake
        try:
            async with asyncio.timeout(limit):
                packet = await reply
        except TimeoutError:
            error: PTPIPError = TransactionTimeout(f"waiting for the answer to {what}", limit)
        else:
            if isinstance(packet, kind):
                return packet
            if isinstance(packet, InitFail):
                error = InitFailed(packet.reason, self.dialect.init_fail_text(packet.reason))
            else:
                error = RemoteProtocolError(f"expected {kind.__name__}, got {type(packet).__name__}")
        self._shutdown(error)
        raise error

    # ------------------------------------------------------------------ receiving

    def _handshake_packet(self, packet: Decoded) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(packet)
        if isinstance(packet, InitFail):
            # Record the reason now: the camera closes the connection right after InitFail (PTPIP.md §4.5),
            # and that close must not be what the caller is told.
            self._shutdown(InitFailed(packet.reason, self.dialect.init_fail_text(packet.reason)))

    def _feed_command(self, data: memoryview) -> None:
        if self._in_session:
            self._session.receive_data(data)
            self._drain_session()
            return
        codec = self._command_codec
        codec.receive_data(data)
        while (packet := codec.next_event()) is not None:
            self._handshake_packet(packet)
            if isinstance(packet, InitFail):
                return
            if isinstance(packet, InitCommandAck):
                self._in_session = True
                self._drain_session()  # bytes after the ack belong to the session: decode them through it
                return

    def _drain_session(self) -> None:
        session = self._session
        while (packet := session.next_event()) is not None:
            pending = self._pending
            if pending is None:  # cannot happen: the session checks a transaction is in flight
                raise RemoteProtocolError(f"unexpected {type(packet).__name__}")
            if isinstance(packet, Data | EndData) and packet.payload:
                self._to_sink(pending, packet.payload)
            elif isinstance(packet, OperationResponse):
                self._finish(pending, packet)

    @staticmethod
    def _to_sink(pending: _Pending, payload: Buffer) -> None:
        try:
            pending.sink.write(payload)
        except OSError as exc:  # our disk, not the camera: the session goes on (SinkFailed at the end)
            pending.sink_error, pending.sink, pending.progress = exc, DISCARD, None
            return
        if pending.progress is not None:
            pending.progress(pending.tx.received, pending.tx.data_in_length)

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
        optional: bool = False,
    ) -> Reply:
        """Runs one transaction and returns its reply, whatever the response code.

        Without a ``sink`` the data phase is collected in memory (up to ``collect_cap`` bytes, else
        :class:`DataTooLarge` once the transaction has ended). ``timeout`` bounds the *silence* while the
        transaction is in flight. With ``record``, copies of the raw packets received are returned.
        If the caller is cancelled, the transaction still completes on the wire (its data is discarded)
        before the next one starts, so the session never gets out of step. Whatever the silences, the
        transaction must end by its deadline (:class:`Timeouts`: ``deadline_factor`` times ``timeout``,
        plus time earned by progress when the data goes to a ``sink``), else :class:`TransactionDeadline`
        and the connection is closed, as for a timeout. An ``optional`` transaction the
        camera leaves unanswered for ``timeout`` is given up instead of ending the connection: it raises
        :class:`TransactionTimeout`, the next transaction may start, and a late answer is dropped. A sink
        that raises :class:`OSError` gets nothing more: the rest of the data phase is read and discarded,
        and the finished transaction raises :class:`SinkFailed` (the session goes on).
        """
        limit = self.timeouts.transaction if timeout is None else timeout
        rate = self.timeouts.deadline_rate if sink is not None else None
        collector: BytesSink | None = None
        if sink is None:
            sink = collector = BytesSink(collect_cap)
        recorder = RawRecorder() if record else None
        async with self._lock:
            await self._idle.wait()
            self._check_alive()
            assert self._command is not None
            packets = self._session.start(code, tuple(params), data_out)
            assert self._session.current is not None
            loop = asyncio.get_running_loop()
            deadline = limit * self.timeouts.deadline_factor
            pending = _Pending(
                self._session.current,
                sink,
                loop.create_future(),
                limit,
                loop.time(),
                progress,
                deadline,
                rate,
                self._command.rx_bytes,
                optional,
            )
            self._pending = pending
            self._idle.clear()
            self._command_codec.reader.recorder = recorder
            self._arm_stall_timer(limit)
            for packet in packets:
                self._command.write(packet)
        try:
            response = await pending.future
            if collector is not None and collector.overflow:
                raise DataTooLarge(collector.size, collector.cap)
            if pending.sink_error is not None:
                raise SinkFailed(pending.sink_error, pending.tx.received) from pending.sink_error
        except BaseException:
            pending.sink = DISCARD
            pending.progress = None
            if collector is not None:
                # now, not when the cycle collector gets to it: the exception's traceback holds this frame
                collector.release()
            raise
        return Reply(
            response.code,
            response.transaction_id,
            response.params,
            None if collector is None else bytes(collector.buffer),
            pending.tx.received,
            () if recorder is None else tuple(bytes(f) for f in recorder.frames),
            recorder is not None and recorder.truncated,
        )

    def _finish(self, pending: _Pending, response: OperationResponse) -> None:
        self._pending = None
        self._command_codec.reader.recorder = None
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
        now = asyncio.get_running_loop().time()
        silent = now - max(self._command.last_rx, pending.started)
        elapsed, allowed = now - pending.started, pending.allowed(self._command.rx_bytes)
        code = pending.tx.code
        if silent >= pending.timeout:
            error = TransactionTimeout(f"operation 0x{code:04X}", pending.timeout, opcode=code)
            if pending.optional:
                self._give_up(pending, error)
            else:
                self._shutdown(error)
        elif elapsed >= allowed:
            what = f"operation 0x{code:04X}"
            received = self._command.rx_bytes - pending.rx_start
            self._shutdown(TransactionDeadline(what, allowed, received, opcode=code))
        else:
            self._arm_stall_timer(min(pending.timeout - silent, allowed - elapsed))

    def _give_up(self, pending: _Pending, error: TransactionTimeout) -> None:
        """An optional transaction went unanswered: its caller gets ``error``, the connection stays."""
        log.debug("giving up on %s", error)
        self._pending = None
        self._stall_timer = None
        self._command_codec.reader.recorder = None
        self._session.give_up()
        pending.future.set_exception(error)
        self._idle.set()

    async def probe(self, timeout: float | None = None) -> None:
        """Sends a ProbeRequest on the event connection and waits for the ProbeResponse."""
        if not self.dialect.probes:
            raise LocalProtocolError(f"the {self.dialect.name} dialect has no probe packets")
        self._check_alive()
        if self._events is None:
            raise ConnectionClosed("the event connection is not open")
        await self._events.probe(self.timeouts.handshake if timeout is None else timeout)

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
        reason = self._error or exc
        self._closing = True
        self.down.set()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        pending, self._pending = self._pending, None
        self._session.abandon()
        if pending is not None and not pending.future.done():
            pending.future.set_exception(reason)
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(reason)
        for channel in reversed(self._extra):
            channel.close(reason)
        self._extra.clear()
        if self._events is not None:
            self._events.fail(reason)
        if self._command is not None:
            self._command.close()
        self._idle.set()
        if first and self.on_close is not None and not isinstance(exc, _ClosedByUs):
            self.on_close(exc)

    async def close(self) -> None:
        """Closes every connection (live view first, as malc0mn does, then events, then command/data)."""
        self._shutdown(_ClosedByUs("the initiator was closed"))
        await asyncio.sleep(0)


class _ClosedByUs(ConnectionClosed):
    pass

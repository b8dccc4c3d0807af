"""The :class:`Initiator`: every connection to one camera, the init handshakes, events, probes and closing.

Any failure of the command or event connection — timeout, malformed packet, peer gone — closes the whole
:class:`Initiator` and fails the transaction in flight (:mod:`.transactions`) with the reason; a new one
must be connected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from ptpipd.ip.codec import Codec, Decoded, Dialect, Role
from ptpipd.ip.errors import (
    ConnectionClosed,
    LocalProtocolError,
    PTPIPError,
    RemoteProtocolError,
    TransactionTimeout,
)
from ptpipd.ip.initiator import InitiatorSession
from ptpipd.ip.packets import (
    Event,
    InitCommandAck,
    InitEventAck,
    InitEventRequest,
    InitFail,
    ProbeRequest,
    ProbeResponse,
)
from ptpipd.ip.transport.channel import Channel, open_channel, open_channel_retrying
from ptpipd.ip.transport.timeouts import Timeouts
from ptpipd.ip.transport.transactions import Transactions

log = logging.getLogger(__name__)

#: Event-connection packets handled in one turn of the event loop (a flood waits its turn; see _drain).
EVENT_BURST = 256

T = TypeVar("T", bound=Decoded)


class _EventChannel:
    """The event connection: its handshake (standard PTP/IP only), events to ``on_event``, and probes."""

    def __init__(self, initiator: Initiator) -> None:
        self._init = initiator
        self.codec: Codec = initiator.dialect.event_codec(Role.INITIATOR)
        self.channel: Channel | None = None
        self.probes: list[asyncio.Future[None]] = []

    async def open(self, port: int) -> None:
        init = self._init
        self.channel = await open_channel_retrying(
            "event", init.host, port, self.feed, init._lost, init.timeouts
        )
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
        codec, channel = self.codec, self.channel
        for _ in range(EVENT_BURST):
            packet = codec.next_event()
            if packet is None:
                if channel is not None:
                    channel.resume_reading()  # a no-op unless a burst paused it
                return
            self._handle(packet)
        if channel is not None and channel.error is None:
            channel.pause_reading()
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
        self._transactions = Transactions(self._session, self.timeouts, self._command_channel, self._shutdown)
        #: Runs one transaction and returns its reply, whatever the response code (see
        #: :meth:`.transactions.Transactions.run`).
        self.transaction = self._transactions.run
        self._reply: asyncio.Future[Decoded] | None = None  # the answer to the handshake request in flight
        self._in_session = False
        #: Why the initiator stopped working, or None while it works.
        self.error: BaseException | None = None
        #: Set once the initiator stopped working (a failure, or :meth:`close`): waits that do not run a
        #: transaction (a capture waiting for its events) watch it to end at once.
        self.down = asyncio.Event()
        self._extra: list[Channel] = []

    # ------------------------------------------------------------------ state

    @property
    def alive(self) -> bool:
        """True while the command connection works."""
        return self.error is None and self._command is not None

    @property
    def next_transaction_id(self) -> int:
        """The ID the next transaction will carry."""
        return self._session.next_transaction_id

    def _check_alive(self) -> None:
        if self.error is not None:
            raise ConnectionClosed(f"the camera connection is down: {self.error}") from self.error
        if self._command is None:
            raise ConnectionClosed("not connected")

    def _command_channel(self) -> Channel:
        """The command/data connection, while it works (else :class:`ConnectionClosed`)."""
        self._check_alive()
        assert self._command is not None
        return self._command

    # ------------------------------------------------------------------ connections

    async def connect(self, port: int) -> InitCommandAck:
        """Opens the command/data connection and runs the init handshake; returns the camera's ack."""
        self._command = await open_channel(
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
        channel = await open_channel_retrying(name, self.host, port, feed, on_lost, self.timeouts)
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
                error = self.dialect.init_failed(packet.reason)
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
            self._shutdown(self.dialect.init_failed(packet.reason))

    def _feed_command(self, data: memoryview) -> None:
        if self._in_session:
            self._transactions.receive(data)
            return
        codec = self._command_codec
        codec.receive_data(data)
        while (packet := codec.next_event()) is not None:
            self._handshake_packet(packet)
            if isinstance(packet, InitFail):
                return
            if isinstance(packet, InitCommandAck):
                self._in_session = True
                self._transactions.drain()  # bytes after the ack belong to the session: decode them through it
                return

    # ------------------------------------------------------------------ transactions

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
        if self.error is not None:  # down already: a channel closing after it is no news
            return
        if not isinstance(exc, PTPIPError):
            wrapped = ConnectionClosed(f"camera connection lost: {exc}")
            wrapped.__cause__ = exc
            exc = wrapped
        self._shutdown(exc)

    def _shutdown(self, exc: BaseException) -> None:
        first = self.error is None
        if first:
            self.error = exc
            log.debug("initiator down: %s", exc)
        reason = self.error or exc
        self.down.set()
        self._transactions.abort(reason)
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(reason)
        for channel in reversed(self._extra):
            channel.close(reason)
        self._extra.clear()
        if self._events is not None:
            self._events.fail(reason)
        if self._command is not None:
            self._command.close()
        if first and self.on_close is not None and not isinstance(exc, _ClosedByUs):
            self.on_close(exc)

    async def close(self) -> None:
        """Closes every connection (live view first, as malc0mn does, then events, then command/data)."""
        self._shutdown(_ClosedByUs("the initiator was closed"))
        await asyncio.sleep(0)


class _ClosedByUs(ConnectionClosed):
    pass

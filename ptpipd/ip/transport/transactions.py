"""The transactions of the command/data connection: one at a time, each bounded by its silence and deadline.

A transaction's data phase goes to the caller's sink as it arrives (or to memory, up to a cap) with its
progress reported; a transaction whose caller stopped waiting still completes on the wire (its data
discarded) before the next one starts, so the session never gets out of step with the camera.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ptpipd.ip.errors import (
    PTPIPError,
    RemoteProtocolError,
    SinkFailed,
    TransactionDeadline,
    TransactionTimeout,
)
from ptpipd.ip.framing import RawRecorder
from ptpipd.ip.initiator import InitiatorSession, Transaction
from ptpipd.ip.packets import Buffer, Data, EndData, OperationResponse
from ptpipd.ip.transport import splice
from ptpipd.ip.transport.channel import Channel
from ptpipd.ip.transport.sinks import (
    DEFAULT_COLLECT_CAP,
    DISCARD,
    BytesSink,
    DataSink,
    DataTooLarge,
    SpliceTarget,
    splice_target,
)
from ptpipd.ip.transport.timeouts import Timeouts

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]


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
    channel: Channel  # the command/data connection it runs on
    sink: DataSink
    timeout: float
    deadline: float  # seconds from ``started``, before any progress
    rate: float | None  # bytes per second of progress that earn more time (None: a fixed deadline)
    progress: Progress | None
    optional: bool
    sink_error: OSError | None = None  # the sink failed: the rest of the data phase is discarded
    target: SpliceTarget | None = None  # the sink, while payloads may be spliced into it (see .splice)
    held: float = 0.0  # seconds the target kept the camera unread so far (see SpliceTarget.hold)
    future: asyncio.Future[OperationResponse] = field(init=False)
    started: float = field(init=False)
    rx_start: int = field(init=False)  # the channel's ``rx_bytes`` when the transaction started

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.future = loop.create_future()
        self.started = loop.time()
        self.rx_start = self.channel.rx_bytes
        if splice.AVAILABLE and not self.optional and self.channel.fd is not None:
            self.target = splice_target(self.sink)

    def allowed(self) -> float:
        """Seconds from ``started`` this transaction may take, given what its channel received so far."""
        return self.deadline + ((self.channel.rx_bytes - self.rx_start) / self.rate if self.rate else 0.0)


class Transactions:
    """The transactions of one command/data connection, run for an :class:`~.connections.Initiator`.

    ``command`` returns the working command/data channel (or raises
    :class:`~ptpipd.ip.errors.ConnectionClosed`); ``fail`` shuts the whole initiator down with a reason (a
    transaction that went silent or overran its deadline, unless it was optional).
    """

    def __init__(
        self,
        session: InitiatorSession,
        timeouts: Timeouts,
        command: Callable[[], Channel],
        fail: Callable[[BaseException], None],
    ) -> None:
        self._session = session
        self._timeouts = timeouts
        self._command = command
        self._fail = fail
        self._lock = asyncio.Lock()
        self._idle = asyncio.Event()  # no transaction in flight (one given up by its caller included)
        self._idle.set()
        self._pending: _Pending | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._pump = splice.Pump()
        self._splicing: asyncio.Task[None] | None = None  # moving a payload camera → client (see .splice)

    async def run(
        self,
        code: int,
        params: tuple[int, ...] | list[int] = (),
        *,
        data_out: Buffer | None = None,
        sink: DataSink | None = None,
        timeout: float | None = None,
        record_cap: int = 0,
        collect_cap: int = DEFAULT_COLLECT_CAP,
        progress: Progress | None = None,
        optional: bool = False,
        max_data: int | None = None,
    ) -> Reply:
        """Runs one transaction and returns its reply, whatever the response code.

        Without a ``sink`` the data phase is collected in memory (up to ``collect_cap`` bytes, else
        :class:`DataTooLarge` once the transaction has ended). ``timeout`` bounds the *silence* while the
        transaction is in flight. With ``record_cap`` (a byte count), copies of the raw packets received are
        returned, up to that many bytes in all (the last one cut; ``raw_truncated`` says so).
        If the caller is cancelled, the transaction still completes on the wire (its data is discarded)
        before the next one starts, so the session never gets out of step. Whatever the silences, the
        transaction must end by its deadline (:class:`Timeouts`: ``deadline_factor`` times ``timeout``,
        plus time earned by progress when the data goes to a ``sink``), else :class:`TransactionDeadline`
        and the connection is closed, as for a timeout. An ``optional`` transaction the
        camera leaves unanswered for ``timeout`` is given up instead of ending the connection: it raises
        :class:`TransactionTimeout`, the next transaction may start, and a late answer is dropped. A sink
        that raises :class:`OSError` gets nothing more: the rest of the data phase is read and discarded,
        and the finished transaction raises :class:`SinkFailed` (the session goes on). With ``max_data`` (the
        length a GetPartialObject asks for), a data phase longer than that is the camera's protocol error: no
        byte past it reaches the sink, and the connection is closed as for any malformed data phase.
        """
        limit = self._timeouts.transaction if timeout is None else timeout
        collector: BytesSink | None = None
        if sink is None:
            sink = collector = BytesSink(collect_cap)
        recorder = RawRecorder(record_cap) if record_cap else None
        async with self._lock:
            await self._idle.wait()
            channel = self._command()
            packets = self._session.start(code, tuple(params), data_out, max_data_in=max_data)
            assert self._session.current is not None
            deadline = limit * self._timeouts.deadline_factor
            rate = self._timeouts.deadline_rate if collector is None else None
            tx = self._session.current
            pending = _Pending(tx, channel, sink, limit, deadline, rate, progress, optional)
            self._begin(pending, recorder)
            for packet in packets:
                channel.write(packet)
        response = await self._outcome(pending, collector)
        return Reply(
            response.code,
            response.transaction_id,
            response.params,
            None if collector is None else bytes(collector.buffer),
            pending.tx.received,
            () if recorder is None else tuple(bytes(f) for f in recorder.frames),
            recorder is not None and recorder.truncated,
        )

    def _begin(self, pending: _Pending, recorder: RawRecorder | None) -> None:
        self._pending = pending
        self._idle.clear()
        self._session.codec.reader.recorder = recorder
        if pending.target is not None:
            pending.channel.limit_reads(splice.HEAD_READ)
        self._arm_stall_timer(pending.timeout)

    @staticmethod
    async def _outcome(pending: _Pending, collector: BytesSink | None) -> OperationResponse:
        """The response, once the transaction ended: raises what went wrong with the data phase."""
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
        return response

    # ------------------------------------------------------------------ receiving

    def receive(self, data: memoryview) -> None:
        """Feeds bytes of the command/data connection received once the session began."""
        self._session.receive_data(data)
        self.drain()
        if self._pending is not None and self._pending.target is not None:
            self._read_on(self._pending)

    def drain(self) -> None:
        """Handles every complete packet the session has decoded."""
        while (packet := self._session.next_event()) is not None:
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

    # ------------------------------------------------------------------ splicing (see .splice)

    def _read_on(self, pending: _Pending) -> None:
        """After the bytes received are handled: the rest of a large payload is spliced, or reading goes on."""
        room = self._session.splice_room()
        target, channel = pending.target, pending.channel
        if room >= splice.SPLICE_MIN and target is not None and target.splice_fd(room) is not None:
            channel.pause_reading()
            self._splicing = asyncio.get_running_loop().create_task(self._splice(pending, target, room))
            return
        channel.limit_reads(None if target is None else splice.HEAD_READ)
        channel.resume_reading()

    async def _splice(self, pending: _Pending, target: SpliceTarget, room: int) -> None:
        channel = pending.channel
        loop = asyncio.get_running_loop()
        try:
            began = loop.time()
            flushed = pending.held < target.hold and await target.flushed(target.hold - pending.held)
            pending.held += loop.time() - began
            fd = target.splice_fd(room) if flushed else None
            if fd is None or channel.fd is None:
                pending.target = None  # the rest of this data phase goes the ordinary way
            else:
                hold = target.hold - pending.held
                silence = pending.timeout + 1.0  # a backstop: the stall timer fires first
                job = splice.Job(room, hold, silence, lambda: pending.sink is target, channel.received)
                await self._pump.run(channel.fd, fd, job)
        except (PTPIPError, OSError) as exc:  # the camera's socket (the client's are caught by the pump)
            channel.fail(exc)
            return
        except Exception as exc:  # a bug (in the target, say): the link must not stay paused
            log.exception("splicing a payload failed")
            channel.fail(exc)
            return
        finally:
            self._splicing = None
        self._settle(pending, target)

    def _settle(self, pending: _Pending, target: SpliceTarget) -> None:
        """The pump is done with a payload: its bytes are accounted, the rest is read the ordinary way."""
        moved = self._pump.moved
        self._pump.moved = splice.Moved()
        pending.held += moved.held
        try:
            self._session.spliced(moved.taken)
            target.spliced(moved.delivered)
            if moved.failed is not None or moved.leftover:
                pending.target = None
            if moved.failed is not None:
                target.splice_failed(moved.failed)
            self._to_sink(pending, moved.leftover)
            self.drain()
        except Exception as exc:  # a malformed packet after the payload, as in Channel.buffer_updated
            pending.channel.fail(exc)
            return
        # the next header is usually there already: read at once, no turn of the loop for it (receive() goes on
        # from there unless the transaction ended)
        splicing = self._pending is pending and pending.target is not None
        if splicing and pending.channel.read_now() and (self._pending is pending or pending.channel.error):
            return
        if self._pending is pending:
            self._read_on(pending)
        else:
            pending.channel.limit_reads(None)
            pending.channel.resume_reading()

    # ------------------------------------------------------------------ the end of a transaction

    def _finish(self, pending: _Pending, response: OperationResponse) -> None:
        self._pending = None
        if pending.target is not None:
            pending.channel.limit_reads(None)
        self._session.codec.reader.recorder = None
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if not pending.future.done():
            pending.future.set_result(response)
        self._idle.set()

    # ------------------------------------------------------------------ silence and deadline

    def _arm_stall_timer(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._stall_timer = loop.call_later(delay, self._check_stall)

    def _check_stall(self) -> None:
        pending = self._pending
        if pending is None:
            return
        channel = pending.channel
        now = asyncio.get_running_loop().time()
        silent = now - max(channel.last_rx, pending.started)
        elapsed, allowed = now - pending.started, pending.allowed()
        code = pending.tx.code
        if silent >= pending.timeout:
            error = TransactionTimeout(f"operation 0x{code:04X}", pending.timeout, opcode=code)
            if pending.optional:
                self._give_up(pending, error)
            else:
                self._fail(error)
        elif elapsed >= allowed:
            what = f"operation 0x{code:04X}"
            received = channel.rx_bytes - pending.rx_start
            self._fail(TransactionDeadline(what, allowed, received, opcode=code))
        else:
            self._arm_stall_timer(min(pending.timeout - silent, allowed - elapsed))

    def _give_up(self, pending: _Pending, error: TransactionTimeout) -> None:
        """An optional transaction went unanswered: its caller gets ``error``, the connection stays."""
        log.debug("giving up on %s", error)
        self._pending = None
        self._stall_timer = None
        self._session.codec.reader.recorder = None
        self._session.give_up()
        pending.future.set_exception(error)
        self._idle.set()

    # ------------------------------------------------------------------ closing

    def abort(self, reason: BaseException) -> None:
        """The connection is going down: the transaction in flight fails with ``reason``, the session
        forgets it, and whoever waits for its turn goes on (to find the connection closed)."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        pending, self._pending = self._pending, None
        if self._splicing is not None and self._splicing is not asyncio.current_task():
            self._splicing.cancel()  # its pump closes its pipe and descriptors as it unwinds
        else:
            self._pump.close()
        self._splicing = None
        self._session.abandon()
        if pending is not None and not pending.future.done():
            pending.future.set_exception(reason)
        self._idle.set()

"""The sans-I/O side every simulated body shares: actions, outcomes, counters, and the responder base.

A body (one per running simulator, see :class:`Body`) hands the server skeleton (:mod:`ptpipd.sim.server`)
a :class:`Responder` for every accepted connection. The skeleton feeds it the connection's bytes and does
what the returned actions say:

* :class:`Send`: write these bytes now;
* :class:`Close`: close the connection once what was written before is flushed;
* :class:`Reply`: a transaction to answer. Its outcome is an :class:`Outcome`, or a :class:`Hold` (a prompt
  on the camera: wait, then ask ``resolve()``). The skeleton writes :meth:`Responder.reply_packets`, calls
  :meth:`Responder.finished`, sends the outcome's events through :meth:`Body.route`, and acts on
  :meth:`Responder.resume`.

A *violation* (a malformed packet, or one that breaks the dialect's rules) is logged as one
``violation: <what>`` line, counted, and closes the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ptpipd.ip.codec import Codec
from ptpipd.ip.errors import RemoteProtocolError
from ptpipd.ip.packets import Buffer, Data, EndData, Event, OperationRequest, OperationResponse, StartData
from ptpipd.ptp import OperationCode, ResponseCode

log = logging.getLogger("ptpipd.sim")


def param(params: Sequence[int], index: int) -> int:
    """Parameter ``index``, 0 when missing (PTPIP.md §4.6: initiators send only the slots they use)."""
    return params[index] if index < len(params) else 0


@dataclass
class Stats:
    """What the simulator did: PTP sessions opened, transactions answered, protocol violations seen."""

    sessions: int = 0
    transactions: int = 0
    violations: int = 0

    def summary(self) -> str:
        """The one-line summary the CLI prints on exit."""
        return f"sessions={self.sessions} transactions={self.transactions} violations={self.violations}"


@dataclass(frozen=True, slots=True)
class Send:
    """Write these bytes on this connection now (one packet per write)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """Close this connection once what was written before is flushed."""

    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation produced.

    ``data``: the data-in phase (None: none). ``events``: for the event channel once the response is out.
    ``capture``: set when a capture started; its value is the self-timer in seconds. Then ``events`` go
    out, followed by those of :meth:`Clock.finish_capture`, only after the simulator's capture delay plus
    these seconds (unless the session ends first).
    """

    code: int
    params: tuple[int, ...] = ()
    data: Buffer | None = None
    events: tuple[Event, ...] = ()
    capture: float | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """The camera shows a prompt: answer after ``delay`` seconds, with what ``resolve()`` returns then."""

    delay: float
    resolve: Callable[[], Outcome]


@dataclass(slots=True)
class Reply:
    """A transaction to answer (see the module docstring)."""

    request: OperationRequest
    outcome: Outcome | Hold


Action = Send | Close | Reply


class Violation(Exception):
    """The initiator broke the protocol; the message says how."""


class Clock(Protocol):
    """What a simulated camera does as time passes and hands touch it: each returns the events a real body
    sends then."""

    def finish_capture(self) -> list[Event]:
        """The capture in progress is done: the events that say so."""

    def drain_battery(self) -> list[Event]:
        """The battery lost one step: the events that say so."""

    def press_shutter(self) -> list[Event]:
        """Someone pressed the shutter button on the body: the events a real body sends."""

    def turn_dial(self) -> list[Event]:
        """Someone turned the main dial on the body one step: the events a real body sends."""


class Body(Protocol):
    """One simulated camera as the server skeleton sees it: responders for its connections, its session,
    where its events go, and (``clock``) what its clock and its shutter button do."""

    stats: Stats
    #: what the body does as time passes and hands touch it (its camera model)
    clock: Clock
    #: live-view frames per second (bodies with a stream port)
    fps: float

    def responder(self, port: int) -> Responder:
        """A responder for a connection accepted on port number ``port`` (index in the declared ports)."""

    def connection_lost(self, conn: Responder) -> list[Responder] | None:
        """A connection ended. None: the session goes on; a list: the session ended, close these."""

    @property
    def remote(self) -> bool:
        """True while the gated ports listen."""

    def route(self, events: Sequence[Event]) -> list[tuple[Responder, bytes]]:
        """Where events go: the connections (by responder) and their bytes; queued or dropped otherwise."""

    def live_frame(self, counter: int) -> bytes:
        """Live-view frame ``counter`` as it goes on the stream port."""


class DataOut:
    """Collects a data-out phase: StartData (the total), Data pieces, EndData; at most ``max_size`` bytes.

    A StartData announcing 0 bytes completes the phase at once (libgphoto2 sends nothing after it); an
    empty EndData that others send after it is swallowed.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.op: OperationRequest | None = None
        self._started = False
        self._total: int | None = None
        self._data = bytearray()
        self._swallow: int | None = None

    def begin(self, op: OperationRequest) -> None:
        """The command of a data-out operation arrived; its data comes next."""
        self.op, self._started, self._total = op, False, None
        self._data.clear()

    def swallowed(self, packet: object) -> bool:
        """True for the empty EndData after a StartData(0) that already completed its phase."""
        tid, self._swallow = self._swallow, None
        return isinstance(packet, EndData) and packet.transaction_id == tid and not packet.payload

    def feed(self, packet: StartData | Data | EndData) -> tuple[OperationRequest, bytes] | None:
        """The operation and its data once the phase is complete, else None; raises :class:`Violation`."""
        op = self.op
        if op is None:
            raise Violation(f"{type(packet).__name__} (TID {packet.transaction_id}) outside a data-out phase")
        if packet.transaction_id != op.transaction_id:
            raise Violation(
                f"{type(packet).__name__} with TID {packet.transaction_id} in the data phase of "
                f"TID {op.transaction_id}"
            )
        if isinstance(packet, StartData):
            return self._start(op, packet)
        if not self._started:
            raise Violation(
                f"{type(packet).__name__} before StartData in the data phase of TID {op.transaction_id}"
            )
        self._data += packet.payload
        if len(self._data) > (self._total if self._total is not None else self.max_size):
            raise Violation(f"more data than the {self._total} bytes StartData announced")
        if isinstance(packet, Data):
            return None
        if self._total is not None and len(self._data) != self._total:
            raise Violation(f"data phase ended after {len(self._data)} of {self._total} announced bytes")
        return self._done(op, bytes(self._data))

    def _start(self, op: OperationRequest, packet: StartData) -> tuple[OperationRequest, bytes] | None:
        if self._started:
            raise Violation(f"a second StartData in the data phase of TID {op.transaction_id}")
        self._started, self._total = True, packet.known_length
        if self._total is not None and self._total > self.max_size:
            raise Violation(f"data-out phase of {self._total} bytes (at most {self.max_size})")
        if self._total == 0:
            self._swallow = op.transaction_id
            return self._done(op, b"")
        return None

    def _done(self, op: OperationRequest, data: bytes) -> tuple[OperationRequest, bytes]:
        self.op = None
        self._data.clear()
        return op, data


class Responder:
    """The base of every dialect's connection responder: input loop, violations, transactions, counters.

    A subclass implements :meth:`_packet` and may set ``serial`` (read the next packet only once the
    current transaction is answered, as a camera busy with one request does), ``data_in`` (operations
    always answered with a data phase, empty when there is no data) and how a large data phase is written.
    """

    serial: ClassVar[bool] = False
    data_in: ClassVar[frozenset[int]] = frozenset()
    #: data phases above this size go out as pieces (see :meth:`_writes`), with flow control between them
    chunk: ClassVar[int] = 1 << 20
    #: data phases up to this size are encoded whole (a copy of the data); bigger ones are written as
    #: headers and views of the data, in pieces of ``chunk`` bytes
    whole_most: ClassVar[int] = 1 << 20

    def __init__(self, stats: Stats, codec: Codec, max_data_out: int = 0) -> None:
        self.stats = stats
        self.codec = codec
        self.closed = False
        #: the transaction whose response is not written yet
        self.busy: Reply | None = None
        self._data_out = DataOut(max_data_out)

    def connected(self) -> list[Action]:
        """What to do as the connection is accepted (nothing, unless a subclass says otherwise)."""
        return []

    def receive_data(self, data: Buffer) -> list[Action]:
        """Feeds received bytes; returns what to do, in order. Nothing more is returned after a Close."""
        if self.closed:
            return []
        self.codec.receive_data(data)
        return self._drain()

    def resume(self) -> list[Action]:
        """After :meth:`finished`: the actions for packets that arrived while the transaction ran."""
        return [] if self.closed else self._drain()

    def _drain(self) -> list[Action]:
        actions: list[Action] = []
        try:
            while not self.closed and (self.busy is None or not self.serial):
                packet = self.codec.next_event()
                if packet is None:
                    break
                actions += self._packet(packet)
                if actions and isinstance(actions[-1], Close):
                    self.closed = True
        except RemoteProtocolError as exc:
            actions.append(self._violation(f"malformed packet on the {self.name()} connection: {exc}"))
        except Violation as exc:
            actions.append(self._violation(str(exc)))
        return actions

    def name(self) -> str:
        """What the connection is, for messages."""
        return "PTP/IP"

    def _packet(self, packet: object) -> list[Action]:
        raise NotImplementedError

    def _transaction(
        self, packet: object, request: Callable[[OperationRequest], list[Action]], where: str
    ) -> list[Action]:
        """An OperationRequest (to ``request``) or a packet of a data-out phase; anything else is a
        violation, said to have come ``where``."""
        if self._data_out.swallowed(packet):
            return []  # the empty EndData after a StartData(0) already treated as complete
        if isinstance(packet, OperationRequest):
            return request(packet)
        if isinstance(packet, StartData | Data | EndData):
            done = self._data_out.feed(packet)
            return [] if done is None else [self._run(*done)]
        raise Violation(f"{type(packet).__name__} {where}")

    def _run(self, op: OperationRequest, data: bytes | None) -> Reply:
        raise NotImplementedError

    def _violation(self, what: str) -> Close:
        self.stats.violations += 1
        log.warning("violation: %s", what)
        self.closed = True
        return Close(what)

    def _reply(self, op: OperationRequest, run: Callable[[], Outcome | Hold]) -> Reply:
        """The reply to ``op`` with what ``run`` answers; a bug in the model answers GeneralError."""
        try:
            outcome = run()
        except Exception:  # a bug in the model: answer like a confused camera, keep serving
            log.exception("operation 0x%04X failed inside the simulated camera", op.code)
            outcome = Outcome(ResponseCode.GeneralError)
        answer = f"0x{outcome.code:04X} {outcome.params}" if isinstance(outcome, Outcome) else "held"
        log.debug("0x%04X tid=%d %s -> %s", op.code, op.transaction_id, op.params, answer)
        self.busy = Reply(op, outcome)
        return self.busy

    def reply_packets(self, reply: Reply) -> Iterator[tuple[Buffer, ...]]:
        """The packets of the reply in order, each as the buffers of one write: data phase, response."""
        outcome, tid, code = reply.outcome, reply.request.transaction_id, reply.request.code
        assert isinstance(outcome, Outcome), "a held reply is resolved before it is written"
        data = outcome.data
        if data is None and code in self.data_in:
            data = b""
        if data is not None:
            yield from self._data_packets(tid, code, memoryview(data).cast("B"))
        yield (self.codec.encode(OperationResponse(outcome.code, tid, outcome.params)),)

    def _data_packets(self, tid: int, code: int, data: memoryview) -> Iterator[tuple[Buffer, ...]]:
        if len(data) <= self.whole_most:
            for packet in self.codec.encode_data(tid, code, data):
                yield (packet,)
            return
        # a large data phase: headers and views of the data, never a copy of the whole
        chunks = (data[i : i + self.chunk] for i in range(0, len(data), self.chunk))
        yield from self._writes(self.codec.data_pieces(tid, code, len(data), chunks))

    def _writes(self, pieces: Iterator[Buffer]) -> Iterator[tuple[Buffer, ...]]:
        """A large data phase's pieces grouped into writes (the default: each piece alone)."""
        for piece in pieces:
            yield (piece,)

    def finished(self, reply: Reply) -> None:
        """The reply's response has been written: count it; the next OperationRequest may come."""
        if self.busy is not reply:
            return
        self.busy = None
        self.stats.transactions += 1
        op, outcome = reply.request, reply.outcome
        assert isinstance(outcome, Outcome)
        if op.code == OperationCode.OpenSession and outcome.code == ResponseCode.OK:
            self.stats.sessions += 1

"""Sans-I/O PTP/IP responder: one :class:`Responder` per TCP connection, bytes in → actions out.

The first packet decides what a connection is (PTPIP.md §5): InitCommandRequest makes it the command/data
connection of a new session, InitEventRequest with that session's connection number its event connection.
A :class:`Hub` shared by all connections enforces one session at a time (a second initiator gets InitFail
Busy) and counts sessions, transactions and violations.

Strictness, so that tests catch initiator bugs rather than paper over them:

* Transaction IDs follow PTPIP.md §11: OpenSession carries 0 or 1, every later operation of the session the
  previous ID + 1 (wrapping from 0xFFFFFFFE to 1). A wrong ID is answered InvalidTransactionID and does not
  move the expected ID. Outside a session (GetDeviceInfo) any ID is accepted.
* One transaction at a time: an OperationRequest that arrives before the previous transaction's response has
  been written is a *violation*. So is a malformed packet, PTP traffic before the event connection is up, a
  data phase that does not follow the rules, or a packet that has no business on the connection. A violation
  is logged as one ``violation: <what>`` line, counted, and the connection is closed.

Tolerated, because real initiators do it: InitCommandRequest without ProtocolVersion (the ack then omits it
too); a data-out phase of StartData + EndData, StartData + Data* + EndData, or libgphoto2's lone StartData(0)
(an empty EndData that may follow it is swallowed); DataPhaseInfo 1 with no data for SetDevicePropValue;
ProbeRequest on either connection (answered at once). Cancel is accepted and ignored: the simulator runs
every transaction to its end (PTPIP.md §9 leaves Cancel unspecified).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from ptpipd.ip.codec import Role
from ptpipd.ip.errors import RemoteProtocolError
from ptpipd.ip.generic import DATA_CHUNK, GenericCodec
from ptpipd.ip.packets import (
    Buffer,
    Cancel,
    Data,
    DataPhase,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    InitFail,
    InitFailReason,
    OperationRequest,
    OperationResponse,
    Packet,
    ProbeRequest,
    ProbeResponse,
    StartData,
)
from ptpipd.ptp import OperationCode, ResponseCode
from ptpipd.sim.generic_model import GenericCamera, Outcome

log = logging.getLogger("ptpipd.sim")

#: The simulator's GUID (fixed, so initiators that remember cameras recognise it).
SIM_GUID = bytes.fromhex("7074706970642d73696d2d3030303031")  # b"ptpipd-sim-00001"
SIM_NAME = "ptpipd-sim"
#: The largest data-out phase accepted (the generic camera only takes property values).
MAX_DATA_OUT = 16 << 20
LAST_TRANSACTION_ID = 0xFFFF_FFFE


def next_transaction_id(tid: int) -> int:
    """The ID that must follow ``tid`` (PTPIP.md §11: wraps to 1, never to 0 or 0xFFFFFFFF)."""
    return 1 if tid >= LAST_TRANSACTION_ID else tid + 1


@dataclass
class Stats:
    """What the simulator did: PTP sessions opened, transactions answered, protocol violations seen."""

    sessions: int = 0
    transactions: int = 0
    violations: int = 0

    def summary(self) -> str:
        """The one-line summary the CLI prints on exit."""
        return f"sessions={self.sessions} transactions={self.transactions} violations={self.violations}"


# ------------------------------------------------------------------------------------------------------
# Actions (what the I/O layer must do)
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Write these bytes on this connection now (one packet per write)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """Close this connection once what was written before is flushed."""

    reason: str


@dataclass(slots=True)
class Reply:
    """A transaction to answer: write :meth:`Responder.reply_packets` in order, then call
    :meth:`Responder.finished`. ``outcome`` holds the events and the capture to start afterwards."""

    request: OperationRequest
    outcome: Outcome
    written: bool = field(default=False)


Action = Send | Close | Reply


class Kind(Enum):
    """What a connection turned out to be."""

    UNDECIDED = "undecided"
    COMMAND = "command/data"
    EVENT = "event"
    CLOSED = "closed"


class _Violation(Exception):
    """The initiator broke the protocol; the message says how."""


# ------------------------------------------------------------------------------------------------------
# The hub: state shared by the connections of one simulated camera
# ------------------------------------------------------------------------------------------------------


class Hub:
    """One simulated camera's session table: at most one initiator (command + event connection) at a time."""

    def __init__(self, camera: GenericCamera, *, guid: bytes = SIM_GUID, name: str = SIM_NAME) -> None:
        self.camera = camera
        self.guid = guid
        self.name = name
        self.stats = Stats()
        self.command: Responder | None = None
        self.events: Responder | None = None
        self._connection_number = 0

    def responder(self) -> Responder:
        """A responder for a newly accepted connection."""
        return Responder(self)

    def _open_command(self, conn: Responder, request: InitCommandRequest) -> list[Action]:
        if self.command is not None:
            log.info("refusing %r: a session is already active (InitFail Busy)", request.name)
            return [Send(conn.codec.encode(InitFail(InitFailReason.Busy))), Close("busy")]
        self._connection_number += 1
        self.command = conn
        conn.kind = Kind.COMMAND
        log.info("session %d: initiator %r connected", self._connection_number, request.name)
        ack = InitCommandAck(self._connection_number, self.guid, self.name, request.version)
        return [Send(conn.codec.encode(ack))]

    def _open_events(self, conn: Responder, request: InitEventRequest) -> list[Action]:
        if self.command is None or request.connection_number != self._connection_number:
            log.info(
                "refusing an event connection for unknown connection number %d", request.connection_number
            )
            return [Send(conn.codec.encode(InitFail(InitFailReason.Unspecified))), Close("unknown session")]
        if self.events is not None:
            log.info("refusing a second event connection for session %d", request.connection_number)
            return [Send(conn.codec.encode(InitFail(InitFailReason.Busy))), Close("busy")]
        self.events = conn
        conn.kind = Kind.EVENT
        return [Send(conn.codec.encode(InitEventAck()))]

    def connection_lost(self, conn: Responder) -> list[Responder]:
        """A connection ended; returns the other connection of its session, which must be closed too."""
        conn.kind = Kind.CLOSED
        if conn is not self.command and conn is not self.events:
            return []
        others = [c for c in (self.command, self.events) if c is not None and c is not conn]
        self.command = self.events = None
        self.camera.end_session()
        log.info("session %d ended", self._connection_number)
        return others

    def event_packets(self, events: list[Event] | tuple[Event, ...]) -> tuple[Responder, list[bytes]] | None:
        """The event connection and the bytes of ``events`` for it; None when no initiator listens."""
        conn = self.events
        if conn is None or not events:
            return None
        return conn, [conn.codec.encode(event) for event in events]


# ------------------------------------------------------------------------------------------------------
# One connection
# ------------------------------------------------------------------------------------------------------


class Responder:
    """The responder side of one TCP connection (command/data or event, decided by its first packet)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.codec = GenericCodec(Role.RESPONDER)
        self.kind = Kind.UNDECIDED
        self.busy: Reply | None = None  # the transaction whose response is not written yet
        self._expected_tid: int | None = None  # next TID in the open session
        self._data_op: OperationRequest | None = None  # a data-out phase is being received for it
        self._data_started = False
        self._data_total: int | None = None
        self._data = bytearray()
        self._swallow_end_tid: int | None = None

    # ------------------------------------------------------------------ input

    def receive_data(self, data: Buffer) -> list[Action]:
        """Feeds received bytes; returns what to do, in order. After a :class:`Close`, feed nothing more."""
        if self.kind is Kind.CLOSED:
            return []
        actions: list[Action] = []
        try:
            self.codec.receive_data(data)
            while (packet := self.codec.next_event()) is not None:
                actions += self._packet(packet)
                if actions and isinstance(actions[-1], Close):
                    self.kind = Kind.CLOSED
                    break
        except RemoteProtocolError as exc:
            actions.append(self._violation(f"malformed packet on the {self.kind.value} connection: {exc}"))
        except _Violation as exc:
            actions.append(self._violation(str(exc)))
        return actions

    def _violation(self, what: str) -> Close:
        self.hub.stats.violations += 1
        log.warning("violation: %s", what)
        self.kind = Kind.CLOSED
        return Close(what)

    def _packet(self, packet: Packet) -> list[Action]:
        if isinstance(packet, ProbeRequest):  # either connection, any time: answer at once (PTPIP.md §10)
            return [Send(self.codec.encode(ProbeResponse()))]
        if isinstance(packet, ProbeResponse):
            return []  # we never probe, but an answer is harmless
        if self.kind is Kind.UNDECIDED:
            if isinstance(packet, InitCommandRequest):
                return self.hub._open_command(self, packet)
            if isinstance(packet, InitEventRequest):
                return self.hub._open_events(self, packet)
            raise _Violation(f"{_name(packet)} as the first packet of a connection")
        if self.kind is Kind.EVENT:
            raise _Violation(f"{_name(packet)} on the event connection")
        return self._command_packet(packet)

    def _command_packet(self, packet: Packet) -> list[Action]:
        if isinstance(packet, Cancel):
            log.debug(
                "Cancel of transaction %d ignored: every transaction runs to its end", packet.transaction_id
            )
            return []
        swallow, self._swallow_end_tid = self._swallow_end_tid, None
        if isinstance(packet, EndData) and packet.transaction_id == swallow and not packet.payload:
            return []  # the empty EndData after a StartData(0) we already treated as complete
        if isinstance(packet, OperationRequest):
            return self._operation_request(packet)
        if isinstance(packet, StartData | Data | EndData):
            return self._data_out(packet)
        raise _Violation(f"{_name(packet)} on the command/data connection")

    def _operation_request(self, op: OperationRequest) -> list[Action]:
        if self.busy is not None or self._data_op is not None:
            current = self.busy.request if self.busy is not None else self._data_op
            assert current is not None
            raise _Violation(
                f"OperationRequest 0x{op.code:04X} (TID {op.transaction_id}) arrived before transaction "
                f"{current.transaction_id} (0x{current.code:04X}) was finished: transactions interleaved"
            )
        if self.hub.events is None:
            raise _Violation(f"OperationRequest 0x{op.code:04X} before the event connection was initialised")
        if op.data_phase == DataPhase.DataOut:
            self._data_op = op
            self._data_started = False
            self._data_total = None
            self._data.clear()
            return []
        if op.data_phase != DataPhase.NoDataOrDataIn:
            raise _Violation(f"OperationRequest 0x{op.code:04X} with DataPhaseInfo {op.data_phase}")
        return [self._run(op, None)]

    def _data_out(self, packet: StartData | Data | EndData) -> list[Action]:
        op = self._data_op
        if op is None:
            raise _Violation(f"{_name(packet)} (TID {packet.transaction_id}) outside a data-out phase")
        if packet.transaction_id != op.transaction_id:
            raise _Violation(
                f"{_name(packet)} with TID {packet.transaction_id} in the data phase of TID {op.transaction_id}"
            )
        if isinstance(packet, StartData):
            if self._data_started:
                raise _Violation(f"a second StartData in the data phase of TID {op.transaction_id}")
            self._data_started = True
            self._data_total = packet.known_length
            if self._data_total is not None and self._data_total > MAX_DATA_OUT:
                raise _Violation(f"data-out phase of {self._data_total} bytes (at most {MAX_DATA_OUT})")
            if self._data_total == 0:
                # libgphoto2 sends StartData(0) and nothing else; others add an empty EndData.
                self._swallow_end_tid = op.transaction_id
                return [self._run(op, b"")]
            return []
        if not self._data_started:
            raise _Violation(f"{_name(packet)} before StartData in the data phase of TID {op.transaction_id}")
        self._data += packet.payload
        if len(self._data) > (self._data_total if self._data_total is not None else MAX_DATA_OUT):
            raise _Violation(f"more data than the {self._data_total} bytes StartData announced")
        if isinstance(packet, Data):
            return []
        if self._data_total is not None and len(self._data) != self._data_total:
            raise _Violation(
                f"data phase ended after {len(self._data)} of {self._data_total} announced bytes"
            )
        data = bytes(self._data)
        self._data.clear()
        return [self._run(op, data)]

    # ------------------------------------------------------------------ transactions

    def _run(self, op: OperationRequest, data: bytes | None) -> Reply:
        self._data_op = None
        camera = self.hub.camera
        tid = op.transaction_id
        if op.code == OperationCode.OpenSession:
            valid = tid in (0, 1)
        elif camera.session_id is not None:
            valid = tid == self._expected_tid
        else:
            valid = True  # outside a session (GetDeviceInfo) the ID is not part of a sequence
        if not valid:
            expected = "0 or 1" if op.code == OperationCode.OpenSession else str(self._expected_tid)
            log.info("operation 0x%04X with TID %d, expected %s", op.code, tid, expected)
            outcome = Outcome(ResponseCode.InvalidTransactionID)
        else:
            was_open = camera.session_id is not None
            try:
                outcome = camera.operation(op.code, tid, op.params, data)
            except Exception:  # a bug in the model: answer like a confused camera, keep serving
                log.exception("operation 0x%04X failed inside the simulated camera", op.code)
                outcome = Outcome(ResponseCode.GeneralError)
            if op.code == OperationCode.OpenSession and not was_open and outcome.code == ResponseCode.OK:
                self.hub.stats.sessions += 1
                self._expected_tid = next_transaction_id(tid)
            elif was_open and op.code != OperationCode.OpenSession:
                self._expected_tid = next_transaction_id(tid)
        log.debug("0x%04X tid=%d %s -> 0x%04X %s", op.code, tid, op.params, outcome.code, outcome.params)
        reply = Reply(op, outcome)
        self.busy = reply
        return reply

    def reply_packets(self, reply: Reply) -> Iterator[tuple[Buffer, ...]]:
        """The packets of the reply in order: the data phase (if any), then the OperationResponse.

        Each item is one whole packet, as one or two buffers to write together: a large data phase comes as
        1 MiB Data packets, each a 12-byte header and a view of the data (never a copy of the whole).
        """
        tid = reply.request.transaction_id
        data = reply.outcome.data
        if data is not None:
            view = memoryview(data).cast("B")
            if len(view) <= DATA_CHUNK:
                for packet in self.codec.encode_data(tid, reply.request.code, view):
                    yield (packet,)
            else:
                chunks = (view[i : i + DATA_CHUNK] for i in range(0, len(view), DATA_CHUNK))
                # data_pieces yields StartData, then a header and its payload for each Data/EndData packet
                pieces = self.codec.data_pieces(tid, reply.request.code, len(view), chunks)
                yield (next(pieces),)
                for header in pieces:
                    yield (header, next(pieces))
        yield (self.codec.encode(OperationResponse(reply.outcome.code, tid, reply.outcome.params)),)

    def finished(self, reply: Reply) -> None:
        """The reply's response has been written: the next OperationRequest may come."""
        if self.busy is reply:
            self.busy = None
            reply.written = True
            self.hub.stats.transactions += 1


def _name(packet: Packet) -> str:
    return type(packet).__name__

"""Sans-I/O standard PTP/IP responder: one :class:`GenericResponder` per TCP connection of the generic body.

The first packet decides what a connection is (PTPIP.md §5): InitCommandRequest makes it the command/data
connection of a new session, InitEventRequest with that session's connection number its event connection.
The body (:class:`ptpipd.sim.generic.GenericBody`) allows one session at a time (a second initiator gets
InitFail Busy).

Strictness, so that tests catch initiator bugs rather than paper over them:

* Transaction IDs follow PTPIP.md §11: OpenSession carries 0 or 1, every later operation of the session the
  previous ID + 1 (wrapping from 0xFFFFFFFE to 1). A wrong ID is answered InvalidTransactionID and does not
  move the expected ID. Outside a session (GetDeviceInfo) any ID is accepted.
* One transaction at a time: an OperationRequest that arrives before the previous transaction's response has
  been written is a *violation*. So is a malformed packet, PTP traffic before the event connection is up, a
  data phase that does not follow the rules, or a packet that has no business on the connection.

Tolerated, because real initiators do it: InitCommandRequest without ProtocolVersion (the ack then omits it
too); a data-out phase of StartData + EndData, StartData + Data* + EndData, or libgphoto2's lone StartData(0)
(an empty EndData that may follow it is swallowed); DataPhaseInfo 1 with no data for SetDevicePropValue;
ProbeRequest on either connection (answered at once). Cancel is accepted and ignored: the simulator runs
every transaction to its end (PTPIP.md §9 leaves Cancel unspecified).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING

from ptpipd.ip.codec import Role
from ptpipd.ip.generic import DATA_CHUNK, GenericCodec
from ptpipd.ip.packets import (
    Buffer,
    Cancel,
    DataPhase,
    InitCommandRequest,
    InitEventRequest,
    OperationRequest,
    Packet,
    ProbeRequest,
    ProbeResponse,
)
from ptpipd.ptp import OperationCode, ResponseCode
from ptpipd.sim.responder import Action, Outcome, Reply, Responder, Send, Violation

if TYPE_CHECKING:
    from ptpipd.sim.generic import GenericBody

log = logging.getLogger("ptpipd.sim")

#: The largest data-out phase accepted (the generic camera only takes property values).
MAX_DATA_OUT = 16 << 20
LAST_TRANSACTION_ID = 0xFFFF_FFFE


def next_transaction_id(tid: int) -> int:
    """The ID that must follow ``tid`` (PTPIP.md §11: wraps to 1, never to 0 or 0xFFFFFFFF)."""
    return 1 if tid >= LAST_TRANSACTION_ID else tid + 1


class Kind(Enum):
    """What a connection turned out to be."""

    UNDECIDED = "undecided"
    COMMAND = "command/data"
    EVENT = "event"


class GenericResponder(Responder):
    """The responder side of one TCP connection (command/data or event, decided by its first packet)."""

    chunk = DATA_CHUNK
    #: a photo goes out as its packets' headers and views of its bytes, no copy first: a camera streams it
    #: from its card at once (copying a 600 kB JPEG thrice before the first byte held it back a millisecond)
    whole_most = 64 << 10

    def __init__(self, body: GenericBody) -> None:
        super().__init__(body.stats, GenericCodec(Role.RESPONDER), MAX_DATA_OUT)
        self.body = body
        self.kind = Kind.UNDECIDED
        self._expected_tid: int | None = None  # next TID in the open session

    def name(self) -> str:
        """What the connection is, for messages."""
        return self.kind.value

    def _packet(self, packet: object) -> list[Action]:
        assert isinstance(packet, Packet)
        if isinstance(packet, ProbeRequest):  # either connection, any time: answer at once (PTPIP.md §10)
            return [Send(self.codec.encode(ProbeResponse()))]
        if isinstance(packet, ProbeResponse):
            return []  # we never probe, but an answer is harmless
        if self.kind is Kind.UNDECIDED:
            if isinstance(packet, InitCommandRequest):
                return self.body.open_command(self, packet)
            if isinstance(packet, InitEventRequest):
                return self.body.open_events(self, packet)
            raise Violation(f"{type(packet).__name__} as the first packet of a connection")
        if self.kind is Kind.EVENT:
            raise Violation(f"{type(packet).__name__} on the event connection")
        return self._command_packet(packet)

    def _command_packet(self, packet: Packet) -> list[Action]:
        if isinstance(packet, Cancel):
            log.debug(
                "Cancel of transaction %d ignored: every transaction runs to its end", packet.transaction_id
            )
            return []
        return self._transaction(packet, self._operation_request, "on the command/data connection")

    def _operation_request(self, op: OperationRequest) -> list[Action]:
        current = self.busy.request if self.busy is not None else self._data_out.op
        if current is not None:
            raise Violation(
                f"OperationRequest 0x{op.code:04X} (TID {op.transaction_id}) arrived before transaction "
                f"{current.transaction_id} (0x{current.code:04X}) was finished: transactions interleaved"
            )
        if self.body.events is None:
            raise Violation(f"OperationRequest 0x{op.code:04X} before the event connection was initialised")
        if op.data_phase == DataPhase.DataOut:
            self._data_out.begin(op)
            return []
        if op.data_phase != DataPhase.NoDataOrDataIn:
            raise Violation(f"OperationRequest 0x{op.code:04X} with DataPhaseInfo {op.data_phase}")
        return [self._run(op, None)]

    def _run(self, op: OperationRequest, data: bytes | None) -> Reply:
        camera, tid = self.body.model, op.transaction_id
        opening = op.code == OperationCode.OpenSession
        expected = (0, 1) if opening else (self._expected_tid,) if camera.session_id is not None else None
        if expected is not None and tid not in expected:
            log.info(
                "operation 0x%04X with TID %d, expected %s", op.code, tid, " or ".join(map(str, expected))
            )
            return self._reply(op, lambda: Outcome(ResponseCode.InvalidTransactionID))
        was_open = camera.session_id is not None
        reply = self._reply(op, lambda: camera.operation(op.code, tid, op.params, data))
        assert isinstance(reply.outcome, Outcome)
        if (was_open and not opening) or (opening and not was_open and reply.outcome.code == ResponseCode.OK):
            self._expected_tid = next_transaction_id(tid)
        return reply

    def _writes(self, pieces: Iterator[Buffer]) -> Iterator[tuple[Buffer, ...]]:
        # StartData, then each Data/EndData packet as its 12-byte header and its piece: one packet, one write
        yield (next(pieces),)
        for header in pieces:
            yield (header, next(pieces))

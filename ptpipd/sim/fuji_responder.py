"""Sans-I/O responder for the command port (55740) of the simulated X-T1: bytes in, actions out.

The connection starts in PTP/IP framing (FUJI.md §3)::

    initiator → camera   InitCommandRequest: u32 82 (or variable), u32 1, u32 0x8F53E4F2, GUID[16], name
    camera → initiator   InitCommandAck:     u32 len, u32 2, u32 conn#, GUID[16], "X-T1" UTF-16LE+NUL, u32 0
                  or     InitFail:           0c 00 00 00 05 00 00 00 <reason u32>, then the camera closes

and continues in containers (``u32 length, u16 type, u16 code, u32 TID, payload``; FUJI.md §2.2), one
transaction at a time: a command, for SetDevicePropValue its data container, then the camera's data
container (data-in operations) and response. Every answer comes from :class:`XT1Model`.

Rules, and where FUJI.md is silent the choices made:

* InitFail 0x201D for a wrong protocol version, 0x2019 for a name other than the one the camera paired
  with (unless ``accept_any_client``) and for a second client while a session is active (the camera
  serves one client; FUJI.md lists 0x2019 as "busy" too).
* The init request may come again on the same connection before the first command (libgphoto2 2.5.30
  sends it twice, ORACLES.md §2): it gets a second ack.
* Transaction IDs are echoed, never checked: the app recording has gaps in them (FUJI.md §4), so the
  camera cannot be enforcing a sequence. OpenSession with TID 0 (libgphoto2) and 1 (malc0mn, hkr) alike.
* A data-in operation (:data:`DATA_IN_OPERATIONS`) is always answered with a data container, empty when
  the model has no data (a refusal, a describe of an unknown property): libgphoto2's Fuji transport reads
  one data container before every response of such an operation and breaks otherwise (ORACLES.md §2).
* The connection reads the next packet only once the previous transaction has been answered, as a
  camera busy with one request does; nothing is pipelined or reordered.
* A malformed packet, a response or event container from the host, a data container that does not belong
  to a pending SetDevicePropValue, or an init request after the first command is a *violation*: logged,
  counted and the connection closed. hkr's terminate marker ``08 00 00 00 ff ff ff ff`` closes it quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from ptpipd.ip.codec import Role
from ptpipd.ip.errors import RemoteProtocolError
from ptpipd.ip.fuji import FujiCodec, FujiInitCommandRequest, TerminateMarker
from ptpipd.ip.packets import (
    Data,
    EndData,
    InitCommandAck,
    InitFail,
    OperationRequest,
    OperationResponse,
    StartData,
)
from ptpipd.ptp import OperationCode, ResponseCode
from ptpipd.sim.fuji_model import Answer, AwaitConfirmation, XT1Model
from ptpipd.sim.responder import Close, Send, Stats
from ptpipd.vendors.fuji_codes import FujiOperation

log = logging.getLogger("ptpipd.sim")

#: The simulated X-T1's GUID in its InitCommandAck ("FUJIFILM-X-T1-01").
FUJI_SIM_GUID = b"FUJIFILM-X-T1-01"
#: The name in the InitCommandAck: what an initiator shows when GetDeviceInfo is empty.
FUJI_SIM_NAME = "X-T1"
#: The ProtocolVersion after the name in the ack (malc0mn's mock sends 0; no real ack bytes are known).
ACK_VERSION = 0
#: The largest SetDevicePropValue payload accepted (the longest real one is a 100-byte geotag string).
MAX_DATA_OUT = 64 * 1024

#: Operations with a data phase towards the host: each answer carries a data container, even an empty one.
DATA_IN_OPERATIONS = frozenset(
    {
        OperationCode.GetDeviceInfo,
        OperationCode.GetStorageIDs,
        OperationCode.GetStorageInfo,
        OperationCode.GetObjectHandles,
        OperationCode.GetObjectInfo,
        OperationCode.GetObject,
        OperationCode.GetThumb,
        OperationCode.GetDevicePropDesc,
        OperationCode.GetDevicePropValue,
        OperationCode.GetPartialObject,
        FujiOperation.GetCapturePreview,
        FujiOperation.GetDeviceInfo,
    }
)


@dataclass(slots=True)
class FujiReply:
    """A transaction to answer. ``result`` is the model's answer, or the pairing prompt to wait out first:
    the I/O layer then calls :meth:`XT1Model.confirm_pairing`, writes :meth:`FujiResponder.reply_packets`
    and calls :meth:`FujiResponder.finished`."""

    request: OperationRequest
    result: Answer | AwaitConfirmation


FujiAction = Send | Close | FujiReply


class _Violation(Exception):
    """The initiator broke the protocol; the message says how."""


class FujiHub:
    """The simulated X-T1 shared by its command connections: the model, the one session owner, counters."""

    def __init__(self, model: XT1Model) -> None:
        self.model = model
        self.stats = Stats()
        self.owner: FujiResponder | None = None
        self._connection_number = 0

    def responder(self) -> FujiResponder:
        """A responder for a newly accepted command connection."""
        return FujiResponder(self)

    def connection_lost(self, conn: FujiResponder) -> bool:
        """A command connection ended; True when it owned the session (which then ends)."""
        conn.closed = True
        if conn is not self.owner:
            return False
        self.owner = None
        self.model.end_session()
        log.info("fuji: client %r went away, session ended", self.model.client)
        return True

    def _next_connection_number(self) -> int:
        self._connection_number += 1
        return self._connection_number


class FujiResponder:
    """The responder side of one command connection."""

    def __init__(self, hub: FujiHub) -> None:
        self.hub = hub
        self.codec = FujiCodec(Role.RESPONDER)
        self.closed = False
        #: The transaction being answered; no packet is read until it is finished.
        self.busy: FujiReply | None = None
        self._accepted = False
        self._connection_number = 0
        self._commands = 0
        self._data_op: OperationRequest | None = None
        self._data = bytearray()

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes) -> list[FujiAction]:
        """Feeds received bytes; returns what to do, in order. Nothing more is returned after a Close."""
        if self.closed:
            return []
        self.codec.receive_data(data)
        return self._drain()

    def resume(self) -> list[FujiAction]:
        """After :meth:`finished`: the actions for packets that arrived while the transaction ran."""
        return [] if self.closed else self._drain()

    def _drain(self) -> list[FujiAction]:
        actions: list[FujiAction] = []
        try:
            while self.busy is None and not self.closed:
                packet = self.codec.next_event()
                if packet is None:
                    break
                actions += self._packet(packet)
                if actions and isinstance(actions[-1], Close):
                    self.closed = True
        except RemoteProtocolError as exc:
            actions.append(self._violation(f"malformed packet on the Fuji command connection: {exc}"))
        except _Violation as exc:
            actions.append(self._violation(str(exc)))
        return actions

    def _violation(self, what: str) -> Close:
        self.hub.stats.violations += 1
        log.warning("violation: %s", what)
        self.closed = True
        return Close(what)

    def _packet(self, packet: object) -> list[FujiAction]:
        if isinstance(packet, FujiInitCommandRequest):
            return self._init_request(packet)
        if not self._accepted:
            raise _Violation(f"{type(packet).__name__} before the init request")
        if isinstance(packet, TerminateMarker):
            log.info("fuji: the host sent the terminate marker")
            return [Close("terminate marker")]
        if isinstance(packet, OperationRequest):
            return self._command(packet)
        if isinstance(packet, StartData | Data | EndData):
            return self._data_out(packet)
        raise _Violation(f"{type(packet).__name__} from the host on the command connection")

    def _init_request(self, request: FujiInitCommandRequest) -> list[FujiAction]:
        hub = self.hub
        if self._accepted and self._commands:
            raise _Violation("an init request after the session's first command")
        if hub.owner is not None and hub.owner is not self:
            log.info("fuji: refusing %r, a session is active (InitFail 0x2019)", request.name)
            return [Send(self.codec.encode(InitFail(ResponseCode.DeviceBusy))), Close("busy")]
        form = "82-byte" if request.fixed_length else "variable-length"
        reason = hub.model.accept_connection(request.name, request.version)
        if reason is not None:
            log.info(
                "fuji: %s init request from %r (version 0x%08X) refused: InitFail 0x%04X",
                form,
                request.name,
                request.version,
                reason,
            )
            return [Send(self.codec.encode(InitFail(reason))), Close(f"InitFail 0x{reason:04X}")]
        if not self._accepted:
            self._connection_number = hub._next_connection_number()
            log.info("fuji: %s init request from %r accepted", form, request.name)
        else:
            log.info("fuji: repeated init request from %r answered again", request.name)
        self._accepted = True
        hub.owner = self
        ack = InitCommandAck(self._connection_number, FUJI_SIM_GUID, FUJI_SIM_NAME, ACK_VERSION)
        actions: list[FujiAction] = [Send(self.codec.encode(ack))]
        self.codec.start_containers()
        return actions

    def _command(self, op: OperationRequest) -> list[FujiAction]:
        if self._data_op is not None:
            raise _Violation(
                f"command 0x{op.code:04X} (TID {op.transaction_id}) while the data of "
                f"0x{self._data_op.code:04X} (TID {self._data_op.transaction_id}) was awaited"
            )
        self._commands += 1
        if self.hub.model.needs_data(op.code):
            self._data_op = op
            self._data.clear()
            return []
        return [self._run(op, None)]

    def _data_out(self, packet: StartData | Data | EndData) -> list[FujiAction]:
        op = self._data_op
        if op is None:
            raise _Violation(f"a data container (TID {packet.transaction_id}) outside a data-out operation")
        if packet.transaction_id != op.transaction_id:
            raise _Violation(
                f"a data container with TID {packet.transaction_id} for the command with TID {op.transaction_id}"
            )
        if isinstance(packet, StartData):
            if packet.known_length is not None and packet.known_length > MAX_DATA_OUT:
                raise _Violation(f"a data container of {packet.known_length} bytes (at most {MAX_DATA_OUT})")
            return []
        self._data += packet.payload
        if isinstance(packet, Data):
            return []
        data = bytes(self._data)
        self._data.clear()
        self._data_op = None
        return [self._run(op, data)]

    # ------------------------------------------------------------------ transactions

    def _run(self, op: OperationRequest, data: bytes | None) -> FujiReply:
        try:
            result = self.hub.model.handle(op.code, op.transaction_id, op.params, data)
        except Exception:  # a bug in the model: answer like a confused camera, keep serving
            log.exception("operation 0x%04X failed inside the simulated X-T1", op.code)
            result = Answer(ResponseCode.GeneralError)
        if isinstance(result, AwaitConfirmation):
            log.info("fuji: pairing prompt for %r (DF01 answer held)", result.client)
        reply = FujiReply(op, result)
        self.busy = reply
        return reply

    def reply_packets(self, request: OperationRequest, answer: Answer) -> Iterator[bytes]:
        """The containers answering ``request``: data (for data-in operations always), then the response."""
        tid = request.transaction_id
        data = answer.data
        if data is None and request.code in DATA_IN_OPERATIONS:
            data = b""
        if data is not None:
            yield from self.codec.encode_data(tid, request.code, data)
        yield self.codec.encode(OperationResponse(answer.code, tid, answer.params))

    def finished(self, reply: FujiReply, answer: Answer) -> None:
        """The reply's response has been written: count it; the next packet may be read."""
        if self.busy is reply:
            self.busy = None
            self.hub.stats.transactions += 1
            op = reply.request
            if op.code == OperationCode.OpenSession and answer.code == ResponseCode.OK:
                self.hub.stats.sessions += 1
            log.debug(
                "0x%04X tid=%d %s -> 0x%04X %s",
                op.code,
                op.transaction_id,
                op.params,
                answer.code,
                answer.params,
            )

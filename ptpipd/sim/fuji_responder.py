"""Sans-I/O responder for the command port (55740) of a simulated Fuji body: bytes in, actions out.

The connection starts in PTP/IP framing (FUJI.md §3)::

    initiator → camera   InitCommandRequest: u32 82 (or variable), u32 1, u32 0x8F53E4F2, GUID[16], name
    camera → initiator   InitCommandAck:     u32 len, u32 2, u32 conn#, GUID[16], model UTF-16LE+NUL, u32 0
                  or     InitFail:           0c 00 00 00 05 00 00 00 <reason u32>, then the camera closes

and continues in containers (``u32 length, u16 type, u16 code, u32 TID, payload``; FUJI.md §2.2), one
transaction at a time: a command, for SetDevicePropValue its data container, then the camera's data
container (data-in operations) and response. Every answer comes from the body's
:class:`~ptpipd.sim.fuji_model.FujiModel`; the body (:class:`ptpipd.sim.fuji.FujiBody`) knows which
connection owns the session.

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
  camera busy with one request does; nothing is pipelined or reordered. An operation the model ignores
  (``--ignore-device-info``) is logged and dropped: the camera reads on, the initiator waits in vain.
* A malformed packet, a response or event container from the host, a data container that does not belong
  to a pending SetDevicePropValue, or an init request after the first command is a *violation*: logged,
  counted and the connection closed. hkr's terminate marker ``08 00 00 00 ff ff ff ff`` closes it quietly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ptpipd.ip.codec import Role
from ptpipd.ip.fuji import FujiCodec, FujiInitCommandRequest, TerminateMarker
from ptpipd.ip.packets import InitCommandAck, InitFail, OperationRequest
from ptpipd.ptp import OperationCode, ResponseCode
from ptpipd.sim.fuji_model import AwaitConfirmation
from ptpipd.sim.responder import Action, Close, Hold, Outcome, Reply, Responder, Send, Violation
from ptpipd.vendors.fuji_codes import FujiOperation

if TYPE_CHECKING:
    from ptpipd.sim.fuji import FujiBody

log = logging.getLogger("ptpipd.sim")


def sim_guid(model: str) -> bytes:
    """The simulated body's GUID in its InitCommandAck: ``FUJIFILM-X-T1-01`` for the X-T1 (16 bytes)."""
    return f"FUJIFILM-{model}-01".encode()[:16].ljust(16, b"0")


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


class FujiResponder(Responder):
    """The responder side of one command connection."""

    serial = True
    data_in = DATA_IN_OPERATIONS
    codec: FujiCodec

    def __init__(self, body: FujiBody) -> None:
        super().__init__(body.stats, FujiCodec(Role.RESPONDER), MAX_DATA_OUT)
        self.body = body
        self._accepted = False
        self._connection_number = 0
        self._commands = 0

    def name(self) -> str:
        """What the connection is, for messages."""
        return "Fuji command"

    def _packet(self, packet: object) -> list[Action]:
        if isinstance(packet, FujiInitCommandRequest):
            return self._init_request(packet)
        if not self._accepted:
            raise Violation(f"{type(packet).__name__} before the init request")
        if isinstance(packet, TerminateMarker):
            log.info("fuji: the host sent the terminate marker")
            return [Close("terminate marker")]
        return self._transaction(packet, self._command, "from the host on the command connection")

    def _init_request(self, request: FujiInitCommandRequest) -> list[Action]:
        body = self.body
        if self._accepted and self._commands:
            raise Violation("an init request after the session's first command")
        if body.owner is not None and body.owner is not self:
            log.info("fuji: refusing %r, a session is active (InitFail 0x2019)", request.name)
            return [Send(self.codec.encode(InitFail(ResponseCode.DeviceBusy))), Close("busy")]
        form = "82-byte" if request.fixed_length else "variable-length"
        reason = body.model.accept_connection(request.name, request.version)
        if reason is not None:
            log.info(
                "fuji: %s init request from %r (version 0x%08X) refused: InitFail 0x%04X",
                *(form, request.name, request.version, reason),
            )
            return [Send(self.codec.encode(InitFail(reason))), Close(f"InitFail 0x{reason:04X}")]
        if not self._accepted:
            self._connection_number = body.next_connection_number()
            log.info("fuji: %s init request from %r accepted", form, request.name)
        else:
            log.info("fuji: repeated init request from %r answered again", request.name)
        self._accepted, body.owner = True, self
        # the name is the model: what an initiator shows when GetDeviceInfo is empty
        model = body.model.profile.model
        ack = InitCommandAck(self._connection_number, sim_guid(model), model, ACK_VERSION)
        actions: list[Action] = [Send(self.codec.encode(ack))]
        self.codec.start_containers()
        return actions

    def _command(self, op: OperationRequest) -> list[Action]:
        pending = self._data_out.op
        if pending is not None:
            raise Violation(
                f"command 0x{op.code:04X} (TID {op.transaction_id}) while the data of "
                f"0x{pending.code:04X} (TID {pending.transaction_id}) was awaited"
            )
        self._commands += 1
        if self.body.model.ignores(op.code):
            log.info("fuji: 0x%04X (TID %d) ignored: no answer", op.code, op.transaction_id)
            return []
        if self.body.model.needs_data(op.code):
            self._data_out.begin(op)
            return []
        return [self._run(op, None)]

    def _run(self, op: OperationRequest, data: bytes | None) -> Reply:
        return self._reply(op, lambda: self._answer(op, data))

    def _answer(self, op: OperationRequest, data: bytes | None) -> Outcome | Hold:
        model = self.body.model
        result = model.handle(op.code, op.transaction_id, op.params, data)
        if not isinstance(result, AwaitConfirmation):
            return result
        delay = self.body.confirm_delay
        log.info("fuji: pairing prompt for %r: waiting %g s for the user to confirm", result.client, delay)

        def confirmed() -> Outcome:
            log.info("fuji: pairing with %r confirmed", result.client)
            return model.confirm_pairing()

        return Hold(delay, confirmed)

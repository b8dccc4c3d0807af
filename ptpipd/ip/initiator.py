"""Sans-I/O bookkeeping of an initiator's transactions on the command/data connection (PTPIP.md §7, §11).

:class:`InitiatorSession` assigns transaction IDs, produces the packets of a request (and its data-out
phase), and checks every packet that comes back against the transaction in flight: a response or data with
another transaction's ID, data where none is expected, or a handshake packet in the middle of the session is
a :class:`~ptpipd.ip.errors.RemoteProtocolError`. One transaction at a time, as every real camera expects.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from ptpipd.ip.codec import Codec, Decoded
from ptpipd.ip.errors import LocalProtocolError, RemoteProtocolError
from ptpipd.ip.packets import (
    Buffer,
    Data,
    DataPhase,
    EndData,
    OperationRequest,
    OperationResponse,
    StartData,
)

LAST_TRANSACTION_ID = 0xFFFF_FFFE  # 0xFFFFFFFF is reserved; the counter wraps to 1, never to 0
#: How many given-up transactions are remembered, so that their late packets are dropped.
GIVEN_UP = 8


class Phase(Enum):
    """Where the transaction in flight stands."""

    IDLE = "idle"
    WAIT_DATA_OR_RESPONSE = "waiting for data or the response"
    IN_DATA = "receiving data"
    WAIT_RESPONSE = "waiting for the response"


@dataclass(slots=True)
class Transaction:
    """The transaction in flight."""

    code: int
    transaction_id: int
    data_out: bool
    data_in_length: int | None = None
    received: int = 0
    #: the most data the request asked for (GetPartialObject's length): more is the camera's protocol error
    max_data_in: int | None = None


class InitiatorSession:
    """Transaction IDs and packet-order checks for one session over a codec."""

    def __init__(self, codec: Codec, *, first_transaction_id: int = 0) -> None:
        self.codec = codec
        #: The ID the next transaction will carry.
        self.next_transaction_id = first_transaction_id
        self.current: Transaction | None = None
        self.phase = Phase.IDLE
        self._given_up: deque[int] = deque(maxlen=GIVEN_UP)

    def start(
        self,
        code: int,
        params: tuple[int, ...] = (),
        data_out: Buffer | None = None,
        *,
        max_data_in: int | None = None,
    ) -> list[bytes]:
        """Begins a transaction; returns the packets to write, each with one write. With ``max_data_in``
        (what a request such as GetPartialObject asks for), a data phase announcing or carrying more bytes
        is a :class:`RemoteProtocolError`, raised before any byte past the limit is passed on."""
        if self.current is not None:
            raise LocalProtocolError(
                f"transaction 0x{self.current.code:04X} is still in flight; one at a time per session"
            )
        tid = self.next_transaction_id
        phase = DataPhase.DataOut if data_out is not None else DataPhase.NoDataOrDataIn
        out = [self.codec.encode(OperationRequest(phase, code, tid, tuple(params)))]
        if data_out is not None:
            out.extend(self.codec.encode_data(tid, code, data_out))
        # Only a request that can be sent uses up its ID: a strict camera expects the next one to follow.
        self.next_transaction_id = 1 if tid >= LAST_TRANSACTION_ID else tid + 1
        self.current = Transaction(code, tid, data_out is not None, max_data_in=max_data_in)
        self.phase = Phase.WAIT_RESPONSE if data_out is not None else Phase.WAIT_DATA_OR_RESPONSE
        return out

    def abandon(self) -> None:
        """Forgets the transaction in flight (the connection is being closed)."""
        self.current = None
        self.phase = Phase.IDLE

    def give_up(self) -> None:
        """Forgets the transaction in flight on a connection that stays open: whatever the camera still
        sends for it (data, response) is dropped."""
        if self.current is not None:
            self._given_up.append(self.current.transaction_id)
        self.abandon()

    def receive_data(self, data: Buffer) -> None:
        """Feeds bytes from the command/data connection."""
        self.codec.receive_data(data)

    def splice_room(self) -> int:
        """How many payload bytes of the data packet in progress may be received outside the codec (spliced
        to their destination, see :meth:`spliced`): what is left of the packet's body, within what StartData
        announced; 0 while anything received is still to be decoded, outside the transaction's data phase,
        or while raw packets are recorded."""
        tx, codec = self.current, self.codec
        if tx is None or self.phase is not Phase.IN_DATA or codec.reader.recorder is not None:
            return 0
        if codec.streaming_tid != tx.transaction_id:
            return 0  # another transaction's data: the codec's path reports it
        room = codec.reader.body_left
        if tx.data_in_length is not None:
            room = min(room, tx.data_in_length - tx.received)
        if tx.max_data_in is not None:
            room = min(room, tx.max_data_in - tx.received)
        return max(room, 0)

    def spliced(self, n: int) -> None:
        """``n`` payload bytes (at most :meth:`splice_room`) were received outside the codec."""
        if n:
            assert self.current is not None
            self.codec.reader.skip_body(n)
            self.current.received += n

    def next_event(self) -> StartData | Data | EndData | OperationResponse | None:
        """The next packet of the transaction in flight, checked; None when more bytes are needed."""
        while (packet := self.codec.next_event()) is not None:
            if (checked := self._check(packet)) is not None:
                return checked
        return None

    def _check(self, packet: Decoded) -> StartData | Data | EndData | OperationResponse | None:
        tx = self.current
        late = getattr(packet, "transaction_id", None)
        if isinstance(late, int) and late in self._given_up and (tx is None or late != tx.transaction_id):
            if isinstance(packet, OperationResponse):
                self._given_up.remove(late)
            return None  # the late answer to a transaction given up
        if tx is None:
            if isinstance(packet, OperationResponse):
                return None  # a late answer to an abandoned transaction: libgphoto2 drops these too
            raise RemoteProtocolError(f"unexpected {type(packet).__name__} while no transaction is in flight")
        match packet:
            case OperationResponse(_, tid, _):
                if tid != tx.transaction_id:
                    if tid < tx.transaction_id:
                        return None  # stale reply (PTPIP.md §7): drop it and keep waiting
                    raise RemoteProtocolError(
                        f"response for transaction {tid} while waiting for {tx.transaction_id}"
                    )
                if self.phase is Phase.IN_DATA:
                    raise RemoteProtocolError("response arrived before the data phase ended (no EndData)")
                self.current = None
                self.phase = Phase.IDLE
                return packet
            case StartData(tid):
                self._check_tid(tid, tx, "StartData")
                if tx.data_out:
                    raise RemoteProtocolError(
                        f"StartData from the camera during data-out operation 0x{tx.code:04X}"
                    )
                if self.phase is Phase.IN_DATA:
                    raise RemoteProtocolError("StartData inside a data phase")
                # A second data phase for the same transaction (malc0mn reads several Fuji data containers)
                # is concatenated; the announced length then no longer says the total.
                tx.data_in_length = packet.known_length if self.phase is Phase.WAIT_DATA_OR_RESPONSE else None
                if tx.max_data_in is not None and (packet.known_length or 0) > tx.max_data_in - tx.received:
                    raise self._too_much(tx, f"StartData announced {packet.known_length} bytes")
                self.phase = Phase.IN_DATA
                return packet
            case Data(tid, payload) | EndData(tid, payload):
                self._check_tid(tid, tx, type(packet).__name__)
                if self.phase is not Phase.IN_DATA:
                    if isinstance(packet, EndData) and not payload and self.phase is Phase.WAIT_RESPONSE:
                        return None  # stray empty EndData: libgphoto2 skips it as well
                    raise RemoteProtocolError(f"{type(packet).__name__} without StartData")
                tx.received += len(payload)
                if tx.max_data_in is not None and tx.received > tx.max_data_in:
                    raise self._too_much(tx, f"{tx.received} bytes arrived")
                if isinstance(packet, EndData):
                    if tx.data_in_length is not None and tx.received != tx.data_in_length:
                        raise RemoteProtocolError(
                            f"StartData announced {tx.data_in_length} bytes but {tx.received} arrived"
                        )
                    self.phase = Phase.WAIT_RESPONSE
                elif tx.data_in_length is not None and tx.received > tx.data_in_length:
                    raise RemoteProtocolError(
                        f"more data than the {tx.data_in_length} bytes StartData announced"
                    )
                return packet
        raise RemoteProtocolError(f"unexpected {type(packet).__name__} on the command/data connection")

    @staticmethod
    def _too_much(tx: Transaction, what: str) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"the camera sent more than it was asked for: operation 0x{tx.code:04X} asked for at most "
            f"{tx.max_data_in} bytes, {what}"
        )

    @staticmethod
    def _check_tid(tid: int, tx: Transaction, what: str) -> None:
        if tid != tx.transaction_id:
            raise RemoteProtocolError(f"{what} for transaction {tid} while {tx.transaction_id} is in flight")

"""Errors of the PTP/IP layer.

As in h11, a :class:`LocalProtocolError` means *we* were asked to do something the protocol forbids (a bug in
the caller), and a :class:`RemoteProtocolError` means the *peer* sent something malformed or out of order.
"""

from __future__ import annotations


class PTPIPError(Exception):
    """Base class of every error raised by :mod:`ptpipd.ip`."""


class ProtocolError(PTPIPError):
    """The byte stream or the packet sequence breaks the protocol."""


class LocalProtocolError(ProtocolError):
    """We tried to send something the protocol does not allow (wrong state, value out of range)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent a malformed packet, or a packet that is not allowed at this point."""


class FrameTooLarge(RemoteProtocolError):
    """A length field announces a frame larger than the configured cap."""

    def __init__(self, length: int, cap: int) -> None:
        super().__init__(f"packet length {length} exceeds the cap of {cap} bytes")
        self.length = length
        self.cap = cap


class InitFailed(PTPIPError):
    """The responder answered the init handshake with InitFail."""

    def __init__(self, reason: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConnectionClosed(PTPIPError):
    """The connection is closed (by the peer, by us, or after a protocol error)."""


class TransactionTimeout(PTPIPError):
    """The responder did not finish a transaction, or a handshake step, in time."""

    def __init__(self, what: str, timeout: float, opcode: int | None = None) -> None:
        super().__init__(f"{what}: no answer within {timeout:g} s")
        self.timeout = timeout
        self.opcode = opcode


class SinkFailed(PTPIPError):
    """The caller's sink could not take the data phase (a full disk, say): the rest of it was read and
    discarded, the transaction finished, and the session is still fine."""

    def __init__(self, error: OSError, received: int) -> None:
        super().__init__(f"the data could not be stored: {error.strerror or error}")
        self.error = error
        self.received = received


class TransactionDeadline(TransactionTimeout):
    """The responder kept a transaction going past its overall deadline (endless data, a trickle of bytes),
    however short each silence was."""

    def __init__(self, what: str, deadline: float, received: int, opcode: int | None = None) -> None:
        PTPIPError.__init__(self, f"{what}: not finished within {deadline:.3g} s ({received} bytes received)")
        self.timeout = deadline
        self.opcode = opcode

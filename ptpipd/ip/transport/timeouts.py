"""Every wait of an initiator, in one frozen dataclass (connecting, handshakes, transactions)."""

from __future__ import annotations

from dataclasses import dataclass


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

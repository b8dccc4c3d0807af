"""The service's connection states, its tuning, and the reconnect backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class ConnectionState(StrEnum):
    """Where the session with the camera stands."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    PAIRING = "pairing"
    CONNECTED = "connected"


#: The only transitions the service makes.
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset(
        {ConnectionState.PAIRING, ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}
    ),
    ConnectionState.PAIRING: frozenset({ConnectionState.CONNECTED, ConnectionState.DISCONNECTED}),
    ConnectionState.CONNECTED: frozenset({ConnectionState.DISCONNECTED}),
}


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """Tuning of the service; the defaults suit a camera on Wi-Fi.

    ``shutdown_grace`` bounds the wait for the request in flight when the service stops, ``close_timeout``
    the CloseSession after it.
    """

    keepalive_interval: float = 3.0
    #: seconds between the event polls of a camera that does not push its events (None: its vendor's)
    poll_interval: float | None = None
    keepalive_timeout: float = 5.0
    backoff_initial: float = 0.5
    #: a camera switched back on is connected again within 2 s (issue 14), however long it was away; an
    #: attempt every 0.75-1.5 s costs a refused or unanswered TCP connect, nothing more
    backoff_max: float = 1.5
    #: a link must stay up this long for the backoff to start over: one lost sooner counts as a failed attempt
    #: (a camera that drops each session at once is not reconnected in a tight loop), one lost later is
    #: reconnected at once
    stable_after: float = 10.0
    #: while the same failure repeats, a reminder at WARNING this often (the repeats are logged at DEBUG)
    outage_reminder: float = 600.0
    #: polled live-view frames (Canon, Nikon) asked for at most this many times a second (0: no cap)
    liveview_fps: float = 30.0
    max_queue: int = 64  # requests of one client waiting or running (its flood is its own)
    max_total_queue: int = 4096  # of all clients together
    wait_connected: float = 3.0
    subscriber_queue: int = 256
    shutdown_grace: float = 2.5  # + close_timeout: within the daemon's 5 s shutdown bound (daemon.py)
    close_timeout: float = 1.0


class Backoff:
    """Delays between connection attempts: doubling from ``initial`` up to ``maximum``, each scaled by a
    random factor in [0.5, 1] so that many daemons do not hammer one camera in step."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt."""
        delay = min(self.maximum, self.initial * 2.0**self.attempt) * self._rng.uniform(0.5, 1.0)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """After a link that stayed up (``ServiceOptions.stable_after``): the next failure starts from
        ``initial`` again."""
        self.attempt = 0

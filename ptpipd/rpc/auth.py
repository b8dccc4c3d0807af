"""Checking ``auth`` tokens without letting anyone guess them quickly.

Two limits, so that neither many attempts on one connection nor many connections from one address help:

* **per connection**: after :data:`MAX_FAILURES_PER_CONNECTION` wrong tokens the connection is closed (the
  transport closes it after sending the answer; a transport that cannot close still gets every further
  ``auth`` on it refused unchecked);
* **per peer address**: after :data:`FREE_FAILURES` wrong tokens from one address, that address is locked
  out for a time that doubles with every further failure (:data:`FIRST_LOCKOUT` up to
  :data:`MAX_LOCKOUT`); an attempt during the lockout is refused without looking at the token, so running
  guesses in parallel gains nothing. A right token ends the address's record; an address that stays quiet
  for :data:`FORGET_AFTER` is forgotten, and at most :data:`MAX_PEERS` addresses are remembered.

A lockout refuses at once rather than making the answer wait: a waiting answer would tie up a task per
attempt and would not slow down an attacker who does not wait for answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_FAILURES_PER_CONNECTION = 3
FREE_FAILURES = 3
FIRST_LOCKOUT = 0.5
MAX_LOCKOUT = 60.0
FORGET_AFTER = 600.0
MAX_PEERS = 4096


#: The answer to a wrong token (JSON-RPC ``auth``, the data plane's ``POST /auth``).
WRONG_TOKEN = "unauthorised: wrong token"


class AuthRefused(Exception):
    """A wrong token, or an attempt during a lockout; ``close`` when the connection must end now."""

    def __init__(self, message: str, *, close: bool) -> None:
        super().__init__(message)
        self.close = close


@dataclass
class _Peer:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class AuthGuard:
    """The daemon's token and the failure records of the peers that tried it."""

    def __init__(self, token: str | None, clock: Callable[[], float] = time.monotonic) -> None:
        #: the daemon's ``auth_token`` (None: no token is right); the data plane's token rule reads it too
        self.token = token
        self._clock = clock
        self._peers: OrderedDict[str, _Peer] = OrderedDict()

    def check(self, token: str, host: str, failures_here: int) -> None:
        """Returns when ``token`` is right; raises :class:`AuthRefused` otherwise.

        ``host`` is the peer's address (any port counts against it); ``failures_here`` is how many wrong
        tokens this connection has sent already.
        """
        host = address_key(host)
        now = self._clock()
        if failures_here >= MAX_FAILURES_PER_CONNECTION:
            raise AuthRefused("unauthorised: too many wrong tokens on this connection", close=True)
        record = self._record(host, now)
        if record.locked_until > now:
            wait = record.locked_until - now
            raise AuthRefused(
                f"unauthorised: too many wrong tokens from {host}; try again in {wait:.1f} s",
                close=failures_here + 1 >= MAX_FAILURES_PER_CONNECTION,
            )
        if self.token is not None and hmac.compare_digest(token_bytes(token), token_bytes(self.token)):
            self._peers.pop(host, None)
            return
        record.failures += 1
        record.last = now
        if record.failures >= FREE_FAILURES:
            lockout = min(MAX_LOCKOUT, FIRST_LOCKOUT * 2 ** (record.failures - FREE_FAILURES))
            record.locked_until = now + lockout
        closing = failures_here + 1 >= MAX_FAILURES_PER_CONNECTION
        raise AuthRefused(WRONG_TOKEN + ("; closing the connection" if closing else ""), close=closing)

    def _record(self, host: str, now: float) -> _Peer:
        record = self._peers.get(host)
        if record is not None and now - record.last > FORGET_AFTER and record.locked_until <= now:
            record = None
        if record is None:
            record = _Peer(last=now)
            self._peers[host] = record
            while len(self._peers) > MAX_PEERS:
                self._peers.popitem(last=False)
        self._peers.move_to_end(host)
        return record


def token_bytes(text: str) -> bytes:
    """``text`` as bytes to compare, whatever it holds: a token that is not valid Unicode (an HTTP header's
    bytes that are not UTF-8, which aiohttp hands over as lone surrogates, or a JSON ``"\\ud800"``) is just a
    wrong token, never an error. A lone surrogate encodes to bytes no valid UTF-8 text has, so it can equal
    only the same surrogate (a token set through an environment variable that is not UTF-8)."""
    return text.encode("utf-8", "surrogatepass")


def address_key(host: str) -> str:
    """The key of ``host``'s failure record: an IPv4 client of a dual-stack listener (``::ffff:a.b.c.d``, the
    data plane on ``[::]``) is the same client as on an IPv4 listener (``a.b.c.d``), with one lockout, not two
    budgets of guesses."""
    try:
        mapped = ipaddress.IPv6Address(host).ipv4_mapped
    except ValueError:  # IPv4, a scoped or no address ("unix")
        return host
    return host if mapped is None else str(mapped)

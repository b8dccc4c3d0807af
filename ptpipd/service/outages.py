"""How loudly the session loop logs its connection states: a camera left switched off, or one that drops every
session it opens, must not fill the journal with the same lines every second.

An *outage* runs from the first failure (a failed connection attempt, a lost link) until a link stays up for
``ServiceOptions.stable_after``. Within it:

- a failure is a WARNING when it starts the outage or its reason changed, and every ``reminder`` seconds
  (``camera still disconnected … after N failures in M min``); a repeat of the same reason is DEBUG;
- the routine lines (``camera connecting``, ``reconnecting in …``) are INFO until the outage has been
  announced, DEBUG after;
- a connection is INFO when a WARNING was logged since the last one (the camera is back), else DEBUG (a
  camera that drops each session at once); once a link that was logged quietly stays up, its recovery is
  logged at INFO.

What is logged changes nothing else: every state change still reaches the listeners and subscribers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ptpipd.service.state import ConnectionState

DEBUG, INFO, WARNING = logging.DEBUG, logging.INFO, logging.WARNING


class Outages:
    """The log levels of one session's state changes (see the module's docstring)."""

    def __init__(self, reminder: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.reminder = reminder
        self._clock = clock
        self.started: float | None = None  # when the outage began (None: none in progress)
        self.reason: str | None = None  # its last failure's reason
        self.failures = 0  # failures in it
        self._warned = 0.0  # when its last WARNING was logged
        self._loud = False  # a WARNING since the last connection was logged
        self._quiet_connection = False  # the last connection was logged at DEBUG

    @property
    def routine(self) -> int:
        """The level of the routine lines: INFO outside an outage, DEBUG once it was announced."""
        return INFO if self.started is None else DEBUG

    def level(self, state: ConnectionState, reason: str | None) -> tuple[int, str]:
        """The level of a change to ``state`` (``reason``: a failure's, None when the daemon stops) and what
        to add to its line."""
        if state is ConnectionState.DISCONNECTED and reason:
            return self._failure(reason)
        if state is ConnectionState.CONNECTED and self.started is not None:
            self._quiet_connection = not self._loud
            self._loud = False
            return (DEBUG if self._quiet_connection else INFO), ""
        return (INFO if state is not ConnectionState.CONNECTING else self.routine), ""

    def _failure(self, reason: str) -> tuple[int, str]:
        now = self._clock()
        self.failures += 1
        if self.started is None or reason != self.reason:
            self.started = self.started if self.started is not None else now
            self.reason, self._warned, self._loud = reason, now, True
            return WARNING, ""
        if now - self._warned >= self.reminder:
            self._warned, self._loud = now, True
            minutes = (now - self.started) / 60
            return WARNING, f" (still, after {self.failures} failures in {minutes:.0f} min)"
        return DEBUG, ""

    def stable(self) -> str | None:
        """The link stayed up: the outage is over. What to log at INFO (when its connection was logged
        quietly), else None."""
        if self.started is None:
            return None
        took = self._clock() - self.started
        said = self._quiet_connection
        message = f"camera connection stable again after {self.failures} failures in {took:.0f} s"
        self.started, self.reason, self.failures = None, None, 0
        self._loud = self._quiet_connection = False
        return message if said else None

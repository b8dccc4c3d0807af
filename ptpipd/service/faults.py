"""Unexpected exceptions of the service's background tasks (a bug in a driver, say): each is logged and
counted, and the task goes on; none may end the daemon's TaskGroup."""

from __future__ import annotations

import logging

log = logging.getLogger("ptpipd.service")

#: Distinct failures remembered (their traceback logged once); past this, every failure gets one line.
REMEMBERED = 64


class TaskFaults:
    """Counts the unexpected failures of background tasks. The first of a kind (task, exception type and
    text) is logged with its traceback; a repeat gets one line, so a poll failing every second does not
    flood the journal with the same traceback."""

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[tuple[str, type[BaseException], str]] = set()

    def record(self, task: str, exc: Exception) -> None:
        """``task`` (what was running, in words) failed with ``exc``; it goes on."""
        self.count += 1
        key = (task, type(exc), str(exc))
        if key in self._seen or len(self._seen) >= REMEMBERED:
            log.error(
                "%s failed again: %s: %s (%d unexpected failures)", task, type(exc).__name__, exc, self.count
            )
            return
        self._seen.add(key)
        log.error("%s failed unexpectedly; going on", task, exc_info=exc)

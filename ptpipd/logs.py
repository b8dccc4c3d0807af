"""Logging that reads well in a terminal and in journald: one line per event, no secrets.

Under systemd (``JOURNAL_STREAM`` set) lines carry a syslog priority prefix (``<6>``) that journald turns
into the entry's level, and no timestamp (journald adds its own). Multi-line messages and tracebacks are
folded onto one line so each event stays one journal entry.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class OneLineFormatter(logging.Formatter):
    """Folds newlines (tracebacks included) into `` ⏎ `` so one event is one line."""

    def __init__(self, fmt: str, *, journal: bool) -> None:
        super().__init__(fmt, datefmt="%Y-%m-%d %H:%M:%S")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " ⏎ ")
        if self.journal:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return text


def setup_logging(level: str = "info", env: Mapping[str, str] = os.environ) -> None:
    """Configures the root logger for the daemon (stderr)."""
    journal = bool(env.get("JOURNAL_STREAM"))
    fmt = "%(name)s: %(message)s" if journal else "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(fmt, journal=journal))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if level != "debug":
        logging.getLogger("asyncio").setLevel(logging.WARNING)

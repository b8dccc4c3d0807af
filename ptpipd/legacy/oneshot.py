"""``ptpipd -c COMMAND``: connect, run one text command, print its output, exit."""

from __future__ import annotations

from ptpipd.config import EXIT_SETTINGS, Settings


async def one_shot(settings: Settings, command: str) -> int:
    """Runs one legacy command; returns the exit code."""
    print("ptpipd: one-shot mode is not implemented yet")
    return EXIT_SETTINGS

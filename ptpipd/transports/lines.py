"""NDJSON lines with a cap, so no client can make the daemon buffer without bound."""

from __future__ import annotations

import asyncio

from ptpipd.net import LineTooLong
from ptpipd.net import read_line as read_capped_line

#: DESIGN.md §4: a request line over 1 MiB is refused.
MAX_LINE = 1 << 20

__all__ = ["MAX_LINE", "LineTooLong", "read_line"]


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next request line without its newline; None at end of stream (:func:`ptpipd.net.read_line` with
    the cap :data:`MAX_LINE`, which the listeners also set as the reader's ``limit``)."""
    return await read_capped_line(reader, MAX_LINE)

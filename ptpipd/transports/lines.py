"""Reading newline-terminated lines with a cap, so no client can make the daemon buffer without bound."""

from __future__ import annotations

import asyncio

#: DESIGN.md §4: a request line over 1 MiB is refused.
MAX_LINE = 1 << 20


class LineTooLong(Exception):
    """The client sent more than the cap without a newline."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"request line over {cap} bytes")
        self.cap = cap


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line without its newline; None at end of stream. A last line without newline counts.

    The cap is the reader's ``limit``, which the listeners set to :data:`MAX_LINE`: a longer line raises
    :class:`LineTooLong` without buffering the rest.
    """
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None
    except asyncio.LimitOverrunError:
        raise LineTooLong(MAX_LINE) from None
    return line[:-1]

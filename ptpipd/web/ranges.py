"""HTTP ``Range`` (RFC 9110 §14) for one byte range, the only kind the data plane serves (resume)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class BadRange(ValueError):
    """A ``Range`` the object cannot satisfy or that is not one byte range: answered 416."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` … ``end`` (exclusive) of an object of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes."""
        return self.end - self.start

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header value."""
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def parse_range(header: str, size: int) -> ByteRange:
    """The range a ``Range`` header asks for: ``bytes=A-B``, ``bytes=A-`` or ``bytes=-N`` (the last N).

    :class:`BadRange` for anything else (several ranges, another unit, garbage) and for a range that starts
    at or beyond the end of the object; an end beyond the object is cut to it, as RFC 9110 says.
    """
    text = header.strip().replace(" ", "")
    match = _RANGE.fullmatch(text)
    if match is None:
        raise BadRange(f"only one byte range is served (bytes=START-END), not {header[:100]!r}")
    first, last = match.groups()
    if not first and not last:
        raise BadRange(f"an empty range {header[:100]!r}")
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise BadRange(f"the last {n} bytes of a {size}-byte object")
        return ByteRange(max(0, size - n), size, size)
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        raise BadRange(f"the range {header[:100]!r} ends before it starts")
    if start >= size:
        raise BadRange(f"the object has {size} bytes; the range starts at {start}")
    return ByteRange(start, min(end, size), size)

"""HTTP ``Range`` and ``If-None-Match`` (RFC 9110 §14, §13.1.2) for the data plane's objects.

One byte range is served (resume, a player seeking); a ``Range`` the data plane does not serve as asked is
ignored, so the whole object comes (200), as RFC 9110 allows or demands: another unit (§14.2: MUST ignore),
an invalid range set (``bytes=5-2``, garbage: MAY ignore) and several ranges (no multipart answers). Only a
valid set of byte ranges of which none lies within the object is refused (416, §15.5.17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: One range-spec: ``A-B``, ``A-`` or ``-N`` (§14.1.1), blanks around its parts allowed.
_SPEC = re.compile(r"(\d*)-(\d*)")
#: One entity-tag of a list (§8.8.3): an optional weakness mark, then a quoted opaque tag (which may hold
#: commas, never a quote).
_TAG = re.compile(r'[\s,]*(?:W/)?("[^"]*")\s*(?=,|$)')
#: Digits past this many name a position beyond any object (and past Python's int() digit limit).
_MAX_DIGITS = 19


class BadRange(ValueError):
    """A valid ``Range`` none of whose byte ranges lies within the object: answered 416."""


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


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one byte range a ``Range`` header asks for, cut to the object (an end beyond it is cut to it);
    None when the header is to be ignored and the whole object served (another unit, an invalid range set,
    several ranges).

    ``bytes=A-B``, ``bytes=A-`` and ``bytes=-N`` (the last N bytes) are served. :class:`BadRange` when the
    set is valid but unsatisfiable: every range starts at or beyond the end of the object, or is a suffix of
    0 bytes (``bytes=-0``).
    """
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None  # no unit, or one the data plane does not know: ignored (RFC 9110 §14.2)
    specs = _specs(ranges)
    if specs is None:
        return None  # an invalid range set: ignored
    satisfiable = [r for r in (_satisfiable(first, last, size) for first, last in specs) if r is not None]
    if not satisfiable:
        raise BadRange(f"no range of {header[:100]!r} lies within the object's {size} bytes")
    return satisfiable[0] if len(specs) == 1 else None  # several: the whole object (no multipart answers)


def _specs(ranges: str) -> list[tuple[int | None, int | None]] | None:
    """The (first, last) positions of each range-spec of a byte-range-set; None when the set is invalid (no
    range-spec, garbage, a range that ends before it starts, §14.1.1)."""
    specs: list[tuple[int | None, int | None]] = []
    # a list may hold empty elements (RFC 9110 §5.6.1), and blanks around its parts
    for part in filter(None, re.sub(r"[ \t]", "", ranges).split(",")):
        match = _SPEC.fullmatch(part)
        if match is None or match.groups() == ("", ""):
            return None
        first, last = (_number(text) for text in match.groups())
        if first is not None and last is not None and last < first:
            return None
        specs.append((first, last))
    return specs or None


def _number(text: str) -> int | None:
    """A position of a range-spec (None when absent); any beyond 19 digits is past every object's end."""
    if not text:
        return None
    return int(text) if len(text.lstrip("0")) <= _MAX_DIGITS else 1 << 64


def _satisfiable(first: int | None, last: int | None, size: int) -> ByteRange | None:
    """The bytes one valid range-spec selects, or None when it selects none (unsatisfiable)."""
    if first is None:  # the last N bytes
        n = last or 0
        return ByteRange(size - min(n, size), size, size) if n and size else None
    if first >= size:
        return None
    return ByteRange(first, min(last + 1, size) if last is not None else size, size)


def none_match(header: str, tag: str) -> bool:
    """True when an ``If-None-Match`` header matches the object's entity-tag ``tag``: ``*`` (the object
    exists), or a list holding ``tag`` under the weak comparison (``W/`` ignored on either side, RFC 9110
    §8.8.3.2), which is what If-None-Match uses. A malformed list matches nothing."""
    text = header.strip().rstrip(", \t")
    if text == "*":
        return True
    opaque = tag.removeprefix("W/")
    position = 0
    while position < len(text):
        match = _TAG.match(text, position)
        if match is None:
            return False
        if match.group(1) == opaque:
            return True
        position = match.end()
    return False

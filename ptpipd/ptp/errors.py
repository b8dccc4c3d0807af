"""Errors raised by the PTP layer.

Both are :class:`ValueError` subclasses: a bad byte string or a value that does not fit its
type is bad *input*, not a bug in the caller's control flow, and callers that already catch
``ValueError`` keep working.
"""

from __future__ import annotations

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(ValueError):
    """Bytes that cannot be read as the PTP structure they are supposed to hold.

    Raised for truncated data, trailing bytes after a dataset, an unknown data type or form
    flag, and malformed PTP strings. The message names the structure, the offset and what was
    expected there, e.g. ``"DevicePropDesc: truncated at offset 7: need 2 bytes for UINT16,
    have 1"``.

    Attributes:
        offset: the byte offset (into the buffer handed to the decoder) where the problem
            was found, or ``None`` when it is not tied to one position.
    """

    offset: int | None

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class EncodeError(ValueError):
    """A value that cannot be written as its PTP type.

    Examples: 256 for a UINT8, a string longer than 254 UTF-16 code units, a ``str`` where
    an integer type is expected, an array with more than 2**32 - 1 elements.
    """

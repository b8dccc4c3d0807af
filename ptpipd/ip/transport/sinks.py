"""Where a transaction's data phase goes: the caller's sink, chunk by chunk, or memory up to a cap."""

from __future__ import annotations

from typing import Protocol

from ptpipd.ip.errors import PTPIPError
from ptpipd.ip.packets import Buffer

#: In-memory data phases (datasets, property values, previews) are capped at this size by default.
DEFAULT_COLLECT_CAP = 64 << 20


class DataSink(Protocol):
    """Receives the data phase of a transaction, chunk by chunk, synchronously and in order."""

    def write(self, data: Buffer) -> object:
        """Takes one chunk. The chunk is only valid during the call: copy what must be kept."""


class BytesSink:
    """Collects a data phase in memory up to ``cap`` bytes; past the cap it only counts."""

    def __init__(self, cap: int = DEFAULT_COLLECT_CAP) -> None:
        self.cap = cap
        self.buffer = bytearray()
        self.size = 0

    @property
    def overflow(self) -> bool:
        """True when more than ``cap`` bytes arrived."""
        return self.size > self.cap

    def write(self, data: Buffer) -> None:
        """Appends a chunk (or only counts it, past the cap)."""
        self.size += len(data)
        if self.size <= self.cap:
            self.buffer += data

    def release(self) -> None:
        """Frees what was collected (a failed transfer: its memory goes back at once)."""
        self.buffer = bytearray()


class _Discard:
    def write(self, data: Buffer) -> None:
        del data


DISCARD = _Discard()


class DataTooLarge(PTPIPError):
    """A data phase collected in memory was larger than its cap; the session itself is still fine."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"the camera sent {size} bytes, more than the {cap}-byte limit for in-memory data")
        self.size = size
        self.cap = cap

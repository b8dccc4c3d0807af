"""Where a transaction's data phase goes: the caller's sink, chunk by chunk, or memory up to a cap."""

from __future__ import annotations

from typing import Protocol, cast

from ptpipd.ip.errors import PTPIPError
from ptpipd.ip.packets import Buffer

#: In-memory data phases (datasets, property values, previews) are capped at this size by default.
DEFAULT_COLLECT_CAP = 64 << 20


class DataSink(Protocol):
    """Receives the data phase of a transaction, chunk by chunk, synchronously and in order."""

    def write(self, data: Buffer) -> object:
        """Takes one chunk. The chunk is only valid during the call: copy what must be kept."""


class SpliceTarget(Protocol):
    """A :class:`DataSink` that can also take a payload straight from the camera's socket into its own
    (:mod:`.splice`: Linux ``splice(2)``, the bytes never enter user space). Every method is optional to use:
    the transport falls back to :meth:`write` whenever one says no."""

    #: Seconds the target may leave the camera unread while it cannot take more bytes, in all over one
    #: transaction; past them the rest of its data goes through :meth:`write` (a slow client must not hold the
    #: camera, and so every other client's requests, for long).
    hold: float

    def write(self, data: Buffer) -> object:
        """Takes one chunk, as :meth:`DataSink.write`."""

    def splice_fd(self, length: int) -> int | None:
        """The socket the next ``length`` payload bytes may be spliced into, all of them wanted as they come;
        None when not (gone, a byte range to trim, not a plain socket): those bytes then go to :meth:`write`."""

    async def flushed(self, limit: float) -> bool:
        """Waits until everything given to :meth:`write` has reached the socket; False after ``limit`` s."""

    def spliced(self, n: int) -> None:
        """``n`` payload bytes went onto the socket (by splice), in order after what :meth:`write` got."""

    def splice_failed(self, reason: str) -> None:
        """The socket failed while bytes were spliced into it: it gets nothing more."""


def splice_target(sink: DataSink) -> SpliceTarget | None:
    """``sink`` as a :class:`SpliceTarget` when it is one (told by its ``splice_fd``: a runtime protocol
    check would cost more than a small transaction), else None."""
    return cast(SpliceTarget, sink) if callable(getattr(sink, "splice_fd", None)) else None


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

"""Live-view frames, whatever the camera's way of sending them: one :class:`LiveView` interface.

A camera either pushes frames on a connection of their own (Fujifilm's port 55742: :class:`StreamLiveView`)
or hands out one frame per operation on the command channel (Canon EOS GetViewFinderData 0x9153, Nikon
GetLiveViewImage 0x9203: :class:`PolledLiveView`). Both deliver :class:`LiveFrame` values from
``await view.next_frame()``. ``view.polled`` tells the caller whether each frame is a transaction: the
service then runs it through its queue like any other request, while a stream needs no lock at all, and
paces it with a :class:`Pacer` (a polled camera answers as fast as it can: without a cap both sides would spin).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from ptpipd.ip.errors import ConnectionClosed, PTPIPError, TransactionTimeout
from ptpipd.ip.fuji_liveview import LiveViewReader
from ptpipd.ip.transport import Channel, Initiator


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """One live-view frame as delivered: our sequence number (gaps = frames dropped because the reader was
    slow), the camera's counter, when its last byte arrived (monotonic clock), and the JPEG."""

    sequence: int
    counter: int
    received_at: float
    jpeg: bytes


class LiveView(ABC):
    """An open live view. ``polled``: each :meth:`next_frame` is a transaction on the command channel."""

    polled: ClassVar[bool]

    @abstractmethod
    async def next_frame(self) -> LiveFrame:
        """The next frame (the newest one, when the reader is slower than the camera)."""

    @abstractmethod
    async def close(self) -> None:
        """Ends the live view (stops the camera's stream, or closes its connection)."""


class StreamLiveView(LiveView):
    """Frames pushed on a connection of their own, cut from the stream by the sans-I/O
    :class:`~ptpipd.ip.fuji_liveview.LiveViewReader` (Fuji's, FUJI.md §13: the camera that streams).

    It holds at most one unread frame: when the reader is slower than the camera, the newest frame replaces
    the unread one (a gap in the frames' ``sequence``), so a reader never falls behind. Waiting is bounded by
    ``frame_timeout``.
    """

    polled = False

    def __init__(self, frame_timeout: float) -> None:
        self.frame_timeout = frame_timeout
        self.received = 0
        self._splitter = LiveViewReader()
        self._latest: LiveFrame | None = None
        self._ready = asyncio.Event()
        self._error: BaseException | None = None
        self._channel: Channel | None = None

    @classmethod
    async def open(cls, link: Initiator, port: int) -> StreamLiveView:
        """Connects to the camera's live-view ``port`` (closed with ``link``)."""
        view = cls(link.timeouts.handshake)
        view._channel = await link.open_channel("live-view", port, view._feed, view._lost)
        return view

    def _feed(self, data: memoryview) -> None:
        self._splitter.receive_data(data)
        now = asyncio.get_running_loop().time()
        while (frame := self._splitter.next_frame()) is not None:
            self.received += 1
            self._latest = LiveFrame(self.received, frame.counter, now, frame.jpeg)
            self._ready.set()

    def _lost(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc if isinstance(exc, PTPIPError) else ConnectionClosed(f"live view lost: {exc}")
        self._ready.set()

    async def next_frame(self) -> LiveFrame:
        while self._latest is None:
            if self._error is not None:
                raise self._error
            try:
                await asyncio.wait_for(self._ready.wait(), self.frame_timeout)
            except TimeoutError:
                raise TransactionTimeout("waiting for a live-view frame", self.frame_timeout) from None
            self._ready.clear()
        frame, self._latest = self._latest, None
        return frame

    async def close(self) -> None:
        self._lost(ConnectionClosed("the live view was closed"))
        if self._channel is not None:
            self._channel.close()


class PolledLiveView(LiveView):
    """One frame per call of ``fetch`` (a transaction returning a JPEG); ``stop`` ends the camera's live view.

    The camera's counter is our sequence number: a polled camera numbers nothing itself.
    """

    polled = True

    def __init__(
        self, fetch: Callable[[], Awaitable[bytes]], stop: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        self._fetch = fetch
        self._stop = stop
        self.received = 0

    async def next_frame(self) -> LiveFrame:
        jpeg = await self._fetch()
        self.received += 1
        now = asyncio.get_running_loop().time()
        return LiveFrame(self.received, self.received, now, jpeg)

    async def close(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            await stop()


class Pacer:
    """At most ``fps`` polled frames a second, by deadlines: frame k is due at ``first + k / fps``, so the waits
    do not add up (no drift: the rate is ``fps`` exactly while the camera keeps up). A frame that comes later
    than its slot restarts the schedule from now, so a slow frame is never followed by a burst: any ``n + 1``
    slots span at least ``n / fps`` seconds. ``fps`` 0 means no cap.

    Sans-I/O: :meth:`take` says how long to wait, the caller waits (outside the camera's queue, so that other
    clients' requests run meanwhile); ``clock`` is the caller's monotonic clock.
    """

    def __init__(self, fps: float, clock: Callable[[], float]) -> None:
        if fps < 0:
            raise ValueError(f"a frame rate of {fps} per second")
        self.interval = 1.0 / fps if fps else 0.0
        self._clock = clock
        self._due: float | None = None

    def take(self) -> float:
        """Books the next frame's slot; returns the seconds to wait until it (0: ask now)."""
        if not self.interval:
            return 0.0
        now = self._clock()
        due = self._due
        if due is None or due < now:  # the first frame, or late: the schedule restarts from now
            due = now
        self._due = due + self.interval
        return due - now

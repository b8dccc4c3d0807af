"""Live-view fan-out: one camera stream, any number of viewers, each served the newest frame.

The camera stream starts with the first viewer and stops :attr:`LiveHub.linger` seconds after the last one
left (a viewer that reconnects at once, or a page that reloads, does not restart the camera). Each viewer has
a one-frame slot: a new frame replaces an unsent one, so a slow viewer skips frames
and never holds up the producer or the other viewers; a viewer that stops reading altogether is dropped by
its write timeout (:mod:`ptpipd.web.app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ptpipd.errors import CameraError, NotConnected
from ptpipd.vendors.liveview import LiveFrame

log = logging.getLogger(__name__)


class ViewerLimit(Exception):
    """Too many viewers at once."""


class Viewer:
    """One viewer's slot: the newest frame not yet taken."""

    def __init__(self) -> None:
        self.slot: LiveFrame | None = None
        self.error: BaseException | None = None
        self._ready = asyncio.Event()

    def offer(self, frame: LiveFrame) -> None:
        """A new frame (replaces an unsent one)."""
        self.slot = frame
        self._ready.set()

    def fail(self, exc: BaseException) -> None:
        """The camera stream ended: wake the viewer with the reason."""
        self.error = exc
        self._ready.set()

    async def next(self, timeout: float) -> LiveFrame:
        """The newest frame not yet taken, waiting at most ``timeout`` s; the stream's error once it ended."""
        while self.slot is None:
            if self.error is not None:
                raise self.error
            async with asyncio.timeout(timeout):
                await self._ready.wait()
            self._ready.clear()
        frame, self.slot = self.slot, None
        return frame


class LiveHub:
    """Runs the camera's live view while anyone watches; counts viewers and frames for ``status``."""

    def __init__(
        self,
        source: Callable[[], AsyncGenerator[LiveFrame, None]],
        *,
        linger: float = 3.0,
        max_viewers: int = 64,
    ) -> None:
        self._source = source
        self.linger = linger
        self.max_viewers = max_viewers
        self.viewers: set[Viewer] = set()
        self.latest: LiveFrame | None = None
        self.frames = 0
        self.starts = 0
        self._times: deque[float] = deque(maxlen=90)
        self._producer: asyncio.Task[None] | None = None
        self._stopper: asyncio.TimerHandle | None = None
        self._stopping = False
        self._closed = False

    # ------------------------------------------------------------------ viewers

    def join(self) -> Viewer:
        """A new viewer; starts the camera stream when it is not running. :class:`ViewerLimit` when full."""
        if self._closed:
            raise NotConnected("the daemon is stopping")
        if len(self.viewers) >= self.max_viewers:
            raise ViewerLimit(f"{self.max_viewers} viewers are already watching")
        viewer = Viewer()
        self.viewers.add(viewer)
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self._producer is None or self._producer.done():
            self._start()
        elif self.latest is not None and not self._stopping:
            viewer.offer(self.latest)  # something to show at once
        return viewer

    def _start(self) -> None:
        self.latest = None
        self._times.clear()
        self._stopping = False
        self.starts += 1
        self._producer = asyncio.create_task(self._produce(), name="liveview-producer")

    def leave(self, viewer: Viewer) -> None:
        """The viewer is gone; the camera stream stops ``linger`` s after the last one left."""
        self.viewers.discard(viewer)
        if not self.viewers and self._producer is not None and self._stopper is None:
            loop = asyncio.get_running_loop()
            self._stopper = loop.call_later(self.linger, self._stop_idle)

    def _stop_idle(self) -> None:
        self._stopper = None
        if not self.viewers and self._producer is not None:
            # the flag as well as the cancel: a cancel that lands as a frame completes can be lost (3.11's
            # wait_for), and the flag ends the loop at the next frame anyway
            self._stopping = True
            self._producer.cancel()

    # ------------------------------------------------------------------ the camera stream

    async def _produce(self) -> None:
        error: BaseException = NotConnected("the live view stopped")
        frames = self._source()
        try:
            async for frame in frames:
                if self._stopping:
                    break
                self.latest = frame
                self.frames += 1
                self._times.append(frame.received_at)
                for viewer in self.viewers:
                    viewer.offer(frame)
        except CameraError as exc:
            error = exc
            log.info("live view ended: %s", exc)
        except asyncio.CancelledError:
            log.debug("live view stopped (no viewers)")
        except Exception as exc:  # a bug: the viewers get -32603, the daemon goes on
            log.exception("live view failed")
            error = exc
        finally:
            with contextlib.suppress(Exception):
                await frames.aclose()
            self.latest = None
            if self._stopping and self.viewers and not self._closed:
                self._start()  # someone came while it was stopping: a fresh camera stream for them
            else:
                for viewer in self.viewers:
                    viewer.fail(error)

    @property
    def running(self) -> bool:
        """True while the camera stream runs."""
        return self._producer is not None and not self._producer.done()

    def fps(self) -> float:
        """Frames per second received from the camera over the last two seconds (0 when stopped)."""
        if not self.running or len(self._times) < 2:
            return 0.0
        now = asyncio.get_running_loop().time()
        recent = [t for t in self._times if now - t <= 2.0]
        if len(recent) < 2 or recent[-1] == recent[0]:
            return 0.0
        return round((len(recent) - 1) / (recent[-1] - recent[0]), 2)

    def status(self) -> dict[str, Any]:
        """``{running, viewers, fps, frames, starts}`` for ``status``."""
        return {
            "running": self.running,
            "viewers": len(self.viewers),
            "fps": self.fps(),
            "frames": self.frames,
            "starts": self.starts,
        }

    # ------------------------------------------------------------------ lifetime

    async def aclose(self) -> None:
        """Stops the camera stream for good (``contextlib.aclosing`` calls it); new viewers are refused."""
        self._closed = True
        self._stopping = True
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        producer = self._producer
        if producer is not None and not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

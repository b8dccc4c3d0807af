"""A simulated camera on a thread of its own, with its own event loop (the daemon's ``--simulate``).

A simulated body draws its pictures and live-view frames with Pillow, synchronously, in the responder that
answers the request: in the daemon's event loop every frame would hold up every client for the time of its
drawing. On its own thread the simulator's loop does that work (Pillow's encoders release the GIL), and the
daemon talks to it over loopback TCP like to any camera. The thread's loop owns every task of the simulator
(:class:`~ptpipd.sim.server.SimServer` runs them in its task group); :meth:`SimThread.stop` ends them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
from typing import Any

from ptpipd.sim.server import start_simulator

log = logging.getLogger("ptpipd.sim")

#: How long :meth:`SimThread.start` waits for the simulator to listen, :meth:`SimThread.stop` for it to end.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class SimThread:
    """A simulated camera of ``vendor`` running on its own thread; ``host`` and ``ports`` once started."""

    def __init__(self, vendor: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.vendor = vendor
        self.host = host
        self.ports: list[int] = []
        self._start = functools.partial(start_simulator, vendor, host, port, **options)
        self._ready: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = threading.Event()  # stop() was called, perhaps before the loop ran
        self._thread = threading.Thread(target=self._run, name=f"sim-{vendor}", daemon=True)

    async def start(self, timeout: float = START_TIMEOUT) -> SimThread:
        """Starts the thread; returns once the simulator listens (its error, or TimeoutError, otherwise)."""
        self._thread.start()
        try:
            self.ports = await asyncio.wait_for(asyncio.wrap_future(self._ready), timeout)
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Closes the simulator (listeners, connections, tasks) and waits, bounded, for its thread to end."""
        self._stopping.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: the thread is ending
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, timeout)
        if self._thread.is_alive():
            log.warning("the simulated %s camera did not stop within %g s", self.vendor, timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # the thread's last word goes to whoever waits
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                log.exception("the simulated %s camera failed", self.vendor)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        server = await self._start()
        try:
            self._ready.set_result(list(server.ports))
            if not self._stopping.is_set():
                await self._stop.wait()
        finally:
            await server.close()

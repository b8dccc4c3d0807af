"""The service's requests: run on the camera one at a time, clients taking turns, the one in flight
interrupted when the camera link drops.

Who goes next is :mod:`.turns`' business; this module admits a request, gives it the session's camera when
its turn comes (only if that is still the camera it queued for: a request never outlives its link), turns
the interruption of a lost link into the link's error, and closes the queue for the service's drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ptpipd.camera import Camera
from ptpipd.errors import NotConnected
from ptpipd.service.session import Session
from ptpipd.service.state import ConnectionState, ServiceOptions
from ptpipd.service.turns import REQUESTER, Turns

log = logging.getLogger("ptpipd.service")
T = TypeVar("T")
_DRAIN = object()  # the owner of the last turn, taken by last_turn()


class Requests:
    """The requests on one session's camera: :meth:`run` each when its turn comes, one at a time.

    Clients take turns (round-robin, :mod:`.turns`; the client is :data:`~.turns.REQUESTER`), each client's
    requests in arrival order. At most ``max_queue`` requests of one client may wait, ``max_total_queue`` in
    all (:class:`~ptpipd.errors.TooManyRequests`).
    """

    def __init__(self, session: Session, options: ServiceOptions) -> None:
        self._session = session
        self._options = options
        self._turns = Turns(options.max_queue, options.max_total_queue)
        self._inflight: asyncio.Task[Any] | None = None
        self._interrupted: asyncio.Task[Any] | None = None
        self._interruption: BaseException | None = None  # what the interrupted request fails with
        #: set by :meth:`last_turn`: every request from then on is refused
        self.closed = False
        self._last_activity = 0.0

    @property
    def idle(self) -> float:
        """Seconds since the last request finished."""
        return time.monotonic() - self._last_activity

    @property
    def queued(self) -> int:
        """Requests running or waiting for the camera."""
        return self._turns.admitted

    @property
    def busy(self) -> bool:
        """True while a request runs."""
        return self._turns.locked

    def _require_camera(self, queued_for: Camera | None) -> Camera:
        """The camera, if it is still the one the request queued for (a request never outlives its link)."""
        session = self._session
        camera, state = session.camera, session.state
        if self.closed:
            raise NotConnected("the daemon is stopping", state=state.value)
        if session.lost or (queued_for is not None and camera is not queued_for):
            raise NotConnected(f"camera connection lost: {session.last_error}", last_error=session.last_error)
        if camera is None or state is not ConnectionState.CONNECTED:
            error = session.last_error
            raise NotConnected(
                f"the camera is {state.value}" + (f" ({error})" if error else ""),
                state=state.value,
                last_error=error,
            )
        return camera

    async def run(self, op: Callable[[Camera], Awaitable[T]]) -> T:
        """Runs ``op`` on the camera when its turn comes (see :meth:`.core.CameraService.request`)."""
        if self.closed:
            raise NotConnected("the daemon is stopping", state=self._session.state.value)
        owner = REQUESTER.get()
        turns = self._turns
        turns.admit(owner)
        try:
            await self._wait_connected()
            queued_for = self._session.camera
            await turns.acquire(owner)
            try:
                return await self._run_turn(op, queued_for)
            finally:
                turns.release()
        finally:
            turns.leave(owner)

    async def _wait_connected(self) -> None:
        """A request right after start-up waits briefly for the first connection instead of failing."""
        limit = self._options.wait_connected
        if self._session.state is ConnectionState.CONNECTING and limit > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._session.connected.wait(), limit)

    async def _run_turn(self, op: Callable[[Camera], Awaitable[T]], queued_for: Camera | None) -> T:
        camera = self._require_camera(queued_for)
        task = self._inflight = asyncio.current_task()
        try:
            return await op(camera)
        except asyncio.CancelledError:
            if task is None or self._interrupted is not task or task.uncancel() > 0:
                raise
            # what the link's failure (or the daemon's end) means for this request (a timeout stays a
            # timeout: -32001)
            raise self._interruption or NotConnected("camera connection lost") from None
        finally:
            self._inflight = self._interrupted = self._interruption = None
            self._last_activity = time.monotonic()

    async def let_others_run(self, camera: Camera) -> None:
        """Inside a request on ``camera``: hands the camera to the requests waiting (the next turns, as
        :mod:`.turns` gives them), then takes it back with this client's next turn. Not cancellable halfway:
        a cancelled caller waits for its turn back (bounded by the others' own timeouts) before the
        cancellation goes on, so that the request's own release never ends someone else's turn."""
        turns = self._turns
        if turns.admitted <= 1:
            return  # nobody waits
        task, owner = asyncio.current_task(), REQUESTER.get()
        turns.release()
        cancelled = False
        while True:
            try:
                await turns.acquire(owner)
                break
            except asyncio.CancelledError:
                cancelled = True
        self._inflight = task
        if cancelled:
            raise asyncio.CancelledError
        self._require_camera(camera)  # the link may have dropped meanwhile

    def interrupt(self, error: BaseException | None = None) -> None:
        """The camera link dropped: the request in flight is cancelled and fails with ``error`` (by default the
        link's)."""
        task = self._inflight
        if task is not None and self._interrupted is None:
            self._interrupted = task
            self._interruption = error or self._session.lost_error
            task.cancel()

    @contextlib.asynccontextmanager
    async def last_turn(self, grace: float) -> AsyncIterator[None]:
        """Closes the queue (new requests are refused), waits up to ``grace`` seconds for the request in
        flight to finish, and holds the camera for the body (without it, if that request still runs)."""
        self.closed = True
        acquired = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._turns.acquire(_DRAIN), grace)
            acquired = True
        if not acquired:
            log.warning("a camera request was still running after %.1f s; closing anyway", grace)
            # it fails now, and as what it is, not as the link the drain is about to close
            self.interrupt(NotConnected("the daemon is stopping", state=self._session.state.value))
        try:
            yield
        finally:
            if acquired:
                self._turns.release()

"""The session loop of the service: connect, watch the link (keepalive or event polling), notice its loss,
back off, reconnect — and the connection state that goes with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ptpipd.camera import Camera, failure_reason, tell_each
from ptpipd.errors import CameraError, CameraTimeout, TooManyRequests
from ptpipd.service.outages import Outages
from ptpipd.service.state import TRANSITIONS, Backoff, ConnectionState
from ptpipd.vendors.base import DeviceSummary, EventDelivery

if TYPE_CHECKING:
    from ptpipd.service.core import CameraFactory, CameraService

log = logging.getLogger("ptpipd.service")


class Session:
    """One service's camera session over time: at most one :class:`Camera` at a time, replaced when lost."""

    def __init__(self, service: CameraService, factory: CameraFactory) -> None:
        self.service = service
        self.factory = factory
        opts = service.options
        self.backoff = Backoff(opts.backoff_initial, opts.backoff_max)
        self.outages = Outages(opts.outage_reminder)
        #: the current link has stayed up for ``stable_after`` (its loss is reconnected at once)
        self.stable = False
        self._stable_timer: asyncio.TimerHandle | None = None
        self.state = ConnectionState.DISCONNECTED
        self.listeners: list[Callable[[ConnectionState, str | None], None]] = []
        self.camera: Camera | None = None
        self.summary: DeviceSummary | None = None
        self.connected_since: float | None = None
        #: connections made again after one was lost
        self.reconnects = 0
        self._was_connected = False
        #: the last failure, kept (with its Unix time) after a reconnection: status shows when it was
        self.last_error: str | None = None
        self.last_error_time: float | None = None
        #: connection attempts since the last successful one (0 while connected)
        self.attempts = 0
        self.retry_at: float | None = None  # Unix time of the next connection attempt, while waiting for it
        self.lost: str | None = None  # why the current camera's link dropped
        self.lost_error: BaseException | None = None
        self.connected = asyncio.Event()
        self.stopped = asyncio.Event()
        self._wake = asyncio.Event()  # the link dropped, or the service stops

    # ---------------------------------------------------------------- state

    def set_state(self, new: ConnectionState, reason: str | None = None) -> None:
        """Moves to ``new`` (one of :data:`TRANSITIONS`) and tells the listeners and subscribers."""
        old = self.state
        if new == old:
            return
        if new not in TRANSITIONS[old]:
            raise RuntimeError(f"invalid camera state transition {old.value} → {new.value}")
        self.state = new
        if new is ConnectionState.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()
        level, more = (logging.INFO, "") if self.stopped.is_set() else self.outages.level(new, reason)
        if new is ConnectionState.CONNECTED and (s := self.summary) is not None:
            more = f" to {s.manufacturer} {s.model} (serial {s.serial}) at {self.service.config.host}{more}"
        log.log(level, "camera %s%s%s", new, f": {reason}" if reason else "", more)
        self.service.fanout.connection(new.value, reason)
        tell_each(log, "state", self.listeners, new, reason)

    def failed(self, reason: str) -> None:
        """Records ``reason`` as the last error, with its time."""
        self.last_error = reason
        self.last_error_time = time.time()

    def pairing_steps(self) -> list[str]:
        """What the user must do on the camera while it waits for a first-time confirmation."""
        steps = self.service.capabilities.pairing or ("confirm the connection on the camera",)
        return [step.format(name=self.service.config.friendly_name) for step in steps]

    def stop(self) -> None:
        """No more connection attempts; the loop ends (the service closes the camera)."""
        self.stopped.set()
        self._wake.set()

    # ---------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Keeps a session open until :meth:`stop`. An unexpected exception (a bug) is logged and counted
        (:class:`~.faults.TaskFaults`) and the session is made again: it never ends the service's tasks."""
        try:
            while not self.stopped.is_set():
                try:
                    await self._once()
                except Exception as exc:
                    self.service.faults.record("the camera session", exc)
                    await self._recover(exc)
        except asyncio.CancelledError:
            await self._end_quietly("daemon stopping")
            raise
        # Stopped: the camera stays open for the service's drain, which lets the request in flight finish
        # (bounded) before it ends the session; ending it here would cut that request short.

    async def _once(self) -> None:
        """One connection: made (else the backoff's wait), watched until it is lost, closed."""
        camera = await self._connect()
        if camera is None:
            await self._wait_retry()
            return
        if self.stopped.is_set():  # connected while the daemon stops (perhaps after the drain ended it)
            await self.end("daemon stopping")
            return
        reason = await self._watch(camera)
        if reason is None:
            return
        self.failed(reason)
        stable = self.stable
        await self.end(reason)
        if not stable:  # a link that did not stay up: a failed attempt, retried after the backoff's wait
            await self._wait_retry()

    def _stayed_up(self, camera: Camera) -> None:
        """The link has stayed up for ``stable_after``: the backoff starts over, the outage is over."""
        self._stable_timer = None
        if camera is not self.camera or self.lost is not None:
            return
        self.stable = True
        self.backoff.reset()
        if (message := self.outages.stable()) is not None:
            log.info("%s", message)

    async def _wait_retry(self) -> None:
        if self.stopped.is_set():
            return
        delay = self.backoff.next()
        self.retry_at = time.time() + delay
        log.log(self.outages.routine, "reconnecting in %.1f s", delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopped.wait(), delay)

    async def _recover(self, exc: Exception) -> None:
        """After an unexpected exception: the camera is closed, and a new connection is tried after the
        backoff's wait (as after a lost link)."""
        reason = f"internal error: {type(exc).__name__}: {exc}"
        self.failed(reason)
        await self._end_quietly(reason)
        if self.state is not ConnectionState.DISCONNECTED:  # it failed before the camera was open
            self.set_state(ConnectionState.DISCONNECTED, reason)
        await self._wait_retry()

    async def _end_quietly(self, reason: str) -> None:
        try:
            await self.end(reason)
        except Exception as exc:
            self.service.faults.record("closing the camera", exc)

    async def _connect(self) -> Camera | None:
        self.attempts += 1
        self.retry_at = None
        self.set_state(ConnectionState.CONNECTING)
        self.lost = None
        if not self.stopped.is_set():
            self._wake.clear()
        camera = self.factory(self.service.config, on_pairing=self._pairing)
        camera.add_event_listener(self.service.on_event)
        camera.add_close_listener(lambda reason: self._link_lost(camera, reason))
        try:
            self.summary = await camera.open()
        except (CameraError, OSError) as exc:
            self.failed(str(exc))
            self.set_state(ConnectionState.DISCONNECTED, str(exc))
            return None
        except Exception:
            with contextlib.suppress(Exception):  # what failed is the open, reported by the caller
                await camera.close(timeout=self.service.options.close_timeout)
            raise
        self.reconnects += self._was_connected  # a connection made again, not the first one
        self._was_connected = True
        self.camera = camera
        self.attempts = 0
        self.connected_since = time.time()
        self.stable = False
        delay = self.service.options.stable_after
        self._stable_timer = asyncio.get_running_loop().call_later(delay, self._stayed_up, camera)
        self.set_state(ConnectionState.CONNECTED)
        return camera

    def _pairing(self) -> None:
        if self.state is ConnectionState.CONNECTING:
            self.set_state(ConnectionState.PAIRING, "; ".join(self.pairing_steps()))

    def _link_lost(self, camera: Camera, reason: BaseException) -> None:
        if camera is not self.camera:
            return
        self._lose(failure_reason(reason), camera.error_for(reason))

    def _lose(self, reason: str, error: BaseException) -> None:
        """The link is lost (the transport says so, or the keepalive): the request in flight fails at once
        with ``error``, the queued ones with NotConnected, and the loop reconnects."""
        if self.lost is not None:
            return
        self.lost = reason
        self.lost_error = error
        self.failed(reason)
        self._wake.set()
        self.service.requests.interrupt()

    async def _watch(self, camera: Camera) -> str | None:
        """Until the link drops (its reason) or the service stops (None): keepalive while nobody asks
        anything, or, for a camera that does not push its events, a poll every ``poll_interval``."""
        caps = camera.capabilities
        polling = caps.events is EventDelivery.POLL
        options = self.service.options
        interval = (options.poll_interval or caps.poll_interval) if polling else options.keepalive_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            if self.stopped.is_set():
                return None
            if self.lost is not None:
                return self.lost
            failure = await (self._poll() if polling else self._keepalive(interval))
            if failure is not None:
                return failure

    async def _poll(self) -> str | None:
        try:
            await self.service.request(lambda cam: cam.poll_events())
        except TooManyRequests:
            pass  # the queue is full: the camera is busy with others; poll next time
        except CameraError as exc:
            log.debug("event poll failed: %s", exc)
        except Exception as exc:  # a bug in the driver's poll: the next poll may go better
            self.service.faults.record("the event poll", exc)
        return None

    async def _keepalive(self, interval: float) -> str | None:
        """A keepalive when nobody used the camera for ``interval``; while a request holds it (a capture
        waiting for its events, a long download), a probe beside it where the dialect has them, so a camera
        that stopped answering is noticed then too and the request fails instead of waiting out its own
        timeout."""
        service = self.service
        camera = self.camera
        timeout = service.options.keepalive_timeout
        try:
            if service.requests.busy and camera is not None and camera.probes:
                await asyncio.wait_for(camera.probe(timeout), timeout)
            elif service.requests.idle >= interval and not service.requests.busy:
                await service.request(lambda cam: asyncio.wait_for(cam.keepalive(), timeout))
        except TooManyRequests:
            return None
        except (CameraError, TimeoutError) as exc:
            text = f"keepalive failed: {str(exc) or f'no answer within {timeout:g} s'}"
            self._lose(text, exc if isinstance(exc, CameraError) else CameraTimeout(text, timeout_s=timeout))
            return self.lost
        return None

    async def end(self, reason: str) -> None:
        """Closes the current camera (CloseSession while it answers, bounded) and says so."""
        camera, self.camera = self.camera, None
        if camera is None:
            return
        if self._stable_timer is not None:
            self._stable_timer.cancel()
            self._stable_timer = None
        self.set_state(ConnectionState.DISCONNECTED, reason)
        self.connected_since = None
        await camera.close(timeout=self.service.options.close_timeout)

"""Notifications to subscribers: bounded per-client queues, and what the camera's events turn into.

A slow subscriber never holds up the camera: each has a bounded queue, and one that overflows is dropped
(its reader gets :class:`SubscriberOverflow`). Property values are announced once per change, whether the
change came from a client's ``set`` or from the camera (DevicePropChanged, read back by :class:`Refresher`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ptpipd.camera import CameraEvent
from ptpipd.errors import CameraError
from ptpipd.vendors.base import PropertyValue

log = logging.getLogger(__name__)

TOPICS = ("event", "property", "connection", "ingest")


@dataclass(frozen=True, slots=True)
class Notification:
    """A JSON-RPC notification for subscribers: ``method`` and ``params``."""

    topic: str
    method: str
    params: dict[str, Any]


class SubscriberOverflow(Exception):
    """The subscriber did not read its notifications fast enough and was dropped."""


@dataclass(eq=False)
class Subscription:
    """One client's bounded notification queue."""

    topics: frozenset[str]
    queue: asyncio.Queue[Notification]
    overflowed: bool = False

    def offer(self, note: Notification) -> None:
        """Queues a notification without waiting; marks the subscription overflowed when full."""
        if self.overflowed or note.topic not in self.topics:
            return
        try:
            self.queue.put_nowait(note)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self) -> Notification:
        """The next notification; :class:`SubscriberOverflow` once the queue has overflowed (a reader
        waiting here cannot miss that: the queue is empty while it waits, so the next offer wakes it)."""
        if self.overflowed:
            raise SubscriberOverflow(f"more than {self.queue.maxsize} notifications were waiting")
        return await self.queue.get()


class Fanout:
    """The subscriptions, and the notifications of DESIGN.md §4 sent to them."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.subscriptions: set[Subscription] = set()
        self._last_value: dict[int, object] = {}

    def subscribe(self, topics: Iterable[str] | None = None) -> Subscription:
        """A bounded notification queue for ``topics`` (all of them by default)."""
        chosen = frozenset(topics) if topics is not None else frozenset(TOPICS)
        unknown = chosen - set(TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {sorted(unknown)}; known: {list(TOPICS)}")
        sub = Subscription(chosen, asyncio.Queue(self.queue_size))
        self.subscriptions.add(sub)
        return sub

    def wants(self, topic: str) -> bool:
        """True when some subscriber listens to ``topic``."""
        return any(topic in s.topics for s in self.subscriptions)

    def publish(self, note: Notification) -> None:
        """Offers ``note`` to every subscriber; one that overflows is dropped."""
        for sub in list(self.subscriptions):
            sub.offer(note)
            if sub.overflowed:
                self.subscriptions.discard(sub)

    def connection(self, state: str, reason: str | None) -> None:
        """``notify.connection``; a new session starts with no value announced yet."""
        if state == "connected":
            self._last_value.clear()
        params: dict[str, Any] = {"state": state}
        if reason:
            params["reason"] = reason
        self.publish(Notification("connection", "notify.connection", params))

    def event(self, event: CameraEvent) -> None:
        """``notify.event``."""
        params = {
            "code": f"0x{event.code:04x}",
            "name": event.name,
            "params": list(event.params),
            "time": event.time,
        }
        self.publish(Notification("event", "notify.event", params))

    def value(self, value: PropertyValue) -> None:
        """``notify.property``, unless this value was the last one announced."""
        if self._last_value.get(value.code) == value.value:
            return
        self._last_value[value.code] = value.value
        params = {
            "property": value.prop,
            "code": f"0x{value.code:04x}",
            "value": value.value,
            "label": value.label,
        }
        self.publish(Notification("property", "notify.property", params))


class Refresher:
    """Reads the properties the camera says changed and announces their new values, one at a time, and
    only while someone listens to ``property``."""

    def __init__(self, read: Callable[[int], Awaitable[PropertyValue]], fanout: Fanout) -> None:
        self._read = read
        self._fanout = fanout
        self._codes: dict[int, None] = {}  # insertion-ordered set: a burst of changes is read once each
        self.wakeup = asyncio.Event()

    def changed(self, code: int) -> None:
        """The camera says property ``code`` changed."""
        self._codes[code] = None
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until ``stop`` is set (set :attr:`wakeup` too, to end it promptly)."""
        while not stop.is_set():
            await self.wakeup.wait()
            self.wakeup.clear()
            while self._codes and not stop.is_set():
                code = next(iter(self._codes))
                del self._codes[code]
                if not self._fanout.wants("property"):
                    continue
                try:
                    self._fanout.value(await self._read(code))
                except CameraError as exc:
                    log.debug("could not refresh property 0x%04X: %s", code, exc)

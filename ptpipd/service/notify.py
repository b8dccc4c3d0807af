"""Notifications to subscribers: bounded per-client queues, and what the camera's events turn into.

A slow subscriber never holds up the camera: each has a bounded queue, and one that overflows is dropped
(its reader gets :class:`SubscriberOverflow`). Repeats coalesce while they wait: another DevicePropChanged of
a property whose notification is still queued, or another value of a property, replaces the queued one
(the reader gets the newest), so a camera's flood of property changes never overflows a subscriber that
keeps reading; only one that really falls behind on distinct notifications is dropped. Property values are
announced once per change, whether the change came from a client's ``set`` or from the camera
(DevicePropChanged, read back by :class:`Refresher`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ptpipd.camera import CameraEvent
from ptpipd.errors import CameraError
from ptpipd.ptp import EventCode
from ptpipd.service.faults import TaskFaults
from ptpipd.vendors.base import PropertyValue

log = logging.getLogger(__name__)

TOPICS = ("event", "property", "connection", "ingest")


@dataclass(frozen=True, slots=True)
class Notification:
    """A JSON-RPC notification for subscribers: ``method`` and ``params``.

    Notifications with the same ``key`` say the same thing again (another DevicePropChanged of one property,
    another value of one property): while one waits in a subscriber's queue, a newer one takes its place.
    """

    topic: str
    method: str
    params: dict[str, Any]
    key: tuple[object, ...] | None = None


class SubscriberOverflow(Exception):
    """The subscriber did not read its notifications fast enough and was dropped."""


@dataclass(eq=False)
class Subscription:
    """One client's bounded notification queue: at most ``limit`` notifications wait; one whose ``key`` is
    already waiting replaces it in place (so a flood of one property's changes costs one slot, and the
    reader gets the newest), anything else past ``limit`` overflows the subscription."""

    topics: frozenset[str]
    limit: int
    overflowed: bool = False
    _items: deque[Notification | tuple[object, ...]] = field(default_factory=deque)
    _latest: dict[tuple[object, ...], Notification] = field(default_factory=dict)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, note: Notification) -> None:
        """Queues a notification without waiting (or coalesces it); marks the subscription overflowed when
        full."""
        if self.overflowed or note.topic not in self.topics:
            return
        key = note.key
        if key is not None and key in self._latest:
            self._latest[key] = note
            return
        if len(self._items) >= self.limit:
            self.overflowed = True
        elif key is None:
            self._items.append(note)
        else:
            self._latest[key] = note
            self._items.append(key)
        self._ready.set()

    async def next(self) -> Notification:
        """The next notification; :class:`SubscriberOverflow` once the queue has overflowed."""
        while True:
            if self.overflowed:
                raise SubscriberOverflow(f"more than {self.limit} notifications were waiting")
            if self._items:
                item = self._items.popleft()
                return item if isinstance(item, Notification) else self._latest.pop(item)
            self._ready.clear()
            await self._ready.wait()


class Fanout:
    """The subscriptions, and the notifications of DESIGN.md §4 sent to them."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.subscriptions: set[Subscription] = set()
        self._last_value: dict[int, object] = {}

    def subscribe(self, topics: Iterable[str] | None = None) -> Subscription:
        """A bounded notification queue for ``topics`` (all of :data:`TOPICS` by default; the JSON-RPC
        ``subscribe`` params admit no other)."""
        sub = Subscription(frozenset(TOPICS if topics is None else topics), self.queue_size)
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
        changed = event.code == EventCode.DevicePropChanged
        key = ("event", event.code, event.params) if changed else None
        self.publish(Notification("event", "notify.event", params, key))

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
        self.publish(Notification("property", "notify.property", params, ("property", value.code)))


class Refresher:
    """Reads the properties the camera says changed and announces their new values, one at a time, and
    only while someone listens to ``property``."""

    def __init__(
        self, read: Callable[[int], Awaitable[PropertyValue]], fanout: Fanout, faults: TaskFaults
    ) -> None:
        self._read = read
        self._fanout = fanout
        self._faults = faults
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
                except Exception as exc:  # a bug reading one property: the others are still refreshed
                    self._faults.record(f"refreshing property 0x{code:04X}", exc)

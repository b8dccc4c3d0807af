"""The Fuji events list (0xD212) kept up to date, and its changes turned into the events a PTP camera pushes.

The X-T1 answers its whole state every time; a later body answers what changed since the last poll
(tests/data/fuji/BODIES.md §3), so every list the driver reads goes through :meth:`EventsCache.feed`, which
keeps the last value of every code (the fallback of ``get`` for a body that answers GetDevicePropValue with
no data, issue 13) and turns what changed into events::

    entry whose value changed           event (TransactionID 0xFFFFFFFF: no transaction asked for it)
    any code                            DevicePropChanged 0x4006 (code): the service reads the property
                                        and sends notify.property
    0xD222 ObjectCount grown N → M      ObjectAdded 0x4002 (handle) for N+1 .. M (handles 1..N, libfuji)

The events wait here until the driver's poll hands them out, so a list read for another reason (``state``,
a value the camera does not answer) loses none. At most :data:`MAX_PENDING` wait: a client that never polls
loses the oldest.
"""

from __future__ import annotations

from collections import deque

from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import EventCode
from ptpipd.vendors.fuji_body_codes import MAX_OBJECT_COUNT, BodyProperty, EventsList

MAX_PENDING = 1024
#: ObjectAdded events for one growth of the object count, at most (a card swapped for a full one).
MAX_NEW_OBJECTS = 64


class EventsCache:
    """The last value of every code the camera's events lists gave, and the events not yet handed out."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {}  # the last u32 the lists gave each code they mentioned
        self._pending: deque[Event] = deque(maxlen=MAX_PENDING)

    def feed(self, listed: EventsList, *, announce: bool = True) -> None:
        """Takes one list in; with ``announce`` what changed becomes events (not for the lists of the
        set-up, which say how things are rather than what changed)."""
        for code, word in listed.latest().items():
            old = self.values.get(code)
            self.values[code] = word
            if announce and old != word:
                self._pending.append(Event(EventCode.DevicePropChanged, NO_TRANSACTION, (code,)))
                if code == BodyProperty.ObjectCount and old is not None:
                    self._added(old, word)

    def _added(self, old: int, new: int) -> None:
        new = min(new, MAX_OBJECT_COUNT)
        first = max(old + 1, new - MAX_NEW_OBJECTS + 1)
        for handle in range(first, new + 1):
            self._pending.append(Event(EventCode.ObjectAdded, NO_TRANSACTION, (handle,)))

    def take(self) -> list[Event]:
        """The events since the last call, oldest first."""
        out = list(self._pending)
        self._pending.clear()
        return out

    @property
    def object_count(self) -> int | None:
        """0xD222 ObjectCount, when a list carried it."""
        return self.values.get(BodyProperty.ObjectCount)

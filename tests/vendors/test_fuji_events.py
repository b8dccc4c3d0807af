"""The Fuji events cache against the events lists of a real X-T4 (tests/data/fuji/events_lists.json, from
petabyt/fudge ``docs/testsuite/fudge-log-xt4.txt`` at commit abc57242cb27; each vector names its lines)."""

from __future__ import annotations

import json
from pathlib import Path

from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.vendors.fuji_body_codes import EventsList
from ptpipd.vendors.fuji_events import EventsCache

DATA = Path(__file__).resolve().parents[1] / "data" / "fuji"
VECTORS = {v["name"]: v for v in json.loads((DATA / "events_lists.json").read_text())["vectors"]}


def listed(name: str) -> EventsList:
    return EventsList.decode(bytes.fromhex(VECTORS[name]["hex"]))


def changed(code: int) -> Event:
    return Event(0x4006, NO_TRANSACTION, (code,))


def test_the_x_t4_session_as_logged() -> None:
    cache = EventsCache()
    cache.feed(listed("xt4_events_after_open_session"), announce=False)  # log-xt4 lines 76-82
    cache.feed(listed("xt4_events_after_open_capture"), announce=False)  # lines 136-156
    assert cache.take() == []
    assert (cache.values[0xDF00], cache.object_count) == (6, 44)
    assert cache.values[0xD02A] == 0x8000_1900 and cache.values[0xD246] == 11
    cache.feed(listed("xt4_events_after_client_state_11"))  # lines 219-221: 0xDF00 = 11, 0xD222 = 44
    assert cache.take() == [changed(0xDF00)]  # the count did not change: no ObjectAdded
    cache.feed(listed("xt4_events_none"))  # line 241: "00 00"
    assert cache.take() == []
    assert cache.values[0xDF00] == 11


def test_a_grown_object_count_adds_objects() -> None:
    cache = EventsCache()
    cache.feed(listed("x5_events_after_open_session"), announce=False)  # log-x5 lines 78-84: 158 objects
    cache.feed(EventsList.of([(0xD229, 0x83B), (0xD222, 160)]))
    assert cache.take() == [
        changed(0xD229),
        changed(0xD222),
        Event(0x4002, NO_TRANSACTION, (159,)),
        Event(0x4002, NO_TRANSACTION, (160,)),
    ]
    cache.feed(EventsList.of([(0xD222, 100_000)]))  # a card swapped for a full one: at most 64 announced
    added = [e.params[0] for e in cache.take() if e.code == 0x4002]
    assert added == list(range(100_000 - 63, 100_001))

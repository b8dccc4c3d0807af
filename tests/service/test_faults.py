"""The service's background tasks survive a bug: a driver whose event poll, open or property read raises an
unexpected exception (RuntimeError) is logged with its traceback once, counted in ``status``, and the task
goes on (the poll polls again, the session reconnects, the refresher reads the next property); the
service's TaskGroup never ends because of it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ptpipd.ip.packets import Event
from ptpipd.ptp import EventCode
from ptpipd.service import ConnectionState
from ptpipd.vendors.base import Capabilities, EventDelivery
from tests.service.fake import WAIT, States, World, make_service

CONNECTED = ConnectionState.CONNECTED
ISO = 0x500F


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None and r.levelno >= logging.ERROR]


async def test_a_poll_that_raises_is_logged_once_counted_and_polling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World(capabilities=Capabilities(events=EventDelivery.POLL, poll_interval=0.001))
    async with make_service(world) as service:
        states = States(service)
        await states.wait_for(CONNECTED)
        events = service.subscribe(["event"])
        world.bugs["poll"] = 3
        world.to_poll.append(Event(EventCode.DevicePropChanged, 0, (ISO,)))
        # the event is delivered by the first poll after the three that raised
        note = await asyncio.wait_for(events.next(), WAIT)
        assert note.params["params"] == [ISO]
        assert world.bugs["poll"] == 0
        status = service.status()
        assert status["internal_errors"] == 3
        assert status["state"] == "connected" and status["reconnects"] == 0  # the same session went on
        assert ConnectionState.DISCONNECTED not in [state for state, _ in states.seen]
        assert all(not task.done() for task in service._tasks)
        logged = tracebacks(caplog)
        assert len(logged) == 1, logged  # the traceback once; the repeats one line each
        assert "the event poll failed unexpectedly" in logged[0].getMessage()
        assert sum("the event poll failed again" in r.getMessage() for r in caplog.records) == 2
    assert not any("unhandled" in r.getMessage().lower() for r in caplog.records)


async def test_an_open_that_raises_is_followed_by_a_new_attempt(caplog: pytest.LogCaptureFixture) -> None:
    world = World(bugs={"open": 1})
    async with make_service(world) as service:
        states = States(service)
        await states.wait_for(CONNECTED)
        assert world.attempts == 2
        status = service.status()
        assert status["internal_errors"] == 1
        assert status["last_error"] == "internal error: RuntimeError: a bug in open"
        assert len(tracebacks(caplog)) == 1
        assert (await service.get("iso")).value == world.iso  # the service serves


async def test_a_refresh_that_raises_does_not_end_the_refresher() -> None:
    world = World()
    async with make_service(world) as service:
        await States(service).wait_for(CONNECTED)
        values = service.subscribe(["property"])
        world.bugs["get"] = 1
        world.camera.emit(EventCode.DevicePropChanged, ISO)  # read back: the read raises
        async with asyncio.timeout(WAIT):
            while service.status()["internal_errors"] < 1:  # noqa: ASYNC110 - the count has no signal of its own
                await asyncio.sleep(0)
        world.iso = 1600
        world.camera.emit(EventCode.DevicePropChanged, ISO)  # read back again: announced
        note = await asyncio.wait_for(values.next(), WAIT)
        assert note.params["value"] == 1600
        assert service.status()["internal_errors"] == 1
        assert all(not task.done() for task in service._tasks)

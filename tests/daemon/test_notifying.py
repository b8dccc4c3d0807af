"""``ptpipd.rpc.notifying``: the notification task a connection owns (NDJSON, WebSocket, POST /rpc)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from ptpipd.rpc import Client, notifying


class Service:
    """What notifying() asks of the service: ending a subscription."""

    def __init__(self) -> None:
        self.ended: list[Any] = []

    def unsubscribe(self, sub: Any) -> None:
        self.ended.append(sub)


def notify_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("notify-") and not t.done()}


def test_a_new_subscription_cancels_the_last_ones_task_and_leaving_ends_all() -> None:
    async def main() -> None:
        service, client = Service(), Client(7, "test", "peer")
        started: list[str] = []
        cancelled: list[str] = []
        first_cancelled, second_started = asyncio.Event(), asyncio.Event()

        async def notify(sub: Any) -> None:
            started.append(sub)
            if sub == "second":
                second_started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(sub)
                first_cancelled.set()
                raise

        async with notifying(client, service, notify):  # type: ignore[arg-type]
            assert client.on_subscribe is not None
            client.subscription = "first"  # type: ignore[assignment]
            client.on_subscribe("first")  # type: ignore[arg-type]
            await asyncio.sleep(0)  # the task's first step
            client.subscription = "second"  # type: ignore[assignment]
            client.on_subscribe("second")  # type: ignore[arg-type]
            await asyncio.wait_for(first_cancelled.wait(), 5)
            await asyncio.wait_for(second_started.wait(), 5)
            assert cancelled == ["first"] and started == ["first", "second"]
            assert {t.get_name() for t in notify_tasks()} == {"notify-7"}
        assert cancelled == ["first", "second"]
        assert service.ended == ["second"] and client.subscription is None
        assert not notify_tasks()

    asyncio.run(main())


def test_a_failing_task_is_logged_and_the_connection_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        service, client = Service(), Client(9, "test", "peer")

        async def notify(sub: Any) -> None:
            raise RuntimeError("the socket broke")

        async with notifying(client, service, notify):  # type: ignore[arg-type]
            assert client.on_subscribe is not None
            client.on_subscribe("sub")  # type: ignore[arg-type]
            (task,) = notify_tasks()
            await asyncio.wait({task}, timeout=5)  # its done callback (the log) runs before this wakes
            assert task.done() and "notifications stopped" in caplog.text
        assert not notify_tasks()

    with caplog.at_level(logging.ERROR, logger="ptpipd.rpc"):
        asyncio.run(main())
    assert "client 9: notifications stopped: RuntimeError('the socket broke')" in caplog.text
    assert "never retrieved" not in caplog.text


def test_without_a_way_to_notify_a_subscription_starts_nothing() -> None:
    async def main() -> None:
        service, client = Service(), Client(3, "http", "peer")
        async with notifying(client, service, None):
            assert client.on_subscribe is not None
            client.subscription = "sub"  # type: ignore[assignment]
            client.on_subscribe("sub")  # type: ignore[arg-type]
            assert not notify_tasks()
        assert service.ended == ["sub"]

    asyncio.run(main())

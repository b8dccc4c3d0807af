"""ptpipd.service.turns: clients take turns with the camera, each bounded on its own (issue 14 defect 9; the
end-to-end reproduction is tests/faults/test_floods.py)."""

from __future__ import annotations

import asyncio

import pytest

from ptpipd.errors import TooManyRequests
from ptpipd.service.turns import Turns

WAIT = 5.0


async def run_all(turns: Turns, requests: list[str]) -> list[str]:
    """Queues ``requests`` (each names its owner) behind a holder, releases, and returns the order they ran."""
    order: list[str] = []

    async def one(owner: str, label: str) -> None:
        turns.admit(owner)
        try:
            await turns.acquire(owner)
            order.append(label)
            await asyncio.sleep(0)
            turns.release()
        finally:
            turns.leave(owner)

    await turns.acquire("holder")
    tasks = []
    for n, owner in enumerate(requests):
        tasks.append(asyncio.create_task(one(owner, f"{owner}{n}")))
        await asyncio.sleep(0)  # each is queued before the next arrives
    turns.release()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    return order


async def test_owners_take_turns_each_in_arrival_order() -> None:
    order = await run_all(Turns(64, 4096), ["a", "a", "a", "a", "b", "c", "b"])
    assert order == ["a0", "b4", "c5", "a1", "b6", "a2", "a3"]


async def test_one_owner_is_refused_past_its_own_cap_and_the_others_are_not() -> None:
    turns = Turns(per_owner=2, total=3)
    turns.admit("flood")
    turns.admit("flood")
    with pytest.raises(TooManyRequests) as refused:
        turns.admit("flood")
    assert refused.value.data() == {"queued": 2}
    turns.admit("other")
    with pytest.raises(TooManyRequests):  # the total bound
        turns.admit("third")
    turns.leave("flood")
    turns.admit("third")
    assert turns.admitted == 3
    turns.leave("third")
    turns.admit("flood")  # flood had one left: this is its second
    turns.leave("other")
    with pytest.raises(TooManyRequests) as again:  # and there is room, but not for flood's third
        turns.admit("flood")
    assert again.value.data() == {"queued": 2}


async def test_a_cancelled_waiter_loses_its_place_and_a_cancelled_turn_passes_on() -> None:
    turns = Turns(64, 4096)
    await turns.acquire("holder")
    gone = asyncio.create_task(turns.acquire("a"))
    nxt = asyncio.create_task(turns.acquire("b"))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    turns.release()
    await asyncio.wait_for(nxt, WAIT)  # b's turn, a's cancelled wait skipped
    late = asyncio.create_task(turns.acquire("c"))
    await asyncio.sleep(0)
    turns.release()  # c is granted the turn …
    late.cancel()  # … and cancelled before it runs: the turn must not be lost
    await asyncio.gather(late, return_exceptions=True)
    assert not turns.locked
    await asyncio.wait_for(turns.acquire("d"), WAIT)

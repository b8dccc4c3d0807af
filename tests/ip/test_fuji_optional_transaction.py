"""An optional transaction the camera leaves unanswered is given up without ending the connection (issue 13:
a Fuji body that never answers GetDeviceInfo 0x1001), and a late answer to it is dropped.

A scripted Fuji command connection (:mod:`tests.ip.scripted`) answers with literal container bytes: the
layout is FUJI.md §2.2 (``u32 length, u16 type, u16 code, u32 TID, payload``).
"""

from __future__ import annotations

import asyncio

import pytest

from ptpipd.ip.errors import ConnectionClosed, TransactionTimeout
from ptpipd.ip.fuji import FUJI
from ptpipd.ip.packets import OperationRequest
from ptpipd.ip.transport import Timeouts
from tests.ip.scripted import Net, within

SILENCE = 0.2  # how long the optional transaction waits in these tests
#: GetDeviceInfo's late answer for TID 1: an empty data container, then OK (the X-T4's shape).
LATE_DATA_TID_1 = bytes.fromhex("0c000000 0200 0110 01000000")
LATE_OK_TID_1 = bytes.fromhex("0c000000 0300 0120 01000000")
#: GetDevicePropValue 0x5001 for TID 2: data 03, then OK.
BATTERY_TID_2 = bytes.fromhex("0d000000 0200 1510 02000000 03") + bytes.fromhex("0c000000 0300 0120 02000000")


async def test_given_up_then_the_next_transaction_runs_and_a_late_answer_is_dropped(net: Net) -> None:
    session = await net.connect(FUJI, timeouts=Timeouts(transaction=5.0), events=False)
    init, cmd = session.init, session.cmd
    with pytest.raises(TransactionTimeout) as timeout:
        await within(init.transaction(0x1001, timeout=SILENCE, optional=True))
    assert timeout.value.opcode == 0x1001
    assert await cmd.recv() == OperationRequest(1, 0x1001, 1, ())
    assert init.alive and session.seen.closes == []
    asking = asyncio.create_task(init.transaction(0x1015, (0x5001,)))
    assert await cmd.recv() == OperationRequest(1, 0x1015, 2, (0x5001,))
    await cmd.send(LATE_DATA_TID_1 + LATE_OK_TID_1 + BATTERY_TID_2)  # the camera woke up, late
    reply = await within(asking)
    assert (reply.code, reply.transaction_id, reply.data) == (0x2001, 2, b"\x03")
    assert init.alive


async def test_a_required_transaction_still_ends_the_connection(net: Net) -> None:
    session = await net.connect(FUJI, timeouts=Timeouts(transaction=5.0), events=False)
    with pytest.raises(TransactionTimeout):
        await within(session.init.transaction(0x1001, timeout=SILENCE))
    assert not session.init.alive
    with pytest.raises(ConnectionClosed):
        await within(session.init.transaction(0x1015, (0x5001,)))

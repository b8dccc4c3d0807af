"""The daemon's ``--simulate`` camera runs on a thread of its own (ptpipd/sim/thread.py): its drawing and
answering never wait for the caller's event loop, and stopping it ends its thread and frees its ports."""

from __future__ import annotations

import socket
import threading

import pytest

from ptpipd.ip.packets import InitCommandAck
from ptpipd.sim.thread import SimThread
from tests.sim.nikon_sim import init_answer

GUID = bytes(range(16))


async def test_the_simulator_answers_while_the_callers_loop_is_blocked() -> None:
    sim = await SimThread("generic").start()
    try:
        assert [t.is_alive() for t in threading.enumerate() if t.name == "sim-generic"] == [True]
        # a blocking exchange: this loop does nothing meanwhile, so only the simulator's own loop can answer
        answer = init_answer(sim.ports[0], GUID)
        assert isinstance(answer, InitCommandAck)
    finally:
        await sim.stop()
    assert not any(t.name == "sim-generic" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(ConnectionRefusedError), socket.create_connection((sim.host, sim.ports[0]), timeout=5):
        pass


async def test_a_simulator_that_cannot_start_says_why_and_leaves_no_thread() -> None:
    with pytest.raises(TypeError, match="no_such_option"):
        await SimThread("generic", no_such_option=1).start()
    assert not any(t.name == "sim-generic" and t.is_alive() for t in threading.enumerate())

"""The simulated Nikon as a subprocess, for the tests of its body, of gphoto2 and of the daemon against it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from ptpipd.ip.codec import Role
from ptpipd.ip.generic import GenericCodec
from ptpipd.ip.packets import InitCommandRequest, Packet, encode
from tests.procs import SimProcess, running_sim, sim_command

#: No battery events unless a test asks for them.
QUIET = ("--battery-interval", "0")


def nikon_command(*extra: str) -> list[str]:
    """The command line of ``ptpipd-sim --vendor nikon --port 0 EXTRA``."""
    return sim_command("nikon", *extra)


@contextlib.contextmanager
def running_nikon(*extra: str) -> Iterator[SimProcess]:
    """``ptpipd-sim --vendor nikon EXTRA`` on a free port, stopped afterwards."""
    with running_sim("nikon", *extra) as sim:
        yield sim


def init_answer(port: int, guid: bytes) -> Packet:
    """The body's answer to an InitCommandRequest with ``guid`` (the connection is closed afterwards)."""
    codec = GenericCodec(Role.INITIATOR)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(encode(InitCommandRequest(guid, "raw-check")))
        while (packet := codec.next_event()) is None:
            data = sock.recv(4096)
            assert data, "closed without an answer"
            codec.receive_data(data)
    return packet

"""Suite-wide settings and shared fixtures.

Hypothesis: no per-example deadline. Its default (200 ms) measures wall time, so a property test fails
when the machine is busy (CI runs on 2 shared cores) although nothing is wrong; the properties themselves
are what the tests assert, and the suite's own timeout still bounds every test.

SIGINT: a suite started in the background by a non-interactive shell (``make test &``, ``nohup … &``)
inherits SIGINT ignored, and every process it starts would too; ptpipctl then rightly keeps ignoring
Ctrl-C, and the tests that press it (``events``, ``liveview``) could not pass. The suite takes SIGINT back
(Python's own handler), so the processes it starts begin with the default again.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.procs import SimProcess, running_sim

settings.register_profile("ptpipd", deadline=None)
settings.load_profile("ptpipd")

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def big_sim() -> Iterator[SimProcess]:
    """A generic simulator with a 1 GiB object (handle 6), shared by the data plane's tests and ptpipctl's:
    building it takes seconds and 1 GiB of memory."""
    with running_sim("generic", "--object-size", "1G") as sim:
        yield sim

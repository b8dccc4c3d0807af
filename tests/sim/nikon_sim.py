"""The simulated Nikon as a subprocess, for the tests of its body, of gphoto2 and of the daemon against it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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

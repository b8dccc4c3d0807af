"""The simulated Nikon as a subprocess, for the tests of its body and of gphoto2 against it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from ptpipd.vendors import VENDORS
from tests.procs import LISTENING, REPO, LogFile, SimProcess, read_line_until, running_sim

#: Until "nikon" is in VENDORS (with its driver), the body is started through this bootstrap.
_BOOTSTRAP = (
    "import sys, ptpipd.vendors as v; v.VENDORS = (*v.VENDORS, 'nikon'); "
    "from ptpipd.sim.cli import main; sys.exit(main(sys.argv[1:]))"
)
#: No battery events unless a test asks for them.
QUIET = ("--battery-interval", "0")


def nikon_command(*extra: str) -> list[str]:
    """The command line of ``ptpipd-sim --vendor nikon --port 0 EXTRA``."""
    return [sys.executable, "-c", _BOOTSTRAP, "--vendor", "nikon", "--port", "0", *extra]


@contextlib.contextmanager
def running_nikon(*extra: str) -> Iterator[SimProcess]:
    """``ptpipd-sim --vendor nikon EXTRA`` on a free port, stopped afterwards."""
    if "nikon" in VENDORS:
        with running_sim("nikon", *extra) as sim:
            yield sim
        return
    args = nikon_command(*extra)
    log = LogFile()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log.file, text=True, env=env, cwd=REPO)
    log.file.close()
    try:
        match = read_line_until(proc, LISTENING, 30.0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the Nikon simulator did not start: {log.close()}") from None
    sim = SimProcess(proc, match["host"], [int(p) for p in match["ports"].split(",")], args, log)
    try:
        yield sim
    finally:
        sim.stop()

"""How long another client's ``get iso`` waits while a client lists the card, through the daemon.

Run with ``.venv/bin/python bench/listing.py [--delay 0.02] [--gets 20]``. For each simulated body
(``ptpipd-sim`` answering every transaction ``--delay`` seconds late, as a real body over Wi-Fi takes
10-30 ms for a GetObjectInfo) a ``ptpipd`` subprocess is connected to it, then, over JSON-RPC:

* **idle** (the baseline): ``--gets`` sequential ``get iso`` with nothing else running;
* **listing alone**: one ``files``, its duration;
* **during a listing**: one client sends ``files``, a second client sends ``get iso`` back to back until the
  listing has answered; each get's latency (request written to response read). Without turns the first get
  waits for the rest of the listing.

Bodies: the generic camera (card of 4 files and 2 folders: one GetObjectInfo each), the Fuji X-T5 (158
pictures, one GetObjectInfo each, inside 0xD227 = 1), the Canon 6D (3 folders, one GetObjectInfoEx each)
and the Nikon D750 (2 folders, 2 pictures). It prints the figures and the ratio of the worst get during a
listing to the idle median; it never exits non-zero because of a time.
"""

from __future__ import annotations

import argparse
import json
import select
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.daemon.conftest import camera_args  # noqa: E402
from tests.procs import DaemonProcess, running_daemon, running_sim  # noqa: E402
from tests.rpcclient import RpcConnection  # noqa: E402

BODIES = {"generic": ("--object-size", "1M"), "fuji": ("--model", "x-t5"), "canon": (), "nikon": ()}
FILES = json.dumps({"jsonrpc": "2.0", "method": "files", "id": 1})


def timed_get(conn: RpcConnection) -> float:
    start = time.perf_counter()
    assert conn.call("get", {"property": "iso"}, timeout=120)["property"] == "iso"
    return time.perf_counter() - start


def measure(daemon: DaemonProcess, gets: int) -> tuple[list[float], float, int, list[float]]:
    """(idle gets, listing alone, files listed, gets during a listing), in seconds."""
    with daemon.connect("unix", timeout=120) as lister, daemon.connect("tcp", timeout=120) as other:
        idle = [timed_get(other) for _ in range(gets)]
        start = time.perf_counter()
        count = len(lister.call("files", timeout=120))
        alone = time.perf_counter() - start
        lister.send_line(FILES)
        during = []
        while not select.select([lister.sock], [], [], 0)[0]:
            during.append(timed_get(other))
        assert len(lister.read_response(timeout=120)["result"]) == count
    return idle, alone, count, during


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--delay", type=float, default=0.02, help="seconds the simulator takes per transaction")
    p.add_argument("--gets", type=int, default=20, help="idle gets of the baseline")
    args = p.parse_args()
    print(f"every transaction answered {args.delay * 1000:g} ms late; latencies in ms")
    print(
        f"{'body':8} {'files':>5} {'listing':>8} {'idle p50':>9} {'gets':>5} {'p50':>7} {'max':>7} {'max/idle':>9}"
    )
    for vendor, flags in BODIES.items():
        sim_flags = (*flags, "--response-delay", str(args.delay), "--battery-interval", "0")
        with (
            tempfile.TemporaryDirectory() as work,
            running_sim(vendor, *sim_flags) as sim,
            running_daemon(Path(work), *camera_args(sim, vendor)) as daemon,
        ):
            daemon.wait_connected()
            idle, alone, count, during = measure(daemon, args.gets)
        base, worst = statistics.median(idle), max(during, default=0.0)
        print(
            f"{vendor:8} {count:5d} {alone * 1000:8.0f} {base * 1000:9.1f} {len(during):5d} "
            f"{statistics.median(during or [0]) * 1000:7.1f} {worst * 1000:7.1f} {worst / base:9.1f}"
        )


if __name__ == "__main__":
    main()

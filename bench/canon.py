"""Canon EOS through our initiator: polled live view and the delay of a change made on the body.

Run with ``.venv/bin/python bench/canon.py [--frames 300] [--turns 20]``. A simulated EOS 6D
(``ptpipd-sim --vendor canon``) runs as a subprocess.

* **Live view**: frames per second of ``Camera(vendor="canon").liveview()`` (one GetViewFinderData 0x9153 per
  frame), against the baseline of the same operation run back to back over a plain blocking socket with
  nothing but the codec (tests/interop/gphoto2.py's RawCamera): the ratio is what the library adds.
* **A dial turned on the body**, through the product path: ``ptpipd --vendor canon`` as a subprocess, a
  JSON-RPC subscriber, SIGUSR2 to the simulator at a random moment between two polls; the time until
  ``notify.property`` arrives, against the driver's polling interval (the most a poll can wait). A ratio
  under 1 means within one interval.

It prints the figures and ratios; it never exits non-zero because of a time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ptpipd.camera import Camera  # noqa: E402
from ptpipd.vendors.canon import POLL_INTERVAL  # noqa: E402
from ptpipd.vendors.canon_codes import CanonProperty, SetPropValue, viewfinder_jpeg  # noqa: E402
from tests.daemon.conftest import camera_args, next_note  # noqa: E402
from tests.interop.gphoto2 import RawCamera  # noqa: E402
from tests.procs import SimProcess, running_daemon, running_sim  # noqa: E402


def raw_frames(sim: SimProcess, frames: int) -> float:
    """Frames per second of GetViewFinderData over a bare socket (remote mode, PC output on)."""
    with RawCamera(sim.port) as raw:
        raw.call(0x9114, 1)
        data = SetPropValue.of(CanonProperty.EVFOutputDevice, 2).encode()
        assert raw.call_out(0x9110, data) == 0x2001
        while raw.call(0x9153, 0x200000, 0, 0)[0] != 0x2001:
            pass
        started = time.perf_counter()
        for _ in range(frames):
            code, payload = raw.call(0x9153, 0x200000, 0, 0)
            assert code == 0x2001 and viewfinder_jpeg(payload or b"") is not None
        return frames / (time.perf_counter() - started)


async def library_frames(sim: SimProcess, frames: int) -> float:
    async with Camera(host=sim.host, vendor="canon", port=sim.port) as cam:
        seen = 0
        started = 0.0
        async for _ in cam.liveview():
            if seen == 0:
                started = time.perf_counter()  # from the first frame: the start-up is not a frame
            seen += 1
            if seen > frames:
                break
        return frames / (time.perf_counter() - started)


def dial_delays(sim: SimProcess, turns: int) -> list[float]:
    delays = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_daemon(Path(tmp), *camera_args(sim, "canon")) as daemon,
    ):
        daemon.wait_connected()
        with daemon.connect() as conn:
            conn.call("set", ["program", "M"])
            conn.call("subscribe", {"topics": ["property"]})
            for _ in range(turns):
                time.sleep(random.uniform(0, POLL_INTERVAL))  # anywhere between two polls
                sent = time.monotonic()
                sim.proc.send_signal(signal.SIGUSR2)
                next_note(conn, "notify.property", lambda p: p["property"] == "exposure")
                delays.append(time.monotonic() - sent)
    return delays


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--turns", type=int, default=20)
    args = p.parse_args()
    with running_sim("canon", "--battery-interval", "0") as sim:
        baseline = raw_frames(sim, args.frames)
        ours = asyncio.run(library_frames(sim, args.frames))
        print(f"live view, {args.frames} frames of 960x640 from GetViewFinderData:")
        print(f"  bare socket   {baseline:7.1f} frames/s (baseline)")
        print(f"  Camera()      {ours:7.1f} frames/s  ratio {ours / baseline:.2f}")
        delays = dial_delays(sim, args.turns)
    median, worst = statistics.median(delays), max(delays)
    print(
        f"dial on the body -> notify.property through ptpipd, {args.turns} turns, poll every {POLL_INTERVAL} s:"
    )
    print(f"  median {median * 1000:6.1f} ms  ratio to the interval {median / POLL_INTERVAL:.2f}")
    print(f"  worst  {worst * 1000:6.1f} ms  ratio to the interval {worst / POLL_INTERVAL:.2f}")


if __name__ == "__main__":
    main()

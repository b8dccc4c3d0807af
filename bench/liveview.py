"""Live view through our initiator: frames per second delivered, age of each frame, CPU per frame.

Run with ``.venv/bin/python bench/liveview.py [--fps 30] [--seconds 10]``. A simulated X-T1
(``ptpipd-sim --vendor fuji --fps F``) runs as a subprocess, so this process's CPU time is the initiator's
alone; ``ptpipd.camera.Camera(vendor="fuji").liveview()`` reads its stream for the given time.

How the age of a frame is measured: the simulator writes the moment it produced each frame into the
frame's JPEG, as a comment (COM) segment ``ptpipd-sim frame=N mono=T wall=W`` (:mod:`ptpipd.sim.pictures`),
where T is ``time.monotonic()`` -- Linux's CLOCK_MONOTONIC, one clock for all processes of the machine. The
age of a delivered frame is ``time.monotonic()`` in this process when ``async for`` hands the frame over,
minus T. (``arrival`` is the same with the transport's ``LiveFrame.received_at``, when its last byte came
in, so the difference between the two is the time spent waiting in our stream for the consumer.)

Targets: the offered rate delivered (at least 98 % of it, measured from the first to the last frame), no
frame older than one frame interval. CPU per frame is this process's CPU time (user + system) during the
stream divided by the frames delivered; the simulator's is shown beside it. It prints "met" / "NOT met"
and never exits non-zero because of a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ptpipd.camera import Camera  # noqa: E402
from ptpipd.sim.pictures import frame_stamp  # noqa: E402

LISTENING = re.compile(r"listening on ([0-9.]+):(\d+),(\d+),(\d+)")
RATE_TARGET = 0.98


@dataclass
class Result:
    frames: int
    seconds: float
    ages: list[float]
    arrivals: list[float]
    sequence_gaps: int
    counter_gaps: int
    cpu: float
    sim_cpu: float
    jpeg_bytes: int


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_sim(fps: float) -> tuple[subprocess.Popen[str], str, list[int]]:
    cmd = [sys.executable, "-m", "ptpipd.sim", "--vendor", "fuji", "--ports", "0", "--fps", str(fps)]
    cmd.append("--accept-any-client")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = LISTENING.search(line)
    if match is None:
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, match[1], [int(match[i]) for i in (2, 3, 4)]


async def measure(host: str, ports: list[int], seconds: float, sim_pid: int) -> Result:
    command, event, stream = ports
    async with Camera(
        host=host, vendor="fuji", port=command, event_port=event, stream_port=stream, friendly_name="bench"
    ) as cam:
        frames = cam.liveview()
        ages: list[float] = []
        arrivals: list[float] = []
        sequence_gaps = counter_gaps = jpeg_bytes = 0
        last_sequence = last_counter = None
        first_at = last_at = 0.0
        cpu0 = sim0 = 0.0
        try:
            async for frame in frames:
                now = time.monotonic()
                stamp = frame_stamp(frame.jpeg)
                if stamp is None:
                    raise SystemExit("a frame without the simulator's time stamp")
                if last_sequence is None:  # the first frame starts the clock (connection set-up excluded)
                    first_at, cpu0, sim0 = now, time.process_time(), process_cpu(sim_pid)
                else:
                    ages.append(now - stamp.monotonic)
                    jpeg_bytes += len(frame.jpeg)
                    arrivals.append(frame.received_at - stamp.monotonic)
                    sequence_gaps += frame.sequence - last_sequence - 1
                    assert last_counter is not None
                    counter_gaps += frame.counter - last_counter - 1
                last_sequence, last_counter, last_at = frame.sequence, frame.counter, now
                if now - first_at >= seconds:
                    break
        finally:
            await frames.aclose()  # type: ignore[attr-defined]  # an async generator
        cpu = time.process_time() - cpu0
        sim_cpu = process_cpu(sim_pid) - sim0
    gaps = (sequence_gaps, counter_gaps)
    return Result(len(ages), last_at - first_at, ages, arrivals, *gaps, cpu, sim_cpu, jpeg_bytes)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fps", type=float, default=30.0, help="rate the simulator offers (default 30)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to read (default 10)")
    args = parser.parse_args()
    proc, host, ports = start_sim(args.fps)
    try:
        result = asyncio.run(measure(host, ports, args.seconds, proc.pid))
    finally:
        proc.terminate()
        proc.wait(10)
    interval = 1 / args.fps
    rate = result.frames / result.seconds
    ages_ms = sorted(a * 1e3 for a in result.ages)
    arrivals_ms = sorted(a * 1e3 for a in result.arrivals)
    old = sum(1 for a in result.ages if a > interval)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    print(
        f"offered: {args.fps:g} frames/s for {args.seconds:g} s (640x480 JPEG, "
        f"{result.jpeg_bytes / result.frames / 1000:.0f} kB on average), simulator in a subprocess"
    )
    print(f"delivered: {result.frames} frames in {result.seconds:.3f} s = {rate:.2f} frames/s")
    print(
        f"  gaps: {result.counter_gaps} frames skipped by the simulator, "
        f"{result.sequence_gaps} dropped by our stream (slow consumer)"
    )
    print(
        f"age at delivery (ms): median {statistics.median(ages_ms):.2f}, p95 {pct(ages_ms, 0.95):.2f}, "
        f"max {ages_ms[-1]:.2f}; {old} of {result.frames} older than one interval ({interval * 1e3:.1f} ms)"
    )
    print(
        f"age at arrival (ms):  median {statistics.median(arrivals_ms):.2f}, p95 {pct(arrivals_ms, 0.95):.2f}, "
        f"max {arrivals_ms[-1]:.2f}"
    )
    print(
        f"CPU per frame: initiator {result.cpu / result.frames * 1e3:.3f} ms "
        f"({result.cpu / result.seconds * 100:.1f} % of a core); "
        f"simulator {result.sim_cpu / result.frames * 1e3:.3f} ms ({result.sim_cpu / result.seconds * 100:.1f} %)"
    )
    print(
        f"target {args.fps:g} frames/s delivered (>= {RATE_TARGET:.0%}): {verdict(rate >= RATE_TARGET * args.fps)}"
    )
    print(f"target no frame older than one interval: {verdict(old == 0)}")


if __name__ == "__main__":
    main()

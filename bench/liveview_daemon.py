"""Live view through the daemon's HTTP data plane: fps per viewer, frame age, daemon CPU per frame.

Run with ``.venv/bin/python bench/liveview_daemon.py [--fps 30] [--seconds 10]``. A simulated X-T1
(``ptpipd-sim --vendor fuji --fps F``) and ``ptpipd`` run as subprocesses; this process opens 1 viewer, then
10, on ``GET /liveview.mjpeg`` (plain sockets, our own multipart reading) and reads for ``--seconds``.

* **fps per viewer**: parts received from the first to the last one of the window.
* **frame age**: the simulator writes the moment it made each frame into its JPEG (a COM segment
  ``ptpipd-sim frame=N mono=T``, T from CLOCK_MONOTONIC, one clock for every process of the machine); the
  age is ``time.monotonic()`` here when the part's last byte arrived, minus T: camera → daemon → viewer.
* **daemon CPU**: the daemon's user + system time (``/proc/PID/stat``) over the window, as a share of one
  core and per camera frame; the same with no viewer (the camera stream stopped) is the baseline.

Targets: 30 fps in → at least 29 fps out per viewer at 10 viewers, frame age p95 ≤ one frame interval,
daemon ≤ 15 % of a core. It prints "met" / "NOT met" and never exits non-zero because of a time.

A polled body follows (``--polled canon``, or ``nikon``; ``none`` skips it): a simulated EOS 6D hands out one
frame per GetViewFinderData, as fast as it is asked, so the daemon's ``liveview_fps`` cap (default 30) sets the
rate. One viewer for ``--seconds``: its fps, and the CPU share of the daemon and of the simulator (both sides
spin without the cap: ``--polled-fps 0`` shows that).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on ([0-9.]+):(\d+),(\d+),(\d+)")
ONE_PORT = re.compile(r"listening on ([0-9.]+):(\d+)")
STAMP = re.compile(rb"ptpipd-sim frame=(\d+) mono=([0-9.]+)")
CPU_TARGET = 0.15
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Viewer:
    arrivals: list[float] = field(default_factory=list)
    ages: list[float] = field(default_factory=list)


async def watch(port: int, viewer: Viewer, until: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /liveview.mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    body = bytearray()
    try:
        while time.monotonic() < until:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)  # chunked framing
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            while (head_end := body.find(b"\r\n\r\n")) >= 0:
                length = int(re.search(rb"Content-Length: (\d+)", body[:head_end])[1])  # type: ignore[index]
                if len(body) < head_end + 4 + length + 2:
                    break
                jpeg = bytes(body[head_end + 4 : head_end + 4 + length])
                del body[: head_end + 4 + length + 2]
                now = time.monotonic()
                viewer.arrivals.append(now)
                stamp = STAMP.search(jpeg[:512])
                if stamp:
                    viewer.ages.append(now - float(stamp[2]))
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status(sock: Path) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        s.sendall(b'{"jsonrpc":"2.0","method":"status","id":1}\n')
        data = s.makefile("rb").readline()
    return dict(json.loads(data)["result"])


def run_viewers(port: int, sock: Path, pid: int, count: int, seconds: float) -> dict[str, float]:
    async def main() -> list[Viewer]:
        viewers = [Viewer() for _ in range(count)]
        until = time.monotonic() + seconds + 1.0
        await asyncio.gather(*(watch(port, v, until) for v in viewers))
        return viewers

    before_frames = int(status(sock)["liveview"]["frames"])  # type: ignore[index]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    viewers = asyncio.run(main())
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    frames = int(status(sock)["liveview"]["frames"]) - before_frames  # type: ignore[index]
    fps = []
    for v in viewers:
        window = [t for t in v.arrivals if t >= t0 + 1.0]  # the first second: the camera stream starts
        fps.append((len(window) - 1) / (window[-1] - window[0]) if len(window) > 1 else 0.0)
    ages = sorted(a for v in viewers for a in v.ages)
    return {
        "fps_min": min(fps),
        "fps_median": statistics.median(fps),
        "age_p50": ages[len(ages) // 2],
        "age_p95": ages[int(len(ages) * 0.95)],
        "cpu_share": (cpu1 - cpu0) / (t1 - t0),
        "cpu_per_frame_ms": (cpu1 - cpu0) / max(frames, 1) * 1000,
        "frames": float(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--polled", choices=["canon", "nikon", "none"], default="canon", help="the polled body"
    )
    parser.add_argument(
        "--polled-fps", type=float, help="the daemon's liveview_fps for it (default: its own)"
    )
    parser.add_argument("--only-polled", action="store_true", help="skip the Fujifilm cases")
    args = parser.parse_args()
    if args.only_polled:
        polled(args.polled, args.polled_fps, args.seconds)
        return
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ptpipd.sim",
            "--vendor",
            "fuji",
            "--ports",
            "0",
            "--fps",
            str(args.fps),
            "--accept-any-client",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    assert sim.stdout is not None
    match = LISTENING.search(sim.stdout.readline())
    assert match, "the simulator did not start"
    command_port, event_port, stream_port = match[2], match[3], match[4]
    try:
        with running_daemon(
            [
                "--vendor",
                "fuji",
                "--cmd-data-port",
                command_port,
                "--event-port",
                event_port,
                "--stream-port",
                stream_port,
            ]
        ) as (daemon, sock, http_port):
            idle0, t0 = cpu_seconds(daemon.pid), time.monotonic()
            time.sleep(3.0)  # the baseline: a daemon with a camera and no viewer
            idle = (cpu_seconds(daemon.pid) - idle0) / (time.monotonic() - t0)
            results = {n: run_viewers(http_port, sock, daemon.pid, n, args.seconds) for n in (1, 10)}
    finally:
        sim.terminate()
        sim.wait(10)
    report(args.fps, args.seconds, idle, results)
    if args.polled != "none":
        polled(args.polled, args.polled_fps, args.seconds)


@contextlib.contextmanager
def running_daemon(
    camera: list[str], env_extra: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    """``ptpipd`` on the simulated camera that ``camera`` (flags) names, connected: (process, socket, HTTP port)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        http_port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="ptpipd-bench-") as tmp:
        sock = Path(tmp) / "ptpipd.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPD_", "LISTEN_", "NOTIFY_"))}
        env |= {"XDG_RUNTIME_DIR": tmp, "XDG_STATE_HOME": tmp, "STATE_DIRECTORY": tmp} | (env_extra or {})
        command = [
            sys.executable,
            "-m",
            "ptpipd.daemon",
            "--host",
            "127.0.0.1",
            *camera,
            "--socket",
            str(sock),
        ]
        command += ["--rpc-tcp", "off", "--http", f"127.0.0.1:{http_port}", "--log-level", "warning"]
        daemon = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=env
        )
        try:
            deadline = time.monotonic() + 30
            while True:  # a benchmark may poll: the daemon answers once it listens
                try:
                    if status(sock)["state"] == "connected":
                        break
                except (OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("ptpipd did not connect")
                time.sleep(0.05)
            yield daemon, sock, http_port
        finally:
            daemon.terminate()
            daemon.wait(10)


def polled(vendor: str, fps: float | None, seconds: float) -> None:
    """One viewer of a polled body: its fps and the CPU of the daemon and of the simulator."""
    command = [
        sys.executable,
        "-m",
        "ptpipd.sim",
        "--vendor",
        vendor,
        "--port",
        "0",
        "--battery-interval",
        "0",
    ]
    sim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert sim.stdout is not None
        match = ONE_PORT.search(sim.stdout.readline())
        assert match, "the simulator did not start"
        env = {} if fps is None else {"PTPIPD_LIVEVIEW_FPS": f"{fps:g}"}
        with running_daemon(["--vendor", vendor, "--port", match[2]], env) as (daemon, sock, http_port):
            sim0 = cpu_seconds(sim.pid)
            t0 = time.monotonic()
            row = run_viewers(http_port, sock, daemon.pid, 1, seconds)
            sim_share = (cpu_seconds(sim.pid) - sim0) / (time.monotonic() - t0)
    finally:
        sim.terminate()
        sim.wait(10)
    cap = "its default" if fps is None else f"{fps:g}" + (" (no cap)" if fps == 0 else "")
    print(f"\npolled live view ({vendor} simulator, daemon liveview_fps {cap}), 1 viewer, {seconds:g} s")
    print(f"{'viewers':>8}{'fps':>10}{'daemon CPU':>12}{'CPU/frame':>12}{'sim CPU':>10}")
    print(
        f"{1:>8}{row['fps_median']:>10.1f}{row['cpu_share']:>11.1%}{row['cpu_per_frame_ms']:>10.2f}ms"
        f"{sim_share:>9.1%}"
    )


def report(fps: float, seconds: float, idle: float, results: dict[int, dict[str, float]]) -> None:
    interval = 1.0 / fps
    print(f"live view through ptpipd's HTTP data plane: {fps:g} fps in, {seconds:g} s per case")
    print(
        f"{'viewers':>8}{'fps min':>10}{'fps med':>10}{'age p50 ms':>12}{'age p95 ms':>12}{'daemon CPU':>12}{'CPU/frame':>12}"
    )
    for n, r in results.items():
        print(
            f"{n:>8}{r['fps_min']:>10.1f}{r['fps_median']:>10.1f}{r['age_p50'] * 1000:>12.1f}"
            f"{r['age_p95'] * 1000:>12.1f}{r['cpu_share']:>11.1%}{r['cpu_per_frame_ms']:>10.2f}ms"
        )
    print(f"daemon CPU with a camera and no viewer: {idle:.1%} of a core")
    ten = results[10]
    verdict = {True: "met", False: "NOT met"}
    print(
        f"10 viewers: slowest {ten['fps_min']:.1f} fps, target >= {fps - 1:g}: {verdict[ten['fps_min'] >= fps - 1]}"
    )
    print(
        f"frame age p95 {ten['age_p95'] * 1000:.1f} ms, target <= {interval * 1000:.1f} ms: {verdict[ten['age_p95'] <= interval]}"
    )
    print(
        f"daemon CPU {ten['cpu_share']:.1%} of a core, target <= {CPU_TARGET:.0%}: {verdict[ten['cpu_share'] <= CPU_TARGET]}"
    )


if __name__ == "__main__":
    main()

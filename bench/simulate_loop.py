"""How long ``status`` takes through ``ptpipd --simulate`` while live view runs, beside the same with no live view.

Run with ``.venv/bin/python bench/simulate_loop.py [--vendor fuji] [--seconds 5] [--viewers 3]``. ``ptpipd
--simulate VENDOR`` runs as a subprocess (the simulated camera inside it); this process times JSON-RPC
``status`` calls, one after the other on one Unix-socket connection, for ``--seconds`` with no viewer (the
baseline), then again while ``--viewers`` clients read ``GET /liveview.mjpeg`` from the daemon's HTTP socket.
The simulated camera draws each live-view frame with Pillow: when that drawing runs in the daemon's event
loop, every ``status`` waits for it. It prints p50 / p99 / max of both and their ratios; it never fails on a
time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def start_daemon(workdir: Path, vendor: str) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PTPIPD_", "NOTIFY_", "LISTEN_"))},
        "XDG_RUNTIME_DIR": str(workdir),
        "XDG_STATE_HOME": str(workdir / "state"),
        "STATE_DIRECTORY": str(workdir / "state"),
    }
    cmd = [sys.executable, "-m", "ptpipd.daemon", "--simulate", vendor, "--socket", str(workdir / "d.sock")]
    cmd += ["--rpc-tcp", "off", "--http", "off", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)


class Rpc:
    """One JSON-RPC connection over the Unix socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        self.lines = self.sock.makefile("rb")

    def call(self, method: str) -> object:
        self.sock.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}).encode() + b"\n")
        return json.loads(self.lines.readline())["result"]


def wait_connected(path: Path, deadline: float) -> Rpc:
    while True:
        try:
            rpc = Rpc(path)
            if rpc.call("status")["state"] == "connected":  # type: ignore[index]
                return rpc
            rpc.sock.close()
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the daemon did not connect to its simulated camera")
        time.sleep(0.1)  # a start-up poll, not a measurement


def view(path: Path, stop: threading.Event, frames: list[int]) -> None:
    """Reads the MJPEG stream (counting bytes) until ``stop``."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(path))
        s.sendall(b"GET /liveview.mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        while not stop.is_set():
            data = s.recv(1 << 16)
            if not data:
                return
            frames.append(data.count(b"\xff\xd8"))


def time_calls(rpc: Rpc, seconds: float) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        rpc.call("status")
        out.append(time.perf_counter() - t0)
    return out


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "calls": float(len(ordered)),
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendor", default="fuji")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--viewers", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptpipd-bench-") as tmp:
        workdir = Path(tmp)
        daemon = start_daemon(workdir, args.vendor)
        try:
            rpc = wait_connected(workdir / "d.sock", time.monotonic() + 60)
            base = summary(time_calls(rpc, args.seconds))
            stop, counts = threading.Event(), [0]
            frames: list[int] = []
            viewers = [
                threading.Thread(target=view, args=(workdir / "d-http.sock", stop, frames), daemon=True)
                for _ in range(args.viewers)
            ]
            for thread in viewers:
                thread.start()
            loaded = summary(time_calls(rpc, args.seconds))
            stop.set()
            counts[0] = sum(frames)
        finally:
            daemon.terminate()
            daemon.wait(15)
    print(f"ptpipd --simulate {args.vendor}: status round trips, {args.viewers} live-view viewers")
    print(f"{'':12}{'calls':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, row in (("no viewer", base), ("live view", loaded)):
        print(f"{name:12}{row['calls']:8.0f}{row['p50_ms']:10.2f}{row['p99_ms']:10.2f}{row['max_ms']:10.2f}")
    ratio = {k: loaded[k] / base[k] for k in ("p50_ms", "p99_ms", "max_ms")}
    print("ratio live view / no viewer: " + ", ".join(f"{k[:-3]} {v:.2f}" for k, v in ratio.items()))
    print(f"JPEG starts seen by the viewers: {counts[0]}")


if __name__ == "__main__":
    main()

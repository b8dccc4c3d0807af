"""Download throughput of a big object: our initiator vs gphoto2 vs a raw socket copy, in one run.

Run with ``.venv/bin/python bench/download.py [--size 100M] [--runs 3] [--profile]``. One simulator
subprocess (``--object-size SIZE``) serves the same object to:

* **ours**: ``ptpipd.ip.transport.Initiator`` with the GENERIC dialect (connect, open_events, OpenSession,
  GetObject with a sink that writes a file), in a child process so that its peak RSS (VmHWM) is ours alone.
  Time: the GetObject transaction, request to response, file written.
* **gphoto2**: ``gphoto2 --get-file`` of the same object (libgphoto2 uses GetPartialObject in 1 MiB pieces
  because the object is over 1 MiB). Time: its wall time minus the wall time of the same command fetching a
  small photo, i.e. the transfer without gphoto2's start-up and folder walk.
* **raw**: a plain TCP server (another child) ``sendall``-ing the same bytes from a memoryview, and a
  ``recv_into`` loop writing a file: the ceiling on this machine.

Every downloaded file is checked against the SHA-256 of the formula in :mod:`ptpipd.sim.bigobject`. The table
shows medians of ``--runs``. MB are 10^6 bytes. It never exits non-zero because of a time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import os
import pstats
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ptpipd.sim import bigobject  # noqa: E402

FOLDER = "/store_00010001/DCIM/100TEST"
TARGET_VS_GPHOTO2 = 1.5
TARGET_VS_RAW = 0.60
TARGET_RSS_MB = 64
LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB (10^6 bytes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # kB on Linux


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------------
# Children
# ------------------------------------------------------------------------------------------------------


async def _ours(port: int, out: Path, profile: bool) -> dict[str, float | str]:
    from ptpipd.ip.generic import GENERIC
    from ptpipd.ip.transport import Initiator, Timeouts
    from ptpipd.ptp import ObjectInfo, decode_uint32_array

    initiator = Initiator(
        GENERIC, "127.0.0.1", guid=bytes(range(16)), name="bench", timeouts=Timeouts(transaction=30)
    )
    await initiator.connect(port)
    await initiator.open_events(port)
    assert (await initiator.transaction(0x1002, (1,))).code == 0x2001
    reply = await initiator.transaction(0x1007, (0xFFFF_FFFF, 0, 0))
    assert reply.data is not None
    handle = None
    for candidate in decode_uint32_array(reply.data)[0]:
        info = (await initiator.transaction(0x1008, (candidate,))).data
        if info is not None and ObjectInfo.decode(info).filename == bigobject.FILENAME:
            handle = candidate
    assert handle is not None, "the simulator has no big object"
    profiler = cProfile.Profile() if profile else None
    with out.open("wb") as sink:
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        reply = await initiator.transaction(0x1009, (handle,), sink=sink)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - start
    assert reply.code == 0x2001, hex(reply.code)
    await initiator.transaction(0x1003)
    await initiator.close()
    result: dict[str, float | str] = {"seconds": seconds, "bytes": reply.data_length, "rss_mb": peak_rss_mb()}
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        result["profile"] = text.getvalue()
    return result


def child_ours(port: int, out: Path, profile: bool) -> None:
    print(json.dumps(asyncio.run(_ours(port, out, profile))), flush=True)


def child_raw_server(size: int) -> None:
    data = bigobject.build(size)
    with socket.create_server(("127.0.0.1", 0)) as server:
        print(f"listening on 127.0.0.1:{server.getsockname()[1]}", flush=True)
        while True:
            conn, _ = server.accept()
            with conn:
                conn.sendall(data)


# ------------------------------------------------------------------------------------------------------
# The three measurements
# ------------------------------------------------------------------------------------------------------


def start(command: list[str], log: IO[str] | None = None) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the child prints its listening line first, or exits
    match = LISTENING.search(line)
    if not match:
        proc.kill()
        raise SystemExit(f"{command[2:4]} did not start: {line!r}")
    return proc, int(match[2])


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_ours(port: int, out: Path, profile: bool = False) -> dict[str, float | str]:
    command = [sys.executable, __file__, "--child", "ours", "--port", str(port), "--out", str(out)]
    if profile:
        command.append("--profile")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise SystemExit(f"our initiator failed (rc={result.returncode}):\n{result.stderr}")
    data: dict[str, float | str] = json.loads(result.stdout.splitlines()[-1])
    return data


def run_gphoto2(port: int, number: int, workdir: Path) -> float:
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    command = ["timeout", "120", "gphoto2", "--port", f"ptpip:127.0.0.1:{port}:{port}", "--camera"]
    command += ["PTP/IP Camera", "--get-file", str(number), "--folder", FOLDER, "--force-overwrite"]
    env = dict(os.environ, HOME=str(home), LANG="C")
    start_time = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=130, check=True)
    return time.perf_counter() - start_time


def run_raw(port: int, out: Path, size: int) -> float:
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    received = 0
    with out.open("wb") as f:
        start_time = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            while received < size:
                n = sock.recv_into(buffer)
                if not n:
                    break
                f.write(view[:n])
                received += n
        seconds = time.perf_counter() - start_time
    assert received == size, (received, size)
    return seconds


def gphoto2_numbers(port: int, workdir: Path) -> tuple[int, int]:
    """gphoto2's file numbers (sorted by name) of the big object and of a small photo."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    command = ["timeout", "30", "gphoto2", "--port", f"ptpip:127.0.0.1:{port}:{port}", "--camera"]
    command += ["PTP/IP Camera", "--list-files"]
    env = dict(os.environ, HOME=str(home), LANG="C")
    listing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=40, check=True).stdout
    numbers = {name: int(n) for n, name in re.findall(r"^#(\d+)\s+(\S+)", listing, re.MULTILINE)}
    return numbers[bigobject.FILENAME], numbers["IMG_0001.JPG"]


def spread(values: list[float]) -> str:
    return f"({min(values):.3f}..{max(values):.3f})"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100M", help="object size (default 100M)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each method; the median is shown")
    parser.add_argument("--profile", action="store_true", help="also profile one run of ours (cProfile)")
    parser.add_argument("--dir", type=Path, help="where to write the downloads (default: /dev/shm if roomy)")
    parser.add_argument("--child", choices=["ours", "raw-server"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = bigobject.parse_size(args.size)
    if args.child == "ours":
        child_ours(args.port, args.out, args.profile)
        return
    if args.child == "raw-server":
        child_raw_server(size)
        return

    root = args.dir if args.dir is not None else default_dir(size)
    with tempfile.TemporaryFile("w+") as sim_log:  # the simulator's log, shown only if something fails
        try:
            results = measure(size, args.runs, args.profile, root, sim_log)
        except BaseException:
            sim_log.seek(0)
            print(f"simulator log:\n{sim_log.read()}", file=sys.stderr)
            raise
    report(results, args.size, size, args.runs, root)


def default_dir(size: int) -> Path | None:
    """A RAM file system when it has room: writing new 1 GB files to a disk-backed /tmp runs into the kernel's
    dirty-page throttling, which would measure the disk, and unevenly between the methods."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 3 * size:
        return shm
    return None


@dataclass
class Results:
    ours: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    gphoto2: list[float] = field(default_factory=list)
    gphoto2_small: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    profile: str = ""


def measure(size: int, runs: int, profile: bool, root: Path | None, sim_log: IO[str]) -> Results:
    """Runs every method ``runs`` times against one simulator and one raw server; checks every download."""
    expected = bigobject.sha256(size)
    has_gphoto2 = shutil.which("gphoto2") is not None
    results = Results()
    sim_command = [sys.executable, "-m", "ptpipd.sim", "--port", "0", "--object-size", str(size)]
    sim, sim_port = start([*sim_command, "--battery-interval", "0"], sim_log)
    try:
        raw_server, raw_port = start([sys.executable, __file__, "--child", "raw-server", "--size", str(size)])
        try:
            with tempfile.TemporaryDirectory(prefix="ptpipd-bench-", dir=root) as tmp:
                work = Path(tmp)
                big_number, small_number = gphoto2_numbers(sim_port, work) if has_gphoto2 else (0, 0)
                for _ in range(runs):
                    out = work / "ours.bin"
                    result = run_ours(sim_port, out)
                    assert result["bytes"] == size and sha256_file(out) == expected, "ours: wrong content"
                    results.ours.append(float(result["seconds"]))
                    results.rss.append(float(result["rss_mb"]))
                    out.unlink()
                    if has_gphoto2:
                        results.gphoto2.append(run_gphoto2(sim_port, big_number, work))
                        assert sha256_file(work / bigobject.FILENAME) == expected, "gphoto2: wrong content"
                        (work / bigobject.FILENAME).unlink()
                        results.gphoto2_small.append(run_gphoto2(sim_port, small_number, work))
                    out = work / "raw.bin"
                    results.raw.append(run_raw(raw_port, out, size))
                    assert sha256_file(out) == expected, "raw: wrong content"
                    out.unlink()
                if profile:
                    out = work / "profiled.bin"
                    results.profile = str(run_ours(sim_port, out, profile=True)["profile"])
                    out.unlink()
        finally:
            stop(raw_server)
    finally:
        stop(sim)
    return results


def report(results: Results, label: str, size: int, runs: int, root: Path | None) -> None:
    """Prints the table, the ratios and the targets."""

    def rate(seconds: float) -> float:
        return size / seconds / 1e6

    ours = statistics.median(results.ours)
    raw = statistics.median(results.raw)
    where = root if root is not None else Path(tempfile.gettempdir())
    print(f"download of {label} ({size} bytes) to files in {where}, median of {runs} runs; MB = 10^6 bytes")
    print(f"{'method':<34}{'MB/s':>10}{'seconds':>10}   {'(min..max s)'}")
    print(f"{'ours (ptpipd.ip.transport)':<34}{rate(ours):>10.0f}{ours:>10.3f}   {spread(results.ours)}")
    if results.gphoto2:
        wall = statistics.median(results.gphoto2)
        overhead = statistics.median(results.gphoto2_small)
        gphoto2 = max(wall - overhead, 1e-6)
        print(f"{'gphoto2 --get-file (wall - setup)':<34}{rate(gphoto2):>10.0f}{gphoto2:>10.3f}")
        print(
            f"{'  gphoto2 wall, setup included':<34}{rate(wall):>10.0f}{wall:>10.3f}   {spread(results.gphoto2)}"
        )
    print(f"{'raw socket copy (ceiling)':<34}{rate(raw):>10.0f}{raw:>10.3f}   {spread(results.raw)}")
    print()
    if results.gphoto2:
        ratio = gphoto2 / ours
        print(
            f"ours / gphoto2 = {ratio:.2f}x   target >= {TARGET_VS_GPHOTO2}x: {verdict(ratio >= TARGET_VS_GPHOTO2)}"
        )
    else:
        print("ours / gphoto2: gphoto2 is not installed, not measured")
    share = raw / ours
    print(
        f"ours / raw     = {share:.0%}     target >= {TARGET_VS_RAW:.0%}: {verdict(share >= TARGET_VS_RAW)}"
    )
    peak = max(results.rss)
    print(f"our peak RSS   = {peak:.1f} MB  target <= {TARGET_RSS_MB} MB: {verdict(peak <= TARGET_RSS_MB)}")
    print("content: SHA-256 of every download matches the bigobject formula")
    if results.profile:
        print("\nprofile of one GetObject through our initiator (cProfile, by own time):")
        print(results.profile)


if __name__ == "__main__":
    main()

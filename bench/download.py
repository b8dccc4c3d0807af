"""Download throughput of a big object through the product path and beside it, in one run.

Run with ``.venv/bin/python bench/download.py [--size 1G] [--runs 3] [--profile] [--event-loop auto|uvloop|asyncio]``. One simulator
subprocess (``--object-size SIZE``) serves the same object to:

* **daemon + curl** (the product path): ``ptpipd`` connected to the simulator, ``curl -o FILE
  http://…/files/HANDLE`` through its HTTP data plane (GetPartialObject pieces streamed onto the
  connection). Time: curl's wall time. Also the daemon's peak RSS (VmHWM) after all runs, and ``get iso``
  latency (p50/p99) from a second JSON-RPC client while a download runs, beside the same without one, and
  the CPU seconds the daemon and the simulator spent per curl download and per ptpipctl download
  (``/proc/PID/stat``; ptpipctl's own from ``RUSAGE_CHILDREN``): on a shared
  machine the wall times swing with the other load, the CPU a download costs much less. With ``--profile``
  one more curl download runs under ``py-spy`` (when installed) sampling the daemon.
* **ptpipctl download** (the product path as a user types it): ``ptpipctl download HANDLE FILE`` through
  the same daemon's HTTP Unix socket (``ptpipd-http.sock``), streamed into a temporary file renamed at the
  end. Time: its wall time, Python's start-up included. Also its peak RSS (``wait4``'s ``ru_maxrss`` through
  :mod:`tests.cli.peak`, which keeps this process's own memory out of it).

* **ours**: ``ptpipd.ip.transport.Initiator`` with the GENERIC dialect (connect, open_events, OpenSession,
  GetObject with a sink that writes a file), in a child process so that its peak RSS (VmHWM) is ours alone.
  Time: the GetObject transaction, request to response, file written.
* **gphoto2**: ``gphoto2 --get-file`` of the same object (libgphoto2 uses GetPartialObject in 1 MiB pieces
  because the object is over 1 MiB). Time: its wall time minus the wall time of the same command fetching a
  small photo, i.e. the transfer without gphoto2's start-up and folder walk.
* **raw ceiling**: the same bytes from a file in RAM, sent by ``sendfile`` (zero-copy) and received with
  ``splice`` into the output file (socket → pipe → file, no user-space copy): nothing that reads the bytes
  from a socket into a file can beat it on this machine. One more ceiling run follows each curl run, and
  "curl / ceiling (paired)" is the median of those pairs' ratios: on a machine shared with other work the
  load moves between the methods' turns, a pair sees about the same. The ceiling the targets use is the
  best of all ceiling runs (load only slows a copy down), and each path is held to it by its own best run;
  if the library's best run ever beats it, the report says the ceiling is wrong.
* **curl alone**: ``curl -o FILE`` of the same bytes from the raw server's HTTP port (a response head,
  then ``sendfile``): what curl itself can take on this machine, whatever the server (it writes its file in
  small pieces). It is run right after each daemon + curl run; "curl / curl alone" tells the daemon's
  share of the gap, the ceiling above stays the one the targets use.

Every downloaded file is checked against the SHA-256 of the formula in :mod:`ptpipd.sim.bigobject`. The table
shows medians of ``--runs``. MB are 10^6 bytes. It never exits non-zero because of a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import fcntl
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ptpipd.sim import bigobject  # noqa: E402

FOLDER = "/store_00010001/DCIM/100TEST"
TARGET_VS_GPHOTO2 = 1.5
TARGET_VS_RAW = 0.50
TARGET_RSS_MB = 64
TARGET_ISO_P99_MS = 50
LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")
HTTP_PORT = re.compile(r"http on [0-9.]+:(\d+)")


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
    with tempfile.TemporaryFile(dir=default_dir(size)) as f:
        for index in range(0, size, bigobject.BLOCK_SIZE):
            f.write(bigobject.block(index // bigobject.BLOCK_SIZE)[: size - index])
        f.flush()
        with socket.create_server(("127.0.0.1", 0)) as server, socket.create_server(("127.0.0.1", 0)) as http:
            port, http_port = server.getsockname()[1], http.getsockname()[1]
            print(f"listening on 127.0.0.1:{port}, http on 127.0.0.1:{http_port}", flush=True)
            threading.Thread(target=_serve_http, args=(http, f.fileno(), size), daemon=True).start()
            while True:
                conn, _ = server.accept()
                with conn:
                    _sendfile(conn, f.fileno(), size)


def _sendfile(conn: socket.socket, fd: int, size: int) -> None:
    offset = 0  # explicit offsets: the two servers share the file, not a file position
    while offset < size:
        offset += os.sendfile(conn.fileno(), fd, offset, size - offset)


def _serve_http(http: socket.socket, fd: int, size: int) -> None:
    """Any request on ``http`` gets the file: a response head, then sendfile (curl's own ceiling)."""
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode()
    while True:
        conn, _ = http.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                request += chunk
            conn.sendall(head)
            _sendfile(conn, fd, size)


# ------------------------------------------------------------------------------------------------------
# The three measurements
# ------------------------------------------------------------------------------------------------------


def start(command: list[str], log: IO[str] | None = None) -> tuple[subprocess.Popen[str], int, str]:
    """The child, its port and its listening line."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the child prints its listening line first, or exits
    match = LISTENING.search(line)
    if not match:
        proc.kill()
        raise SystemExit(f"{command[2:4]} did not start: {line!r}")
    return proc, int(match[2]), line


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
    """splice(2): socket → pipe → file, the bytes never enter this process."""
    received = 0
    read_end, write_end = os.pipe()
    with contextlib.suppress(OSError):  # 1 MiB pipes (the default 64 KiB would cost 16 splices per MiB)
        fcntl.fcntl(write_end, 1031, 1 << 20)  # F_SETPIPE_SZ
    try:
        with out.open("wb") as f:
            start_time = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                while received < size:
                    n = os.splice(sock.fileno(), write_end, 1 << 20)
                    if not n:
                        break
                    left = n
                    while left:
                        left -= os.splice(read_end, f.fileno(), left)
                    received += n
            seconds = time.perf_counter() - start_time
    finally:
        os.close(read_end)
        os.close(write_end)
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


# ------------------------------------------------------------------------------------------------------
# The product path: ptpipd's HTTP data plane
# ------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


def rpc(sock_path: Path, method: str, params: object = None) -> object:
    """One JSON-RPC call over the daemon's Unix socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock_path))
        request = {"jsonrpc": "2.0", "method": method, "id": 1} | ({"params": params} if params else {})
        s.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data)
    assert "result" in answer, answer
    return answer["result"]


@dataclass
class Daemon:
    proc: subprocess.Popen[str]
    sock: Path
    http: str

    def hwm_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
        return 0.0


#: The daemon's event loop (``--event-loop``).
EVENT_LOOP = ["auto"]


def start_daemon(sim_port: int, work: Path) -> Daemon:
    port = free_port()
    sock = work / "ptpipd.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPD_", "LISTEN_", "NOTIFY_"))}
    env |= {"XDG_RUNTIME_DIR": str(work), "XDG_STATE_HOME": str(work / "state"), "STATE_DIRECTORY": str(work)}
    command = [sys.executable, "-m", "ptpipd.daemon", "--host", "127.0.0.1", "--port", str(sim_port)]
    command += [
        "--socket",
        str(sock),
        "--rpc-tcp",
        "off",
        "--http",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--event-loop",
        EVENT_LOOP[0],
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env
    )
    daemon = Daemon(proc, sock, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:  # a benchmark may poll: the daemon answers `status` once it listens
        try:
            if rpc(sock, "status")["state"] == "connected":  # type: ignore[index]
                return daemon
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("ptpipd did not connect to the simulator")
        time.sleep(0.05)


def big_handle(daemon: Daemon) -> int:
    files = rpc(daemon.sock, "files")
    assert isinstance(files, list)
    return next(int(f["handle"]) for f in files if f["filename"] == bigobject.FILENAME)


def run_curl(daemon: Daemon | str, handle: int, out: Path) -> float:
    """``curl -o out`` of the object through the daemon (or of any URL given instead): wall seconds."""
    url = daemon if isinstance(daemon, str) else f"{daemon.http}/files/{handle}"
    start_time = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", str(out), url], check=True, timeout=600)
    return time.perf_counter() - start_time


PTPIPCTL = Path(sys.executable).with_name("ptpipctl")


def run_ptpipctl(daemon: Daemon, handle: int, out: Path) -> tuple[float, float]:
    """``ptpipctl download`` through the daemon's Unix sockets: (wall seconds, its peak RSS in MB)."""
    from tests.cli.peak import run_measured

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPCTL_", "_PTPIPCTL"))}
    env["PTPIPCTL_SOCKET"] = str(daemon.sock)
    command = [str(PTPIPCTL), "download", str(handle), str(out), "--no-progress"]
    code, peak_kib, seconds = run_measured(command, env, subprocess.DEVNULL, None)
    if code != 0:
        raise SystemExit(f"ptpipctl download failed (rc={code})")
    return seconds, peak_kib * 1024 / 1e6


def iso_latencies(
    daemon: Daemon, seconds: float | None = None, busy: subprocess.Popen[bytes] | None = None
) -> list[float]:
    """``get iso`` round trips (ms) on one connection, for ``seconds`` or while ``busy`` runs."""
    out: list[float] = []
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.sock))
        reader = s.makefile("rb")
        line = json.dumps({"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": 1}).encode() + b"\n"
        end = time.monotonic() + (seconds or 600)
        while time.monotonic() < end and (busy is None or busy.poll() is None):
            t = time.perf_counter()
            s.sendall(line)
            assert b"result" in reader.readline()
            out.append((time.perf_counter() - t) * 1000)
    return out


def children_cpu() -> float:
    """User + system CPU time of this process's children that have ended (``ptpipctl`` and its wrapper)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_daemon(
    sim: subprocess.Popen[str],
    sim_port: int,
    raw_ports: tuple[int, int],
    size: int,
    runs: int,
    work: Path,
    results: Results,
    profile: bool,
) -> None:
    expected = bigobject.sha256(size)
    raw_port, http_port = raw_ports
    daemon = start_daemon(sim_port, work)
    try:
        handle = big_handle(daemon)
        out = work / "curl.bin"
        for _ in range(runs):
            before = cpu_seconds(daemon.proc.pid), cpu_seconds(sim.pid)
            results.curl.append(run_curl(daemon, handle, out))
            results.daemon_cpu.append(cpu_seconds(daemon.proc.pid) - before[0])
            results.sim_cpu.append(cpu_seconds(sim.pid) - before[1])
            raw = work / "raw.bin"  # the ceiling right after: both see the same load on a shared machine
            results.raw_paired.append(run_raw(raw_port, raw, size))
            raw.unlink()
            assert sha256_file(out) == expected, "daemon + curl: wrong content"
            out.unlink()
            results.curl_ceiling.append(run_curl(f"http://127.0.0.1:{http_port}/", 0, out))
            assert sha256_file(out) == expected, "curl alone: wrong content"
            out.unlink()
            before = cpu_seconds(daemon.proc.pid), cpu_seconds(sim.pid), children_cpu()
            seconds, rss = run_ptpipctl(daemon, handle, out)
            after = cpu_seconds(daemon.proc.pid), cpu_seconds(sim.pid), children_cpu()
            results.ctl_cpu.append(tuple(b - a for a, b in zip(before, after, strict=True)))
            results.ctl.append(seconds)
            results.ctl_rss.append(rss)
            assert sha256_file(out) == expected, "ptpipctl download: wrong content"
            out.unlink()
        results.daemon_rss = daemon.hwm_mb()
        results.iso_idle = iso_latencies(daemon, seconds=2.0)
        busy = subprocess.Popen(["curl", "-sS", "-f", "-o", str(out), f"{daemon.http}/files/{handle}"])
        try:
            results.iso_busy = iso_latencies(daemon, busy=busy)
        finally:
            busy.wait(600)
        assert sha256_file(out) == expected, "daemon + curl (with get iso beside it): wrong content"
        out.unlink()
        if profile:
            results.daemon_profile = profile_daemon(daemon, handle, out)
    finally:
        stop(daemon.proc)


def profile_daemon(daemon: Daemon, handle: int, out: Path) -> str:
    """One more curl download with py-spy sampling the daemon: the functions by own samples."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return "py-spy is not installed (pip install py-spy): the daemon was not profiled"
    raw = out.with_suffix(".spy")
    command = [spy, "record", "--nonblocking", "-r", "250", "-f", "raw", "-o", str(raw), "-p"]
    # no start-up handshake to wait for (py-spy prints its banner only when it ends): the first milliseconds
    # of the download may go unsampled, which a profile can afford
    sampler = subprocess.Popen(
        [*command, str(daemon.proc.pid)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        run_curl(daemon, handle, out)
    finally:
        sampler.send_signal(signal.SIGINT)
        said = sampler.communicate(timeout=60)[0].decode(errors="replace")
    out.unlink()
    if not raw.exists():
        return f"py-spy could not sample the daemon: {said.strip()[-500:]}"
    own: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        own[stack.rsplit(";", 1)[-1]] = own.get(stack.rsplit(";", 1)[-1], 0) + int(count)
    raw.unlink()
    total = sum(own.values()) or 1
    top = sorted(own.items(), key=lambda item: -item[1])[:15]
    return "\n".join(f"{n / total:6.1%}  {frame}" for frame, n in top)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: list[float]) -> str:
    return f"({min(values):.3f}..{max(values):.3f})"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1G", help="object size (default 1G)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each method; the median is shown")
    parser.add_argument(
        "--profile", action="store_true", help="also profile ours (cProfile), the daemon (py-spy)"
    )
    parser.add_argument("--dir", type=Path, help="where to write the downloads (default: /dev/shm if roomy)")
    parser.add_argument(
        "--event-loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="the daemon's (default auto)",
    )
    parser.add_argument("--child", choices=["ours", "raw-server"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    EVENT_LOOP[0] = args.event_loop
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
    curl: list[float] = field(default_factory=list)
    ctl: list[float] = field(default_factory=list)
    ctl_rss: list[float] = field(default_factory=list)
    daemon_rss: float = 0.0
    iso_idle: list[float] = field(default_factory=list)
    iso_busy: list[float] = field(default_factory=list)
    raw_paired: list[float] = field(default_factory=list)
    curl_ceiling: list[float] = field(default_factory=list)
    daemon_cpu: list[float] = field(default_factory=list)
    sim_cpu: list[float] = field(default_factory=list)
    ctl_cpu: list[tuple[float, ...]] = field(default_factory=list)  # daemon, simulator, ptpipctl
    profile: str = ""
    daemon_profile: str = ""


def measure(size: int, runs: int, profile: bool, root: Path | None, sim_log: IO[str]) -> Results:
    """Runs every method ``runs`` times against one simulator and one raw server; checks every download."""
    expected = bigobject.sha256(size)
    has_gphoto2 = shutil.which("gphoto2") is not None
    results = Results()
    sim_command = [sys.executable, "-m", "ptpipd.sim", "--port", "0", "--object-size", str(size)]
    sim, sim_port, _ = start([*sim_command, "--battery-interval", "0"], sim_log)
    try:
        raw_server, raw_port, line = start(
            [sys.executable, __file__, "--child", "raw-server", "--size", str(size)]
        )
        http = HTTP_PORT.search(line)
        assert http is not None, line
        try:
            with tempfile.TemporaryDirectory(prefix="ptpipd-bench-", dir=root) as tmp:
                work = Path(tmp)
                # first: the simulator takes one client
                measure_daemon(sim, sim_port, (raw_port, int(http[1])), size, runs, work, results, profile)
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
    wmem = Path("/proc/sys/net/core/wmem_max")
    cap = wmem.read_text().strip() if wmem.exists() else "unknown"
    print(
        f"net.core.wmem_max = {cap} bytes (caps the 4 MiB send buffer the daemon asks for ptpipctl's socket)"
    )
    curl = statistics.median(results.curl)
    print(f"{'method':<34}{'MB/s':>10}{'seconds':>10}   {'(min..max s)'}")
    print(f"{'ptpipd + curl (HTTP, product)':<34}{rate(curl):>10.0f}{curl:>10.3f}   {spread(results.curl)}")
    ctl = statistics.median(results.ctl)
    print(f"{'ptpipctl download (HTTP, product)':<34}{rate(ctl):>10.0f}{ctl:>10.3f}   {spread(results.ctl)}")
    print(f"{'library (ptpipd.ip.transport)':<34}{rate(ours):>10.0f}{ours:>10.3f}   {spread(results.ours)}")
    gphoto2 = 0.0
    if results.gphoto2:
        wall = statistics.median(results.gphoto2)
        overhead = statistics.median(results.gphoto2_small)
        gphoto2 = max(wall - overhead, 1e-6)
        print(f"{'gphoto2 --get-file (wall - setup)':<34}{rate(gphoto2):>10.0f}{gphoto2:>10.3f}")
        print(
            f"{'  gphoto2 wall, setup included':<34}{rate(wall):>10.0f}{wall:>10.3f}   {spread(results.gphoto2)}"
        )
    print(f"{'raw ceiling (sendfile → splice)':<34}{rate(raw):>10.0f}{raw:>10.3f}   {spread(results.raw)}")
    own = statistics.median(results.curl_ceiling)
    print(
        f"{'curl alone (sendfile HTTP server)':<34}{rate(own):>10.0f}{own:>10.3f}   {spread(results.curl_ceiling)}"
    )
    print()
    if results.gphoto2:
        ratio = gphoto2 / curl
        print(
            f"curl / gphoto2 = {ratio:.2f}x      target >= {TARGET_VS_GPHOTO2}x: {verdict(ratio >= TARGET_VS_GPHOTO2)}"
        )
        ratio = gphoto2 / ctl
        print(
            f"ptpipctl / gphoto2 = {ratio:.2f}x  target >= {TARGET_VS_GPHOTO2}x: {verdict(ratio >= TARGET_VS_GPHOTO2)}"
        )
        print(f"library / gphoto2 = {gphoto2 / ours:.2f}x")
    else:
        print("curl, ptpipctl / gphoto2: gphoto2 is not installed, not measured")
    # A ceiling is the fastest this machine moves the bytes: load only ever slows a copy down, so the ceiling
    # is the best of every ceiling run, and each path is held to it by its own best run (medians beside).
    ceiling = min(results.raw + results.raw_paired)
    print(
        f"ceiling: the best of {len(results.raw) + len(results.raw_paired)} ceiling runs, {rate(ceiling):.0f} MB/s"
    )
    for name, times in (("curl", results.curl), ("ptpipctl", results.ctl)):
        best, median = ceiling / min(times), ceiling / statistics.median(times)
        print(
            f"{name + ' / ceiling':<20} best runs {best:4.0%}, medians {median:4.0%}   "
            f"target >= {TARGET_VS_RAW:.0%}: {verdict(best >= TARGET_VS_RAW)}"
        )
    own_best = min(results.curl_ceiling) / min(results.curl)
    print(
        f"curl alone / ceiling          best runs {ceiling / min(results.curl_ceiling):4.0%}   (curl alone, any server)"
    )
    print(f"curl / curl alone             best runs {own_best:4.0%}   (the daemon's share of curl's gap)")
    paired = statistics.median(r / c for r, c in zip(results.raw_paired, results.curl, strict=True))
    print(f"curl / ceiling, each curl run against a ceiling run right after it (median) = {paired:.0%}")
    library = ceiling / min(results.ours)
    print(
        f"library / ceiling    best runs {library:4.0%}"
        + ("" if library <= 1 else "   (over 100 %: the ceiling is wrong)")
    )
    rss = results.daemon_rss
    print(f"daemon peak RSS   = {rss:.1f} MB  target <= {TARGET_RSS_MB} MB: {verdict(rss <= TARGET_RSS_MB)}")
    rss = max(results.ctl_rss)
    print(f"ptpipctl peak RSS = {rss:.1f} MB  target <= {TARGET_RSS_MB} MB: {verdict(rss <= TARGET_RSS_MB)}")
    print(f"library peak RSS  = {max(results.rss):.1f} MB")
    idle, busy = results.iso_idle, results.iso_busy
    p99 = percentile(busy, 0.99)
    print(
        f"get iso, idle     p50 {percentile(idle, 0.5):.1f} ms  p99 {percentile(idle, 0.99):.1f} ms  ({len(idle)} calls)"
    )
    print(
        f"get iso, download p50 {percentile(busy, 0.5):.1f} ms  p99 {p99:.1f} ms  ({len(busy)} calls)"
        f"  target p99 <= {TARGET_ISO_P99_MS} ms: {verdict(p99 <= TARGET_ISO_P99_MS)}"
    )
    gib = size / (1 << 30)
    daemon_cpu, sim_cpu = statistics.median(results.daemon_cpu), statistics.median(results.sim_cpu)
    print(
        f"CPU per GiB through curl: daemon {daemon_cpu / gib:.2f} s, simulator {sim_cpu / gib:.2f} s (medians)"
    )
    daemon_cpu, sim_cpu, ctl_cpu = (statistics.median(c) / gib for c in zip(*results.ctl_cpu, strict=True))
    print(
        f"CPU per GiB through ptpipctl: daemon {daemon_cpu:.2f} s, simulator {sim_cpu:.2f} s, ptpipctl {ctl_cpu:.2f} s"
        " (with its measuring wrapper; medians)"
    )
    print("content: SHA-256 of every download matches the bigobject formula")
    if results.daemon_profile:
        print("\nprofile of one curl download in the daemon (py-spy, share of samples by own time):")
        print(results.daemon_profile)
    if results.profile:
        print("\nprofile of one GetObject through our initiator (cProfile, by own time):")
        print(results.profile)


if __name__ == "__main__":
    main()

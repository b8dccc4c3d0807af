"""Start-up cost of ``ptpipctl get iso``, against bare Python and gphoto2, in one run.

Run with ``.venv/bin/python bench/cli.py [--runs 20]``. Measured, each the median wall time of ``--runs``
runs (after two warm-up runs each; the three commands take turns, so drift hits them alike):

* **ptpipctl get iso**: the installed ``ptpipctl`` script against ``ptpipd --simulate generic`` (a
  subprocess) on its Unix socket.
* **python -c pass**: the interpreter ptpipctl runs on (this venv's), doing nothing: the floor for any
  Python client.
* **gphoto2 --get-config iso**: Debian's gphoto2 against ``python -m ptpipd.sim --vendor generic --port 0``
  (``--port ptpip:127.0.0.1:PORT:PORT --camera "PTP/IP Camera"``, its own temporary HOME): a C client
  that opens a PTP/IP session itself.

For information it also times ``ptpipctl`` through typer (``PTPIPCTL_FAST=0``), i.e. without the fast path.

Targets: ptpipctl ≤ 3× bare Python start-up, and ≥ 5× faster than gphoto2. The second cannot be met by
any Python program on a machine where the interpreter alone needs more than a fifth of gphoto2's time; the
report prints that floor. Prints "met" / "NOT met"; never exits non-zero because of a time.

Bytecode: the runs here are allowed to write ``__pycache__`` (``PYTHONDONTWRITEBYTECODE`` is dropped for
them), as an installed package has its bytecode compiled at install time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.procs import running_daemon, running_sim  # noqa: E402

TARGET_VS_PYTHON = 3.0
TARGET_VS_GPHOTO2 = 5.0
PTPIPCTL = Path(sys.executable).with_name("ptpipctl")


def timed(command: list[str], env: dict[str, str], check: Callable[[bytes], bool]) -> float:
    """Wall time of one run (seconds); fails loudly when the command does not do its job."""
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or not check(proc.stdout):
        raise SystemExit(f"benchmark command failed: {command}: rc={proc.returncode} {proc.stderr!r}")
    return elapsed


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each command (default 20)")
    args = parser.parse_args()
    gphoto2 = shutil.which("gphoto2")
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PTPIPCTL_", "PTPIPD_", "_PTPIPCTL"))
    }
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        with (
            running_daemon(work / "daemon", "--simulate", "generic", "--log-level", "warning") as daemon,
            running_sim("generic") as sim,
        ):
            daemon.wait_connected()
            ctl_env = dict(base_env, PTPIPCTL_SOCKET=str(daemon.socket_path))
            gp_env = dict(base_env, HOME=str(work / "home"))
            commands: dict[str, tuple[list[str], dict[str, str], Callable[[bytes], bool]]] = {
                "ptpipctl get iso": ([str(PTPIPCTL), "get", "iso"], ctl_env, lambda out: b"\nvalue " in out),
                "python -c pass": ([sys.executable, "-c", "pass"], base_env, lambda out: out == b""),
                "ptpipctl get iso (typer path)": (
                    [str(PTPIPCTL), "get", "iso"],
                    dict(ctl_env, PTPIPCTL_FAST="0"),
                    lambda out: b"\nvalue " in out,
                ),
            }
            if gphoto2:
                port = f"ptpip:{sim.host}:{sim.port}:{sim.port}"
                commands["gphoto2 --get-config iso"] = (
                    [gphoto2, "--port", port, "--camera", "PTP/IP Camera", "--get-config", "iso"],
                    gp_env,
                    lambda out: b"Current: " in out,
                )
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(2):  # warm-up: page cache, bytecode, the daemon's first requests
                for command, env, check in commands.values():
                    timed(command, env, check)
            for _ in range(args.runs):
                for name, (command, env, check) in commands.items():
                    times[name].append(timed(command, env, check))
    median = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    print(f"median wall time of {args.runs} runs (ms), {sys.executable}")
    for name, value in median.items():
        print(
            f"  {name:<32} {value:8.2f}   (min {min(times[name]) * 1e3:.2f}, max {max(times[name]) * 1e3:.2f})"
        )
    ctl = median["ptpipctl get iso"]
    python = median["python -c pass"]
    vs_python = ctl / python
    print(
        f"ptpipctl / bare python:  {vs_python:5.2f}x   target <= {TARGET_VS_PYTHON:g}x   "
        f"{verdict(vs_python <= TARGET_VS_PYTHON)}"
    )
    if "gphoto2 --get-config iso" in median:
        gp = median["gphoto2 --get-config iso"]
        speedup = gp / ctl
        print(
            f"gphoto2 / ptpipctl:      {speedup:5.2f}x   target >= {TARGET_VS_GPHOTO2:g}x   "
            f"{verdict(speedup >= TARGET_VS_GPHOTO2)}"
        )
        floor = gp / python
        print(
            f"  floor: bare python alone is {python:.2f} ms, so no Python client can be more than "
            f"{floor:.2f}x faster than gphoto2 ({gp:.2f} ms) here"
        )
    else:
        print("gphoto2 / ptpipctl:      gphoto2 is not installed: not measured")
    typer = median["ptpipctl get iso (typer path)"]
    print(f"fast path saves {typer - ctl:.2f} ms per call ({typer / ctl:.1f}x faster than through typer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

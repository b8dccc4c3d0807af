"""Helpers of the ingest tests: a daemon with ``--ingest-dir`` on a simulated camera (real subprocesses, real
sockets), the simulator's own account of the pictures it took, and a hook script that writes down its runs.

What the camera holds is read from the simulator's side, never through the daemon: its ``new picture NAME
(card): SIZE bytes, sha256 HASH`` log lines and, with ``--card DIR``, the photo files it keeps there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.daemon.conftest import wait_until
from tests.procs import DaemonProcess, SimProcess, running_daemon, start_sim

#: The simulator options every ingest test uses: no battery noise, photos ten times faster to draw.
SIM_ARGS = ("--battery-interval", "0", "--image-size", "640x480")
NEW_PICTURE = re.compile(
    r"new picture (\S+) \((?:card|RAM, for the host)\): (\d+) bytes, sha256 ([0-9a-f]{64})"
)
SHUTTER = "shutter pressed on the body"
#: The photos on the simulated generic card before anyone shoots.
INITIAL = frozenset({"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"})


def pictures(*sims: SimProcess, before: frozenset[str] | set[str] = INITIAL) -> dict[str, tuple[int, str]]:
    """Every new picture the simulators logged: name → (size, SHA-256), less those ``before`` names (the
    generic card's first photos)."""
    out: dict[str, tuple[int, str]] = {}
    for sim in sims:
        for name, size, sha in NEW_PICTURE.findall(sim.stderr_text()):
            if name not in before:
                out[name] = (int(size), sha)
    return out


def card_photos(card: Path) -> dict[str, str]:
    """The photos a ``--card`` directory holds (its journal, less deletions): name → SHA-256 of the file."""
    names: dict[int, str] = {}
    lines = [json.loads(line) for line in (card / "card.jsonl").read_text().splitlines()]
    for number, record in enumerate(r for r in lines if r["op"] == "photo"):
        names[number] = record["name"]
    deleted = {r["handle"] for r in lines if r["op"] == "delete"}
    assert not deleted, "these tests delete nothing"
    return {name: sha256(card / name) for name in names.values()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ingest_status(daemon: DaemonProcess) -> dict[str, Any]:
    status = daemon.call("status")
    assert "ingest" in status, status
    return dict(status["ingest"])


def shoot(sim: SimProcess, count: int) -> None:
    """Presses the simulated body's shutter ``count`` times (SIGUSR1), each once the last press is logged."""
    for _ in range(count):
        pressed = sim.stderr_text().count(SHUTTER)
        sim.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda p=pressed: sim.stderr_text().count(SHUTTER) > p, 20, "the simulator's shutter")


def start_camera(card: Path | None, *extra: str, port: int = 0, vendor: str = "generic") -> SimProcess:
    """A simulated camera (generic: with ``--card``); ``port`` the same as a killed one to restart it."""
    args = [*SIM_ARGS] if vendor == "generic" else ["--battery-interval", "0"]
    if card is not None:
        args += ["--card", str(card)]
    if port:
        args = [a for a in args] + ["--port", str(port)]
    return start_sim(vendor, *args, *extra)


@contextlib.contextmanager
def ingest_daemon(workdir: Path, sim: SimProcess, out: Path, *extra: str) -> Iterator[DaemonProcess]:
    """A daemon ingesting into ``out`` from ``sim``, connected, its first look at the card done (what was on
    it is recorded as there before ingest)."""
    vendor = [] if "--vendor" in extra else ["--vendor", "generic"]
    with running_daemon(
        workdir, "--host", sim.host, "--port", str(sim.port), "--ingest-dir", str(out), *vendor, *extra
    ) as daemon:
        ready(daemon)
        yield daemon


def ready(daemon: DaemonProcess, scans: int = 1) -> None:
    """Waits for the camera connection and ingest's look at the card."""
    daemon.wait_connected()
    wait_until(lambda: ingest_status(daemon)["scans"] >= scans, 30, "ingest's scan of the card")


def hook_script(tmp_path: Path, body: str = "") -> tuple[Path, Path]:
    """A hook that appends ``ACTION ARGUMENT SHA HANDLE`` to a log, then runs ``body``: (script, log)."""
    log = tmp_path / "hook.log"
    script = tmp_path / "hook.sh"
    script.write_text(f'#!/bin/sh\necho "$ACTION $ARGUMENT $PTPIPD_SHA256 $PTPIPD_HANDLE" >> {log}\n{body}\n')
    script.chmod(0o755)
    return script, log


def hook_runs(log: Path) -> list[list[str]]:
    """The hook log's lines, split."""
    return [line.split(" ") for line in log.read_text().splitlines()] if log.exists() else []


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, exited and not yet reaped, does not run)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"

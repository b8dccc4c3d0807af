"""A daemon on the simulated generic camera for the contrib scripts, with its legacy text listener on; and
helpers to run a script and to watch, over our own JSON-RPC connection, what it made the camera do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.procs import REPO, DaemonProcess, running_daemon
from tests.rpcclient import RpcConnection

CONTRIB = REPO / "contrib"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimDaemon:
    """The running daemon, its simulated camera's vendor, where its captures go, its legacy listener."""

    def __init__(self, daemon: DaemonProcess, vendor: str, legacy: tuple[str, int]) -> None:
        self.daemon = daemon
        self.vendor = vendor
        self.legacy = legacy

    @property
    def socket(self) -> Path:
        return self.daemon.socket_path

    @property
    def captures(self) -> Path:
        return self.daemon.workdir / "state" / "ptpipd" / "captures"

    def saved(self) -> set[Path]:
        """The pictures the daemon has saved so far."""
        return set(self.captures.iterdir()) if self.captures.is_dir() else set()

    def call(self, method: str, params: Any = None) -> Any:
        return self.daemon.call(method, params)

    def connect(self) -> RpcConnection:
        return self.daemon.connect()

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for a script: the daemon's socket in PTPIPD_SOCKET, nothing of the test's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPD_", "PTPIPCTL_"))}
        env["PTPIPD_SOCKET"] = str(self.socket)
        env.update(extra)
        return env


@pytest.fixture(scope="module", params=["generic", "fuji"])
def sim_daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimDaemon]:
    """``ptpipd --simulate VENDOR`` for both simulated cameras, one per module and vendor."""
    vendor = str(request.param)
    workdir = tmp_path_factory.mktemp(f"contrib-{vendor}")
    legacy = ("127.0.0.1", free_tcp_port())
    with running_daemon(workdir, "--simulate", vendor, "--legacy", f"{legacy[0]}:{legacy[1]}") as daemon:
        daemon.wait_connected()
        yield SimDaemon(daemon, vendor, legacy)


def run(
    command: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A script run to completion (bounded), its output captured."""
    return subprocess.run(command, env=env, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout)


def python_script(name: str) -> list[str]:
    return [sys.executable, str(CONTRIB / name)]


def collect(
    conn: RpcConnection, until: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Notifications on ``conn`` (already received or arriving) up to and including the first for which
    ``until`` is true; TimeoutError when it does not come within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    out: list[dict[str, Any]] = []
    while True:
        note = conn.notification(timeout=max(deadline - time.monotonic(), 0.001))
        out.append(note)
        if until(note):
            return out


def property_note(name: str, label: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def match(note: dict[str, Any]) -> bool:
        p = note["params"]
        return note["method"] == "notify.property" and p["property"] == name and label in (None, p["label"])

    return match


def story(notes: list[dict[str, Any]], prop: str) -> list[str]:
    """The notifications as a readable sequence: ``prop=label`` changes and ``shot`` for each picture
    taken (the standard CaptureComplete event, 0x400D, which both simulated cameras send), with repeated
    announcements of the same value collapsed."""
    out: list[str] = []
    for note in notes:
        p = note["params"]
        if note["method"] == "notify.property" and p["property"] == prop:
            item = f"{prop}={p['label']}"
        elif is_shot(note):
            item = "shot"
        else:
            continue
        if not out or out[-1] != item or item == "shot":
            out.append(item)
    return out


def is_shot(note: dict[str, Any]) -> bool:
    """A picture was taken: CaptureComplete (0x400D)."""
    return note["method"] == "notify.event" and note["params"]["code"] == "0x400d"

"""Issue 15 item 18 (the daemon's part): ``status`` says when the last error happened (``last_error_time``)
and how many connection attempts were made since the last success (``attempts``); after a reconnection the
last error stays, with its time, beside "connected" — and ``ptpipctl status`` shows both.

The camera is a real simulator process that is killed and started again on the same port; the daemon is a
real ``ptpipd``; every wait is on the daemon's own ``notify.connection`` notifications."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.daemon.conftest import next_note
from tests.procs import REPO, running_daemon, start_sim


def ptpipctl_status(socket: Path) -> dict[str, str]:
    """``ptpipctl status`` as a {key: value} table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTPIPD_", "PTPIPCTL_"))}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ptpipctl")), "--socket", str(socket), "status"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line.split(None, 1) if "  " not in line else line.split("  ", 1) for line in done.stdout.splitlines()
    ]
    return {key.strip(): value.strip() for key, value in rows}


def test_attempts_count_while_away_and_the_last_error_keeps_its_time(tmp_path: Path) -> None:
    sim = start_sim("generic", "--battery-interval", "0")
    port = sim.port
    try:
        with (
            running_daemon(tmp_path / "d", "--host", "127.0.0.1", "--port", str(port)) as daemon,
            daemon.connect() as conn,
        ):
            daemon.wait_connected()
            conn.call("subscribe", {"topics": ["connection"]})
            fresh = conn.call("status")
            assert (fresh["attempts"], fresh["last_error"], fresh["last_error_time"]) == (0, None, None)

            killed = time.time()
            sim.kill()
            sim.stop()
            next_note(conn, "notify.connection", lambda p: p["state"] == "disconnected")
            # two failed attempts while the camera is away: each ends with "disconnected"
            for _ in range(2):
                next_note(conn, "notify.connection", lambda p: p["state"] == "connecting")
                next_note(conn, "notify.connection", lambda p: p["state"] == "disconnected", timeout=20)
            away = conn.call("status")
            assert away["state"] in ("disconnected", "connecting")
            assert away["attempts"] >= 2, away
            assert away["reconnects"] == 0, "not reconnected yet"
            assert away["last_error"], away
            assert killed <= away["last_error_time"] <= time.time(), away

            sim = start_sim("generic", "--port", str(port), "--battery-interval", "0")
            next_note(conn, "notify.connection", lambda p: p["state"] == "connected", timeout=40)
            back = conn.call("status")
            assert back["state"] == "connected"
            assert back["attempts"] == 0
            assert back["reconnects"] == 1
            assert back["last_error"], "the last error stays after reconnecting"
            assert killed <= back["last_error_time"] <= back["connected_since"], back

            shown = ptpipctl_status(daemon.socket_path)
            assert shown["state"] == "connected"
            assert shown["attempts"] == "0"
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(back["last_error_time"]))
            assert shown["last error"] == f"{back['last_error']} (at {when})", shown
    finally:
        sim.stop()

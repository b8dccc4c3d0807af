"""The camera dies in the middle of a transfer and comes back on the same port: the daemon fails what was
in flight quickly and with the right code, says so (``status``, ``notify.connection``, STATUS=), reconnects
by itself, and serves again without being restarted."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from ptpipd.sim import bigobject
from tests.daemon.conftest import next_note, wait_until
from tests.procs import running_daemon, running_sim, start_daemon, start_sim

#: The daemon's transaction timeout in this test (PTPIPD_TIMEOUT): in-flight calls must fail within it.
TIMEOUT_S = 4.0
#: The generic simulator's BIG00001.BIN (``--object-size``) has handle 6 (ptpipd/sim/generic_model.py).
BIG_HANDLE = 6
BIG_SIZE = 100 << 20
GET_OBJECT = re.compile(r"\b0x1009 tid=\d+ \(6,\)")


def queued_towards_daemon(sim_port: int) -> int:
    """Bytes sent by the simulator but not yet read by the daemon, on every connection from the simulator's
    port: its send queues plus the daemon's receive queues (/proc/net/tcp, loopback IPv4)."""
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, queues = fields[1], fields[2], fields[4]
        tx, rx = (int(q, 16) for q in queues.split(":"))
        if int(local.split(":")[1], 16) == sim_port:
            total += tx
        elif int(remote.split(":")[1], 16) == sim_port:
            total += rx
    return total


@pytest.mark.slow
def test_camera_killed_mid_transfer_and_restarted(tmp_path: Path) -> None:
    # Every answer of the first simulator is delayed 0.25 s, so the test sees the GetObject arrive (-v log)
    # before any of the object is sent.
    sim = start_sim(
        "generic", "--object-size", "100M", "--response-delay", "0.25", "--battery-interval", "0", "-v"
    )
    port = sim.port
    daemon = start_daemon(
        tmp_path / "daemon",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env={"PTPIPD_TIMEOUT": str(TIMEOUT_S)},
    )
    captures = tmp_path / "daemon" / "state" / "ptpipd" / "captures"
    try:
        daemon.wait_connected()
        with daemon.connect("unix") as watcher, daemon.connect("tcp") as a:
            watcher.call("subscribe", {"topics": ["connection"]})
            a.send_line(json.dumps({"jsonrpc": "2.0", "method": "download", "params": [BIG_HANDLE], "id": 1}))
            wait_until(lambda: GET_OBJECT.search(sim.stderr_text()), 10, "the simulator receives GetObject")
            # Freeze the daemon so that the simulator can only send what the socket buffers take: the
            # transfer is then guaranteed to be under way and far from complete when the camera dies.
            os.kill(daemon.pid, signal.SIGSTOP)
            try:
                wait_until(lambda: queued_towards_daemon(port) > (1 << 20), 10, "object data on the wire")
                sim.kill()
                sim.stop()  # collects what is left of it (nothing is signalled: it is dead)
                notify_cursor = len(daemon.notify.messages)
            finally:
                os.kill(daemon.pid, signal.SIGCONT)
            resumed = time.monotonic()

            # the call in flight fails, with -32000 or -32001, within the timeout
            response = a.read_response(timeout=TIMEOUT_S + 5)
            elapsed = time.monotonic() - resumed
            assert response["id"] == 1
            assert response["error"]["code"] in (-32000, -32001), response
            assert elapsed < TIMEOUT_S + 1, f"the failure took {elapsed:.1f} s"
            # nothing half-written is left behind
            assert not list(captures.glob("BIG*")), list(captures.iterdir())
            assert not list(captures.glob(".ptpipd-*")), list(captures.iterdir())

            # the daemon says it lost the camera: notification, status, sd_notify STATUS=
            gone = next_note(watcher, "notify.connection", lambda p: p["state"] == "disconnected")
            assert gone.get("reason")
            status = a.call("status")
            assert status["state"] in ("disconnected", "connecting"), status
            assert status["last_error"]
            assert status["connected_since"] is None
            lost = daemon.notify.wait_for("STATUS", None, timeout=10, after=notify_cursor)
            assert "disconnected" in lost["STATUS"] or "connecting" in lost["STATUS"], lost
            # calls while the camera is away fail fast with -32000 and its state
            while_away = a.request("get", ["iso"], timeout=10)
            assert while_away["error"]["code"] == -32000, while_away
            assert while_away["error"]["data"]["state"] in ("disconnected", "connecting")

            # the camera comes back on the same port; meanwhile the notify socket is read, as systemd reads it
            # (a full queue would drop the daemon's next STATUS: one per state change, two per attempt)
            daemon.notify.drain()
            sim = start_sim("generic", "--port", str(port), "--object-size", "100M")
            assert sim.port == port
            back = next_note(watcher, "notify.connection", lambda p: p["state"] == "connected", timeout=40)
            assert back == {"state": "connected"}
            status = a.call("status")
            assert status["state"] == "connected"
            assert status["reconnects"] == 1
            assert isinstance(status["connected_since"], float)
            daemon.notify.wait_until(
                lambda m: m.get("STATUS", "").startswith("camera connected"), timeout=5, after=notify_cursor
            )

            # and the same daemon serves again, transfers included, on both connections
            assert a.call("get", ["iso"])["property"] == "iso"
            assert watcher.call("get", ["iso"])["property"] == "iso"
            files = {f["filename"]: f for f in a.call("files")}
            assert files["BIG00001.BIN"]["handle"] == BIG_HANDLE
            big = a.call("download", [BIG_HANDLE], timeout=60)
            path = Path(big["path"])
            assert path.stat().st_size == big["size"] == BIG_SIZE
            with path.open("rb") as f:
                assert f.read(len(bigobject.block(0))) == bigobject.block(0)
        assert daemon.proc.poll() is None
    finally:
        rc, log = daemon.stop()
        sim.stop()
    assert rc == 0, log
    assert "Traceback" not in log, log


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_camera_absent_at_start(tmp_path: Path) -> None:
    """No camera yet: READY=1 anyway (clients can connect and ask), requests fail with -32000 and the
    state, and the daemon connects by itself when the camera appears."""
    port = free_port()
    with (
        running_daemon(tmp_path / "d", "--host", "127.0.0.1", "--port", str(port)) as daemon,
        daemon.connect("tcp") as conn,
    ):
        conn.call("subscribe", {"topics": ["connection"]})
        response = conn.request("get", ["iso"], timeout=15)
        assert response["error"]["code"] == -32000, response
        assert response["error"]["data"]["state"] in ("disconnected", "connecting")
        status = conn.call("status")
        assert status["state"] in ("disconnected", "connecting")
        assert status["camera"] is None
        assert status["last_error"]
        with running_sim("generic", "--port", str(port), "--battery-interval", "0"):
            next_note(conn, "notify.connection", lambda p: p["state"] == "connected", timeout=40)
            assert conn.call("get", ["iso"])["property"] == "iso"
            assert conn.call("status")["reconnects"] == 0  # a first connection, not a reconnection


#: The shortest wait the backoff ever makes (ServiceOptions.backoff_initial 0.5 s × 0.5), with some slack.
MIN_GAP_S = 0.2
FLAPS = 6


def test_a_camera_that_drops_each_session_at_once_is_retried_with_backoff(tmp_path: Path) -> None:
    """Review w/rev-daemon: the session loop reset its backoff as soon as a connection opened and, after a
    lost link, connected again at once: a camera that accepts the session and then drops it (a body going to
    sleep, a Wi-Fi link that carries the handshake and little more, the simulator's ``--idle-timeout``) was
    hammered with full handshakes (82 in 6 s), each logged as a WARNING. A link that did not stay up
    (``stable_after``, 10 s) is retried after the backoff's delay like a failed attempt; its repeated failure
    is logged once."""
    # the simulated camera drops clients silent for 50 ms; the daemon's keepalive comes every 3 s
    with (
        running_sim("generic", "--idle-timeout", "0.05", "--battery-interval", "0") as sim,
        running_daemon(tmp_path, "--host", "127.0.0.1", "--port", str(sim.port)) as daemon,
        daemon.connect() as conn,
    ):
        conn.call("subscribe", {"topics": ["connection"]})
        gaps: list[float] = []
        for _ in range(FLAPS):
            next_note(conn, "notify.connection", lambda p: p["state"] == "disconnected")
            lost = time.monotonic()
            next_note(conn, "notify.connection", lambda p: p["state"] == "connecting")
            gaps.append(time.monotonic() - lost)
        log = daemon.stderr_text()
    assert min(gaps) >= MIN_GAP_S, f"reconnected after {[round(g, 3) for g in gaps]} s"
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert warnings == [warnings[0]] and "camera disconnected: the camera closed" in warnings[0], log
    assert log.count("camera connected to ") == 2, log  # the first, back once (INFO); the repeats are DEBUG

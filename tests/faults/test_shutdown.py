"""README: SIGTERM → the daemon exits within 5 s, whatever is attached. Measured before: 7-9 s with clients
and downloads attached (the drain's grace, CloseSession, the HTTP server's cleanup and each listener's close
one after the other).

A real ``ptpipd`` subprocess against the hostile camera: a ``get`` is in flight that the camera never answers
(so the drain waits out its grace, and CloseSession goes unanswered too), another ``get`` over TCP and an
HTTP download wait behind it, and a legacy client is connected; then SIGTERM. The bound is measured by waiting on the process with a timeout.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.faults.conftest import check, daemon_on, response_within, send_request
from tests.hostile import OC, HostileCamera, hold, stream_data
from tests.legacy.conftest import legacy_port

#: README's promise.
SHUTDOWN_S = 5.0


def test_sigterm_with_clients_mid_request_exits_within_5_s(camera: HostileCamera, tmp_path: Path) -> None:
    camera.on(OC.GetDevicePropValue, hold)
    with (
        daemon_on(camera, tmp_path / "d", "--legacy", "127.0.0.1:0", env={"PTPIPD_TIMEOUT": "30"}) as daemon,
        daemon.connect() as shooter,
        daemon.connect(via="tcp") as other,
    ):
        http_address = daemon.call("status")["http"]["addresses"][-1]
        host, port = http_address.removeprefix("http://").rsplit(":", 1)
        send_request(shooter, "get", ["iso"])
        assert camera.fired.wait(10), "the daemon never sent GetDevicePropValue"
        send_request(other, "get", ["iso"])
        download = http.client.HTTPConnection(host, int(port), timeout=30)
        download.request("GET", "/files/3")  # queued behind the capture; its answer never read
        legacy = socket.create_connection(("127.0.0.1", legacy_port(daemon)), timeout=30)
        try:
            started = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            try:
                code = daemon.proc.wait(SHUTDOWN_S)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - started
        finally:
            legacy.close()
            download.close()
        check(code == 0, f"exit code {code} ({took:.2f} s after SIGTERM)")
        check(took <= SHUTDOWN_S, f"the daemon exited {took:.2f} s after SIGTERM")


def test_a_request_cut_short_by_the_shutdown_is_told_the_daemon_is_stopping(
    camera: HostileCamera, tmp_path: Path
) -> None:
    """Review w/rev-daemon: a download the camera feeds with endless data outlasts the drain's grace (2.5 s);
    it was then failed by the link the drain closed ("camera connection lost: the initiator was closed",
    state disconnected), as if the camera had gone, instead of by the daemon's end."""
    camera.on(OC.GetObject, stream_data(chunk=1024, interval=0.05))
    with (
        daemon_on(camera, tmp_path / "d", env={"PTPIPD_TIMEOUT": "30"}) as daemon,
        daemon.connect() as conn,
    ):
        send_request(conn, "download", {"handle": 1})
        assert camera.fired.wait(10), "the daemon never sent GetObject"
        daemon.proc.send_signal(signal.SIGTERM)
        response, _ = response_within(conn, SHUTDOWN_S, "the download cut short")
        assert daemon.proc.wait(SHUTDOWN_S) == 0
    error = response.get("error") or {}
    check(
        error.get("code") == -32000 and error.get("message") == "the daemon is stopping",
        f"the download cut short by the shutdown got {response}",
    )

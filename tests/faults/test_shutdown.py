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

from tests.faults.conftest import check, daemon_on, send_request
from tests.hostile import OC, HostileCamera, hold
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

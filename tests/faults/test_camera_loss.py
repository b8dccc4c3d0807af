"""Issue 14, defects 2, 3 and 7: a camera that vanishes, stalls, streams forever or claims 4 GiB must not
hold any client hostage nor keep the daemon's memory.

A real ``ptpipd`` subprocess talks to the hostile fake camera (tests/hostile.py) over real sockets; the
SIGSTOP case stops a real camera process.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import pytest

from ptpipd.camera import Camera
from ptpipd.errors import NotConnected
from tests.faults.conftest import (
    check,
    daemon_on,
    error_code,
    hostile_process,
    response_within,
    send_request,
)
from tests.hostile import OC, HostileCamera, freeze_now, huge_data, ok_then_hold, stream_data, trickle
from tests.procs import draining, read_line_until, start_sim

#: "Within milliseconds" (issue 14: 14 ms without a capture), judged against a generous bound.
AT_ONCE_S = 1.0
#: The daemon's transaction timeout in the deadline tests (PTPIPD_TIMEOUT), and the bound on a property
#: read's overall deadline: a few times that timeout, far below the 38-50 s the issue measured.
TIMEOUT_S = 1.0
PROPERTY_DEADLINE_S = 5.0 * TIMEOUT_S
#: Keepalive interval in the SIGSTOP test (PTPIPD_KEEPALIVE), and the bound on noticing a stopped camera:
#: the interval, the service's 5 s keepalive answer timeout, and a margin (today: 30-40 s).
KEEPALIVE_S = 0.5
STALL_NOTICED_S = 8.0
#: RSS a failed 4 GiB transfer may still hold right after it failed (the in-memory buffer was 64 MiB).
RSS_SLACK_KIB = 16 * 1024


@pytest.mark.parametrize("rst", [True, False], ids=["rst", "close"])
def test_camera_vanishing_during_capture_fails_the_calls_at_once(
    camera: HostileCamera, tmp_path: Path, rst: bool
) -> None:
    """Issue 14 defect 2: InitiateCapture answered OK, then the camera vanishes (RST or FIN) before
    CaptureComplete. The capture must fail with -32000 and the call queued behind it must be answered,
    both within well under a second of the camera vanishing (before the service reshape on main: 30 s,
    capture_timeout; fixed there, this test reproduced it first and now guards it)."""
    camera.on(OC.InitiateCapture, ok_then_hold)
    with daemon_on(camera, tmp_path / "d") as daemon, daemon.connect() as shooter, daemon.connect() as other:
        send_request(shooter, "capture", {"inline": True})
        assert camera.fired.wait(10), "the daemon never sent InitiateCapture"
        send_request(other, "get", ["iso"])
        vanished = camera.vanish(rst)
        response, at = response_within(shooter, AT_ONCE_S, "capture in flight when the camera vanished")
        check(error_code(response) == -32000, f"capture: expected -32000, got {response}")
        check(at - vanished <= AT_ONCE_S, f"capture failed {at - vanished:.3f} s after the camera vanished")
        _, at = response_within(other, AT_ONCE_S, "get iso queued behind the capture")
        check(
            at - vanished <= AT_ONCE_S, f"queued get answered {at - vanished:.3f} s after the camera vanished"
        )


def test_camera_stopped_during_capture_is_noticed(tmp_path: Path) -> None:
    """Issue 14 defect 2, SIGSTOP variant: the camera process answers InitiateCapture OK and is then
    SIGSTOPped (its sockets stay open, nothing more arrives, not even probe answers). With a 0.5 s keepalive
    the capture and the call queued behind it must get an error within 8 s, and ``status`` must stop saying
    "connected" (today: 30 s for the capture, 40 s for the queued call, "connected" all along)."""
    with hostile_process("--on", "InitiateCapture=ok-then-hold") as cam:
        env = {"PTPIPD_KEEPALIVE": str(KEEPALIVE_S)}
        with (
            daemon_on(cam, tmp_path / "d", env=env) as daemon,
            daemon.connect() as shooter,
            daemon.connect() as other,
        ):
            send_request(shooter, "capture", {"inline": True})
            read_line_until(cam.proc, re.compile(r"fired InitiateCapture"), 10)
            send_request(other, "get", ["iso"])
            os.kill(cam.proc.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            for conn, what in ((shooter, "capture"), (other, "get iso queued behind the capture")):
                left = STALL_NOTICED_S - (time.monotonic() - stopped)
                response, _ = response_within(conn, max(left, 0.01), f"{what} (camera SIGSTOPped)")
                check(
                    error_code(response) in (-32000, -32001),
                    f"{what}: expected -32000/-32001 from a stopped camera, got {response}",
                )
            state = daemon.call("status")["state"]
            check(state != "connected", f"status still says {state!r} after the camera stopped answering")


def test_the_probe_beside_a_busy_request_is_bounded_by_keepalive_timeout(
    camera: HostileCamera, tmp_path: Path
) -> None:
    """Review w/rev-daemon: the probe beside a running request had a fixed 5 s limit that neither --timeout
    nor any setting governed (ServiceOptions.keepalive_timeout). It is ``keepalive_timeout``: the camera
    freezes (probes unanswered too) during a ``get`` with ``timeout = 30``, and with ``--keepalive-timeout 1``
    the request fails as a keepalive timeout of 1 s, long before 30 s."""
    camera.on(OC.GetDevicePropValue, freeze_now)
    env = {"PTPIPD_TIMEOUT": "30", "PTPIPD_KEEPALIVE": str(KEEPALIVE_S)}
    with (
        daemon_on(camera, tmp_path / "d", "--keepalive-timeout", "1", env=env) as daemon,
        daemon.connect() as c,
    ):
        send_request(c, "get", ["iso"])
        assert camera.fired.wait(10), "the daemon never asked for the value"
        # within less than the fixed 5 s limit it had before (plus the keepalive interval)
        response, _ = response_within(c, 4.0, "get iso (camera frozen)")
        camera.thaw()
    message = (response.get("error") or {}).get("message", "")
    check(
        error_code(response) == -32001 and "keepalive failed: no answer within 1 s" in message,
        f"get iso on a frozen camera: expected -32001 'keepalive failed: no answer within 1 s', got {response}",
    )


def _deadline_case(camera: HostileCamera, tmp_path: Path) -> None:
    env = {"PTPIPD_TIMEOUT": str(TIMEOUT_S)}
    with daemon_on(camera, tmp_path / "d", env=env) as daemon, daemon.connect() as a, daemon.connect() as b:
        send_request(a, "get", ["iso"])
        assert camera.fired.wait(10), "the daemon never asked for the value"
        send_request(b, "get", ["iso"])
        response, at = response_within(a, PROPERTY_DEADLINE_S, "get iso")
        check(error_code(response) == -32001, f"get iso: expected -32001 (deadline), got {response}")
        check(
            at - camera.fired_at <= PROPERTY_DEADLINE_S, f"get iso failed after {at - camera.fired_at:.1f} s"
        )
        response_within(b, 2.0, "get iso queued behind the stuck one")


def test_endless_data_ends_by_the_deadline(camera: HostileCamera, tmp_path: Path) -> None:
    """Issue 14 defect 3: GetDevicePropValue answered by StartData and a Data packet every 50 ms, forever.
    With ``timeout = 1`` the read must fail with -32001 within 5 s and the client queued behind it must be
    answered (today: silence never lasts 1 s, so it runs for ever; the issue saw 50 s)."""
    camera.on(OC.GetDevicePropValue, stream_data(chunk=1024, interval=0.05))
    _deadline_case(camera, tmp_path)


def test_trickle_ends_by_the_deadline(camera: HostileCamera, tmp_path: Path) -> None:
    """Issue 14 defect 3: GetDevicePropValue answered one byte every 0.5 s (the issue: every 2 s, with the
    default 10 s timeout). With ``timeout = 1`` the read must fail with -32001 within 5 s."""
    camera.on(OC.GetDevicePropValue, trickle(0.5))
    _deadline_case(camera, tmp_path)


def test_a_steady_slow_download_is_not_cut(camera: HostileCamera, tmp_path: Path) -> None:
    """Guard for the fix of defect 3: a download's deadline follows its progress. A 2.5 s GetObject that
    delivers 16 KiB every 50 ms completes although it lasts longer than the 1 s timeout (and than a
    property read's deadline would allow)."""
    size = 50 * 16 * 1024
    camera.on(OC.GetObject, stream_data(size, chunk=16 * 1024, interval=0.05, limit=size, finish=True))
    env = {"PTPIPD_TIMEOUT": str(TIMEOUT_S)}
    with daemon_on(camera, tmp_path / "d", env=env) as daemon, daemon.connect(timeout=30) as conn:
        result = conn.call("download", {"handle": 1})
    assert result["size"] == size
    assert Path(result["path"]).stat().st_size == size


def test_failed_huge_transfers_release_their_memory(camera: HostileCamera, tmp_path: Path) -> None:
    """Issue 14 defect 7: three times, GetDevicePropValue is answered by a Data packet claiming 4 GiB; 80 MiB
    of it arrive, then the camera vanishes. Right after each failed ``get`` the daemon's VmRSS must be back
    within 16 MiB of where it started (today: +64 MiB per failure, 45 → 110 → 177 → 245 MB)."""
    with daemon_on(camera, tmp_path / "d") as daemon, daemon.connect(timeout=30) as conn:
        conn.call("get", ["iso"])
        start = daemon.rss_kib()
        seen = []
        for _ in range(3):
            camera.on(OC.GetDevicePropValue, huge_data())
            response = conn.request("get", ["iso"], timeout=30)
            assert error_code(response) == -32000, response
            seen.append(daemon.rss_kib())
            daemon.wait_connected()
        check(
            max(seen) - start <= RSS_SLACK_KIB,
            f"VmRSS {start // 1024} MiB at the start, {[kib // 1024 for kib in seen]} MiB right after each "
            "failed transfer",
        )


async def test_the_library_cameras_capture_ends_when_the_link_drops(camera: HostileCamera) -> None:
    """Issue 14 defect 2, without the daemon: ``Camera.capture()`` of the library waits for CaptureComplete,
    and the camera vanishes. The wait ends at once with NotConnected, not after ``capture_timeout``."""
    camera.on(OC.InitiateCapture, ok_then_hold)
    async with Camera(host=camera.host, port=camera.port, capture_timeout=30.0) as cam:
        shot = asyncio.create_task(cam.capture())
        assert await asyncio.to_thread(camera.fired.wait, 10), "InitiateCapture never arrived"
        vanished = camera.vanish(rst=False)
        with pytest.raises(NotConnected, match="camera connection lost: "):
            await asyncio.wait_for(shot, 10)
        assert time.monotonic() - vanished <= AT_ONCE_S


#: Issue 14's reliability goal: a camera that returns is connected again within 2 s, however long it was away.
RECONNECT_S = 2.0
#: Failed attempts to wait for before the camera returns: with the old backoff (0.5 s doubling up to 10 s)
#: the next delay would then be 4-8 s.
FAILED_ATTEMPTS = 4


def test_a_camera_that_returns_is_reconnected_within_2_s(tmp_path: Path) -> None:
    """Issue 14 (reliability goal of the camera kill cycles): the simulator is killed, the daemon fails to
    reconnect ``FAILED_ATTEMPTS`` times (counted by its ``notify.connection`` notifications), then the
    simulator starts again on the same port; ``notify.connection`` must say connected within 2 s of its
    ``listening on`` line."""
    sim = start_sim("generic")
    try:
        with (
            daemon_on(sim, tmp_path / "d") as daemon,
            draining(daemon),
            daemon.connect(timeout=30) as watcher,
        ):
            watcher.call("subscribe", {"topics": ["connection"]})
            sim.kill()
            failures = 0
            while failures <= FAILED_ATTEMPTS:  # the loss itself, then the failed attempts
                note = watcher.notification("notify.connection", timeout=30)
                failures += note["params"]["state"] == "disconnected"
            sim.stop()
            sim = start_sim("generic", "--port", str(sim.port))
            back = time.monotonic()
            state = ""
            while state != "connected":
                state = watcher.notification("notify.connection", timeout=30)["params"]["state"]
            took = time.monotonic() - back
            check(took <= RECONNECT_S, f"connected {took:.2f} s after the camera returned")
    finally:
        sim.stop()

"""Issue 14, defects 8 and 9: a flood — of camera events, or of one client's requests — costs only its
source; a subscriber that keeps reading and the other clients are served as before.

Real ``ptpipd`` subprocesses: against the hostile fake camera (its event connection floods 300 k
DevicePropChanged events) and against the built-in simulated camera (one client floods batches of 10,000).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptpipd.ptp import EventCode
from tests.faults.conftest import check_all, daemon_on, simulated_daemon
from tests.hostile import ISO, HostileCamera
from tests.procs import DaemonProcess

FLOOD_EVENTS = 300_000
#: The iso value the camera reports after the flood: the reading subscriber must see it announced.
FINAL_ISO = 1600
#: Bound on any ``status`` or ``get`` answer while the camera floods (today: 3.8-4.5 s).
FLOOD_LATENCY_S = 1.0
#: How long the reading subscriber waits for the announcement after the flood.
SETTLE_S = 20.0

BATCH = 10_000
UNLOADED_S = 1.0
LOADED_S = 1.5
OTHER_CLIENTS = 3
#: Each other client keeps at least this share of its unloaded rate while one client floods (round-robin
#: between four active clients would keep ~3/4; today ~1-2 %).
MIN_RATE_SHARE = 0.2


class Reader(threading.Thread):
    """A subscriber that reads its connection continuously until it sees notify.property FINAL_ISO."""

    def __init__(self, daemon: DaemonProcess) -> None:
        super().__init__(daemon=True)
        self.conn = daemon.connect()
        self.conn.call("subscribe")
        self.count = 0
        self.dropped: dict[str, Any] | None = None
        self.error: str | None = None
        self.saw_final = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + SETTLE_S + 30
        try:
            while time.monotonic() < deadline:
                msg = self.conn.read_message(timeout=deadline - time.monotonic())
                self.count += 1
                method, params = msg.get("method"), msg.get("params") or {}
                if method == "notify.connection" and params.get("state") == "dropped":
                    self.dropped = params
                if method == "notify.property" and params.get("value") == FINAL_ISO:
                    self.saw_final.set()
                    return
        except (TimeoutError, EOFError, OSError) as exc:
            self.error = repr(exc)


def test_an_event_flood_spares_a_reading_subscriber_and_other_clients(
    camera: HostileCamera, tmp_path: Path
) -> None:
    """Issue 14 defect 8: the camera sends 300 k DevicePropChanged(ExposureIndex) events back to back, then
    changes the value and sends one more. A subscriber (all topics) that reads continuously must not be
    dropped and must see ``notify.property`` with the final value; ``status`` and ``get`` of another client
    must answer within 1 s throughout (today: both subscribers dropped, "more than 256 notifications were
    waiting"; ``status`` took 3.8-4.5 s). A subscriber that never reads may be dropped."""
    with daemon_on(camera, tmp_path / "d") as daemon, daemon.connect() as idle, daemon.connect() as poller:
        idle.call("subscribe")
        reader = Reader(daemon)
        reader.start()
        latencies: list[tuple[str, float]] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                for method, params in (("status", None), ("get", ["iso"])):
                    started = time.monotonic()
                    poller.request(method, params, timeout=SETTLE_S)
                    latencies.append((method, time.monotonic() - started))

        polling = threading.Thread(target=poll, daemon=True)
        polling.start()
        camera.flood_events(FLOOD_EVENTS, EventCode.DevicePropChanged, (ISO,))
        camera.iso = FINAL_ISO
        camera.send_event(EventCode.DevicePropChanged, (ISO,))
        reader.join(SETTLE_S)  # it ends once it saw the final value, or was dropped
        done.set()
        polling.join(SETTLE_S)
        reader.conn.close()
        worst = max(latencies, key=lambda item: item[1], default=("nothing", 0.0))
        check_all(
            [
                problem
                for ok, problem in (
                    (reader.dropped is None, f"the reading subscriber was dropped: {reader.dropped}"),
                    (
                        reader.saw_final.is_set(),
                        f"the reading subscriber never saw iso {FINAL_ISO} announced "
                        f"({reader.count} messages, {reader.error or 'no error'})",
                    ),
                    (
                        worst[1] <= FLOOD_LATENCY_S,
                        f"{worst[0]} took {worst[1]:.2f} s during the flood ({len(latencies)} calls)",
                    ),
                )
                if not ok
            ]
        )


# ------------------------------------------------------------------------------------------- fairness


@dataclass
class Tally:
    calls: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def rate(self, seconds: float) -> float:
        return self.calls / seconds


def steady_client(daemon: DaemonProcess, seconds: float, tally: Tally) -> None:
    """``get iso`` one after the other for ``seconds``; every answer counted, errors kept."""
    with daemon.connect(timeout=30) as conn:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            response = conn.request("get", ["iso"], timeout=30)
            tally.calls += 1
            if "error" in response:
                tally.errors.append(response["error"])


def run_clients(daemon: DaemonProcess, seconds: float) -> list[Tally]:
    tallies = [Tally() for _ in range(OTHER_CLIENTS)]
    threads = [threading.Thread(target=steady_client, args=(daemon, seconds, t)) for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return tallies


def flood(daemon: DaemonProcess, stop: threading.Event, batches: list[int]) -> None:
    """One client sends a batch of 10,000 ``get`` calls, reads the answer line, and again, until ``stop``.

    Raw socket I/O (no JSON parsing here) so the flooder does not take the test process's CPU from the
    measured clients."""
    line = (
        json.dumps([{"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": i} for i in range(BATCH)])
        + "\n"
    ).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(daemon.socket_path))
        while not stop.is_set():
            sock.sendall(line)
            pending = b""
            while b"\n" not in pending:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return
                pending += chunk
            batches.append(1)


def test_one_clients_flood_costs_only_that_client(tmp_path: Path) -> None:
    """Issue 14 defect 9: three clients call ``get iso`` in a loop, first alone (1 s), then while a fourth
    client sends batch after batch of 10,000 ``get`` calls (1.5 s). The three must get no error at all and
    keep at least 20 % of their unloaded rate (today: -32006 on some calls, rate ~1-2 % of unloaded; the
    issue: 38 of 155 calls refused, ~4,300 → ~34 calls/s)."""
    with simulated_daemon(tmp_path / "d") as daemon:
        run_clients(daemon, 0.3)  # warm-up
        alone = run_clients(daemon, UNLOADED_S)
        stop = threading.Event()
        batches: list[int] = []
        flooder = threading.Thread(target=flood, args=(daemon, stop, batches), daemon=True)
        flooder.start()
        try:
            loaded = run_clients(daemon, LOADED_S)
        finally:
            stop.set()
            flooder.join(60)
        assert batches, "the flooding client got no answer to its first batch"
        assert all(not t.errors for t in alone), [t.errors[:3] for t in alone]
        unloaded = sum(t.rate(UNLOADED_S) for t in alone) / OTHER_CLIENTS
        errors = [e for t in loaded for e in t.errors]
        rates = [round(t.rate(LOADED_S)) for t in loaded]
        check_all(
            [
                problem
                for ok, problem in (
                    (
                        not errors,
                        f"{len(errors)} of {sum(t.calls for t in loaded)} calls failed: {errors[:3]}",
                    ),
                    (
                        min(rates) >= MIN_RATE_SHARE * unloaded,
                        f"rates fell from {unloaded:.0f}/s per client to {rates}/s during the flood",
                    ),
                )
                if not ok
            ]
        )

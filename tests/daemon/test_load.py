"""20 clients doing get/set in a loop for 10 s against a simulator subprocess.

* every request is answered (right id, a result, never an error, never a timeout);
* no two camera transactions interleave on the wire: the simulator answers each operation only after
  ``--response-delay`` and counts an OperationRequest that arrives before the previous response was
  written as a violation (and closes the connection, which would also show as a reconnect); its stop
  summary must say ``violations=0`` and ``sessions=1``;
* the camera really did the work: the simulator answered at least one transaction per ``get`` and three per
  ``set`` (GetDevicePropDesc, SetDevicePropValue, GetDevicePropValue for the read-back);
* the daemon's memory is stable: VmRSS after warm-up and at the end differ by less than a margin (below).
"""

from __future__ import annotations

import random
import re
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.daemon.conftest import camera_args
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim

CLIENTS = 20
DURATION = 10.0
#: Long enough that an initiator sending its next operation early is caught in the act, short enough for
#: thousands of requests in 10 s.
RESPONSE_DELAY = "0.001"
WARM_UP_REQUESTS = 400
#: RSS margin. Once warm (caches filled, every code path and buffer used once), the daemon keeps nothing
#: per request: the margin only absorbs allocator noise (pymalloc arenas kept or returned, the read
#: buffers of 20 connections, a response line still held by a transport). Measured growth is 0-200 KiB.
#: 2 MiB over the ~3000 requests of the run still catches a leak of ~700 bytes per request or more — a
#: leaked request dict, response line or pydantic model would be larger than that.
RSS_MARGIN_KIB = 2048

SUMMARY = re.compile(r"sim: sessions=(\d+) transactions=(\d+) violations=(\d+)")


@dataclass
class Tally:
    gets: int = 0
    sets: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[SimProcess, DaemonProcess]]:
    with (
        running_sim("generic", "--response-delay", RESPONSE_DELAY) as sim,
        running_daemon(tmp_path / "daemon", *camera_args(sim, "generic")) as daemon,
    ):
        daemon.wait_connected()
        yield sim, daemon


def client_loop(
    daemon: DaemonProcess,
    via: str,
    seed: int,
    labels: list[str],
    stop: threading.Event,
    warm: threading.Event,
    total: list[int],
    lock: threading.Lock,
    tally: Tally,
) -> None:
    rng = random.Random(seed)
    try:
        with daemon.connect(via, timeout=15) as conn:
            while not stop.is_set():
                started = time.perf_counter()
                if rng.random() < 0.5:
                    value = conn.call("get", ["iso"])
                    assert value["property"] == "iso" and value["label"] in labels, value
                    tally.gets += 1
                else:
                    label = rng.choice(labels)
                    value = conn.call("set", {"property": "iso", "value": label})
                    # the read-back happens under the same camera lock: it is our value, not another client's
                    assert value["label"] == label, (label, value)
                    tally.sets += 1
                tally.latencies.append(time.perf_counter() - started)
                with lock:
                    total[0] += 1
                    if total[0] >= WARM_UP_REQUESTS:
                        warm.set()
    except BaseException as exc:  # every failure is reported by the test
        tally.failures.append(f"{via} client {seed}: {exc!r}")
        stop.set()


@pytest.mark.slow
def test_twenty_clients_for_ten_seconds(loaded: tuple[SimProcess, DaemonProcess]) -> None:
    sim, daemon = loaded
    desc = daemon.call("describe", ["iso"])
    labels = [v["label"] for v in desc["form"]["values"]]
    stop, warm, lock = threading.Event(), threading.Event(), threading.Lock()
    total = [0]
    tallies = [Tally() for _ in range(CLIENTS)]
    threads = [
        threading.Thread(
            target=client_loop,
            args=(daemon, "unix" if i % 2 else "tcp", i, labels, stop, warm, total, lock, tallies[i]),
            name=f"client-{i}",
        )
        for i in range(CLIENTS)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        assert warm.wait(30), "no warm-up: the clients did not get going"
        rss_start = daemon.rss_kib()
        stop.wait(max(0.0, DURATION - (time.monotonic() - started)))  # the load period (or a failure)
        rss_end = daemon.rss_kib()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads), "a client is stuck"
    failures = [f for t in tallies for f in t.failures]
    assert not failures, failures[:5]

    gets, sets = sum(t.gets for t in tallies), sum(t.sets for t in tallies)
    requests = gets + sets
    assert all(t.gets + t.sets > 0 for t in tallies), "a client was starved"
    latencies = sorted(x for t in tallies for x in t.latencies)
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99)]

    status = daemon.call("status")
    assert status["state"] == "connected"
    assert status["reconnects"] == 0, status

    summary = SUMMARY.search(sim.stop())
    assert summary, "the simulator did not print its summary"
    sessions, transactions, violations = (int(x) for x in summary.groups())
    assert violations == 0
    assert sessions == 1
    assert transactions >= gets + 3 * sets, (transactions, gets, sets)

    growth = rss_end - rss_start
    print(
        f"\n{requests} requests ({gets} get, {sets} set) by {CLIENTS} clients in {DURATION:.0f} s, "
        f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms; {transactions} camera transactions; "
        f"daemon RSS {rss_start} → {rss_end} KiB ({growth:+d} KiB, "
        f"{growth * 1024 / max(requests, 1):+.0f} bytes/request)"
    )
    assert growth < RSS_MARGIN_KIB, f"daemon RSS grew by {growth} KiB over {requests} requests"

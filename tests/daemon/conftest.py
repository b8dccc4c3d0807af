"""Fixtures for the daemon tests: a simulator subprocess per vendor, a ``ptpipd`` subprocess against it.

Everything runs as real processes talking over real sockets (tests/procs.py). A test that needs a daemon
asks for ``daemon`` (fresh, function-scoped) or ``shared_daemon`` (one per module and vendor, for the
read-mostly method matrix); both are stopped, and their simulators too, when the test or module ends.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim
from tests.rpcclient import RpcConnection

#: The vendors of the shared method matrix (test_methods, test_errors, test_notifications): each case states
#: what the generic and the Fuji simulated bodies answer. Canon has its own module (test_canon_daemon.py).
VENDORS = ["generic", "fuji"]
TRANSPORTS = ["unix", "tcp"]

#: What the generic simulator says it is (ptpipd/sim/generic_model.py).
GENERIC_MANUFACTURER = "ptpipd"
GENERIC_MODEL = "Simulated PTP/IP camera"


def camera_args(sim: SimProcess, vendor: str) -> list[str]:
    """The daemon flags that point it at ``sim``."""
    if vendor == "fuji":
        command, event, stream = sim.ports
        return [
            "--vendor",
            "fuji",
            "--host",
            sim.host,
            "--cmd-data-port",
            str(command),
            "--event-port",
            str(event),
            "--stream-port",
            str(stream),
        ]
    return ["--vendor", vendor, "--host", sim.host, "--port", str(sim.port)]


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sim(vendor: str) -> Iterator[SimProcess]:
    with running_sim(vendor) as s:
        yield s


@pytest.fixture
def daemon(tmp_path: Path, sim: SimProcess, vendor: str) -> Iterator[DaemonProcess]:
    """A daemon connected to a fresh simulator of ``vendor``."""
    with running_daemon(tmp_path / "daemon", *camera_args(sim, vendor)) as d:
        d.wait_connected()
        yield d


@pytest.fixture(scope="module", params=VENDORS)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SimProcess, DaemonProcess]]:
    """(vendor, simulator, daemon) shared by a module's tests; they must not depend on each other's state."""
    vendor = str(request.param)
    with running_sim(vendor) as s:
        workdir = tmp_path_factory.mktemp(f"daemon-{vendor}")
        with running_daemon(workdir, *camera_args(s, vendor)) as d:
            d.wait_connected()
            yield vendor, s, d


# ------------------------------------------------------------------------------------------------ helpers


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.005) -> Any:
    """Polls ``predicate`` until it returns something truthy; fails after ``timeout`` seconds.

    Only for state that has no signal of its own to wait on (a file the daemon writes, /proc counters);
    everything the daemon announces is waited for through its announcement.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def next_note(
    conn: RpcConnection,
    method: str,
    match: Callable[[dict[str, Any]], bool] = lambda params: True,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """The params of the next ``method`` notification whose params satisfy ``match`` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no matching {method} within {timeout} s")
        note = conn.notification(method, timeout=left)
        params: dict[str, Any] = note["params"]
        if match(params):
            return params


def other_enum_value(desc: dict[str, Any]) -> dict[str, Any]:
    """An allowed value of an enum property other than its current one."""
    assert desc["form"]["kind"] == "enum", desc
    for value in desc["form"]["values"]:
        if value["value"] != desc["value"]:
            return dict(value)
    raise AssertionError(f"{desc['property']} allows only its current value")


class Schemas:
    """Validates results against the result schemas of the daemon's own ``rpc.discover`` document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = document["components"]

    def method(self, name: str) -> dict[str, Any]:
        for method in self.document["methods"]:
            if method["name"] == name:
                return dict(method)
        raise AssertionError(f"rpc.discover does not list {name!r}")

    def check(self, name: str, result: Any) -> None:
        schema = dict(self.method(name)["result"]["schema"], components=self.components)
        errors = sorted(Draft202012Validator(schema).iter_errors(result), key=str)
        assert not errors, f"{name} result does not match its OpenRPC schema: {[e.message for e in errors]}"


def run_daemon_once(
    args: list[str], env: dict[str, str], timeout: float = 20.0
) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m ptpipd.daemon ARGS`` that is expected to exit by itself (bad settings etc.)."""
    import sys

    from tests.procs import REPO

    return subprocess.run(
        [sys.executable, "-m", "ptpipd.daemon", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )

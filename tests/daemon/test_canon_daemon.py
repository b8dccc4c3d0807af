"""Our initiator against the simulated EOS 6D, both as subprocesses: ``ptpipd --vendor canon`` and
``ptpipd-sim --vendor canon``, driven over JSON-RPC and through ptpipctl.

Every unified property is read, described and (where the body lets a host) set by its Canon label; a capture
is compared with the simulator's own account of the picture (its log: name, size, SHA-256); a turn of the
body's main dial (SIGUSR2) reaches a subscriber as ``notify.property`` within one polling interval.
"""

from __future__ import annotations

import base64
import hashlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptpipd.vendors.canon import POLL_INTERVAL, CanonDriver
from tests.daemon.conftest import camera_args, next_note
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim

PTPIPCTL = Path(sys.executable).with_name("ptpipctl")
NEW_PICTURE = re.compile(
    r"new picture (\S+) \((card|RAM, for the host)\): (\d+) bytes, sha256 ([0-9a-f]{64})"
)

#: (unified name, label to set, the EOS code it stands for, its label read back), CANON.md §3.
WRITES = [
    ("iso", "800", 0x60, "800"),
    ("exposure", "1/125", 0x70, "1/125"),
    ("shutterspeed", '2"', 0x30, "2s"),  # Canon's display, an alias
    ("fnumber", "f/8", 0x38, "f/8"),
    ("aperture", "11", 0x40, "f/11"),
    ("exp-bias", "+1/3", 0x03, "+1/3"),
    ("exp-bias", "-1 2/3", 0xF3, "-1 2/3"),
    ("whitebalance", "Daylight", 1, "Daylight"),
    ("program", "Av", 2, "Av"),
    ("drive", "Continuous", 1, "Continuous"),
    ("focusmode", "AI Servo", 1, "AI Servo"),
    ("metering", "spot", 1, "Spot"),
    ("imageformat", "RAW+L", 0x0C03, "RAW+L"),
    ("picturestyle", "Landscape", 0x83, "Landscape"),
    ("colorspace", "Adobe RGB", 2, "Adobe RGB"),
    ("artist", "Jane Doe", "Jane Doe", "Jane Doe"),
    ("owner", "J. Doe", "J. Doe", "J. Doe"),
    ("copyright", "(c) 2024 J. Doe", "(c) 2024 J. Doe", "(c) 2024 J. Doe"),
    ("capturetarget", "PC", 4, "PC"),
    ("capturetarget", "card", 2, "card"),
    ("output", "TFT", 1, "TFT"),
    ("output", "off", 0, "off"),
    ("evfmode", "0", 0, "0"),
    ("camera-time", "1717240000", 1717240000, "1717240000"),
]
#: (unified name, value, label) of the read-only ones at power-on.
READ_ONLY = [
    ("battery", 2, "100%"),
    ("shots", 4672, "4672"),
    ("shutter-count", 147, "147"),
    ("lens", "EF24-105mm f/4L IS USM", "EF24-105mm f/4L IS USM"),
    ("serial", "033024014483", "033024014483"),
    ("model-id", 0x80000302, "2147484418"),
]


def test_every_unified_name_is_exercised() -> None:
    tried = {name for name, *_ in WRITES} | {name for name, *_ in READ_ONLY}
    missing = [spec.name for spec in CanonDriver.properties.specs if spec.name not in tried]
    assert not missing, f"no test sets or reads {missing}"


def error(daemon: DaemonProcess, method: str, params: Any) -> dict[str, Any]:
    with daemon.connect() as conn:
        response = conn.request(method, params)
    assert "error" in response, response
    return dict(response["error"])


@pytest.fixture(scope="module")
def canon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimProcess, DaemonProcess]]:
    with running_sim("canon", "--battery-interval", "0") as sim:
        workdir = tmp_path_factory.mktemp("daemon-canon")
        with running_daemon(workdir, *camera_args(sim, "canon")) as daemon:
            daemon.wait_connected()
            yield sim, daemon


@pytest.fixture
def sim(canon: tuple[SimProcess, DaemonProcess]) -> SimProcess:
    return canon[0]


@pytest.fixture
def daemon(canon: tuple[SimProcess, DaemonProcess]) -> DaemonProcess:
    return canon[1]


def test_status_names_the_body_and_its_capabilities(daemon: DaemonProcess) -> None:
    status = daemon.call("status")
    assert status["state"] == "connected" and status["vendor"] == "canon"
    assert status["camera"] == {
        "manufacturer": "Canon Inc.",
        "model": "Canon EOS 6D",
        "serial": "033024014483",  # the body's own serial (0xD1AF), not DeviceInfo's hash
        "version": "3-1.1.2",
    }
    caps = status["capabilities"]
    assert (caps["events"], caps["liveview"], caps["files"]) == ("poll", "poll", True)


def test_info_describes_the_eos_properties(daemon: DaemonProcess) -> None:
    info = daemon.call("info")
    assert info["device"]["model"] == "Canon EOS 6D" and "GetEvent" in info["device"]["operations"]
    by_name = {p["property"]: p for p in info["properties"]}
    assert by_name["iso"]["form"]["values"][0]["label"] == "Auto"
    assert by_name["exposure"]["label"] == "1/250" or by_name["exposure"]["writable"]
    assert {"iso", "exposure", "fnumber", "exp-bias", "imageformat", "battery", "lens"} <= set(by_name)
    assert by_name["battery"]["writable"] is False


@pytest.mark.parametrize(("prop", "label", "value", "shown"), WRITES)
def test_set_by_label_reads_back(
    daemon: DaemonProcess, prop: str, label: str, value: Any, shown: str
) -> None:
    result = daemon.call("set", {"property": prop, "value": label})
    assert (result["value"], result["label"]) == (value, shown)
    got = daemon.call("get", [prop])
    assert (got["value"], got["label"], got["writable"]) == (value, shown, True)
    desc = daemon.call("describe", [prop])
    assert desc["value"] == value
    if desc["form"]["kind"] == "enum":
        assert shown in [v["label"] for v in desc["form"]["values"]]


@pytest.mark.parametrize(("prop", "value", "label"), READ_ONLY)
def test_read_only_properties(daemon: DaemonProcess, prop: str, value: Any, label: str) -> None:
    got = daemon.call("get", [prop])
    assert (got["value"], got["label"], got["writable"]) == (value, label, False)
    assert error(daemon, "set", [prop, label])["code"] == -32005


def test_a_value_the_body_does_not_offer_is_refused_before_it_is_sent(daemon: DaemonProcess) -> None:
    refused = error(daemon, "set", ["iso", "204800"])
    assert refused["code"] == -32005
    assert "25600" in refused["data"]["allowed"] and "204800" not in refused["data"]["allowed"]


def test_capture_and_download_are_the_simulators_picture(
    sim: SimProcess, daemon: DaemonProcess, tmp_path: Path
) -> None:
    daemon.call("set", ["imageformat", "L"])
    daemon.call("set", ["exposure", "1/250"])
    with daemon.connect() as conn:
        shot = conn.call("capture", {"inline": True}, timeout=30)
    made = [m for m in NEW_PICTURE.finditer(sim.stderr_text())][-1]
    data = base64.b64decode(shot["data"])
    assert (shot["format"], shot["size"]) == ("jpeg", int(made[3])) and made[2] == "card"
    assert hashlib.sha256(data).hexdigest() == made[4]
    files = {f["handle"]: f for f in daemon.call("files")}
    assert files[shot["handle"]]["filename"] == made[1] and files[shot["handle"]]["folder"] == "DCIM/100CANON"
    again = daemon.call("download", {"handle": shot["handle"], "inline": True})
    assert base64.b64decode(again["data"]) == data


def test_a_dial_turned_on_the_body_is_notified_within_one_poll(
    sim: SimProcess, daemon: DaemonProcess
) -> None:
    with daemon.connect() as conn:
        conn.call("set", ["program", "M"])  # in M the main dial turns the shutter speed (in Av the aperture)
        before = conn.call("get", ["exposure"])
        assert conn.call("subscribe", {"topics": ["property"]}) is True
        sent = time.monotonic()
        sim.proc.send_signal(signal.SIGUSR2)
        note = next_note(conn, "notify.property", lambda p: p["property"] == "exposure", timeout=5)
        elapsed = time.monotonic() - sent
    assert note["value"] != before["value"] and note["code"] == "0xd102"
    # one polling interval, plus the signal's delivery and the two GetEvent round trips of the read-back
    assert elapsed < POLL_INTERVAL + 0.25, elapsed


def test_ptpipctl_on_the_canon(daemon: DaemonProcess, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PTPIPCTL_SOCKET": str(daemon.socket_path), "PATH": "/usr/bin:/bin"}

    def ctl(*args: str) -> str:
        result = subprocess.run([str(PTPIPCTL), *args], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "Canon EOS 6D" in ctl("status")
    assert "f/5.6" in ctl("set", "fnumber", "f/5.6")
    assert "f/5.6" in ctl("get", "aperture")
    assert "RAW+L" in ctl("describe", "imageformat")

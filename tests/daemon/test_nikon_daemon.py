"""Our daemon against each simulated Nikon (both as subprocesses, over real sockets).

Every unified property by label, capture and download checked by SHA-256 against the picture the body
made, a change on the body (its shutter, SIGUSR1) seen as ``notify.property`` within one polling interval,
an idle session kept alive by the polls against a body that drops silent clients (with the control case:
polls slower than the body's patience lose the session), and the Z's host registration: refused with
what to do on the camera, then registered in the camera's wizard. Values set are read back raw through
``opreq`` (GetDevicePropValue) and decoded here, not by the daemon's property layer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import signal
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptpipd.ip.packets import InitCommandAck, InitFail, InitFailReason
from ptpipd.sim.nikon_model import photo_bytes
from tests.daemon.conftest import next_note
from tests.procs import DaemonProcess, SimProcess, running_daemon
from tests.sim.nikon_sim import QUIET, init_answer, running_nikon

MODELS = ["d750", "z6"]
#: The Z runs in AP mode here (any computer); registration has tests of its own.
OPEN = {"d750": (), "z6": ("--wifi", "ap")}
UNIFIED = ["iso", "exposure", "fnumber", "exp-bias", "whitebalance", "program", "focusmode", "imagequality",
           "battery", "isoauto", "capturetarget", "liveview"]  # fmt: skip
#: What the simulated bodies show at start-up, by unified name.
START = {"iso": "400", "exposure": "1/250", "fnumber": "f/5.6", "exp-bias": "0", "whitebalance": "auto",
         "program": "M", "focusmode": "AF-S", "imagequality": "JPEG fine", "battery": "100%",
         "isoauto": "off", "capturetarget": "card", "liveview": "off"}  # fmt: skip
#: A value to set by label, and its wire value as GetDevicePropValue returns it (struct format, value).
SETS = {
    "iso": ("1600", "<H", 1600),
    "exposure": ("1/2.5", "<I", 0x000A_0019),  # 10/25 s (NIKON.md §4.3)
    "fnumber": ("f/8", "<H", 800),
    "exp-bias": ("-1 2/3", "<h", -1667),
    "whitebalance": ("cloudy", "<H", 0x8010),
    "focusmode": ("AF-C", "<H", 0x8011),
    "imagequality": ("NEF + fine", "<B", 7),  # the D750 numbering; the Z 6's is below
    "isoauto": ("on", "<B", 1),
    "capturetarget": ("SDRAM", "<B", 1),
}
READ_ONLY = ["program", "battery", "liveview"]


def camera_args(sim: SimProcess) -> list[str]:
    return ["--vendor", "nikon", "--host", sim.host, "--port", str(sim.port)]


@contextlib.contextmanager
def nikon_daemon(
    tmp_path: Path, model: str, *sim_args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[SimProcess, DaemonProcess]]:
    with (
        running_nikon("--model", model, *OPEN[model], *sim_args) as sim,
        running_daemon(tmp_path / "daemon", *camera_args(sim), env=env) as daemon,
    ):
        daemon.wait_connected()
        yield sim, daemon


def raw_value(daemon: DaemonProcess, code: int, fmt: str) -> int:
    """GetDevicePropValue through ``opreq``, decoded here."""
    result = daemon.call("opreq", {"code": 0x1015, "params": [code]})
    assert result["response"]["code"] == "0x2001", result
    value: int = struct.unpack(fmt, base64.b64decode(result["data"]))[0]
    return value


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("model", MODELS)
def test_every_unified_property_by_label(tmp_path: Path, model: str) -> None:
    with nikon_daemon(tmp_path, model, *QUIET) as (_, daemon), daemon.connect() as rpc:
        for name in UNIFIED:
            got = rpc.call("get", [name])
            assert (got["property"], got["label"]) == (name, START[name]), got
            desc = rpc.call("describe", [name])
            assert desc["label"] == START[name]
        sets = dict(SETS, imagequality=("NEF + fine", "<B", 12)) if model == "z6" else SETS
        for name, (label, fmt, wire) in sets.items():
            result = rpc.call("set", {"property": name, "value": label})
            assert (result["label"], result["value"]) == (label, wire), result
            assert rpc.call("get", [name])["label"] == label
            assert raw_value(daemon, int(result["code"], 16), fmt) == wire
        for name in READ_ONLY:
            error = rpc_error(daemon, "set", {"property": name, "value": START[name]})
            assert error["code"] == -32005 and "read-only" in error["message"]
        # the body's other names stay reachable: 0x500D followed 0xD100 (1/2.5 s = 4000 × 1/10000 s)
        assert rpc.call("get", ["exposure-time"])["value"] == 4000
        assert rpc.call("get", ["shots-left"])["label"] == "1234"


def test_the_z_reaches_its_hi_iso_through_iso_ex(tmp_path: Path) -> None:
    with nikon_daemon(tmp_path, "z6", *QUIET) as (_, daemon):
        result = daemon.call("set", ["iso-ex", "Hi 1"])
        assert (result["value"], result["label"]) == (102400, "Hi 1")
        assert raw_value(daemon, 0xD0B4, "<I") == 102400
        error = rpc_error(daemon, "set", ["iso", "Hi 1"])  # 0x500F is a UINT16: no Hi on the Z
        assert error["code"] == -32005


@pytest.mark.parametrize("model", MODELS)
def test_capture_and_download(tmp_path: Path, model: str) -> None:
    with nikon_daemon(tmp_path, model, *QUIET) as (_, daemon), daemon.connect() as rpc:
        shot = rpc.call("capture", {"inline": True}, timeout=30)
        # D750: 0x90C0 to SDRAM; Z 6: 0x9207 to the card, as RecordingMedia says (two pictures at start-up)
        assert (shot["format"], shot["size"]) == ("jpeg", len(photo_bytes(0, 3)))
        assert sha(base64.b64decode(shot["data"])) == sha(photo_bytes(0, 3))
        files = rpc.call("files")
        names = [f["filename"] for f in files]
        assert names == ["DSC_0001.JPG", "DSC_0002.JPG"] + (["DSC_0003.JPG"] if model == "z6" else [])
        rpc.call("set", ["capturetarget", "SDRAM" if model == "z6" else "card"])
        saved = rpc.call("capture", {}, timeout=30)
        assert sha(Path(saved["path"]).read_bytes()) == sha(photo_bytes(0, 4))
        first = rpc.call("download", {"handle": files[0]["handle"]})
        assert sha(Path(first["path"]).read_bytes()) == sha(photo_bytes(0, 1))
        assert first["size"] == len(photo_bytes(0, 1))


def test_the_locked_z_downloads_with_partial_object_ex(tmp_path: Path) -> None:
    """libgphoto2#976: GetObjectInfo/GetObject answer AccessDenied; GetObjectSize and 0x9431 still work."""
    with nikon_daemon(tmp_path, "z6", *QUIET, "--file-lock") as (_, daemon), daemon.connect() as rpc:
        files = rpc.call("files")
        assert [(f["filename"], f["size"]) for f in files] == [
            ("object-00000003", len(photo_bytes(0, 1))),
            ("object-00000004", len(photo_bytes(0, 2))),
        ]
        got = rpc.call("download", {"handle": 4, "inline": True})
        assert sha(base64.b64decode(got["data"])) == sha(photo_bytes(0, 2))
        shot = rpc.call("capture", {"inline": True}, timeout=30)
        assert sha(base64.b64decode(shot["data"])) == sha(photo_bytes(0, 3))


@pytest.mark.parametrize("model", MODELS)
def test_a_change_on_the_body_is_notified_within_one_poll(tmp_path: Path, model: str) -> None:
    interval = 1.0
    env = {"PTPIPD_POLL_INTERVAL": str(interval)}
    with nikon_daemon(tmp_path, model, *QUIET, env=env) as (sim, daemon), daemon.connect() as rpc:
        rpc.call("subscribe", {"topics": ["event", "property"]})
        before = time.time()
        sim.proc.send_signal(signal.SIGUSR2)  # the main dial turned on the body: 1/250 s → 1/200 s
        event = next_note(rpc, "notify.event", lambda p: p["name"] == "DevicePropChanged")
        note = next_note(rpc, "notify.property", lambda p: p["property"] == "exposure")
        assert event["params"] == [0xD100]
        assert (note["code"], note["value"], note["label"]) == ("0xd100", 0x0001_00C8, "1/200")
        sim.proc.send_signal(signal.SIGUSR1)  # the shutter pressed on the body: ExposureRemaining drops
        note = next_note(rpc, "notify.property", lambda p: p["property"] == "shots-left")
        assert (note["code"], note["value"]) == ("0xd1f1", 1233)
        # the event came with the first poll after the press: one interval at most, plus the round trip
        assert 0 <= event["time"] - before < interval + 0.5, event["time"] - before


def idle_window(daemon: DaemonProcess, seconds: float) -> dict[str, str] | None:
    """Waits ``seconds`` without any client traffic; returns the first STATUS the daemon announced then
    (a change of the camera's state), or None when there was none. What arrived before the window is
    read first, so it is not taken for a change during it."""
    daemon.notify.drain()
    cursor = len(daemon.notify.messages)
    try:
        return daemon.notify.wait_until(lambda m: "STATUS" in m, timeout=seconds, after=cursor)
    except TimeoutError:
        return None


@pytest.mark.parametrize("model", MODELS)
def test_an_idle_session_stays_connected(tmp_path: Path, model: str) -> None:
    """The body drops a client silent for 2 s (eight polls: a busy CI machine may stall one or two);
    2.5 times that without a request changes nothing."""
    with nikon_daemon(tmp_path, model, *QUIET, "--idle-timeout", "2") as (sim, daemon):
        since = daemon.call("status")["connected_since"]
        assert idle_window(daemon, 5.0) is None
        status = daemon.call("status")
        assert (status["state"], status["reconnects"], status["connected_since"]) == ("connected", 0, since)
        assert "drops its clients" not in sim.stderr_text()


def test_without_traffic_the_body_drops_the_session(tmp_path: Path) -> None:
    """The control case: polls every 3 s do not keep a body that drops after 1 s."""
    env = {"PTPIPD_POLL_INTERVAL": "3"}
    with nikon_daemon(tmp_path, "d750", *QUIET, "--idle-timeout", "1", env=env) as (sim, daemon):
        change = idle_window(daemon, 6.0)
        assert change is not None and "disconnected" in change["STATUS"], change
        assert "drops its clients" in sim.stderr_text()


def status_when(daemon: DaemonProcess, state: str, timeout: float = 30.0) -> dict[str, Any]:
    """The daemon's status once its camera state is ``state`` (waiting on its STATUS= announcements)."""
    deadline = time.monotonic() + timeout
    while True:
        cursor = len(daemon.notify.messages)
        status: dict[str, Any] = daemon.call("status")
        if status["state"] == state and status["last_error"]:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"no state {state!r} within {timeout} s: {status}")
        with contextlib.suppress(TimeoutError):
            daemon.notify.wait_for("STATUS", None, timeout=1.0, after=cursor)


def test_an_unregistered_computer_is_told_what_to_do_on_the_z(tmp_path: Path) -> None:
    with (
        running_nikon("--model", "z6", *QUIET) as sim,
        running_daemon(tmp_path / "daemon", *camera_args(sim)) as daemon,
    ):
        status = status_when(daemon, "disconnected")
        error = status["last_error"]
        assert "rejected initiator" in error and "connect-to-computer wizard" in error
        assert "'waiting for computer' screen" in error and "ptpipd" in error
        assert rpc_error(daemon, "get", ["iso"])["code"] == -32000
    assert "is not registered (InitFail, rejected initiator)" in sim.stop()


def test_the_daemon_registers_in_the_wizard_and_reconnects(tmp_path: Path) -> None:
    with running_nikon("--model", "z6", *QUIET, "--wizard") as sim:
        with running_daemon(tmp_path / "daemon", *camera_args(sim)) as daemon:
            status = daemon.wait_connected()
            assert status["camera"]["model"] == "Z 6"
            assert "registered with the Z 6 as 'ptpipd'" in (status["last_error"] or "")
            assert daemon.call("get", ["iso"])["label"] == "400"
            assert "camera pairing" in daemon.stderr_text()  # the state shown while the camera registers us
            guid = uuid.UUID(daemon.workdir.joinpath("state", "ptpipd", "guid").read_text().strip()).bytes
        # the body left its wizard: it admits the daemon's GUID, and no other
        assert isinstance(init_answer(sim.port, guid), InitCommandAck)
        assert init_answer(sim.port, bytes(16)) == InitFail(InitFailReason.RejectedInitiator)


def rpc_error(daemon: DaemonProcess, method: str, params: Any) -> dict[str, Any]:
    """The error of a request that must fail."""
    with daemon.connect() as conn:
        response = conn.request(method, params)
    assert "error" in response, response
    error: dict[str, Any] = response["error"]
    return error

"""Our daemon against every simulated Fuji body, and against the issue-13 bodies, over JSON-RPC.

Real processes: ``ptpipd-sim --vendor fuji --model …`` and ``ptpipd``, talking over TCP; the test talks to
the daemon over its Unix socket. Expected bytes come from the simulator's own picture formula (a third
computation of the same bytes, not our initiator), expected sentences are written out here word for word.
Waits are on the daemon's own signals: READY/STATUS (sd_notify), notifications, the simulator's log lines.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.rpc import Client, make_dispatcher, methods
from ptpipd.service import CameraService
from ptpipd.sim.fuji_card import FujiCard
from ptpipd.vendors.base import CameraConfig
from ptpipd.vendors.fuji_body_codes import body
from tests.cli.conftest import clean_env, ctl
from tests.daemon.conftest import camera_args, other_enum_value
from tests.ingest.test_resume import FAST, until
from tests.legacy.conftest import running_legacy
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim
from tests.sim.test_generic_server import wait_for_log
from tests.web.conftest import Web, http_port
from tests.web.mjpeg import open_stream

LATER = ("x-t2", "x-t4", "x-t5", "x-s10")
#: The polling interval of a body whose events list tells changes (Capabilities.poll_interval).
POLL_INTERVAL = 0.5
#: What CI load may add to one polling interval before a notification arrives.
SLACK = 2.5
#: The daemon's transaction timeout in these tests: also the longest wait for GetDeviceInfo.
TIMEOUT = "2"


def failure(daemon: DaemonProcess, timeout: float = 30.0) -> str:
    """The reason of the daemon's first failed connection attempt (its STATUS line says it)."""
    message = daemon.notify.wait_until(lambda msg: "camera disconnected" in msg.get("STATUS", ""), timeout)
    status = daemon.call("status")
    assert status["state"] != "connected", status
    assert status["last_error"] and status["last_error"] in message["STATUS"], (status, message)
    return str(status["last_error"])


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PTPIPD_TIMEOUT": TIMEOUT, "PTPIPD_CAPTURE_DIR": str(tmp_path / "captures"), **extra}


# ------------------------------------------------------------------------------------------------ issue 13


@pytest.mark.parametrize("switch", ["--refuse-desc", "--empty-value", "--ignore-device-info"])
def test_issue_13_bodies_connect_and_serve_iso(switch: str, tmp_path: Path) -> None:
    with (
        running_sim("fuji", switch) as sim,
        running_daemon(tmp_path / "d", *camera_args(sim, "fuji"), env=env(tmp_path)) as d,
    ):
        status = d.wait_connected()
        assert status["camera"]["model"] == "X-T1"
        info = d.call("info")
        assert [p["property"] for p in info["properties"]][:3] == ["delay", "flashmode", "whitebalance"]
        assert d.call("get", {"property": "iso"})["label"] == "S6400"
        described = d.call("describe", {"property": "iso"})
        assert described["label"] == "S6400" and len(described["form"]["values"]) == 25
        assert d.call("set", {"property": "iso", "value": "800"})["value"] == 800
        assert d.call("get", {"property": "iso"})["value"] == 800
        if switch == "--ignore-device-info":
            # the step the camera left unanswered is named at the default log level; the session goes on
            line = (
                "the camera did not answer 0x1001 GetDeviceInfo within 2 s; going on without its DeviceInfo"
            )
            assert re.search(rf"WARNING .*{re.escape(line)}", d.stderr_text()), d.stderr_text()
            assert status["camera"]["serial"] == ""  # no DeviceInfo: the name of the InitCommandAck
        else:
            assert status["camera"]["serial"] == "SIMULATED-X-T1"


def test_a_body_without_remote_mode_gets_one_sentence(tmp_path: Path) -> None:
    with (
        running_sim("fuji", "--no-remote", "--accept-any-client") as sim,
        running_daemon(tmp_path / "d", *camera_args(sim, "fuji"), env=env(tmp_path)) as d,
    ):
        assert failure(d) == (
            "this camera offers no remote control over Wi-Fi (it reports no remote version, 0xDF24): "
            "only image transfer works; use a body with remote shooting, or its USB tethering"
        )
        assert "not in the standard format" not in d.stderr_text()


def test_a_body_in_another_wifi_function_gets_one_sentence(tmp_path: Path) -> None:
    with (
        running_sim("fuji", "--model", "x-t4", "--wifi-mode", "browse", "--accept-any-client") as sim,
        running_daemon(tmp_path / "d", *camera_args(sim, "fuji"), env=env(tmp_path)) as d,
    ):
        assert failure(d) == (
            "the camera allows browsing only, not remote control: choose remote shooting (not image "
            "transfer) in its Wi-Fi menu and connect again"
        )


def test_a_stalled_step_is_named(tmp_path: Path) -> None:
    """The Yes/No dialog is answered after 5 s, the daemon waits 1 s: the step and the wait are named."""
    with (
        running_sim("fuji", "--model", "x-t5", "--confirm-delay", "5") as sim,
        running_daemon(
            tmp_path / "d", *camera_args(sim, "fuji"), env=env(tmp_path, PTPIPD_PAIRING_TIMEOUT="1")
        ) as d,
    ):
        expected = (
            "the camera did not answer 0x1016 0xDF01 ClientState (the Yes/No dialog on the camera) within 1 s"
        )
        assert failure(d) == expected
        assert re.search(rf"WARNING .*camera disconnected: {re.escape(expected)}", d.stderr_text())


# ------------------------------------------------------------------------------------------------ later bodies


Later = tuple[str, SimProcess, DaemonProcess, Path]


@pytest.fixture(scope="module", params=LATER)
def later(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Later]:
    """(model, simulator, daemon with its HTTP data plane, capture dir): a body whose Yes/No dialog is
    answered after 1 s."""
    model = str(request.param)
    work = tmp_path_factory.mktemp(f"fuji-{model}")
    with (
        running_sim("fuji", "--model", model, "--confirm-delay", "1", "-v") as sim,
        running_daemon(work / "d", *camera_args(sim, "fuji"), "--http", "127.0.0.1:0", env=env(work)) as d,
    ):
        d.wait_connected()
        yield model, sim, d, work / "captures"


def web(daemon: DaemonProcess) -> Web:
    return Web(daemon, "127.0.0.1", http_port(daemon), daemon.socket_path.parent / "ptpipd-http.sock")


def test_connects_through_the_dialog(later: Later) -> None:
    model, sim, d, _ = later
    pairing = "press OK on the camera to let 'ptpipd' connect (first connection only)"
    shown = [m["STATUS"] for m in d.notify.messages if "camera pairing" in m.get("STATUS", "")]
    assert shown and pairing in shown[0], d.notify.messages
    assert "pairing prompt for 'ptpipd'" in sim.stderr_text()
    status = d.call("status")
    profile = body(model)
    assert status["camera"]["model"] == profile.model  # the InitCommandAck's name: GetDeviceInfo is empty
    assert status["capabilities"] == {
        "events": "poll",
        "liveview": "stream",
        "files": True,
        "partial_objects": True,
        "state_list": True,
        "delete": False,  # DeleteObject: -32003 on these bodies
    }
    facts = d.call("info")["device"]["body"]
    assert facts["remote_version"] == f"2.{(profile.remote_version or 0) & 0xFFFF}"
    assert facts["events"] == "changes" and facts["camera_state"] == "remote access"


def test_every_writable_property_by_label(later: Later) -> None:
    _, _, d, _ = later
    changed = []
    for prop in d.call("info")["properties"]:
        if not prop["writable"] or prop["form"]["kind"] != "enum":
            continue
        target = other_enum_value(prop)
        result = d.call("set", {"property": prop["property"], "value": target["label"]})
        assert (result["value"], result["label"]) == (target["value"], target["label"]), prop["property"]
        assert d.call("get", {"property": prop["property"]})["value"] == target["value"]
        d.call("set", {"property": prop["property"], "value": prop["value"]})  # as it was, for the others
        changed.append(prop["property"])
    assert changed == ["delay", "flashmode", "whitebalance", "exp-bias", "effect", "iso", "recmode"]


def test_capture_returns_the_preview(later: Later) -> None:
    _, _, d, _ = later
    result = d.call("capture", {"inline": True})
    data = base64.b64decode(result["data"])
    assert result["format"] == "jpeg" and len(data) == result["size"] and data[:2] == b"\xff\xd8"


def test_body_changes_arrive_as_notifications(later: Later) -> None:
    """The shutter pressed on the body: the next events list tells the new file and one shot less."""
    _, sim, d, _ = later
    with d.connect() as conn:
        assert conn.call("subscribe", {"topics": ["property", "event"]}) is True
        before = d.call("get", {"property": "remaining"})["value"]
        objects = len(d.call("files"))
        sim.proc.send_signal(signal.SIGUSR1)
        wanted = {  # both come from one poll, in either order; notes of earlier changes may come first
            ("notify.property", "remaining", before - 1),
            ("notify.event", "ObjectAdded", objects + 1),
        }
        deadline = time.monotonic() + POLL_INTERVAL + SLACK
        while wanted:
            note = conn.notification(None, timeout=max(0.0, deadline - time.monotonic()))
            params = note["params"]
            if note["method"] == "notify.property":
                wanted.discard((note["method"], params["property"], params["value"]))
            elif params["params"]:
                wanted.discard((note["method"], params["name"], params["params"][0]))


def test_full_size_download(later: Later) -> None:
    model, sim, d, captures = later
    files = d.call("files")
    card = FujiCard(body(model), seed=0)
    assert len(files) >= body(model).object_count
    entry = files[1]
    assert (entry["handle"], entry["filename"], entry["size"]) == (2, "DSCF0002.JPG", card.size(2))
    result = d.call("download", {"handle": 2})
    saved = Path(result["path"])
    assert saved.parent == captures and saved.name == "DSCF0002.JPG"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(card.content(2)).hexdigest()
    wait_for_log(sim, "0x101B tid=")
    pieces = [
        (int(o), int(n)) for o, n in re.findall(r"0x101B tid=\d+ \(2, (\d+), (\d+)\)", sim.stderr_text())
    ]
    assert pieces and all(n <= 1 << 20 for _, n in pieces)
    assert [o for o, _ in pieces] == list(range(0, card.size(2), 1 << 20))
    assert not [n for n in os.listdir(captures) if n.startswith(".")]  # no temporary file left behind


def test_inline_download_goes_by_the_real_size(later: Later) -> None:
    """``download`` inline of a file under the inline limit: it comes whole, in base64, with its real size
    (not GetObjectInfo's placeholder). That the limit is checked against the real size is
    :func:`test_inline_refusal_goes_by_the_real_size`'s part: no simulated photo is over 8 MiB."""
    model, _, d, _ = later
    card = FujiCard(body(model), seed=0)
    assert card.size(3) <= 8 << 20
    result = d.call("download", {"handle": 3, "inline": True})
    assert result["size"] == card.size(3) and "path" not in result
    assert base64.b64decode(result["data"], validate=True) == card.content(3)


@pytest.mark.parametrize("model", LATER)
async def test_inline_refusal_goes_by_the_real_size(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inline limit is checked against the file's real size, before any byte of it is fetched. With the
    limit set between the placeholder size (100 KiB, GetObjectInfo while 0xD227 is 0) and the photo's real
    size, ``download`` inline is refused with -32602 naming the real size and the URL, and the camera is never
    asked for the photo's bytes (GetPartialObject). The daemon's own methods on the real service, in-process
    (the limit is a constant), against a simulated body over TCP."""
    card = FujiCard(body(model), seed=0)
    limit = 1 << 20
    placeholder = card.object_info(3, correct_size=False).compressed_size
    assert placeholder < limit < card.size(3), "a body whose ObjectInfo gives a placeholder size"
    monkeypatch.setattr(methods, "INLINE_LIMIT", limit)
    request = {"jsonrpc": "2.0", "id": 1, "method": "download", "params": {"handle": 3, "inline": True}}
    with running_sim("fuji", "--model", model, "--accept-any-client", "-v") as sim:
        command, event, stream = sim.ports
        config = CameraConfig(sim.host, "fuji", port=command, event_port=event, stream_port=stream)
        async with CameraService(config, FAST) as service:
            await until(lambda: service.status()["state"] == "connected", 30, "the camera connected")
            dispatcher = make_dispatcher(service, tmp_path / "captures")
            text = await dispatcher.respond(json.dumps(request), Client(1, "test", "test"))
    answer = json.loads(text or "")
    error = answer["error"]
    assert error["code"] == -32602, error
    assert error["data"] == {"size": card.size(3), "limit": limit, "url": "/files/3"}
    transactions = sim.stderr_text()
    assert re.search(r"0x1008 tid=\d+ \(3,\)", transactions), "the daemon read the photo's ObjectInfo"
    assert not re.search(r"0x101B tid=\d+ \(3,", transactions), "nor any of its bytes"
    assert not (tmp_path / "captures").exists() or not os.listdir(tmp_path / "captures")


def test_state_is_the_whole_state(later: Later) -> None:
    model, _, d, _ = later
    entries = {e["code"]: e for e in d.call("state")}
    expected = {f"0x{code:04x}" for code, _ in (*body(model).access_events, *body(model).remote_state)}
    assert expected <= set(entries)
    assert entries["0xdf00"]["value"] == 6


# ------------------------------------------------------------------------------------------------ issue 13 item 2


def test_a_code_goes_to_the_camera_everywhere(tmp_path: Path) -> None:
    """Any code reaches the camera, through JSON-RPC, ptpipctl and the legacy protocol alike; the camera's
    refusal is the answer (-32002, its response name); -32004 stays for names."""
    with running_legacy(tmp_path / "d", "fuji") as server:
        with server.daemon.connect() as conn:
            for prop in ("0xd999", "d999", 0xD999):
                for method, params in (("get", {"property": prop}), ("set", {"property": prop, "value": 1})):
                    error = conn.request(method, params)["error"]
                    assert error["code"] == -32002, (prop, error)
                    assert (error["data"]["response"], error["data"]["name"]) == (
                        "0x200A",
                        "DevicePropNotSupported",
                    )
            error = conn.request("get", {"property": "warp"})["error"]
            assert (error["code"], error["message"]) == (-32004, "unknown property 'warp'")
        result = ctl("get", "0xd999", env=clean_env(tmp_path, PTPIPCTL_SOCKET=str(server.daemon.socket_path)))
        assert result.code == 1 and "DevicePropNotSupported (0x200A)" in result.err, result
        assert server.nc("get 0xd999") == "get error: device property not supported\n"


# ------------------------------------------------------------------------------------------------ data plane


def test_full_size_download_over_http(later: Later) -> None:
    """``GET /files/{handle}``: the whole file, streamed in ≤ 1 MiB GetPartialObject pieces, SHA-256 checked."""
    model, sim, d, _ = later
    card = FujiCard(body(model), seed=0)
    status, headers, data = web(d).request("GET", "/files/5")
    assert status == 200, data[:200]
    assert int(headers["content-length"]) == card.size(5) == len(data)  # the real size, not the placeholder
    assert headers["content-type"] == "image/jpeg" and "DSCF0005.JPG" in headers["content-disposition"]
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(card.content(5)).hexdigest()
    wait_for_log(sim, "0x101B tid=")
    lengths = [int(n) for n in re.findall(r"0x101B tid=\d+ \(5, \d+, (\d+)\)", sim.stderr_text())]
    assert lengths and max(lengths) <= 1 << 20 and sum(lengths) >= card.size(5)


def test_thumbnail_over_http(later: Later) -> None:
    """The X-T4, X-T5 and X-S10 answer GetThumb only after GetObjectInfo of the file (libfuji)."""
    _, _, d, _ = later
    status, headers, data = web(d).request("GET", "/files/4/thumb")
    assert status == 200 and data[:2] == b"\xff\xd8", (status, data[:200])
    assert headers["content-type"] == "image/jpeg"


def test_live_view_over_http(later: Later) -> None:
    _, _, d, _ = later
    site = web(d)
    reader = open_stream(site.host, site.port)
    try:
        assert reader.status == 200, reader.headers
        parts = [reader.next_part() for _ in range(3)]
    finally:
        reader.sock.close()
    assert all(part.jpeg[:2] == b"\xff\xd8" for part in parts)
    assert [p.sequence for p in parts] == sorted(p.sequence for p in parts)

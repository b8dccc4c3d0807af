"""Notifications after ``subscribe``: a change made by one client reaches the subscribers on other
connections (Unix and TCP alike); a capture produces ``notify.event``; topics filter; unsubscribe stops."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.daemon.conftest import camera_args, next_note, other_enum_value
from tests.procs import DaemonProcess, running_daemon, running_sim


@pytest.mark.parametrize(("setter_via", "subscriber_via"), [("unix", "tcp"), ("tcp", "unix")])
def test_set_by_a_reaches_subscriber_b(daemon: DaemonProcess, setter_via: str, subscriber_via: str) -> None:
    with daemon.connect(setter_via) as a, daemon.connect(subscriber_via) as b:
        assert b.call("subscribe", {"topics": ["property"]}) is True
        desc = a.call("describe", ["iso"])
        target = other_enum_value(desc)
        a.call("set", {"property": "iso", "value": target["label"]})
        note = next_note(b, "notify.property", lambda p: p["property"] == "iso")
        assert note["value"] == target["value"]
        assert note["label"] == target["label"]
        assert note["code"] == desc["code"]
        assert set(note) == {"property", "code", "value", "label"}


def test_the_setter_itself_is_notified_when_subscribed(daemon: DaemonProcess) -> None:
    with daemon.connect() as a:
        a.call("subscribe")
        target = other_enum_value(a.call("describe", ["iso"]))
        result = a.call("set", ["iso", target["label"]])  # the response arrives; the note is kept aside
        assert result["value"] == target["value"]
        assert next_note(a, "notify.property", lambda p: p["property"] == "iso")["value"] == target["value"]


def test_capture_produces_notify_event(daemon: DaemonProcess, vendor: str) -> None:
    with daemon.connect("unix") as a, daemon.connect("tcp") as b:
        b.call("subscribe", {"topics": ["event"]})
        result = a.call("capture", {"inline": True}, timeout=30)
        if vendor == "generic":
            added = next_note(b, "notify.event", lambda p: p["name"] == "ObjectAdded")
            assert added["code"] == "0x4002"
            assert added["params"] == [result["handle"]]
            assert isinstance(added["time"], float)
            done = next_note(b, "notify.event", lambda p: p["name"] == "CaptureComplete")
            assert done["code"] == "0x400d"
        else:
            note = next_note(b, "notify.event")
            assert set(note) == {"code", "name", "params", "time"}


def test_topics_filter_and_unsubscribe(daemon: DaemonProcess) -> None:
    """B wants events only, C everything; D unsubscribed again. A's set reaches only C."""
    with (
        daemon.connect() as a,
        daemon.connect("tcp") as b,
        daemon.connect() as c,
        daemon.connect("tcp") as d,
    ):
        b.call("subscribe", {"topics": ["event"]})
        c.call("subscribe")
        d.call("subscribe")
        d.call("unsubscribe")
        target = other_enum_value(a.call("describe", ["iso"]))
        a.call("set", ["iso", target["label"]])
        # C got it: the notification has been published to every subscription there is ...
        next_note(c, "notify.property", lambda p: p["property"] == "iso")
        # ... and after a round trip each, B and D have nothing about it waiting
        for other in (b, d):
            other.call("status")
            assert not [
                n
                for n in other.notifications
                if n["method"] == "notify.property" and n["params"]["property"] == "iso"
            ], other.notifications
        assert all(n["method"] == "notify.event" for n in b.notifications), b.notifications


def test_unknown_topic_is_invalid_params(daemon: DaemonProcess) -> None:
    with daemon.connect() as a:
        response = a.request("subscribe", {"topics": ["weather"]})
        assert response["error"]["code"] == -32602, response
        assert response["error"]["data"], response


def test_camera_initiated_change_is_announced(tmp_path: Path) -> None:
    """The simulated battery drains 1 % every 0.2 s: DevicePropChanged → the service reads it → notify."""
    with (
        running_sim("generic", "--battery-interval", "0.2") as sim,  # the generic simulator's drain
        running_daemon(tmp_path / "daemon", *camera_args(sim, "generic")) as daemon,
    ):
        daemon.wait_connected()
        with daemon.connect() as a:
            a.call("subscribe", {"topics": ["property", "event"]})
            event = next_note(a, "notify.event", lambda p: p["name"] == "DevicePropChanged", timeout=5)
            assert event["params"] == [0x5001]
            note = next_note(a, "notify.property", lambda p: p["property"] == "battery", timeout=5)
            assert note["code"] == "0x5001"
            assert 0 <= note["value"] < 100
            assert a.call("get", ["battery"])["value"] <= note["value"]


@pytest.mark.slow
def test_a_subscriber_that_never_reads_is_dropped_not_waited_for(tmp_path: Path) -> None:
    """DESIGN §7: a slow subscriber never holds up the camera. Repeated property changes coalesce in its
    queue (issue 14 defect 8), so a flood of them does not overflow it; a subscriber that does not read at
    all is then dropped once a write to it has waited ``write_timeout`` (here 2 s), and the camera went on."""
    env = {"PTPIPD_WRITE_TIMEOUT": "2"}
    with running_daemon(tmp_path / "d", "--simulate", "generic", env=env) as daemon:
        daemon.wait_connected()
        sleeper = daemon.connect()
        sleeper.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sleeper.call("subscribe")
        worst = 0.0
        with daemon.connect() as a:
            for i in range(3000):  # two notifications each (property and event): far over the queue
                started = time.monotonic()
                a.call("set", ["iso", "100" if i % 2 else "200"])
                worst = max(worst, time.monotonic() - started)
            assert worst < 0.5, f"a set took {worst:.2f} s: the camera waited for the sleeping subscriber"
            received = []
            with pytest.raises((EOFError, ConnectionResetError)):
                while True:
                    received.append(sleeper.read_message(timeout=10))
            sleeper.close()
            assert received and all(m.get("method", "").startswith("notify.") for m in received)
            assert len(received) < 3000 * 2
            assert a.call("status")["state"] == "connected"

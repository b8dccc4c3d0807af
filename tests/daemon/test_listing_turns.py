"""A long ``files`` listing does not hold the camera: another client's request runs between two of its
GetObjectInfo transactions and is answered before the listing is (real daemon and simulator processes; the
simulator's own transaction log tells the order the camera saw). The same on the Fuji, Canon and Nikon
bodies, whose listings are their own."""

from __future__ import annotations

import contextlib
import json
import re
import select
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import camera_args, wait_until
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim
from tests.rpcclient import RpcConnection

GET_OBJECT_INFO = "0x1008"
GET_ISO = re.compile(r"0x1015 tid=\d+ \(20495,\)")  # GetDevicePropValue ExposureIndex 0x500F
#: The simulated card: two folders, three pictures and BIG00001.BIN, each one GetObjectInfo.
OBJECTS = 6
#: BIG00001.BIN's handle: the last one listed.
BIG_HANDLE = 6


@contextlib.contextmanager
def listing_under_way(
    workdir: Path,
) -> Iterator[tuple[SimProcess, DaemonProcess, RpcConnection, RpcConnection]]:
    """A daemon on a simulator whose answers come 0.1 s late (the listing is 8 transactions, about a second:
    long enough to be asked something in the middle of it; what the tests check is an order, never a
    time), a ``files`` request sent on ``lister`` and under way, and ``other`` connected."""
    extra = ("--object-size", "1M", "--response-delay", "0.1", "--battery-interval", "0", "-v")
    with (
        running_sim("generic", *extra) as sim,
        running_daemon(workdir, "--host", "127.0.0.1", "--port", str(sim.port)) as daemon,
    ):
        daemon.wait_connected()
        with daemon.connect("unix") as lister, daemon.connect("tcp") as other:
            lister.send_line(json.dumps({"jsonrpc": "2.0", "method": "files", "id": 1}))
            # under way once the camera answered its first GetObjectInfo
            wait_for_log(sim, lambda text: GET_OBJECT_INFO + " tid=" in text)
            yield sim, daemon, lister, other


def test_a_get_from_another_client_answers_during_a_long_listing(tmp_path: Path) -> None:
    with listing_under_way(tmp_path) as (sim, _, lister, other):
        iso = other.call("get", {"property": "iso"}, timeout=30)
        assert iso["property"] == "iso"
        readable, _, _ = select.select([lister.sock], [], [], 0)
        assert not readable, "the listing answered before the other client's get"
        listing = lister.read_response(timeout=30)
        assert len(listing["result"]) == OBJECTS - 2  # the folders are not files
    log = sim.stderr_text()
    infos = [m.start() for m in re.finditer(re.escape(GET_OBJECT_INFO) + r" tid=", log)]
    gets = [m.start() for m in GET_ISO.finditer(log)]
    assert len(infos) == OBJECTS and len(gets) >= 1, log[-2000:]
    assert any(infos[0] < g < infos[-1] for g in gets), "the get ran after the whole listing"


#: Per vendor: the simulator's flags (answers 0.01 s late, as a real body's over Wi-Fi or quicker), the
#: listing's operation in its log, how many files it lists. The X-T5's card has 158 pictures (its
#: ObjectCount), each one GetObjectInfo; the 6D's card is three folders, one GetObjectInfoEx each, the
#: D750's two folders and two pictures, one GetObjectInfo each: these answer 0.1 s late so that the listing
#: lasts long enough to be asked something in the middle.
BODIES = {
    "fuji": (("--model", "x-t5", "--response-delay", "0.01"), "0x1008", 158),
    "canon": (("--response-delay", "0.1"), "0x9109", 3),
    "nikon": (("--response-delay", "0.1"), "0x1008", 2),
}


@pytest.mark.parametrize("vendor", BODIES)
def test_a_get_answers_during_a_vendors_listing(vendor: str, tmp_path: Path) -> None:
    flags, step, count = BODIES[vendor]
    with (
        running_sim(vendor, *flags, "--battery-interval", "0", "-v") as sim,
        running_daemon(tmp_path, *camera_args(sim, vendor)) as daemon,
    ):
        daemon.wait_connected()
        with daemon.connect("unix") as lister, daemon.connect("tcp") as other:
            lister.send_line(json.dumps({"jsonrpc": "2.0", "method": "files", "id": 1}))
            wait_for_log(sim, lambda text: step + " tid=" in text)  # the listing is under way
            assert other.call("get", {"property": "iso"}, timeout=30)["property"] == "iso"
            readable, _, _ = select.select([lister.sock], [], [], 0)
            assert not readable, "the listing answered before the other client's get"
            listing = lister.read_response(timeout=30)
            assert len(listing["result"]) == count, listing


def test_an_object_deleted_during_the_listing_is_left_out(tmp_path: Path) -> None:
    """Another client deletes BIG00001.BIN (the last handle) while the listing is under way: the listing
    does not fail on the object gone meanwhile (InvalidObjectHandle), it lists the others."""
    with listing_under_way(tmp_path) as (_, daemon, lister, other):
        assert other.call("delete", {"handle": BIG_HANDLE}, timeout=30) is True
        listing = lister.read_response(timeout=30)
        assert "error" not in listing, listing
        names = [entry["filename"] for entry in listing["result"]]
        assert len(names) == OBJECTS - 3 and "BIG00001.BIN" not in names, names
        assert other_files(daemon) == listing["result"]


def other_files(daemon: DaemonProcess) -> list[dict[str, object]]:
    with daemon.connect("unix") as conn:
        files: list[dict[str, object]] = conn.call("files")
        return files


def wait_for_log(sim: SimProcess, seen: Callable[[str], bool]) -> None:
    """Until the simulator's log (written as it answers) shows what ``seen`` looks for."""
    wait_until(lambda: seen(sim.stderr_text()), 30, "the simulator's log line")

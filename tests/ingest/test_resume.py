"""Ingest in-process on the real service and a simulator on real sockets, where a test needs to act at a
precise moment: the camera vanishing in the middle of a download (which then resumes with GetPartialObject
from the bytes already written), the daemon dying between a rename and its journal record, and a power cut
that kept a name and lost its record."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ptpipd.ingest import PART_PREFIX, Ingest, IngestOptions
from ptpipd.ingest_index import IngestIndex, Key
from ptpipd.service import CameraService, ConnectionState, ServiceOptions
from ptpipd.sim.server import start_simulator
from ptpipd.vendors.base import CameraConfig
from tests.ingest.conftest import hook_runs, hook_script

FAST = ServiceOptions(backoff_initial=0.05, backoff_max=0.2)


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        await asyncio.sleep(0.005)


def test_a_download_cut_by_the_camera_resumes_where_it_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    card, out = tmp_path / "card", tmp_path / "out"

    async def scenario() -> tuple[int, int, str]:
        # 1600x1200 photos (about 620 kB) in 32 KiB pieces, each answer 10 ms late: about 20 pieces, 0.2 s
        sim = await start_simulator(
            "generic", port=0, battery_interval=0, card=str(card), response_delay=0.01
        )
        port = sim.ports[0]
        config = CameraConfig(host="127.0.0.1", port=port)
        options = IngestOptions(directory=out, index_path=tmp_path / "index.jsonl", piece=32 << 10)
        async with CameraService(config, FAST) as service, Ingest(service, options) as ingest:
            await until(lambda: ingest.counters.scans == 1, 10, "the first scan")
            sim.press_shutter()
            await until(lambda: (ingest.counters.current or {}).get("offset", 0) >= 160 << 10, 10, "5 pieces")
            await sim.close()  # the camera goes away in the middle of the download
            await until(lambda: service.state is not ConnectionState.CONNECTED, 10, "the loss")
            parts = list(out.glob(f"{PART_PREFIX}*"))
            assert len(parts) == 1
            kept = parts[0].stat().st_size
            sim = await start_simulator("generic", port=port, battery_interval=0, card=str(card))
            try:
                await until(lambda: ingest.counters.files == 1, 20, "the file")
            finally:
                await sim.close()
            stored = ingest.counters.last
            assert stored is not None
            return kept, ingest.counters.errors, stored["path"]

    kept, errors, path = asyncio.run(scenario())
    data = Path(path).read_bytes()
    assert data == (card / "IMG_0004.JPG").read_bytes()  # the camera's photo, whole
    assert hashlib.sha256(data).hexdigest() in caplog.text  # as the simulator logged it
    resumed = re.search(r"resuming IMG_0004\.JPG at byte (\d+) of (\d+)", caplog.text)
    assert resumed, caplog.text
    assert int(resumed[1]) == kept >= 160 << 10 and int(resumed[2]) == len(data)
    assert errors == 1  # the download the camera cut short
    assert list(out.glob(".*")) == []


def test_a_rename_the_journal_never_heard_of_counts_as_done_and_its_hook_runs(tmp_path: Path) -> None:
    """The daemon died after renaming the file and before recording it: the next start finds the file under
    its reserved name and records it (once) instead of downloading it again."""
    out, index_path = tmp_path / "out", tmp_path / "index.jsonl"
    out.mkdir()
    data = b"\xff\xd8\xff" + bytes(range(256)) * 40
    key = Key.of("SIM-0001", "IMG_0004.JPG", len(data), "2024-06-01T12:00:00")
    index = IngestIndex(index_path)
    index.open()
    index.reserve(key, "IMG_0004.JPG")
    index.close()
    (out / "IMG_0004.JPG").write_bytes(data)
    hook, log = hook_script(tmp_path)

    async def scenario() -> dict[str, object]:
        service = CameraService(CameraConfig(host="127.0.0.1", port=9))  # never entered: no camera
        options = IngestOptions(directory=out, index_path=index_path, hook=str(hook))
        async with Ingest(service, options) as ingest:
            await until(lambda: ingest.counters.hook_runs == 1, 10, "the hook")
            return ingest.status()

    status = asyncio.run(scenario())
    again = IngestIndex(index_path)
    again.open()
    stored = again.stored(key)
    assert stored is not None and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert again.unhooked() == [] and again.targets == {}
    again.close()
    assert [r[:3] for r in hook_runs(log)] == [["download", str(out / "IMG_0004.JPG"), stored.sha256]]
    assert status["stored_total"] == 1


@pytest.mark.parametrize("whose", ["ours", "someone else's"])
def test_a_name_whose_record_a_power_cut_lost(tmp_path: Path, whose: str) -> None:
    """The name's record is synced only with the result, after the rename: a power cut can keep the file's
    name and lose both records. The next start downloads the object again and finds the pattern's name
    taken: by the same bytes (ours) it is the object's copy, recorded there and nothing stored twice; by
    other bytes of the same size (someone else's), that file is left alone and ours gets the next name."""
    card, out, index_path = tmp_path / "card", tmp_path / "out", tmp_path / "index.jsonl"

    async def session(shoot: bool) -> Ingest:
        sim = await start_simulator("generic", port=0, battery_interval=0, card=str(card))
        config = CameraConfig(host="127.0.0.1", port=sim.ports[0])
        options = IngestOptions(directory=out, index_path=index_path)
        try:
            async with CameraService(config, FAST) as service, Ingest(service, options) as ingest:
                await until(lambda: ingest.counters.scans == 1, 10, "the first scan")
                if shoot:
                    sim.press_shutter()
                await until(lambda: ingest.counters.files + ingest.counters.errors == 1, 10, "the picture")
                return ingest
        finally:
            await sim.close()

    first = asyncio.run(session(shoot=True)).counters.last
    assert first is not None and first["path"] == str(out / "IMG_0004.JPG")
    photo = (out / "IMG_0004.JPG").read_bytes()
    lines = index_path.read_bytes().splitlines(keepends=True)
    assert [b'"op":"target"' in line for line in lines] == [False, True, False]  # baseline, target, done
    index_path.write_bytes(lines[0])  # the power cut: only the baseline reached the disk
    if whose != "ours":
        (out / "IMG_0004.JPG").write_bytes(bytes(len(photo)))  # same size, other bytes
    before = (out / "IMG_0004.JPG").read_bytes()

    again = asyncio.run(session(shoot=False))
    assert again.counters.errors == 0 and again.counters.files == 1
    expected = "IMG_0004.JPG" if whose == "ours" else "IMG_0004-1.JPG"
    assert again.counters.last is not None and again.counters.last["path"] == str(out / expected)
    assert (out / expected).read_bytes() == photo
    assert (out / "IMG_0004.JPG").read_bytes() == before  # whoever's it was, untouched
    assert sorted(p.name for p in out.iterdir()) == sorted({"IMG_0004.JPG", expected})  # no part file
    index = IngestIndex(index_path)
    index.open()
    stored = index.stored(Key.of("SIM-0001", "IMG_0004.JPG", len(photo), None))
    index.close()
    assert stored is not None and stored.path == expected and index.targets == {}

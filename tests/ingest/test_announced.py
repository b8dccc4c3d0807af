"""An object an event announces is read before its ObjectInfo (its first piece written and synced on the
journal's thread meanwhile): still stored exactly once, with nothing left behind. In-process ingest on the
real service and a simulator on real sockets, as in test_resume."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path

import pytest

from ptpipd.ingest import PART_PREFIX, Ingest, IngestOptions
from ptpipd.ingest_folder import IngestFolder, PartWriter
from ptpipd.ingest_index import IngestIndex, Key
from ptpipd.ip.packets import Event
from ptpipd.ptp import EventCode
from ptpipd.service import CameraService
from ptpipd.sim.server import start_simulator
from ptpipd.vendors.base import CameraConfig
from tests.ingest.test_resume import FAST, until

ANY_TRANSACTION = 0xFFFF_FFFF


async def one_shot(tmp_path: Path, options: IngestOptions, **sim_options: object) -> Ingest:
    """Ingest on a simulator (its card in ``tmp_path / "card"``) that shoots one picture once ingest has
    scanned it: the ingest, once the picture is stored."""
    card = str(tmp_path / "card")
    sim = await start_simulator("generic", port=0, battery_interval=0, card=card, **sim_options)
    config = CameraConfig(host="127.0.0.1", port=sim.ports[0])
    try:
        async with CameraService(config, FAST) as service, Ingest(service, options) as ingest:
            await until(lambda: ingest.counters.scans == 1, 10, "the first scan")
            sim.press_shutter()
            await until(lambda: ingest.counters.files == 1, 10, "the picture")
            return ingest
    finally:
        await sim.close()


def test_an_object_announced_again_is_not_stored_twice(tmp_path: Path) -> None:
    card, out = tmp_path / "card", tmp_path / "out"

    async def scenario() -> tuple[Ingest, int]:
        sim = await start_simulator("generic", port=0, battery_interval=0, card=str(card))
        config = CameraConfig(host="127.0.0.1", port=sim.ports[0])
        options = IngestOptions(directory=out, index_path=tmp_path / "index.jsonl")
        try:
            async with CameraService(config, FAST) as service, Ingest(service, options) as ingest:
                await until(lambda: ingest.counters.scans == 1, 10, "the first scan")
                sim.press_shutter()
                await until(lambda: ingest.counters.files == 1, 10, "the picture")
                handle = next(e.handle for e in await service.files() if e.filename == "IMG_0004.JPG")
                sim.route([Event(EventCode.ObjectAdded, ANY_TRANSACTION, (handle,))])  # announced again
                await until(lambda: ingest.counters.skipped == 1, 10, "the announcement seen")
                await until(lambda: ingest.status()["queue"] == 0, 10, "ingest idle")
                return ingest, handle
        finally:
            await sim.close()

    ingest, _ = asyncio.run(scenario())
    assert ingest.counters.files == 1 and ingest.counters.errors == 0
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0004.JPG"]  # its first piece read again: gone
    assert (out / "IMG_0004.JPG").read_bytes() == (card / "IMG_0004.JPG").read_bytes()
    index = IngestIndex(tmp_path / "index.jsonl")
    index.open()
    assert [s.path for s in index.done.values()] == ["IMG_0004.JPG"] and index.targets == {}
    index.close()


def test_a_first_piece_left_by_a_crash_goes_and_its_object_is_stored_under_its_key(tmp_path: Path) -> None:
    """A daemon killed while it read an announced object's first piece leaves a part file named by the
    handle; the next connection's scan removes it and downloads the object (a picture shot meanwhile)."""
    card, out, index_path = tmp_path / "card", tmp_path / "out", tmp_path / "index.jsonl"

    async def session(shoot_first: bool) -> Ingest:
        sim = await start_simulator("generic", port=0, battery_interval=0, card=str(card))
        if shoot_first:
            sim.press_shutter()  # on the card before ingest connects: the scan finds it
        config = CameraConfig(host="127.0.0.1", port=sim.ports[0])
        options = IngestOptions(directory=out, index_path=index_path)
        try:
            async with CameraService(config, FAST) as service, Ingest(service, options) as ingest:
                await until(lambda: ingest.counters.scans == 1, 10, "the scan")
                await until(lambda: ingest.status()["queue"] == 0, 10, "ingest idle")
                return ingest
        finally:
            await sim.close()

    assert asyncio.run(session(shoot_first=False)).counters.files == 0  # the card's first files stay
    left = out / f"{PART_PREFIX}new-00000004.part"
    left.write_bytes(b"\xff\xd8\xff" + bytes(1000))
    again = asyncio.run(session(shoot_first=True))
    assert again.counters.files == 1 and again.counters.errors == 0
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0004.JPG"]
    assert (out / "IMG_0004.JPG").read_bytes() == (card / "IMG_0004.JPG").read_bytes()


def test_a_part_writer_writes_in_order_syncs_on_the_thread_and_fails_at_once(tmp_path: Path) -> None:
    pieces = [bytes([n]) * (1000 + n) for n in range(20)]

    async def scenario() -> tuple[int, bytes]:
        index = IngestIndex(tmp_path / "index.jsonl")
        index.open()
        folder = IngestFolder(tmp_path, "{filename}", index)
        good = PartWriter(tmp_path / "good.part")
        for piece in pieces:
            good.write(memoryview(bytearray(piece)))  # a buffer the caller reuses
        await good.finish(folder)
        await folder.close()
        return good.size, (tmp_path / "good.part").read_bytes()

    size, data = asyncio.run(scenario())
    assert size == sum(map(len, pieces)) and data == b"".join(pieces)
    bad = PartWriter(tmp_path / "missing" / "bad.part")  # its folder is not there
    with pytest.raises(FileNotFoundError):
        bad.write(b"lost")
    bad.discard()
    assert not (tmp_path / "missing").exists()


def test_an_object_bigger_than_a_piece_goes_on_from_its_first_piece(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first piece read before the ObjectInfo is kept: the rest follows under the object's key."""
    caplog.set_level(logging.DEBUG, "ptpipd.ingest")
    card, out, piece = tmp_path / "card", tmp_path / "out", 32 << 10

    ingest = asyncio.run(one_shot(tmp_path, IngestOptions(out, tmp_path / "index.jsonl", piece=piece)))
    data = (out / "IMG_0004.JPG").read_bytes()
    assert len(data) > piece and data == (card / "IMG_0004.JPG").read_bytes()
    assert (
        ingest.counters.last is not None
        and ingest.counters.last["sha256"] == hashlib.sha256(data).hexdigest()
    )
    assert f"IMG_0004.JPG goes on from byte {piece} of {len(data)}" in caplog.text
    assert "resuming" not in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0004.JPG"]


@pytest.mark.parametrize("size", ["same", "other"])
def test_a_name_taken_by_someone_elses_file_leaves_it_alone(tmp_path: Path, size: str) -> None:
    """The pattern's name holds a file that is not ours, of the photo's size (perhaps ours, named before a
    power cut lost its record: the bytes decide) or of another size: it stays as it is, ours takes the next
    name."""
    card, out, photo = tmp_path / "card", tmp_path / "out", 300_000

    out.mkdir()
    theirs = bytes(photo if size == "same" else photo - 1)
    (out / "IMG_0004.JPG").write_bytes(theirs)
    options = IngestOptions(out, tmp_path / "index.jsonl")
    ingest = asyncio.run(one_shot(tmp_path, options, photo_size=photo))
    assert ingest.counters.errors == 0
    assert (out / "IMG_0004.JPG").read_bytes() == theirs
    assert (out / "IMG_0004-1.JPG").read_bytes() == (card / "IMG_0004.JPG").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0004-1.JPG", "IMG_0004.JPG"]


def test_a_part_file_whose_sync_failed_is_never_put_into_place(tmp_path: Path) -> None:
    """The link queued behind the sync on the journal's thread checks the sync happened."""
    key = Key.of("SN1", "IMG_0001.JPG", 4, None)

    async def scenario() -> BaseException | None:
        index = IngestIndex(tmp_path / "index.jsonl")
        index.open()
        folder = IngestFolder(tmp_path, "{filename}", index)
        writer = PartWriter(tmp_path / "a.part")
        writer.write(b"data")
        writer.error = OSError(5, "Input/output error")  # as the thread's fdatasync would have set it
        try:
            await folder.store(key, writer, None)
        except OSError as exc:
            return exc
        finally:
            writer.discard()
            await folder.close()
        return None

    error = asyncio.run(scenario())
    assert isinstance(error, OSError) and "could not be synced" in str(error), error
    assert not (tmp_path / "IMG_0001.JPG").exists()


@pytest.mark.parametrize("order", ["synced first", "named first", "named first, sync failed"])
def test_a_part_file_is_linked_by_whichever_side_is_last(tmp_path: Path, order: str) -> None:
    """Synced before its name is known: linked at once. Named first: the journal's thread links it right
    after its sync, never before, and never when the sync failed."""
    final = tmp_path / "IMG_0001.JPG"

    async def scenario() -> tuple[bool, Path | None]:
        folder = IngestFolder(tmp_path, "{filename}", IngestIndex(tmp_path / "index.jsonl"))
        writer = PartWriter(tmp_path / "a.part")
        writer.write(b"photo")
        if order == "synced first":
            await writer.finish(folder)
        writer.link_when_synced(final)
        before = final.exists()
        if order == "named first":
            await writer.finish(folder)
        elif order == "named first, sync failed":
            with pytest.raises(OSError):  # fdatasync of /dev/null: EINVAL, as a failing disk's EIO
                await folder.journal(writer._sync, os.open(os.devnull, os.O_WRONLY))
            writer.discard()
        await folder.close()
        return before, writer.linked

    before, linked = asyncio.run(scenario())
    assert before is (order == "synced first")
    if order == "named first, sync failed":
        assert linked is None and not final.exists()
    else:
        assert linked == final and final.read_bytes() == b"photo"

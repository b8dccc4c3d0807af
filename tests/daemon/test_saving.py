"""The one way the daemon keeps what the camera sends (:mod:`ptpipd.rpc.saving`): streamed to a temporary
file, inline when small enough, committed (fsync + rename) in a worker thread so the event loop serves
others meanwhile, and moved to a legacy ``capture PATH`` without ever leaving a half-written file."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from ptpipd.camera import Capture
from ptpipd.files import save_inside
from ptpipd.ip.transport import DataSink
from ptpipd.rpc.saving import save
from ptpipd.vendors.base import Transfer

WAIT = 10.0


def fetcher(data: bytes, filename: str | None = "IMG_0001.JPG"):  # type: ignore[no-untyped-def]
    async def fetch(sink: DataSink) -> Capture:
        for at in range(0, len(data), 1000):  # in pieces, as a camera's data phase arrives
            sink.write(data[at : at + 1000])
        return Capture(Transfer("jpeg", len(data), 7, filename), None)

    return fetch


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


async def test_saved_under_the_cameras_name_or_a_dated_stem(tmp_path: Path) -> None:
    saved = await save(tmp_path, "capture", fetcher(b"x" * 5000))
    assert saved.path == tmp_path / "IMG_0001.JPG" and saved.path.read_bytes() == b"x" * 5000
    assert saved.data is None and saved.transfer.size == 5000
    again = await save(tmp_path, "capture", fetcher(b"y" * 10))
    assert again.path == tmp_path / "IMG_0001-1.JPG", "never replaces a kept picture"
    nameless = await save(tmp_path, "object-9", fetcher(b"z", None))
    assert nameless.path is not None and nameless.path.name.startswith("object-9-")
    assert nameless.path.suffix == ".jpeg"
    assert leftovers(tmp_path) == []


async def test_inline_keeps_no_file_unless_too_big(tmp_path: Path) -> None:
    small = await save(tmp_path, "capture", fetcher(b"a" * 3000), inline=3000)
    assert small.data == b"a" * 3000 and small.path is None
    assert entries(tmp_path) == []
    big = await save(tmp_path, "capture", fetcher(b"b" * 3001), inline=3000)
    assert big.data is None and big.path is not None and big.path.read_bytes() == b"b" * 3001


async def test_the_commit_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fsync blocks until a coroutine on the loop lets it go: on the loop it would never be let go."""
    in_fsync, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        in_fsync.set()
        if not release.wait(WAIT):
            raise AssertionError("fsync was never released: the event loop was blocked")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    job = asyncio.create_task(save(tmp_path, "capture", fetcher(b"c" * 100)))
    assert await asyncio.to_thread(in_fsync.wait, WAIT)
    assert not job.done()
    release.set()  # the loop runs while the commit waits in its thread
    saved = await asyncio.wait_for(job, WAIT)
    assert saved.path is not None and saved.path.read_bytes() == b"c" * 100


async def test_cancelled_during_the_commit_keeps_the_whole_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_fsync, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        in_fsync.set()
        release.wait(WAIT)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    job = asyncio.create_task(save(tmp_path, "capture", fetcher(b"d" * 100)))
    assert await asyncio.to_thread(in_fsync.wait, WAIT)
    job.cancel()
    await asyncio.sleep(0)  # the cancellation is delivered while the thread still commits
    assert not job.done(), "the cancelled save waits for its commit"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(job, WAIT)
    assert (tmp_path / "IMG_0001.JPG").read_bytes() == b"d" * 100
    assert leftovers(tmp_path) == []


async def test_a_failed_transfer_leaves_nothing(tmp_path: Path) -> None:
    async def broken(sink: DataSink) -> Capture:
        sink.write(b"half")
        raise ConnectionResetError("the camera went away")

    with pytest.raises(ConnectionResetError):
        await save(tmp_path, "capture", broken)
    assert entries(tmp_path) == []


def test_a_kept_file_copied_inside_the_capture_directory(tmp_path: Path) -> None:
    """The legacy ``capture PATH`` moves the picture the daemon kept with ``save_inside`` given the file:
    copied in pieces (never whole in memory), never replacing a file, complete or not at all."""
    kept = tmp_path / "IMG_0001.JPG"
    kept.write_bytes(b"6" * 3_000_000)
    (tmp_path / "sub").mkdir()
    assert save_inside(tmp_path, "sub", "IMG.JPG", kept) == tmp_path / "sub" / "IMG.JPG"
    assert save_inside(tmp_path, "sub/IMG.JPG", "x", kept) == tmp_path / "sub" / "IMG-1.JPG"
    assert (tmp_path / "sub" / "IMG-1.JPG").read_bytes() == b"6" * 3_000_000
    with pytest.raises(FileNotFoundError):
        save_inside(tmp_path, "nowhere/x.jpg", "IMG.JPG", kept)
    assert kept.read_bytes() == b"6" * 3_000_000, "the source stays (the caller removes it)"
    assert leftovers(tmp_path / "sub") == []

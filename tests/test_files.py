"""ptpipd.files: safe names, never-replacing commits, the start-up clean-up and paths kept inside the capture
directory (issue 14 defects 1, 6 and 10; the end-to-end reproductions are in tests/faults/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ptpipd.files import (
    AtomicFile,
    OutsideCaptureDir,
    inside_parts,
    remove_stale_temp_files,
    safe_name,
    save_inside,
)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("IMG_0001.JPG", "IMG_0001.JPG"),
        ("IMG\x00.JPG", "IMG_.JPG"),
        ("IMG\x1b[2J.JPG", "IMG_[2J.JPG"),
        ("..", ""),
        (".", ""),
        ("", ""),
        (".hidden.jpg", "hidden.jpg"),
        ("-rf.jpg", "rf.jpg"),
        ("DCIM/../x.jpg", "DCIM_.._x.jpg"),
        ("a\u202egpj.exe", "a_gpj.exe"),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_safe_name_keeps_the_extension_of_a_long_name() -> None:
    name = safe_name("é" * 300 + ".JPG")
    assert name.endswith(".JPG") and len(name.encode()) <= 200


def test_commit_never_replaces_a_file(tmp_path: Path) -> None:
    (tmp_path / "IMG.JPG").write_text("mine")
    with AtomicFile(tmp_path) as sink:
        sink.write(b"new")
        path = sink.commit("IMG.JPG")
    assert path == tmp_path / "IMG-1.JPG" and path.read_bytes() == b"new"
    assert (tmp_path / "IMG.JPG").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["IMG-1.JPG", "IMG.JPG"]  # no temporary file left


def test_a_temp_file_that_cannot_be_locked_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another daemon's start-up clean-up may lock a brand-new temporary file first: nothing is left behind."""

    def taken(fd: int, operation: int) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr("ptpipd.files.fcntl.flock", taken)
    with pytest.raises(BlockingIOError):
        AtomicFile(tmp_path)
    assert os.listdir(tmp_path) == []


def test_stale_temp_files_go_but_a_live_one_and_other_names_stay(tmp_path: Path) -> None:
    stale = tmp_path / ".ptpipd-abcd_123.part"
    stale.write_bytes(b"left by a killed daemon")
    others = [
        tmp_path / ".ptpipd-notes.txt",
        tmp_path / "holiday.part",
        tmp_path / ".ptpipd-toolongname.part",
    ]
    for path in others:
        path.write_text("not ours")
    (tmp_path / ".ptpipd-link0000.part").symlink_to(others[0])
    before = set(tmp_path.iterdir())
    with AtomicFile(tmp_path) as live:  # another daemon writing into the same directory
        live.write(b"in progress")
        (live_temp,) = set(tmp_path.iterdir()) - before
        assert remove_stale_temp_files(tmp_path) == [stale]
        assert live_temp.exists()
    assert all(p.exists() for p in others)
    assert remove_stale_temp_files(tmp_path / "missing") == []


def test_save_inside_refuses_every_way_out(tmp_path: Path) -> None:
    base = tmp_path / "captures"
    outside = tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside)
    (base / "file-link").symlink_to(outside / "victim")
    for path in (
        str(outside / "x.jpg"),
        "../outside/x.jpg",
        "sub/../../x.jpg",
        "link/x.jpg",
        "link",
        "file-link",
    ):
        with pytest.raises(OutsideCaptureDir):
            save_inside(base, path, "IMG.JPG", b"data")
    assert os.listdir(outside) == []
    assert inside_parts(base, str(base / "a" / "b.jpg")) == ["a", "b.jpg"]


def test_save_inside_writes_where_asked_without_replacing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert save_inside(tmp_path, "sub/one.jpg", "IMG.JPG", b"1") == tmp_path / "sub" / "one.jpg"
    assert save_inside(tmp_path, "sub/one.jpg", "IMG.JPG", b"2") == tmp_path / "sub" / "one-1.jpg"
    assert save_inside(tmp_path, "sub", "IMG\x00.JPG", b"3") == tmp_path / "sub" / "IMG_.JPG"
    assert save_inside(tmp_path, str(tmp_path), "..", b"4") == tmp_path / "capture"
    assert (tmp_path / "sub" / "one.jpg").read_bytes() == b"1"
    with pytest.raises(FileNotFoundError):
        save_inside(tmp_path, "nowhere/x.jpg", "IMG.JPG", b"5")
    assert not [p for p in tmp_path.rglob(".*")], "no temporary file is left behind"

"""Issue 14, defect 1 (security): the legacy ``capture PATH`` must write only inside the capture directory.

Old scripts' way, for real: ``echo 'capture PATH' | nc 127.0.0.1 PORT`` (netcat-openbsd) against a
``ptpipd --simulate generic --legacy 127.0.0.1:0`` subprocess. The legacy port accepts any local user and the
daemon may have more rights than that user, so no PATH may reach outside the capture directory (absolute,
``..``, or through a symlink) nor replace a file the daemon did not create.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.conftest import check_all, simulated_daemon
from tests.legacy.conftest import legacy_port, nc

VICTIM_TEXT = "a text file the daemon did not create\n"


@dataclass
class Server:
    host: str
    port: int
    capture_dir: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("legacy-paths")
    capture_dir = workdir / "captures"
    capture_dir.mkdir()
    with simulated_daemon(workdir / "d", "--legacy", "127.0.0.1:0", "--capture-dir", str(capture_dir)) as d:
        yield Server("127.0.0.1", legacy_port(d), capture_dir)


def listing(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (recursively) with its content."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def attack(server: Server, outside: Path, case: str) -> tuple[str, bool]:
    """Sets up ``case`` and returns (the PATH to send, whether the answer must be an error line)."""
    victim = outside / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    if case == "absolute":
        return str(victim), True
    if case == "dotdot":
        return os.path.relpath(outside / "new.jpg", server.capture_dir), True
    if case == "symlink":
        link = server.capture_dir / f"link-{outside.parent.name}"
        link.symlink_to(outside, target_is_directory=True)
        return f"{link.name}/new.jpg", True
    # a file inside the capture directory that the daemon did not create: not replaced (an error, or
    # another name, is the daemon's choice)
    foreign = server.capture_dir / f"notes-{outside.parent.name}.txt"
    foreign.write_text(VICTIM_TEXT)
    return foreign.name, False


@pytest.mark.parametrize("case", ["absolute", "dotdot", "symlink", "foreign-file"])
def test_capture_path_stays_inside_the_capture_directory(server: Server, tmp_path: Path, case: str) -> None:
    """Issue 14 defect 1: ``capture /tmp/x/victim.txt`` replaced an existing text file with a JPEG and
    ``capture ../../../../tmp/x/v.txt`` escaped the capture directory. Whatever PATH says, nothing outside the
    capture directory changes, no file the daemon did not create is replaced, and a PATH outside gets one
    clear error line."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path, must_refuse = attack(server, outside, case)
    foreign = server.capture_dir / f"notes-{outside.parent.name}.txt"
    before = listing(outside)
    answer = nc(server.host, server.port, f"capture {path}")
    lines = answer.splitlines()
    problems = []
    if listing(outside) != before:
        problems.append(f"capture {path!r} changed {outside}: now {sorted(listing(outside))}")
    if foreign.exists() and foreign.read_bytes() != VICTIM_TEXT.encode():
        problems.append(f"capture {path!r} replaced {foreign.name}, a file the daemon did not create")
    if len(lines) != 1:
        problems.append(f"capture {path!r} answered {len(lines)} lines: {answer!r}")
    if must_refuse and not (lines and "error" in lines[0].lower()):
        problems.append(f"capture {path!r} was not refused: {answer!r}")
    check_all(problems)


def test_capture_path_inside_the_capture_directory_still_works(server: Server) -> None:
    """Guard for the fix of defect 1: a relative PATH in an existing subdirectory of the capture directory
    is written there, as the seed did (and a directory PATH gets the camera's file name)."""
    sub = server.capture_dir / "shots"
    sub.mkdir(exist_ok=True)
    answer = nc(server.host, server.port, "capture shots/first.jpg")
    saved = sub / "first.jpg"
    assert f"saved to {saved}" in answer, answer
    assert saved.read_bytes()[:2] == b"\xff\xd8"
    answer = nc(server.host, server.port, "capture shots")
    assert f"saved to {sub}/" in answer, answer
    assert len(list(sub.iterdir())) == 2

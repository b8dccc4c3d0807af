"""Ingest's pure parts, each on its own: file names from the pattern, the journal, the hook runner."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest

from ptpipd.config import ConfigFileError, SettingsError, load
from ptpipd.ingest_hook import hook_command, hook_environment, run_hook
from ptpipd.ingest_index import IngestIndex, Key, Stored, canonical_time
from ptpipd.ingest_names import NAME_MAX, PatternError, check_pattern, render
from tests.ingest.conftest import alive

WHEN = datetime(2024, 6, 1, 10, 15, 42)


def name(pattern: str, filename: str = "IMG_0042.JPG", serial: str = "SN1", n: int = 7) -> str:
    return str(render(pattern, captured=WHEN, filename=filename, serial=serial, n=n))


# ------------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{filename}", "IMG_0042.JPG"),
        ("%Y/%m/%d/{filename}", "2024/06/01/IMG_0042.JPG"),
        ("%Y%m%d-%H%M%S-{stem}.{ext}", "20240601-101542-IMG_0042.JPG"),
        ("{serial}/{n:05d}.{ext}", "SN1/00007.JPG"),
        ("{n}_{filename}", "7_IMG_0042.JPG"),
        ("shots//%Y/{stem}.jpg", "shots/2024/IMG_0042.jpg"),
    ],
)
def test_pattern_fields(pattern: str, expected: str) -> None:
    assert name(pattern) == expected


@pytest.mark.parametrize(
    ("filename", "serial", "expected"),
    [
        ("../../etc/passwd", "S", "S/_._.._etc_passwd"),  # no separator survives from the camera's side
        ("IMG\x00_1.JPG", "S", "S/IMG__1.JPG"),
        (".hidden.JPG", "S", "S/_hidden.JPG"),  # never hidden: the daemon's temporary files are
        ("", "S", "S/unnamed"),
        ("IMG.JPG", "../..", "_._../IMG.JPG"),
    ],
)
def test_camera_values_cannot_leave_the_folder(filename: str, serial: str, expected: str) -> None:
    path = render("{serial}/{filename}", captured=WHEN, filename=filename, serial=serial, n=1)
    assert str(path) == expected
    assert (
        not path.is_absolute() and ".." not in path.parts and not any(p.startswith(".") for p in path.parts)
    )


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    path = render("{filename}", captured=WHEN, filename="x" * 400 + ".JPG", serial="", n=1)
    assert len(str(path).encode()) == NAME_MAX and str(path).endswith("x.JPG")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{camera}", "unknown field {camera}"),
        ("/srv/{filename}", "absolute path"),
        ("../{filename}", "leaves the ingest directory"),
        ("", "empty"),
        ("{n:q}", "Unknown format code"),
        ("{filename", "pattern"),
    ],
)
def test_bad_patterns_are_refused_with_the_reason(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        check_pattern(pattern)


def test_config_ini_env_and_flags(tmp_path: Path) -> None:
    ini = tmp_path / "ptpipd.conf"
    ini.write_text(
        "[ingest]\ndir = /srv/shots\npattern = %Y/%m/{filename}\ndelete_after = yes\n"
        "hook = /usr/local/bin/sort-shot --fast\nhook_timeout = 5\n"
    )
    s = load({}, ini, env={}).settings
    assert (s.ingest_dir, s.ingest_pattern, s.ingest_delete_after) == (
        Path("/srv/shots"),
        "%Y/%m/{filename}",
        True,
    )
    assert (s.ingest_hook, s.ingest_hook_timeout) == ("/usr/local/bin/sort-shot --fast", 5.0)
    env = {"PTPIPD_INGEST_DIR": "/a", "PTPIPD_INGEST_DELETE_AFTER": "true", "PTPIPD_INGEST_PATTERN": "{n}"}
    s = load({"ingest_pattern": "{stem}"}, None, env=env).settings
    assert (s.ingest_dir, s.ingest_delete_after, s.ingest_pattern) == (Path("/a"), True, "{stem}")
    assert load({}, None, env={}).settings.ingest_dir is None  # off by default
    with pytest.raises(SettingsError, match=r"--ingest-pattern: .*unknown field \{camera\}"):
        load({"ingest_pattern": "{camera}"}, None, env={})
    with pytest.raises(SettingsError, match="--ingest-hook: hook"):
        load({"ingest_hook": "sort 'shot"}, None, env={})
    ini.write_text("[ingest]\npattern = ../{filename}\n")
    with pytest.raises(ConfigFileError, match=r"\[ingest\] pattern.*leaves the ingest directory"):
        load({}, ini, env={})


# ------------------------------------------------------------------------------------------------ journal


KEY = Key.of("SN1", "IMG_0042.JPG", 1234, "2024-06-01T10:15:42")


def test_the_journal_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ingest" / "index.jsonl"
    index = IngestIndex(path)
    index.open()
    index.record_baseline("SN1", [Key.of("SN1", "IMG_0001.JPG", 10, "2024-01-01T00:00:00")])
    assert index.reserve(KEY, "IMG_0042.JPG") == 1
    assert index.target(KEY) == ("IMG_0042.JPG", 1)
    index.record_done(KEY, Stored("IMG_0042.JPG", 1234, "ab" * 32))
    index.close()
    again = IngestIndex(path)
    again.open()
    assert again.stored(KEY) == Stored("IMG_0042.JPG", 1234, "ab" * 32)
    assert again.target(KEY) is None and again.count == 1
    assert again.skipped(Key.of("SN1", "IMG_0001.JPG", 10, "2024-01-01T00:00:00"))
    assert again.has_baseline("SN1") and not again.has_baseline("SN2")
    assert again.unhooked() == [(KEY, Stored("IMG_0042.JPG", 1234, "ab" * 32))]
    again.record_hooked(KEY)
    assert again.unhooked() == []
    again.close()


def test_a_torn_last_line_is_cut_off_before_anything_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "index.jsonl"
    good = json.dumps({"op": "done", "key": KEY.as_json(), "path": "a", "size": 1234, "sha256": "0" * 64})
    path.write_text(good + "\n" + '{"op": "done", "key": ["SN1", "IMG_00')
    index = IngestIndex(path)
    index.open()
    assert index.stored(KEY) is not None and len(index.done) == 1
    other = Key.of("SN1", "IMG_0043.JPG", 5, None)
    index.record_done(other, Stored("b", 5, "1" * 64))
    index.close()
    assert [json.loads(line)["path"] for line in path.read_text().splitlines()] == ["a", "b"]


def test_capture_times_match_across_time_zones_only_by_whole_hours(tmp_path: Path) -> None:
    index = IngestIndex(tmp_path / "index.jsonl")
    index.open()
    index.record_done(KEY, Stored("a", 1234, "0" * 64))
    assert (
        index.stored(Key.of("SN1", "IMG_0042.JPG", 1234, "2024-06-01T08:15:42Z")) is not None
    )  # UTC listing
    assert index.stored(Key.of("SN1", "IMG_0042.JPG", 1234, "2024-06-01T10:15:42.0")) is not None
    assert index.stored(Key.of("SN1", "IMG_0042.JPG", 1234, "2024-06-01T10:16:42")) is None  # another shot
    assert index.stored(Key.of("SN1", "IMG_0042.JPG", 1235, "2024-06-01T10:15:42")) is None  # another size
    assert index.stored(Key.of("SN2", "IMG_0042.JPG", 1234, "2024-06-01T10:15:42")) is None  # another camera
    index.close()
    assert canonical_time("20240601T101542") == "2024-06-01T10:15:42"  # PTP's own form
    assert canonical_time("June the first") == "June the first"  # unreadable: kept as the camera said it


def test_a_long_journal_is_rewritten_with_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "index.jsonl"
    index = IngestIndex(path)
    index.open()
    for n in range(5):
        key = Key.of("SN1", f"IMG_{n:04d}.JPG", n + 1, None)
        index.reserve(key, f"IMG_{n:04d}.JPG")
        index.record_done(key, Stored(f"IMG_{n:04d}.JPG", n + 1, "0" * 64))
    index.compact()
    index.reserve(Key.of("SN1", "IMG_0009.JPG", 9, None), "IMG_0009.JPG")
    index.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 5 + 1 + 1  # the five done, the counter, the new reservation
    again = IngestIndex(path)
    again.open()
    assert len(again.done) == 5 and again.count == 6 and again.reserved_paths() == {"IMG_0009.JPG"}
    again.close()


# ------------------------------------------------------------------------------------------------ hooks


def test_the_hook_environment_is_gphoto2s_without_the_daemons_settings() -> None:
    base = {"PATH": "/bin", "PTPIPD_AUTH_TOKEN": "secret", "HOME": "/h"}
    env = hook_environment(base, "/srv/IMG_1.JPG", {"sha256": "ab", "handle": "7"})
    assert env == {
        "PATH": "/bin",
        "HOME": "/h",
        "ACTION": "download",
        "ARGUMENT": "/srv/IMG_1.JPG",
        "PTPIPD_SHA256": "ab",
        "PTPIPD_HANDLE": "7",
    }
    assert hook_command("/usr/bin/hook 'two words' x") == ["/usr/bin/hook", "two words", "x"]
    with pytest.raises(ValueError):
        hook_command("  ")


def test_a_hook_that_hangs_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; echo started; wait"

    async def run() -> tuple[float, object]:
        started = time.monotonic()
        result = await run_hook(["sh", "-c", script], dict(os.environ), str(tmp_path), 0.5)
        return time.monotonic() - started, result

    elapsed, result = asyncio.run(run())
    assert result.timed_out and not result.ok and result.output == "started"  # type: ignore[attr-defined]
    assert elapsed < 5
    assert not alive(int(pids.read_text()))


def test_hook_exit_status_output_and_a_missing_program(tmp_path: Path) -> None:
    async def run(argv: list[str]) -> object:
        return await run_hook(argv, {"PATH": os.environ["PATH"], "ARGUMENT": "x.jpg"}, str(tmp_path), 10)

    failed = asyncio.run(run(["sh", "-c", 'echo "no room for $ARGUMENT" >&2; exit 4']))
    assert failed.returncode == 4 and not failed.ok and failed.output == "no room for x.jpg"  # type: ignore[attr-defined]
    assert failed.describe() == "exit status 4"  # type: ignore[attr-defined]
    missing = asyncio.run(run([str(tmp_path / "nope")]))
    assert missing.returncode is None and not missing.ok  # type: ignore[attr-defined]
    assert missing.describe().startswith("cannot start: ")  # type: ignore[attr-defined]
    big = asyncio.run(run(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a"]))
    assert big.ok and len(big.output) == 4096  # type: ignore[attr-defined]


def test_render_returns_a_relative_posix_path() -> None:
    assert isinstance(render("{filename}", captured=WHEN, filename="a.jpg", serial="", n=1), PurePosixPath)

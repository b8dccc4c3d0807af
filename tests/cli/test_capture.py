"""Issue 15 item 2: ``capture`` checks its destination before the shutter fires, and when writing fails
after the shot, says which handle holds the picture. Subprocess runs against real daemons and the stub."""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path

import pytest

from tests.cli.conftest import Live, clean_env, ctl
from tests.cli.stub import StubDaemon

LIMIT = 4096  # bytes: smaller than any picture either simulator takes


def small_files() -> None:
    """In the child: files may not grow past LIMIT (writes fail with EFBIG; Python ignores SIGXFSZ)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def unwritable(tmp_path: Path) -> list[tuple[str, str]]:
    """Destinations that cannot be written even as root, with the reason the system gives."""
    (tmp_path / "a-file").write_bytes(b"")
    return [
        (f"{tmp_path}/missing/shot.jpg", "No such file or directory"),
        (f"{tmp_path}/a-file/shot.jpg", "Not a directory"),
        (f"{tmp_path}/missing-dir/", "No such file or directory"),
    ]


def test_an_unwritable_destination_asks_nothing_of_the_camera(home: Path, stub: StubDaemon) -> None:
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    for path, reason in unwritable(home):
        for words in (["capture", path], ["download", "3", path]):
            for fast in (True, False):
                result = ctl(*words, env=env, fast=fast)
                assert (result.code, result.out) == (1, "")
                assert result.err == f"ptpipctl: cannot write to {path}: {reason}\n"
    assert stub.requests == []


def test_an_unwritable_destination_fires_no_shutter(live: Live, tmp_path: Path) -> None:
    with live.daemon.connect() as conn:
        files = conn.request("files")
    for path, reason in unwritable(tmp_path):
        result = live.ctl("capture", path)
        assert (result.code, result.err) == (1, f"ptpipctl: cannot write to {path}: {reason}\n")
    if "result" in files:  # the generic camera lists its objects: no new one
        assert live.daemon.call("files") == files["result"]
    assert not list(tmp_path.rglob(".*.tmp"))


@pytest.mark.parametrize("as_json", [False, True])
def test_a_write_failing_after_the_shot_names_the_handle(live: Live, tmp_path: Path, as_json: bool) -> None:
    target = tmp_path / "shot.jpg"
    flags = ["--json"] if as_json else []
    result = live.ctl("capture", str(target), *flags, preexec_fn=small_files)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"ptpipctl: cannot write {target}: File too large; ")
    assert list(tmp_path.iterdir()) == [], "neither the picture nor a temporary file is left"
    if (
        live.vendor == "fuji"
    ):  # remote mode hands over a preview, which the camera does not keep: the daemon's
        kept = re.search(  # copy stays, and the message says where
            r"; the picture was a preview, which the camera does not keep; the daemon keeps it: "
            r"GET (/captures/\S+) \(its file (\S+)\)\n$",
            result.err,
        )
        assert kept is not None, result.err
        copy = Path(kept[2])
        assert copy.read_bytes()[:2] == b"\xff\xd8" and copy.stat().st_size > LIMIT
        assert kept[1] == f"/captures/{copy.name}"
        copy.unlink()
        return
    newest = max(live.daemon.call("files"), key=lambda f: f["handle"])
    handle = newest["handle"]
    assert result.err.endswith(
        f"; the picture is on the camera as handle {handle} (ptpipctl download {handle} PATH)\n"
    )
    saved = live.ctl("download", str(handle), str(target), "--json")
    assert saved.code == 0, saved.err
    assert json.loads(saved.out)["size"] == target.stat().st_size == newest["size"] > LIMIT

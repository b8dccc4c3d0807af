"""``ptpipctl sync`` and ``ptpipctl delete`` (issue 12 items 2 and 3) against a ``ptpipd --simulate generic``
subprocess over its real sockets: a fresh directory gets every picture (bytes checked against the daemon's
HTTP data plane, read independently here), a second run copies nothing, ``--delete`` empties the camera of
the verified copies only, and ``delete`` refuses a wrong handle or a missing ``--yes`` before deleting
anything."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipctl.commands.card import MANIFEST
from tests.cli.conftest import PTPIPCTL, Live, clean_env, ctl
from tests.procs import running_daemon
from tests.web.conftest import http_port

PROTECTED = "IMG_0001.JPG"  # the simulator's write-protected picture (a photo locked on the body)


@pytest.fixture
def generic(tmp_path: Path) -> Iterator[Live]:
    """A camera of its own per test: these tests take pictures and delete them."""
    with running_daemon(tmp_path / "daemon", "--simulate", "generic") as daemon:
        daemon.wait_connected()
        (tmp_path / "run").mkdir()
        yield Live("generic", daemon, clean_env(tmp_path, PTPIPCTL_SOCKET=str(daemon.socket_path)))


def camera_files(live: Live) -> dict[int, dict[str, object]]:
    return {f["handle"]: f for f in live.daemon.call("files")}


def camera_bytes(live: Live, handle: int) -> bytes:
    """The object as the daemon's data plane serves it, over TCP with the standard library's client."""
    conn = http.client.HTTPConnection("127.0.0.1", http_port(live.daemon), timeout=30)
    try:
        conn.request("GET", f"/files/{handle}")
        response = conn.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        conn.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listing(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry of ``directory``: (inode, size, mtime_ns)."""
    return {p.name: (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()}


def test_sync_copies_everything_then_nothing_then_only_the_new(generic: Live, tmp_path: Path) -> None:
    out = tmp_path / "card"
    files = camera_files(generic)
    first = generic.ctl("sync", str(out))
    assert first.code == 0, first.err
    assert first.out.splitlines()[-1].startswith(f"copied {len(files)} files (")
    names = {str(f["filename"]) for f in files.values()}
    assert set(os.listdir(out)) == names | {MANIFEST}  # no temporary or partial file left
    for handle, entry in files.items():
        assert sha256((out / str(entry["filename"])).read_bytes()) == sha256(camera_bytes(generic, handle))
    records = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert sorted(r["filename"] for r in records) == sorted(names)

    before = listing(out)
    again = generic.ctl("sync", str(out), "--json")
    assert again.code == 0, again.err
    result = json.loads(again.out)
    assert (result["copied"], result["copied_before"], result["deleted"]) == ([], len(files), [])
    assert listing(out) == before  # not a byte written, the manifest included

    shots = [generic.daemon.call("capture")["handle"] for _ in range(2)]
    third = generic.ctl("sync", str(out), "--json")
    assert third.code == 0, third.err
    copied = json.loads(third.out)["copied"]
    assert sorted(c["handle"] for c in copied) == sorted(shots)
    for c in copied:
        assert (
            sha256((out / c["path"]).read_bytes())
            == c["sha256"]
            == sha256(camera_bytes(generic, c["handle"]))
        )


def test_sync_delete_leaves_on_the_camera_what_is_not_verified_here(generic: Live, tmp_path: Path) -> None:
    out = tmp_path / "card"
    assert generic.ctl("sync", str(out)).code == 0
    files = camera_files(generic)
    by_name = {str(f["filename"]): h for h, f in files.items()}
    changed, gone = sorted(n for n in by_name if n != PROTECTED)[:2]
    with (out / changed).open("r+b") as f:  # the copy here no longer is the camera's picture: same size,
        f.seek(100)  # one byte different
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    (out / gone).unlink()  # nor is this one here any more
    new = generic.daemon.call("capture")["handle"]

    run = generic.ctl("sync", str(out), "--delete")
    assert run.code == 1
    assert run.err == "ptpipctl: 3 pictures kept on the camera\n"
    kept = {line.split()[1] for line in run.out.splitlines() if line.startswith("kept ")}
    assert kept == {changed, gone, PROTECTED}, run.out
    assert "ObjectWriteProtected" in run.out and "changed since it was copied" in run.out
    left = camera_files(generic)
    assert set(left) == {by_name[changed], by_name[gone], by_name[PROTECTED]}  # the new one copied, deleted
    assert new not in left and len(files) + 1 - len(left) == int(run.out.split("; deleted ")[1].split()[0])
    assert sum(1 for p in out.iterdir() if p.name != MANIFEST) == len(files)  # + the new one - the gone one


def test_delete_refuses_before_deleting_anything(generic: Live) -> None:
    files = camera_files(generic)
    handles = sorted(h for h, f in files.items() if f["filename"] != PROTECTED)[:2]
    unknown = max(files) + 100
    wrong = generic.ctl("delete", str(handles[0]), str(unknown), "--yes")
    assert (wrong.code, wrong.out) == (1, "")
    assert f"no object {unknown} on the camera" in wrong.err
    unasked = generic.ctl("delete", str(handles[0]))  # stdin is not a terminal here
    assert (unasked.code, unasked.out) == (2, "")
    assert "--yes" in unasked.err
    assert camera_files(generic) == files

    done = generic.ctl("delete", *map(str, handles), "--yes", "--json")
    assert done.code == 0, done.err
    assert json.loads(done.out) == [{"handle": h, "filename": files[h]["filename"]} for h in handles]
    assert set(camera_files(generic)) == set(files) - set(handles)


def test_delete_of_a_protected_picture_is_the_cameras_refusal(generic: Live) -> None:
    protected = next(h for h, f in camera_files(generic).items() if f["filename"] == PROTECTED)
    refused = generic.ctl("delete", str(protected), "--yes")
    assert refused.code == 1
    assert "ObjectWriteProtected" in refused.err
    assert protected in camera_files(generic)


def test_delete_without_a_handle_is_a_usage_error(generic: Live) -> None:
    assert ctl("delete", "--yes", env=generic.env).code == 2


@pytest.mark.parametrize("answer", ["n", "y"])
def test_delete_asks_on_a_terminal(generic: Live, answer: str) -> None:
    files = camera_files(generic)
    handle = max(h for h, f in files.items() if f["filename"] != PROTECTED)
    master, slave = pty.openpty()
    try:
        os.write(master, f"{answer}\n".encode())  # the line waits in the terminal until ptpipctl reads it
        done = subprocess.run(
            [str(PTPIPCTL), "delete", str(handle)],
            stdin=slave,
            capture_output=True,
            text=True,
            env=generic.env,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert f"Delete {files[handle]['filename']} (handle {handle}) from the camera?" in done.stderr
    if answer == "y":
        assert (done.returncode, done.stdout) == (
            0,
            f"deleted {files[handle]['filename']} (handle {handle})\n",
        )
        assert handle not in camera_files(generic)
    else:
        assert done.returncode == 1 and done.stderr.endswith("ptpipctl: nothing deleted\n")
        assert camera_files(generic) == files

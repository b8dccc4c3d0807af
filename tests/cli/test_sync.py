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

from ptpipctl.client import CtlError
from ptpipctl.commands.card import MANIFEST, Manifest
from ptpipd.sim import bigobject
from tests.cli.conftest import PTPIPCTL, Live, clean_env, ctl
from tests.cli.stub import stub_daemon
from tests.daemon.conftest import camera_args, wait_until
from tests.procs import running_daemon, start_sim
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
    deleted = [{"handle": h, "filename": files[h]["filename"]} for h in handles]
    assert json.loads(done.out) == {"deleted": deleted, "refused": []}
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


# ------------------------------------------------- found by review (w/rev-cli), fixed on w/fixcli

BIG = 6  # the generic simulator's handle of its big object
SIZE = 64 << 20


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_camera_lost_mid_sync_then_sync_delete_keeps_the_cameras_bytes(tmp_path: Path) -> None:
    """The camera drops while ``sync`` streams its big object; after it is back, ``sync --delete`` resumes
    the partial file and deletes the object from the camera. The copy must be the camera's bytes.

    It once was not (found by review): once the download's 200 head was out, the daemon's error middleware
    (ptpipd/web/app.py ``_errors``) answered the camera's NotConnected with a whole second HTTP response
    (``HTTP/1.1 503 Service Unavailable`` …) written into the body, ptpipctl kept those bytes in the partial
    file, the resumed sync appended the rest after them, recorded the corrupt file's SHA-256 in the manifest
    as verified, and deleted the original from the camera. Now the daemon ends the connection (a short body)
    and the interrupted sync names the command that continues it."""
    sim_args = ("--object-size", str(SIZE), "--response-delay", "0.05")
    sim = start_sim("generic", *sim_args)
    port = sim.port
    out = tmp_path / "card"
    try:
        with running_daemon(tmp_path / "daemon", *camera_args(sim, "generic")) as daemon:
            daemon.wait_connected()
            (tmp_path / "run").mkdir()
            live = Live("generic", daemon, clean_env(tmp_path, PTPIPCTL_SOCKET=str(daemon.socket_path)))
            first = subprocess.Popen(
                [str(PTPIPCTL), "sync", str(out)],
                env=live.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:

                def partial() -> Path | None:
                    found = sorted(out.glob(f".ptpipctl-{BIG}-*.part")) if out.is_dir() else []
                    return found[0] if found and found[0].stat().st_size >= 8 << 20 else None

                wait_until(partial, 60, "8 MiB of the big object in the partial file")
                sim.kill()  # the camera vanishes mid-download (Wi-Fi gone)
                _, err = first.communicate(timeout=60)
            finally:
                if first.poll() is None:
                    first.kill()
                    first.communicate()
            assert first.returncode != 0, err
            assert f"'ptpipctl sync {out}' continues it" in err.decode(), err
            sim.stop()
            sim = start_sim("generic", *sim_args, "--port", str(port))  # the camera is back
            daemon.wait_connected(60)
            second = live.ctl("sync", str(out), "--delete", timeout=120)
            assert second.code == 1, second.err  # IMG_0001.JPG is protected: kept, exit 1
            copy = out / bigobject.FILENAME
            deleted = BIG not in {f["handle"] for f in daemon.call("files")}
            record = [
                line for line in (out / MANIFEST).read_text().splitlines() if bigobject.FILENAME in line
            ]
            assert sha256_file(copy) == bigobject.sha256(SIZE), (
                f"the copy is not the camera's object (deleted from the camera: {deleted}; manifest: "
                f"{record}); bytes where it differs: {_first_difference(copy)!r}"
            )
            assert deleted and json.loads(record[-1])["verified"] is True, (
                record
            )  # verified: gone from the camera
    finally:
        sim.stop()


def _first_difference(copy: Path) -> bytes:
    data = copy.read_bytes()
    expected = bigobject.build(SIZE)
    for start in range(0, SIZE, 1 << 20):
        if data[start : start + (1 << 20)] != expected[start : start + (1 << 20)]:
            at = next(i for i in range(start, start + (1 << 20)) if data[i] != expected[i])
            return data[at : at + 60]
    return b""


def test_sync_delete_never_deletes_a_picture_it_did_not_copy(generic: Live, tmp_path: Path) -> None:
    """A file that merely has the picture's name and size in DIR (last month's DSC_0001 of a fixed-size
    format after the camera's numbering restarted, a placeholder, a truncated-and-padded copy) was once taken
    as the copy (found by review): its own SHA-256 went into the manifest, and ``--delete`` then "verified"
    the foreign file against that and deleted the camera's picture, never copied anywhere. Now ``--delete``
    downloads the picture and compares: other bytes, so both are kept here, the camera's as
    ``IMG_0002-1.JPG``, and only then is the picture deleted from the camera."""
    out = tmp_path / "card"
    out.mkdir()
    files = {str(f["filename"]): f for f in generic.daemon.call("files")}
    victim = files["IMG_0002.JPG"]  # not write-protected on the simulator
    picture = camera_bytes(generic, int(victim["handle"]))
    zeros = b"\0" * int(victim["size"])
    (out / "IMG_0002.JPG").write_bytes(zeros)  # not the camera's picture
    run = generic.ctl("sync", str(out), "--delete")
    assert run.code == 1, run.err  # IMG_0001.JPG is protected: kept
    assert (out / "IMG_0002.JPG").read_bytes() == zeros  # the file that was here is left alone
    assert (out / "IMG_0002-1.JPG").read_bytes() == picture, run.out
    assert "IMG_0002.JPG here holds other bytes" in run.out, run.out
    record = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    [mine] = [r for r in record if r["filename"] == "IMG_0002.JPG"]
    assert (mine["path"], mine["sha256"], mine["verified"]) == ("IMG_0002-1.JPG", sha256(picture), True)
    left = {f["handle"] for f in generic.daemon.call("files")}
    copies = [
        p for p in out.iterdir() if p.name != MANIFEST and p.read_bytes() != b"\0" * int(victim["size"])
    ]
    assert victim["handle"] in left or any(p.stat().st_size == victim["size"] for p in copies), (
        f"IMG_0002.JPG was deleted from the camera, and DIR holds only the zeros: {run.out}"
    )


def test_an_interrupted_sync_suggests_a_command_that_exists(tmp_path: Path) -> None:
    """A sync cut mid-file once ended with "'ptpipctl sync DIR --resume' continues it", and sync has no
    --resume (found by review): it suggests 'ptpipctl sync DIR', which resumes by itself. Here the stub data
    plane cuts the body; any cut does it (a full disk, the camera gone)."""
    (tmp_path / "run").mkdir()
    data = bytes(range(256)) * 64
    entry = {"handle": 4, "filename": "IMG_0002.JPG", "size": len(data), "captured": None}
    with stub_daemon(tmp_path / "stub.sock") as stub:
        stub.answers["files"] = [entry]
        stub.http.objects[4] = ("IMG_0002.JPG", data)
        stub.http.cut_after = 5000
        env = clean_env(tmp_path, PTPIPCTL_SOCKET=str(stub.address))
        out = tmp_path / "card"
        broken = ctl("sync", str(out), env=env)
        assert broken.code == 105, broken.err
        suggested = broken.err.rsplit(": '", 1)[1].split("' continues it")[0]
        assert suggested == f"ptpipctl sync {out}", broken.err
        stub.http.cut_after = None
        again = ctl(*suggested.split()[1:], env=env)
        assert again.code == 0, (
            f"{suggested!r} (suggested by: {broken.err.strip()!r}) -> {again.err.strip()!r}"
        )
        assert (out / "IMG_0002.JPG").read_bytes() == data


def test_delete_json_reports_what_it_deleted_before_a_refusal(generic: Live) -> None:
    """``delete 4 3 --yes --json``: 4 is deleted, then the camera refuses 3 (write-protected). The command
    ends with exit 1, and stdout once held nothing (found by review): a script reading the JSON never learnt
    that 4 was gone. Now the JSON says what was deleted and what refused."""
    files = {str(f["filename"]): int(f["handle"]) for f in generic.daemon.call("files")}
    protected, other = files["IMG_0001.JPG"], files["IMG_0002.JPG"]
    run = generic.ctl("delete", str(other), str(protected), "--yes", "--json")
    gone = other not in {f["handle"] for f in generic.daemon.call("files")}
    assert run.code == 1 and gone, (run.code, gone)
    assert str(other) in run.out + run.err, (
        f"nowhere says handle {other} was deleted: {run.out!r} {run.err!r}"
    )
    result = json.loads(run.out)
    assert result["deleted"] == [{"handle": other, "filename": "IMG_0002.JPG"}], result
    [refused] = result["refused"]
    assert (refused["handle"], refused["filename"]) == (protected, "IMG_0001.JPG")
    assert "ObjectWriteProtected" in refused["why"], refused
    assert run.err == f"ptpipctl: not deleted IMG_0001.JPG (handle {protected}): {refused['why']}\n"


def test_delete_goes_on_past_a_refusal(generic: Live) -> None:
    """A refused handle first: the ones after it are still deleted (stdout), the refusal is the error
    (stderr), exit 1."""
    files = {str(f["filename"]): int(f["handle"]) for f in generic.daemon.call("files")}
    protected, other = files[PROTECTED], files["IMG_0002.JPG"]
    run = generic.ctl("delete", str(protected), str(other), "--yes")
    assert run.code == 1, run.err
    assert run.out == f"deleted IMG_0002.JPG (handle {other})\n"
    assert run.err.startswith(f"ptpipctl: not deleted {PROTECTED} (handle {protected}): the camera refused")
    assert "ObjectWriteProtected" in run.err and run.err.count("\n") == 1, run.err
    assert set(camera_files(generic)) == set(files.values()) - {other}


def test_a_copy_found_here_is_compared_before_delete(generic: Live, tmp_path: Path) -> None:
    """A card-reader copy of IMG_0002.JPG (the camera's very bytes) is taken as the copy by ``sync`` without a
    download, noted as not compared; ``sync --delete`` then downloads it, finds the same bytes, keeps only the
    file that was here (no ``-1`` duplicate), marks it verified and deletes the picture from the camera."""
    out = tmp_path / "card"
    out.mkdir()
    files = {str(f["filename"]): int(f["handle"]) for f in generic.daemon.call("files")}
    picture = camera_bytes(generic, files["IMG_0002.JPG"])
    (out / "IMG_0002.JPG").write_bytes(picture)
    first = generic.ctl("sync", str(out))
    assert first.code == 0, first.err
    assert "IMG_0002.JPG (" in first.out and "not compared with the camera's" in first.out, first.out
    records = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert [r["verified"] for r in records if r["filename"] == "IMG_0002.JPG"] == [False]

    second = generic.ctl("sync", str(out), "--delete")
    assert second.code == 1, second.err  # the protected one is kept
    assert "the same bytes as the camera's" in second.out, second.out
    kept = {line.split()[1] for line in second.out.splitlines() if line.startswith("kept ")}
    assert kept == {PROTECTED}, second.out
    assert set(camera_files(generic)) == {files[PROTECTED]}
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, MANIFEST])  # no IMG_0002-1.JPG
    assert (out / "IMG_0002.JPG").read_bytes() == picture
    records = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert [r["verified"] for r in records if r["filename"] == "IMG_0002.JPG"] == [False, True]


def test_a_manifest_torn_mid_character_is_read(generic: Live, tmp_path: Path) -> None:
    """A crash that cut the manifest's last line inside a UTF-8 character: the torn line is skipped as a torn
    JSON line is, the rest stands (nothing copied again)."""
    out = tmp_path / "card"
    assert generic.ctl("sync", str(out)).code == 0
    with (out / MANIFEST).open("ab") as manifest:
        manifest.write('{"serial": "", "filename": "É'.encode()[:-1])
    again = generic.ctl("sync", str(out), "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["copied"] == []


def test_sync_into_a_file_says_it_is_not_a_directory(generic: Live, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_bytes(b"not a directory")
    run = generic.ctl("sync", str(target))
    assert (run.code, run.out) == (1, "")
    assert run.err == f"ptpipctl: cannot use {target} as the sync directory: it is not a directory\n"
    assert target.read_bytes() == b"not a directory"


def test_a_manifest_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    """ENOSPC from the kernel (/dev/full) while a copy is written down: the error names the manifest."""
    manifest = Manifest(str(tmp_path))
    manifest.path = "/dev/full"
    with pytest.raises(CtlError) as caught:
        manifest.add(("serial", "IMG_0002.JPG", 3, "None"), "IMG_0002.JPG", 3, "0" * 64, True)
    assert str(caught.value) == "cannot write the manifest /dev/full: No space left on device"
    assert manifest.copies == {}

"""Review of ptpipctl end to end (w/rev-cli): defects shown by failing tests, each against real processes
(``ptpipd``, ``ptpipd-sim``, ``ptpipctl``) over real sockets."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipctl.commands.card import MANIFEST
from ptpipd.sim import bigobject
from tests.cli.conftest import PTPIPCTL, Live, clean_env
from tests.daemon.conftest import camera_args, wait_until
from tests.procs import running_daemon, start_sim

BIG = 6  # the generic simulator's handle of its big object
SIZE = 64 << 20


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_camera_lost_mid_sync_then_sync_delete_keeps_the_cameras_bytes(tmp_path: Path) -> None:
    """The camera drops while ``sync`` streams its big object; after it is back, ``sync --delete`` resumes
    the partial file and deletes the object from the camera. The copy must be the camera's bytes.

    It is not: once the download's 200 head is out, the daemon's error middleware (ptpipd/web/app.py
    ``_errors``) answers the camera's NotConnected with a whole second HTTP response (``HTTP/1.1 503 Service
    Unavailable`` …) written into the body, ptpipctl keeps those bytes in the partial file, the resumed
    sync appends the rest after them, records the corrupt file's SHA-256 in the manifest as verified, and
    deletes the original from the camera."""
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


@pytest.fixture
def generic(tmp_path: Path) -> Iterator[Live]:
    with running_daemon(tmp_path / "daemon", "--simulate", "generic") as daemon:
        daemon.wait_connected()
        (tmp_path / "run").mkdir()
        yield Live("generic", daemon, clean_env(tmp_path, PTPIPCTL_SOCKET=str(daemon.socket_path)))


def test_sync_delete_never_deletes_a_picture_it_did_not_copy(generic: Live, tmp_path: Path) -> None:
    """A file that merely has the picture's name and size in DIR (last month's DSC_0001 of a fixed-size
    format after the camera's numbering restarted, a placeholder, a truncated-and-padded copy) is taken as
    the copy (``Sync._here``, ptpipctl/commands/card.py): its own SHA-256 goes into the manifest, and
    ``--delete`` then "verifies" the foreign file against that and deletes the camera's picture, never
    copied anywhere."""
    out = tmp_path / "card"
    out.mkdir()
    files = {str(f["filename"]): f for f in generic.daemon.call("files")}
    victim = files["IMG_0002.JPG"]  # not write-protected on the simulator
    (out / "IMG_0002.JPG").write_bytes(b"\0" * int(victim["size"]))  # not the camera's picture
    run = generic.ctl("sync", str(out), "--delete")
    left = {f["handle"] for f in generic.daemon.call("files")}
    copies = [
        p for p in out.iterdir() if p.name != MANIFEST and p.read_bytes() != b"\0" * int(victim["size"])
    ]
    assert victim["handle"] in left or any(p.stat().st_size == victim["size"] for p in copies), (
        f"IMG_0002.JPG was deleted from the camera, and DIR holds only the zeros: {run.out}"
    )


def test_an_interrupted_sync_suggests_a_command_that_exists(tmp_path: Path) -> None:
    """A sync cut mid-file ends with "'ptpipctl sync DIR --resume' continues it"; sync has no --resume
    (the fix: suggest 'ptpipctl sync DIR', which resumes by itself). Here the stub data plane cuts the
    body; any cut does it (a full disk, the camera gone)."""
    from tests.cli.conftest import ctl
    from tests.cli.stub import stub_daemon

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
        stub.http.cut_after = None
        again = ctl(*suggested.split()[1:], env=env)
        assert again.code == 0, (
            f"{suggested!r} (suggested by: {broken.err.strip()!r}) -> {again.err.strip()!r}"
        )
        assert (out / "IMG_0002.JPG").read_bytes() == data


def test_delete_json_reports_what_it_deleted_before_a_refusal(generic: Live) -> None:
    """``delete 4 3 --yes --json``: 4 is deleted, then the camera refuses 3 (write-protected). The command
    ends with exit 1, and stdout holds nothing: a script reading the JSON never learns that 4 is gone
    (``delete`` in ptpipctl/commands/card.py writes the JSON only after the loop)."""
    files = {str(f["filename"]): int(f["handle"]) for f in generic.daemon.call("files")}
    protected, other = files["IMG_0001.JPG"], files["IMG_0002.JPG"]
    run = generic.ctl("delete", str(other), str(protected), "--yes", "--json")
    gone = other not in {f["handle"] for f in generic.daemon.call("files")}
    assert run.code == 1 and gone, (run.code, gone)
    assert str(other) in run.out + run.err, (
        f"nowhere says handle {other} was deleted: {run.out!r} {run.err!r}"
    )

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

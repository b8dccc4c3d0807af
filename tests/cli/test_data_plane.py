"""ptpipctl on the HTTP data plane (issue 10 item 7): ``download`` and ``capture`` streamed to disk with
atomic renames and ``--resume``, ``liveview`` for players, ``url``. Subprocess runs of ptpipctl against
daemons and simulators that are subprocesses too, over real sockets; the stub data plane where a failure
has to be made on purpose (a changed object, a connection cut mid-body)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import io
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ptpipctl.transfer import part_name
from ptpipd.sim import bigobject
from tests.cli.conftest import PTPIPCTL, Live, clean_env, ctl
from tests.cli.peak import run_measured
from tests.cli.stub import IMAGE, StubDaemon, stub_daemon
from tests.cli.stub import frames as stub_frames
from tests.daemon.conftest import camera_args, wait_until
from tests.procs import SimProcess, running_daemon, running_sim

GIB = 1 << 30
BIG = "6"  # the generic simulator's handle of its big object
MB_64_KIB = 64_000_000 // 1024  # 64 MB (10^6 bytes) in the KiB of VmHWM and ru_maxrss


@functools.cache
def big_sha256() -> str:
    """The SHA-256 of the 1 GiB object, from the simulator's published formula (once: it takes seconds)."""
    return bigobject.sha256(GIB)


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a running process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def roomy(tmp_path: Path) -> Iterator[Path]:
    """A directory for 1 GiB files: in RAM when /dev/shm has room (no disk to wait for), else tmp_path."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and shutil.disk_usage(shm).free > 3 * GIB):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="ptpipctl-test-") as directory:
        yield Path(directory)


@pytest.fixture(scope="module")
def big_daemon(big_sim: SimProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("ctl-big")
    with running_daemon(workdir / "daemon", *camera_args(big_sim, "generic")) as daemon:
        daemon.wait_connected()
        (workdir / "run").mkdir()
        yield Live("generic", daemon, clean_env(workdir, PTPIPCTL_SOCKET=str(daemon.socket_path)))


@pytest.fixture(scope="module")
def fuji30(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A simulated X-T1 (its own process) sending live view at 30 fps, and a daemon on it."""
    workdir = tmp_path_factory.mktemp("ctl-fuji30")
    with (
        running_sim("fuji", "--fps", "30", "--accept-any-client") as sim,
        running_daemon(workdir / "daemon", *camera_args(sim, "fuji")) as daemon,
    ):
        daemon.wait_connected()
        (workdir / "run").mkdir()
        yield Live("fuji", daemon, clean_env(workdir, PTPIPCTL_SOCKET=str(daemon.socket_path)))


def run_ptpipctl(args: list[str], env: dict[str, str]) -> tuple[int, str, str, int]:
    """Runs ptpipctl to its end: (exit code, stdout, stderr, its own peak RSS in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code, peak, _ = run_measured([str(PTPIPCTL), *args], env, out, err)
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(), err.read().decode(), peak


def partials(directory: Path, handle: str) -> list[Path]:
    return sorted(directory.glob(f".ptpipctl-{handle}-*.part"))


# ---------------------------------------------------------------------------------------------- 1 GiB


def test_1gib_download_sha_and_peak_memory(big_daemon: Live, roomy: Path) -> None:
    """The 1 GiB object through ptpipctl download: every byte right (SHA-256 of the simulator's published
    formula), ptpipctl's and the daemon's peak RSS each at most 64 MB."""
    target = roomy / "big.bin"
    code, out, err, peak = run_ptpipctl(["download", BIG, str(target), "--json"], big_daemon.env)
    assert code == 0, err
    saved = json.loads(out)
    assert (saved["path"], saved["size"], saved["filename"], saved["resumed_from"]) == (
        str(target),
        GIB,
        bigobject.FILENAME,
        0,
    )
    assert sha256_file(target) == big_sha256()
    assert peak <= MB_64_KIB, f"ptpipctl peak RSS {peak} KiB for a 1 GiB download"
    daemon_peak = vm_hwm_kib(big_daemon.daemon.pid)
    assert daemon_peak <= MB_64_KIB, f"daemon peak RSS {daemon_peak} KiB after a 1 GiB download"
    assert sorted(p.name for p in roomy.iterdir()) == ["big.bin"], "no temporary file is left"


def test_resume_after_sigkill_gives_the_same_bytes(big_daemon: Live, roomy: Path) -> None:
    """A download killed at about half the object leaves only its partial file (never the destination),
    and --resume asks for the rest: the same SHA-256, and the partial file is gone."""
    target = roomy / "resumed.bin"
    first = subprocess.Popen(
        [str(PTPIPCTL), "download", BIG, str(target)], env=big_daemon.env, stderr=subprocess.PIPE
    )
    try:

        def half() -> bool:
            assert not target.exists(), "the destination holds a partial file"
            found = partials(roomy, BIG)
            return bool(found) and found[0].stat().st_size >= GIB // 2

        wait_until(half, 120, "half of the object in the partial file")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
        assert first.stderr is not None
        first.stderr.close()
    assert not target.exists()
    [partial] = partials(roomy, BIG)
    held = partial.stat().st_size
    assert GIB // 2 <= held < GIB
    code, out, err, _ = run_ptpipctl(["download", BIG, str(target), "--resume", "--json"], big_daemon.env)
    assert code == 0, err
    assert json.loads(out)["resumed_from"] == held, "the rest was asked for, not the whole object"
    assert sha256_file(target) == big_sha256()
    assert sorted(p.name for p in roomy.iterdir()) == ["resumed.bin"]


# ---------------------------------------------------------------------------------------------- resume


@pytest.fixture
def stub_env(home: Path, stub: StubDaemon) -> dict[str, str]:
    return clean_env(home, PTPIPCTL_SOCKET=str(stub.address))


def test_a_broken_download_keeps_its_partial_file_and_resume_finishes_it(
    home: Path, stub: StubDaemon, stub_env: dict[str, str]
) -> None:
    data = bytes(range(256)) * 64
    stub.http.objects[4] = ("IMG_0002.JPG", data)
    stub.http.cut_after = 5000
    target = home / "four.jpg"
    broken = ctl("download", "4", str(target), env=stub_env)
    [partial] = partials(home, "4")
    assert broken.code == 105 and broken.out == ""
    assert broken.err.startswith("ptpipctl: lost the connection to ptpipd's HTTP data plane at socket ")
    assert broken.err.endswith(
        f"; 4.9 KiB kept in {partial}: 'ptpipctl download 4 {target} --resume' continues it\n"
    )
    assert partial.read_bytes() == data[:5000] and not target.exists()
    assert bytes.fromhex(partial.name.split("-")[2].removesuffix(".part")).decode() == stub.http.etag(4)
    stub.http.cut_after = None
    stub.requests.clear()
    done = ctl("download", "4", str(target), "--resume", env=stub_env)
    assert done.code == 0, done.err
    assert done.out == f"saved {target} (16.0 KiB, image/jpeg, camera handle 4, resumed at 4.9 KiB)\n"
    assert target.read_bytes() == data and partials(home, "4") == []
    headers = stub.requests[0]["headers"]
    assert (headers["range"], headers["if-range"]) == ("bytes=5000-", stub.http.etag(4))


def test_resume_of_an_object_that_changed_starts_over(
    home: Path, stub: StubDaemon, stub_env: dict[str, str]
) -> None:
    """The partial file's ETag no longer matches (If-Range): the daemon sends the whole object (200) and
    ptpipctl starts the file again instead of appending bytes of another object."""
    stub.http.objects[4] = ("IMG_0002.JPG", b"new picture " * 100)
    stale = home / part_name(4, '"old-tag"')
    stale.write_bytes(b"old picture, first half")
    result = ctl("download", "4", str(home / "four.jpg"), "--resume", env=stub_env)
    assert result.code == 0, result.err
    assert result.err == "ptpipctl: object 4 changed since the partial download: starting over\n"
    assert (home / "four.jpg").read_bytes() == b"new picture " * 100
    assert stub.requests[0]["headers"]["if-range"] == '"old-tag"'
    assert partials(home, "4") == []


def test_resume_of_a_complete_partial_file_fetches_it_again(
    home: Path, stub: StubDaemon, stub_env: dict[str, str]
) -> None:
    """A partial file as long as the object (killed between the last byte and the rename): 416, then the
    whole object once more, never a file longer than the object."""
    stub.http.objects[4] = ("IMG_0002.JPG", IMAGE)
    (home / part_name(4, stub.http.etag(4))).write_bytes(IMAGE)
    result = ctl("download", "4", str(home / "four.jpg"), "--resume", env=stub_env)
    assert (result.code, result.err) == (0, "")
    assert (home / "four.jpg").read_bytes() == IMAGE
    assert [r["headers"].get("range") for r in stub.requests] == [f"bytes={len(IMAGE)}-", None]


def test_resume_without_a_partial_file_downloads_it_all(
    home: Path, stub: StubDaemon, stub_env: dict[str, str]
) -> None:
    result = ctl("download", "3", str(home / "three.jpg"), "--resume", env=stub_env)
    assert (result.code, result.err) == (0, "")
    assert (home / "three.jpg").read_bytes() == IMAGE
    assert "range" not in stub.requests[0]["headers"]


def test_the_token_goes_as_bearer_over_tcp_only(home: Path, stub: StubDaemon) -> None:
    with stub_daemon(("127.0.0.1", 0)) as tcp:
        host, port = tcp.address
        got = ctl("--tcp", f"{host}:{port}", "--token", "right", "download", "3", "-", env=clean_env(home))
        assert (got.code, got.raw) == (0, IMAGE), got.err
        assert tcp.methods() == ["auth", "status", "GET /files/3"]  # the HTTP address from status
        assert tcp.requests[2]["headers"]["authorization"] == "Bearer right"
    local = ctl("--socket", str(stub.address), "--token", "right", "download", "3", "-", env=clean_env(home))
    assert local.code == 0 and "authorization" not in stub.requests[0]["headers"]


# ---------------------------------------------------------------------------------------------- capture


def test_capture_leaves_no_copy_at_the_daemon(live: Live, tmp_path: Path) -> None:
    """capture fetches the daemon's copy (GET /captures/NAME) and then has it deleted: the daemon's capture
    directory is as before, the picture is here."""
    captures = live.daemon.workdir / "state" / "ptpipd" / "captures"
    before = set(captures.iterdir()) if captures.exists() else set()
    result = live.ctl("capture", str(tmp_path / "shot.jpg"), "--json")
    assert result.code == 0, result.err
    assert decoded((tmp_path / "shot.jpg").read_bytes())
    assert json.loads(result.out)["size"] == (tmp_path / "shot.jpg").stat().st_size
    assert set(captures.iterdir()) == before


# ---------------------------------------------------------------------------------------------- url


def test_url_prints_the_daemons_addresses(live: Live) -> None:
    result = live.ctl("url", "--json")
    assert result.code == 0, result.err
    urls = json.loads(result.out)
    status = live.daemon.call("status")
    [tcp] = [a for a in status["http"]["addresses"] if a.startswith("http://")]
    assert urls == {
        "page": f"{tcp}/",
        "liveview": f"{tcp}/liveview.mjpeg",
        "snapshot": f"{tcp}/liveview.jpg",
        "files": f"{tcp}/files",
        "socket": str(live.daemon.socket_path.with_name("ptpipd-http.sock")),
    }
    assert urls["socket"] in status["http"]["addresses"]
    host, port = tcp.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert live.ctl("url", "liveview").out == f"{tcp}/liveview.mjpeg\n"


# ---------------------------------------------------------------------------------------------- live view


def jpegs(stream: bytes) -> list[bytes]:
    """Concatenated JPEGs cut where one ends (EOI) and the next starts (SOI)."""
    pieces = stream.split(b"\xff\xd9\xff\xd8")
    return [
        (b"" if i == 0 else b"\xff\xd8") + piece + (b"" if i == len(pieces) - 1 else b"\xff\xd9")
        for i, piece in enumerate(pieces)
    ]


def decoded(frame: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(frame)) as image:
        image.load()
        assert image.format == "JPEG"
        return image.size


def test_liveview_30_frames_piped_into_ffprobe_and_pillow(fuji30: Live, tmp_path: Path) -> None:
    """``ptpipctl liveview --frames 30 -o - | tee FILE | ffprobe -f mjpeg -``: ffprobe reads 30 frames from
    the pipe, and Pillow decodes each of the 30 JPEGs."""
    copy = tmp_path / "copy.mjpeg"
    pipeline = (
        f"{PTPIPCTL} liveview --frames 30 -o - | tee {copy} | ffprobe -v error -f mjpeg -count_frames "
        "-show_entries stream=codec_name,width,height,nb_read_frames -of json -"
    )
    probe = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], env=fuji30.env, capture_output=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    [stream] = json.loads(probe.stdout)["streams"]
    assert (stream["codec_name"], stream["nb_read_frames"]) == ("mjpeg", "30")
    frames = jpegs(copy.read_bytes())
    assert len(frames) == 30
    assert {decoded(frame) for frame in frames} == {(stream["width"], stream["height"])}


@pytest.mark.parametrize("to_file", [True, False], ids=["file", "stdout"])
def test_liveview_ends_cleanly_on_ctrl_c(fuji30: Live, tmp_path: Path, to_file: bool) -> None:
    """SIGINT ends liveview with exit 0; a file gets whole frames only, renamed into place at the end."""
    target = tmp_path / "clip.mjpg"
    out = tmp_path / "stdout"
    args = ["-o", str(target)] if to_file else []
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [str(PTPIPCTL), "liveview", *args], env=fuji30.env, stdout=sink, stderr=subprocess.PIPE
        )
        try:
            growing = tmp_path / f".ptpipctl-{proc.pid}.tmp" if to_file else out
            wait_until(lambda: growing.exists() and growing.stat().st_size > 0, 30, "the first frame")
            assert not target.exists()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(10)
            assert proc.stderr is not None
            err = proc.stderr.read()
            proc.stderr.close()
    assert err == b""
    written = target.read_bytes() if to_file else out.read_bytes()
    frames = jpegs(written)
    assert frames and all(decoded(f) == decoded(frames[0]) for f in frames)
    if to_file:
        said = re.fullmatch(
            rf"saved {re.escape(str(target))} \((\d+) frames, [0-9.]+ (B|KiB|MiB)\)\n", out.read_text()
        )
        assert said is not None and int(said[1]) == len(frames)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mjpg", "stdout"]


def test_liveview_without_a_live_view_is_a_clear_error(big_daemon: Live, tmp_path: Path) -> None:
    """The generic camera has no live view: the daemon's 501 (-32003) is exit 1 with its message."""
    result = big_daemon.ctl("liveview", "-o", str(tmp_path / "clip.mjpg"))
    assert (result.code, result.out) == (1, "")
    assert result.err == "ptpipctl: live view is not supported by the generic vendor\n"
    assert list(tmp_path.iterdir()) == []


def test_liveview_501_from_the_stub(home: Path, stub: StubDaemon, stub_env: dict[str, str]) -> None:
    stub.http.live_frames = None
    result = ctl("liveview", "--frames", "1", env=stub_env)
    assert (result.code, result.raw, result.err) == (1, b"", "ptpipctl: the stub camera has no live view\n")


def test_liveview_refuses_a_terminal_and_keeps_the_frames_of_a_stream_that_ends(
    home: Path, stub: StubDaemon, stub_env: dict[str, str]
) -> None:
    primary, secondary = pty.openpty()
    try:
        on_tty = subprocess.run(
            [str(PTPIPCTL), "liveview"], env=stub_env, stdout=secondary, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(secondary)
        os.close(primary)
    assert on_tty.returncode == 2
    assert on_tty.stderr == (
        b"ptpipctl: stdout is a terminal: give -o FILE, or pipe the stream: ptpipctl liveview | ffplay -f mjpeg -\n"
    )
    assert stub.requests == []
    clip = home / "clip.mjpg"
    result = ctl("liveview", "-o", str(clip), env=stub_env)  # the stub's stream ends after 6 frames
    assert (result.code, result.out) == (1, "")
    assert result.err == f"ptpipctl: the live view ended after 6 frames; its 6 frames are in {clip}\n"
    assert jpegs(clip.read_bytes()) == stub_frames() * 2
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []

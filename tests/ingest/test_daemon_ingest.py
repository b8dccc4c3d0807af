"""Tethered ingest through the real daemon and the real simulator (subprocesses, real sockets): issue 12's
"must show" — a hundred body shots while another client works, kills of the daemon and of the camera, hooks
that fail or hang, delete_after, the file name pattern, and the Fujifilm and Canon bodies.

The camera's side of every comparison comes from the simulator itself (its ``new picture … sha256`` lines,
the photo files of its ``--card`` directory), never from the daemon.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

from tests.ingest.conftest import (
    alive,
    card_photos,
    hook_runs,
    hook_script,
    ingest_daemon,
    ingest_status,
    pictures,
    ready,
    sha256,
    shoot,
    start_camera,
    wait_until,
)
from tests.procs import DaemonProcess, start_daemon


class Worker(threading.Thread):
    """Another client: ``set iso`` and ``get iso`` in a loop until stopped, counting answers and errors."""

    def __init__(self, daemon: DaemonProcess) -> None:
        super().__init__(daemon=True)
        self.daemon_process = daemon
        self.stop = threading.Event()
        self.ok = 0
        self.mismatch = 0
        self.errors: list[int] = []

    def run(self) -> None:
        values = ["800", "400"]
        with self.daemon_process.connect() as conn:
            while not self.stop.is_set():
                value = values[self.ok % 2]
                written = conn.request("set", ["iso", value], timeout=30)
                read = conn.request("get", ["iso"], timeout=30)
                for response in (written, read):
                    if "error" in response:
                        self.errors.append(response["error"]["code"])
                if "error" not in written and "error" not in read:
                    self.ok += 1
                    self.mismatch += read["result"]["label"] != value


def hooked(log: Path) -> set[str]:
    """The paths the hook has run for."""
    return {r[1] for r in hook_runs(log)}


def stored_files(out: Path) -> dict[str, Path]:
    """Every entry in the ingest folder (hidden ones too: a temporary file would show here)."""
    return {p.name: p for p in out.rglob("*") if p.is_file()}


def test_a_hundred_body_shots_land_once_each_while_another_client_works(tmp_path: Path) -> None:
    card, out = tmp_path / "card", tmp_path / "out"
    hook, log = hook_script(tmp_path)
    first = start_camera(card)
    try:
        with ingest_daemon(tmp_path / "d", first, out, "--ingest-hook", str(hook)) as daemon:
            assert stored_files(out) == {}  # what was on the card stays there
            port = first.port
            first.stop()
            worker = Worker(daemon)
            with daemon.connect() as watcher:
                watcher.call("subscribe", {"topics": ["ingest"]})
                worker.start()
                camera = start_camera(card, "--shoot-every", "0.03", "--shots", "100", port=port)
                try:
                    notes = [watcher.notification("notify.ingest", timeout=120)["params"] for _ in range(100)]
                    wait_until(lambda: len(hook_runs(log)) >= 100, 60, "the hook's 100 runs")
                finally:
                    worker.stop.set()
                    worker.join(60)
                    shots = pictures(camera)
                    camera.stop()
            status = ingest_status(daemon)
    finally:
        first.stop()
    assert camera.stderr_text().count("shutter pressed on the body: 0x4002") == 100
    assert len(shots) == 100
    files = stored_files(out)
    assert sorted(files) == sorted(shots)  # exactly the hundred, no temporary file left
    for name, (size, sha) in shots.items():
        assert files[name].stat().st_size == size and sha256(files[name]) == sha, name
        assert (card / name).read_bytes() == files[name].read_bytes(), name  # the camera's own copy
    assert {Path(n["path"]).name: n["sha256"] for n in notes} == {n: s for n, (_, s) in shots.items()}
    runs = hook_runs(log)
    assert len(runs) == 100
    assert sorted(r[1] for r in runs) == sorted(str(p) for p in files.values())  # ARGUMENT, each file once
    assert all(r[0] == "download" and r[2] == sha256(Path(r[1])) for r in runs)
    assert status["files"] == 100 and status["queue"] == 0 and status["errors"] == 0, status
    assert status["hooks"] == {"runs": 100, "failures": 0, "timeouts": 0, "pending": 0}, status
    # the other client was served all along (only "not connected" while the camera restarted)
    assert worker.ok >= 50 and set(worker.errors) <= {-32000}, (worker.ok, worker.errors)
    assert worker.mismatch == 0


def test_daemon_and_camera_killed_every_object_lands_exactly_once(tmp_path: Path) -> None:
    card, out, work = tmp_path / "card", tmp_path / "out", tmp_path / "d"
    hook, log = hook_script(tmp_path)
    args = ("--ingest-hook", str(hook))
    first = start_camera(card)
    with ingest_daemon(work, first, out, *args):
        port = first.port
        first.stop()
    shooting = start_camera(
        card, "--shoot-every", "0.03", "--shots", "100", "--response-delay", "0.003", port=port
    )
    cameras = [shooting]
    try:
        daemon = start_daemon(
            work, "--host", "127.0.0.1", "--port", str(port), "--ingest-dir", str(out), *args
        )
        try:
            wait_until(lambda: ingest_status(daemon)["files"] >= 50, 60, "50 files stored")
        finally:
            daemon.stop(signal.SIGKILL)  # after ~50 files, whatever it was doing
        daemon = start_daemon(
            work, "--host", "127.0.0.1", "--port", str(port), "--ingest-dir", str(out), *args
        )
        try:
            ready(daemon)
            wait_until(lambda: ingest_status(daemon)["current"], 60, "a download in flight")
            shooting.kill()  # the camera vanishes mid-download
            shot = len(pictures(shooting))
            again = start_camera(card, port=port)
            cameras.append(again)
            ready(daemon, scans=2)
            wait_until(lambda: len(stored_files(out)) >= shot, 60, f"{shot} files stored")
            wait_until(lambda: ingest_status(daemon)["queue"] == 0, 60, "ingest idle")
            # hooks run behind the downloads (a stop leaves those not started to the next start): caught up
            wait_until(lambda: hooked(log) >= {str(p) for p in stored_files(out).values()}, 60, "every hook")
            status = ingest_status(daemon)
        finally:
            daemon.stop()
    finally:
        for camera in cameras:
            camera.stop()
    on_card = card_photos(card)  # the camera's own account, kept across its restart
    assert len(on_card) >= shot >= 50
    files = stored_files(out)
    assert sorted(files) == sorted(on_card)  # every object once, no temporary file left
    for name, sha in on_card.items():
        assert sha256(files[name]) == sha, name
    for name, (size, sha) in pictures(shooting).items():  # and as the simulator logged them
        assert files[name].stat().st_size == size and on_card[name] == sha, name
    assert status["queue"] == 0, status
    # a hook runs at least once per file; one cut short by the daemon's death may run again
    assert hooked(log) == {str(p) for p in files.values()}


def test_a_failing_or_hanging_hook_does_not_stop_ingest(tmp_path: Path) -> None:
    """The second run exits 3, the third hangs (its group is killed after the timeout); files keep coming."""
    out = tmp_path / "out"
    pids = tmp_path / "pids"
    body = (
        f"n=$(wc -l < {tmp_path / 'hook.log'})\n"
        'if [ "$n" -eq 2 ]; then echo "no luck" >&2; exit 3; fi\n'
        f'if [ "$n" -eq 3 ]; then sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait; fi\n'
    )
    hook, log = hook_script(tmp_path, body)
    camera = start_camera(None)
    try:
        with ingest_daemon(
            tmp_path / "d", camera, out, "--ingest-hook", str(hook), "--ingest-hook-timeout", "3"
        ) as daemon:
            shoot(camera, 3)
            wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, 20, "the hanging hook")
            hanging = [int(p) for p in pids.read_text().split()]
            shoot(camera, 2)  # while the third run hangs, files 4 and 5 are still stored
            wait_until(lambda: ingest_status(daemon)["files"] == 5, 20, "five files")
            assert all(alive(pid) for pid in hanging), "the hook was not hanging while files came"
            status = wait_until(
                lambda: (s := ingest_status(daemon))["hooks"]["runs"] == 5 and s, 30, "five hook runs"
            )
            log_text = daemon.stderr_text()
    finally:
        camera.stop()
    assert status["hooks"] == {"runs": 5, "failures": 2, "timeouts": 1, "pending": 0}, status
    assert len(stored_files(out)) == 5 and status["errors"] == 0
    assert "exit status 3: no luck" in log_text
    assert "timed out, killed" in log_text
    assert not any(alive(pid) for pid in hanging)  # the hook and its child: the whole group went
    assert len(hook_runs(log)) == 5


def test_delete_after_and_the_name_pattern(tmp_path: Path) -> None:
    out = tmp_path / "out"
    camera = start_camera(None)
    try:
        with ingest_daemon(
            tmp_path / "d",
            camera,
            out,
            "--ingest-delete-after",
            "--ingest-pattern",
            "%Y/%m-%d/{n:03d}_{stem}.{ext}",
        ) as daemon:
            shoot(camera, 3)
            wait_until(lambda: ingest_status(daemon)["deleted"] == 3, 20, "three deletions")
            names = {f["filename"] for f in daemon.call("files")}
    finally:
        camera.stop()
    shots = pictures(camera)
    assert names == {"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"}  # the new ones left the camera
    # the simulator's clock does not tick: every shot is dated 2024-06-01 12:00:00 (its DateTime)
    expected = {f"2024/06-01/{n:03d}_IMG_{n + 3:04d}.JPG" for n in (1, 2, 3)}
    found = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert found == expected
    for rel in found:
        name = rel.split("_", 1)[1]
        assert sha256(out / rel) == shots[name][1]


def test_fuji_x_t1_stores_the_preview_it_hands_over(tmp_path: Path) -> None:
    """The X-T1 in remote mode gives only the preview: ingest stores that, from the body's shutter and from
    a client's capture; a second body shot proves the first preview was read (the body waits for that)."""
    out = tmp_path / "out"
    camera = start_camera(None, vendor="fuji")
    try:
        with running_fuji(tmp_path / "d", camera, out) as daemon:
            with daemon.connect() as watcher:
                watcher.call("subscribe", {"topics": ["ingest"]})
                shoot(camera, 1)
                first = watcher.notification("notify.ingest", timeout=20)["params"]
                shoot(camera, 1)
                second = watcher.notification("notify.ingest", timeout=20)["params"]
                captured = daemon.call("capture")
                third = watcher.notification("notify.ingest", timeout=20)["params"]
            status = ingest_status(daemon)
    finally:
        camera.stop()
    assert first["handle"] is None and first["path"] != second["path"]
    for note in (first, second, third):
        data = Path(note["path"]).read_bytes()
        assert (
            data[:3] == b"\xff\xd8\xff"
            and len(data) == note["size"]
            and sha256(Path(note["path"])) == note["sha256"]
        )
    assert Path(third["path"]).read_bytes() == Path(captured["path"]).read_bytes()  # the client's capture
    assert status["files"] == 3 and status["scans"] == 1


def test_a_later_fuji_body_hands_over_its_full_size_files(tmp_path: Path) -> None:
    """An X-T4 tells a photo taken on the body in its next events list (ObjectAdded with the handle): ingest
    stores the full-size file, byte for byte what a `download` of that handle reads."""
    out = tmp_path / "out"
    camera = start_camera(None, "--model", "x-t4", vendor="fuji")
    try:
        with running_fuji(tmp_path / "d", camera, out) as daemon:
            with daemon.connect() as watcher:
                watcher.call("subscribe", {"topics": ["ingest"]})
                shoot(camera, 1)
                note = watcher.notification("notify.ingest", timeout=30)["params"]
            entry = next(f for f in daemon.call("files") if f["handle"] == note["handle"])
            downloaded = daemon.call("download", {"handle": note["handle"]})  # read from the camera again
            status = ingest_status(daemon)
    finally:
        camera.stop()
    stored = Path(note["path"])
    assert stored.name == entry["filename"] and note["size"] == entry["size"] > 1_000_000
    assert sha256(stored) == note["sha256"] == sha256(Path(downloaded["path"]))
    assert status["files"] == 1


def running_fuji(workdir: Path, camera: Any, out: Path) -> Any:
    ports = camera.ports
    extra = ["--vendor", "fuji", "--cmd-data-port", str(ports[0]), "--event-port", str(ports[1])]
    extra += ["--stream-port", str(ports[2])]
    return ingest_daemon(workdir, camera, out, *extra)


def test_canon_body_shots_come_through_its_polled_events(tmp_path: Path) -> None:
    out = tmp_path / "out"
    camera = start_camera(None, vendor="canon")
    try:
        with ingest_daemon(tmp_path / "d", camera, out, "--vendor", "canon") as daemon:
            before = set(pictures(camera, before=set()))  # the 6D's card: IMG_0001.JPG, IMG_0002.CR2 and .JPG
            shoot(camera, 2)
            wait_until(lambda: ingest_status(daemon)["files"] == 2, 20, "two files")
    finally:
        camera.stop()
    shots = pictures(camera, before=before)
    files = stored_files(out)
    assert sorted(files) == sorted(shots) and len(files) == 2
    for name, (size, sha) in shots.items():
        assert files[name].stat().st_size == size and sha256(files[name]) == sha


def test_the_index_survives_and_nothing_is_stored_twice(tmp_path: Path) -> None:
    """A second daemon on the same state directory stores nothing again; the journal says what it has."""
    out, work = tmp_path / "out", tmp_path / "d"
    camera = start_camera(None)
    try:
        with ingest_daemon(work, camera, out) as daemon:
            shoot(camera, 2)
            wait_until(lambda: ingest_status(daemon)["files"] == 2, 20, "two files")
        with ingest_daemon(work, camera, out) as daemon:
            status = ingest_status(daemon)
    finally:
        camera.stop()
    assert status["files"] == 0 and status["stored_total"] == 2 and status["queue"] == 0
    assert len(stored_files(out)) == 2
    journal = work / "state" / "ptpipd" / "ingest" / "index.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["op"] for r in records].count("done") == 2
    assert records[0]["op"] == "baseline" and records[0]["serial"] == "SIM-0001"


def test_status_without_ingest_has_no_ingest_field(tmp_path: Path) -> None:
    camera = start_camera(None)
    try:
        daemon = start_daemon(tmp_path / "d", "--host", camera.host, "--port", str(camera.port))
        try:
            assert "ingest" not in daemon.call("status")
        finally:
            daemon.stop()
    finally:
        camera.stop()

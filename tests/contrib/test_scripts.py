"""Every contrib script against ``ptpipd --simulate``, with its effect checked: the pictures written, the
values set and put back, seen through our own JSON-RPC connection's notifications; and their errors."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.contrib.conftest import (
    CONTRIB,
    SimDaemon,
    collect,
    free_tcp_port,
    is_shot,
    property_note,
    python_script,
    run,
    story,
)
from tests.procs import LISTENING, REPO, LogFile, SimProcess, read_line_until, running_daemon

SOI, EOI = b"\xff\xd8", b"\xff\xd9"
NODE = shutil.which("node")


def jpeg(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:2] == SOI and data[-2:] == EOI, f"{path} is not a whole JPEG"
    return data


PREVIEWS_ONLY = "this camera hands over previews only"


def previews_notes(stderr: str) -> list[str]:
    """The scripts' note that the camera gave previews, not the pictures (once per run at most)."""
    return [line for line in stderr.splitlines() if PREVIEWS_ONLY in line]


def jpeg_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "JPEG"
        return image.size


def shots(count: int, then: Any = None) -> Any:
    """A ``collect`` condition: ``count`` pictures taken, and then (if given) ``then``."""
    seen = 0

    def until(note: dict[str, Any]) -> bool:
        nonlocal seen
        if is_shot(note):
            seen += 1
            return then is None and seen >= count
        return seen >= count and then is not None and then(note)

    return until


# ------------------------------------------------------------------------------------------ timelapse


@pytest.mark.parametrize("client", ["socat", "nc"])
def test_timelapse_writes_the_pictures(sim_daemon: SimDaemon, tmp_path: Path, client: str) -> None:
    if shutil.which(client) is None:
        pytest.skip(f"{client} is not installed")
    out = tmp_path / "out"
    done = run(
        ["bash", str(CONTRIB / "timelapse.sh"), "-o", str(out), "3", "0.1"],
        sim_daemon.env(PTPIPD_CLIENT=client),
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["timelapse-0001.jpg", "timelapse-0002.jpg", "timelapse-0003.jpg"]
    assert len({jpeg(f) for f in files}) == 3, "three different pictures"
    assert done.stdout.splitlines() == [f"{i}/3 {f}" for i, f in enumerate(files, 1)]
    # The Fuji hands over its 640×480 preview (its capture result has no handle): said once, on stderr
    notes = previews_notes(done.stderr)
    if sim_daemon.vendor == "fuji":
        assert len(notes) == 1 and f"the files in {out} are small previews" in notes[0], done.stderr
        assert {jpeg_size(f) for f in files} == {(640, 480)}
    else:
        assert notes == [], done.stderr
        assert {jpeg_size(f) for f in files} == {(1600, 1200)}


def test_timelapse_keeps_the_interval(sim_daemon: SimDaemon) -> None:
    """The pictures are taken INTERVAL apart (the camera's CaptureComplete times), and without -o the daemon
    keeps them: the printed paths are new files in its capture directory."""
    interval = 0.5
    with sim_daemon.connect() as watcher:
        watcher.call("subscribe", {"topics": ["event"]})
        done = run(["bash", str(CONTRIB / "timelapse.sh"), "3", str(interval)], sim_daemon.env())
        assert done.returncode == 0, done.stderr
        notes = collect(watcher, shots(3))
    times = [n["params"]["time"] for n in notes if is_shot(n)]
    assert len(times) == 3
    # Shot k starts k·INTERVAL after the first; CaptureComplete adds the capture's own latency, which
    # varies by a few tenths under load, hence the margin. Without the sleep, all three would come within
    # about 0.3 s.
    since_first = [t - times[0] for t in times[1:]]
    for k, elapsed in enumerate(since_first, 1):
        assert k * interval - 0.25 <= elapsed < k * interval + 1.5, since_first
    paths = [Path(line.split(" ", 1)[1]) for line in done.stdout.splitlines()]
    assert [line.split(" ")[0] for line in done.stdout.splitlines()] == ["1/3", "2/3", "3/3"]
    assert len(previews_notes(done.stderr)) == (1 if sim_daemon.vendor == "fuji" else 0), done.stderr
    assert len(set(paths)) == 3
    for path in paths:
        assert path.parent == sim_daemon.captures
        jpeg(path)


class FakeDaemon:
    """A Unix socket answering like a daemon whose camera is gone: status says so, capture fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        self.methods: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                with conn, conn.makefile("rwb") as f:
                    request = json.loads(f.readline())
                    self.methods.append(request["method"])
                    if request["method"] == "status":
                        answer: dict[str, Any] = {"result": {"state": "disconnected"}}
                    else:
                        answer = {"error": {"code": -32000, "message": "the camera is disconnected"}}
                    f.write(json.dumps({"jsonrpc": "2.0", **answer, "id": request["id"]}).encode() + b"\n")

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def fake_daemon(tmp_path: Path) -> Iterator[FakeDaemon]:
    fake = FakeDaemon(tmp_path / "fake.sock")
    try:
        yield fake
    finally:
        fake.close()


@pytest.mark.parametrize("keep_going", [False, True])
def test_timelapse_reports_failed_shots(fake_daemon: FakeDaemon, keep_going: bool) -> None:
    args = ["-k"] if keep_going else []
    env = {"PATH": "/usr/bin:/bin", "PTPIPD_SOCKET": str(fake_daemon.path)}
    done = run(["bash", str(CONTRIB / "timelapse.sh"), *args, "2", "0"], env)
    assert done.returncode == 1
    assert "the camera is disconnected; trying anyway" in done.stderr
    assert "shot 1/2 failed: -32000 the camera is disconnected" in done.stderr
    assert fake_daemon.methods == ["status", "capture", "capture"] if keep_going else ["status", "capture"]
    assert ("2 of 2 shots failed" in done.stderr) is keep_going
    assert "took longer than the interval" not in done.stderr, "INTERVAL 0 asks for back-to-back shots"


@pytest.mark.parametrize(
    ("args", "rc", "message", "usage"),
    [
        ([], 2, "expected COUNT and INTERVAL", True),
        (["0", "1"], 2, "COUNT must be a positive integer", False),
        (["2", "soon"], 2, "INTERVAL must be seconds", False),
        (["-x", "2", "1"], 2, "unknown option -x", True),
        (["-i", "a/b", "2", "1"], 2, "invalid instance name 'a/b'", False),
        (
            ["-s", "/nonexistent/ptpipd.sock", "2", "1"],
            105,
            "no ptpipd socket at /nonexistent/ptpipd.sock",
            False,
        ),
    ],
)
def test_timelapse_usage(args: list[str], rc: int, message: str, usage: bool) -> None:
    done = run(["bash", str(CONTRIB / "timelapse.sh"), *args], {"PATH": "/usr/bin:/bin"})
    assert done.returncode == rc
    assert message in done.stderr
    assert ("usage: timelapse.sh" in done.stderr) is usage


# ------------------------------------------------------------------------------------------ bracket


def test_bracket_shoots_each_bias_and_restores(sim_daemon: SimDaemon, tmp_path: Path) -> None:
    sim_daemon.call("set", {"property": "exp-bias", "value": "+1/3"})
    out = tmp_path / "out"
    with sim_daemon.connect() as watcher:
        watcher.call("subscribe", {"topics": ["property", "event"]})
        done = run([*python_script("bracket.py"), "-o", str(out)], sim_daemon.env())
        assert done.returncode == 0, done.stderr
        notes = collect(watcher, shots(3, then=property_note("exp-bias", "+1/3")))
    assert story(notes, "exp-bias") == [
        "exp-bias=-1",
        "shot",
        "exp-bias=0",
        "shot",
        "exp-bias=+1",
        "shot",
        "exp-bias=+1/3",
    ]
    assert sim_daemon.call("get", {"property": "exp-bias"})["label"] == "+1/3"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bracket-01_m1EV.jpg", "bracket-02_0EV.jpg", "bracket-03_p1EV.jpg"]
    assert len({jpeg(out / n) for n in names}) == 3
    assert done.stdout.splitlines()[-1] == "exp-bias restored to +1/3"
    notes = previews_notes(done.stderr)
    assert len(notes) == (1 if sim_daemon.vendor == "fuji" else 0), done.stderr
    assert all(f"the files in {out} are small previews" in n for n in notes)


def test_bracket_says_which_shot_it_could_not_write(sim_daemon: SimDaemon, tmp_path: Path) -> None:
    """The second picture's file name is taken by a directory: the shot is taken but cannot be written.
    The script says so (and where the picture is), leaves no partial file, and still restores the bias."""
    sim_daemon.call("set", {"property": "exp-bias", "value": "0"})
    out = tmp_path / "out"
    (out / "bracket-02_p1EV.jpg").mkdir(parents=True)
    done = run([*python_script("bracket.py"), "--steps=-1,+1,0", "-o", str(out)], sim_daemon.env())
    assert done.returncode == 1, done.stderr
    kept = "the camera keeps it as handle " if sim_daemon.vendor == "generic" else "the full picture stays on"
    assert f"bracket.py: shot 2 taken, but cannot write it to {out}: " in done.stderr
    assert kept in done.stderr
    assert done.stdout.splitlines()[-1] == "exp-bias restored to 0"
    assert sorted(p.name for p in out.iterdir()) == ["bracket-01_m1EV.jpg", "bracket-02_p1EV.jpg"]
    jpeg(out / "bracket-01_m1EV.jpg")


def test_bracket_daemon_side_and_fractions(sim_daemon: SimDaemon) -> None:
    """Steps as fractions of a stop; without -o the daemon keeps the pictures and the paths are printed."""
    sim_daemon.call("set", {"property": "exp-bias", "value": "0"})
    done = run([*python_script("bracket.py"), "--steps=-2/3,+1 1/3"], sim_daemon.env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [re.sub(r": .*", "", ln) for ln in lines[1:3]] == ["1/2 exp-bias -2/3", "2/2 exp-bias +1 1/3"]
    for line in lines[1:3]:
        jpeg(Path(line.split(": ", 1)[1]))
    assert sim_daemon.call("get", {"property": "exp-bias"})["label"] == "0"


def test_bracket_refuses_a_bias_the_camera_lacks(sim_daemon: SimDaemon) -> None:
    sim_daemon.call("set", {"property": "exp-bias", "value": "-1/3"})
    before = sim_daemon.saved()
    done = run([*python_script("bracket.py"), "--steps=-1,5"], sim_daemon.env())
    assert done.returncode == 2
    assert "the camera does not allow 5 EV; it allows: -3, -2 2/3," in done.stderr
    assert sim_daemon.saved() == before, "no picture may be taken"
    assert sim_daemon.call("get", {"property": "exp-bias"})["label"] == "-1/3"


def test_python_scripts_unreachable_and_usage(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PTPIPD_SOCKET": str(tmp_path / "nothing.sock")}
    # what can be checked without the camera is a usage error (2), not "unreachable" (105)
    done = run([*python_script("bracket.py"), "--steps=-1,abc"], env)
    assert done.returncode == 2 and "--steps: 'abc' is not an exposure bias" in done.stderr, done.stderr
    for script in ("bracket.py", "focus_stack.py"):
        done = run([*python_script(script), "-i", "../etc"], env)
        assert done.returncode == 2 and "invalid instance name '../etc'" in done.stderr, done.stderr
        done = run(python_script(script), env)
        assert done.returncode == 105, done.stderr
        assert f"cannot connect to ptpipd at {tmp_path / 'nothing.sock'}" in done.stderr
        done = run([*python_script(script), "--bogus"], env)
        assert done.returncode == 2
        assert "usage:" in done.stderr
        done = run([*python_script(script), "--help"], env)
        assert done.returncode == 0 and "Exit codes" in done.stdout


# ------------------------------------------------------------------------------------------ focus stack


@pytest.mark.parametrize("sim_daemon", ["fuji"], indirect=True)  # the X-T1 has no focus distance
def test_focus_stack_says_what_a_fuji_offers(sim_daemon: SimDaemon) -> None:
    """Issue 15 item 6: on the X-T1 the script says what the camera offers for focus (its own answers),
    takes no picture and exits 3."""
    before = sim_daemon.saved()
    done = run(python_script("focus_stack.py"), sim_daemon.env())
    assert done.returncode == 3, done.stderr
    assert (
        "focus stacking is not possible with this camera: it does not let a client set the focus "
        in done.stderr
    )
    assert "FocusDistance, 0x5009); what it offers for focus: focusmode (FocusMode) " in done.stderr
    assert ", one of manual, AF-S, AF-C; focusmtr (FocusPoint) " in done.stderr
    assert ", range 0x0..0x10090707; focuslock (FocusLock) " in done.stderr
    assert "Set the focus by hand between shots." in done.stderr
    assert sim_daemon.saved() == before


@pytest.mark.parametrize("sim_daemon", ["generic"], indirect=True)
def test_focus_stack_spreads_a_range_in_dioptres(sim_daemon: SimDaemon, tmp_path: Path) -> None:
    """Issue 15 item 6: the stock generic camera's FocusDistance is a range, 300 mm to infinity (0xFFFF):
    five shots at even steps of 1/distance, nearest first, then the focus is put back."""
    before = sim_daemon.call("get", {"property": "focusdistance"})
    out = tmp_path / "stack"
    with sim_daemon.connect() as watcher:
        watcher.call("subscribe", {"topics": ["property", "event"]})
        done = run([*python_script("focus_stack.py"), "-n", "5", "-o", str(out)], sim_daemon.env())
        assert done.returncode == 0, done.stderr
        notes = collect(watcher, shots(5, then=property_note("focusmode", "auto")))
    steps = ["300mm", "400mm", "600mm", "1200mm", "infinity"]
    assert story(notes, "focusdistance") == [
        *(item for label in steps for item in (f"focusdistance={label}", "shot")),
        f"focusdistance={before['label']}",
    ]
    assert sim_daemon.call("get", {"property": "focusdistance"})["value"] == before["value"]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"focus-{i:02d}_{label}.jpg" for i, label in enumerate(steps, 1))


@contextlib.contextmanager
def focus_camera(variant: str) -> Iterator[SimProcess]:
    """The generic simulated camera with its FocusDistance changed (tests/contrib/focus_sim.py)."""
    args = [sys.executable, "-m", "tests.contrib.focus_sim", variant, "--host", "127.0.0.1", "--port", "0"]
    log = LogFile()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log.file, text=True, cwd=REPO)
    log.file.close()
    sim = SimProcess(proc, "127.0.0.1", [], args, log)
    try:
        match = read_line_until(proc, LISTENING, 30)
        sim.ports = [int(match["ports"])]
        yield sim
    finally:
        sim.stop()


def test_focus_stack_refuses_a_generic_camera_without_focus_distance(tmp_path: Path) -> None:
    with (
        focus_camera("none") as camera,
        running_daemon(tmp_path, "--host", camera.host, "--port", str(camera.port)) as daemon,
    ):
        daemon.wait_connected()
        env = {"PATH": "/usr/bin:/bin", "PTPIPD_SOCKET": str(daemon.socket_path)}
        done = run(python_script("focus_stack.py"), env)
        assert done.returncode == 3, done.stderr
        assert "FocusDistance, 0x5009); what it offers for focus: focusmode (FocusMode) auto, " in done.stderr
        assert "focusmtr (FocusMeteringMode) " in done.stderr
        assert max(f["handle"] for f in daemon.call("files")) == 5  # the card's last photo: none was taken


def test_focus_stack_steps_and_restores(tmp_path: Path) -> None:
    with (
        focus_camera("scale") as camera,
        running_daemon(tmp_path, "--host", camera.host, "--port", str(camera.port)) as daemon,
    ):
        daemon.wait_connected()
        assert daemon.call("get", {"property": "focusmode"})["label"] == "auto"
        out = tmp_path / "stack"
        env = {"PATH": "/usr/bin:/bin", "PTPIPD_SOCKET": str(daemon.socket_path)}
        with daemon.connect() as watcher:
            watcher.call("subscribe", {"topics": ["property", "event"]})
            done = run([*python_script("focus_stack.py"), "-n", "3", "-o", str(out)], env)
            assert done.returncode == 0, done.stderr
            notes = collect(watcher, shots(3, then=property_note("focusmode", "auto")))
        assert story(notes, "focusdistance") == [
            "focusdistance=300mm",
            "shot",
            "focusdistance=1500mm",
            "shot",
            "focusdistance=infinity",
            "shot",
            "focusdistance=1000mm",
        ]
        modes = [n["params"]["label"] for n in notes if n["params"].get("property") == "focusmode"]
        assert modes == ["manual", "auto"]
        assert daemon.call("get", {"property": "focusdistance"})["label"] == "1000mm"
        names = sorted(p.name for p in out.iterdir())
        assert names == ["focus-01_300mm.jpg", "focus-02_1500mm.jpg", "focus-03_infinity.jpg"]
        for name in names:
            jpeg(out / name)


# ------------------------------------------------------------------------------------------ client.js


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_client_js_get_and_set(sim_daemon: SimDaemon) -> None:
    assert NODE is not None
    before = sim_daemon.call("set", {"property": "iso", "value": "400"})
    client = [NODE, str(CONTRIB / "client.js")]
    done = run([*client, "get", "iso"], sim_daemon.env())
    assert (done.returncode, done.stdout) == (0, f"iso = 400 ({before['hex']})\n"), done.stderr
    done = run([*client, "--socket", str(sim_daemon.socket), "set", "iso", "3200"], {"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    after = sim_daemon.call("get", {"property": "iso"})
    assert (after["label"], after["value"]) == ("3200", 3200)
    assert done.stdout.splitlines() == [f"iso = 3200 ({after['hex']})", "notify.property: iso = 3200"]
    done = run([*client, "set", after["code"], "3200"], sim_daemon.env())  # by code, to the same value
    assert done.stdout.splitlines() == [f"iso = 3200 ({after['hex']})", "unchanged: no notify.property"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize(
    ("args", "rc", "message"),
    [
        (["get", "zoom"], 1, "unknown property 'zoom' (error -32004)"),
        (["set", "iso", "123"], 1, "invalid value '123' for iso"),
        (["fly"], 2, "unknown command 'fly'; the commands are get, set, watch"),
        (["get"], 2, "get takes PROPERTY: node client.js get PROPERTY"),
        (["set", "iso"], 2, "set takes PROPERTY VALUE: node client.js set PROPERTY VALUE"),
        (["watch", "soon"], 2, "watch needs a number of seconds, not 'soon'"),
        ([], 2, "usage: node client.js"),
        (["--socket", "/nonexistent.sock", "get", "iso"], 105, "cannot talk to ptpipd at /nonexistent.sock"),
    ],
)
def test_client_js_errors(sim_daemon: SimDaemon, args: list[str], rc: int, message: str) -> None:
    assert NODE is not None
    done = run([NODE, str(CONTRIB / "client.js"), *args], sim_daemon.env())
    assert done.returncode == rc, done.stderr
    assert message in done.stderr
    if rc == 2:
        assert "commands:\n  get PROPERTY" in done.stderr, "the usage, with the commands, follows"


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_client_js_usage_comes_before_connecting(tmp_path: Path) -> None:
    """A mistyped command is a usage error (2) even when no daemon runs, not "unreachable" (105)."""
    assert NODE is not None
    env = {"PATH": "/usr/bin:/bin", "PTPIPD_SOCKET": str(tmp_path / "nothing.sock")}
    done = run([NODE, str(CONTRIB / "client.js"), "bogus"], env)
    assert done.returncode == 2 and "unknown command 'bogus'" in done.stderr, done.stderr
    done = run([NODE, str(CONTRIB / "client.js"), "get", "iso"], env)
    assert done.returncode == 105 and "cannot talk to ptpipd at" in done.stderr, done.stderr


# ------------------------------------------------------------------------------------------ legacy.sh


def test_legacy_sh_commands(sim_daemon: SimDaemon, tmp_path: Path) -> None:
    host, port = sim_daemon.legacy
    # a relative PATH names a file in the daemon's capture directory (nothing outside it is written)
    picture = sim_daemon.captures / "legacy.jpg"
    env = {"PATH": "/usr/bin:/bin", "PTPIPD_LEGACY": f"{host}:{port}"}
    done = run(["bash", str(CONTRIB / "legacy.sh"), "set iso 800", "get iso", "capture legacy.jpg"], env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # the seed tool's lines (it had no ISO label for a standard PTP camera: the label is empty there)
    fuji = sim_daemon.vendor == "fuji"
    assert lines[:2] == ["property iso successfully set to 0x320", f"{'800' if fuji else ''} (0x320)"]
    assert lines[2] == f"Image {'preview ' if fuji else ''}saved to {picture}"
    jpeg(picture)
    assert sim_daemon.call("get", {"property": "iso"})["label"] == "800"
    # commands from standard input, blank lines skipped, each on its own connection
    done = subprocess.run(
        ["bash", str(CONTRIB / "legacy.sh"), "-a", f"{host}:{port}"],
        input="set iso 1600\n\nget iso\n",
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        ["property iso successfully set to 0x640", f"{'1600' if fuji else ''} (0x640)"],
    ), done.stderr
    assert sim_daemon.call("get", {"property": "iso"})["label"] == "1600"


def test_legacy_sh_unreachable_and_usage() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    done = run(["bash", str(CONTRIB / "legacy.sh"), "-a", f"127.0.0.1:{free_tcp_port()}", "get iso"], env)
    assert done.returncode == 105
    assert "nothing answers on 127.0.0.1:" in done.stderr
    done = run(["bash", str(CONTRIB / "legacy.sh"), "-a", "nowhere", "get iso"], env)
    assert done.returncode == 2 and "HOST:PORT" in done.stderr
    for port in ("0", "99999", "070000"):
        done = run(["bash", str(CONTRIB / "legacy.sh"), "-a", f"127.0.0.1:{port}", "get iso"], env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"the port must be 1 to 65535, not {port}" in done.stderr
        assert done.stdout == "", "nc's complaint is never printed as the daemon's answer"


def test_scripts_also_read_ptpipctl_socket(sim_daemon: SimDaemon) -> None:
    """PTPIPCTL_SOCKET (ptpipctl's variable) works too when PTPIPD_SOCKET is not set."""
    env = {"PATH": "/usr/bin:/bin", "PTPIPCTL_SOCKET": str(sim_daemon.socket)}
    label = sim_daemon.call("get", {"property": "exp-bias"})["label"]
    done = run([*python_script("bracket.py"), "--steps=0"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"exp-bias restored to {label}"
    if NODE is not None:
        done = run([NODE, str(CONTRIB / "client.js"), "get", "exp-bias"], env)
        assert done.returncode == 0 and done.stdout.startswith("exp-bias = "), done.stderr


# ------------------------------------------------------------------------------------------ the socket


@pytest.fixture
def unprivileged(tmp_path: Path) -> Iterator[tuple[list[str], Path, int]]:
    """How to run a script as an unprivileged user (this one, or nobody through setpriv when the tests run
    as root), a copy of contrib/ that user can read, and the user's id."""
    if os.geteuid() != 0:
        yield [], CONTRIB, os.getuid()
        return
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    copy = Path(tempfile.mkdtemp(prefix="ptpipd-contrib-"))
    try:
        copy.chmod(0o755)
        for script in ("bracket.py", "focus_stack.py", "timelapse.sh", "client.js"):
            shutil.copy(CONTRIB / script, copy / script)
            (copy / script).chmod(0o644)
        yield ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], copy, 65534
    finally:
        shutil.rmtree(copy)


@pytest.mark.parametrize("xdg", [True, False])
def test_scripts_look_for_the_socket_where_ptpipctl_does(
    unprivileged: tuple[list[str], Path, int], tmp_path: Path, xdg: bool
) -> None:
    """Without -s or PTPIPD_SOCKET, a user's scripts look where that user's daemon puts its socket (and
    ptpipctl looks): $XDG_RUNTIME_DIR/ptpipd, else /tmp/ptpipd-UID; the system service's /run/ptpipd only
    when the user's own socket does not exist and the system one does. -i NAME: NAME.sock there."""
    prefix, scripts, uid = unprivileged
    env = {"PATH": "/usr/bin:/bin"}
    own_dir = f"/tmp/ptpipd-{uid}"
    if xdg:
        env["XDG_RUNTIME_DIR"] = str(tmp_path / "runtime")
        own_dir = f"{tmp_path / 'runtime'}/ptpipd"
    commands = {
        "bracket.py": ["python3", str(scripts / "bracket.py")],
        "focus_stack.py": ["python3", str(scripts / "focus_stack.py")],
        "timelapse.sh": ["bash", str(scripts / "timelapse.sh")],
    }
    if NODE is not None:
        commands["client.js"] = [NODE, str(scripts / "client.js")]
    for name in ("ptpipd", "nosuch"):
        own, system = f"{own_dir}/{name}.sock", f"/run/ptpipd/{name}.sock"
        expected = system if not os.path.exists(own) and os.path.exists(system) else own
        instance = [] if name == "ptpipd" else ["-i", name]
        for script, command in commands.items():
            extra = {"timelapse.sh": ["1", "1"], "client.js": ["get", "iso"]}.get(script, [])
            done = run([*prefix, *command, *instance, *extra], env)
            assert done.returncode == 105, (script, done.stderr)
            looked = re.search(r" at (/\S+\.sock)\b", done.stderr)
            assert looked is not None and looked[1] == expected, (script, done.stderr)

"""The typer interface as such: help, version, usage errors, shell completion; and the commands whose
output depends on time or a terminal (events, progress bars), against the stub daemon."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ptpipctl.cli import app
from ptpipctl.commands.properties import PROPERTY_NAMES
from tests.cli.conftest import PTPIPCTL, clean_env, complete, ctl
from tests.cli.stub import StubDaemon

COMMANDS = (
    "status",
    "info",
    "state",
    "get",
    "set",
    "describe",
    "capture",
    "files",
    "download",
    "opreq",
    "liveview",
    "url",
    "events",
    "call",
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_every_command_and_the_exit_codes(runner: CliRunner, home: Path) -> None:
    result = runner.invoke(app, ["--help"], env=clean_env(home))
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"\n  {command} " in result.output
    for option in (
        "--socket",
        "--tcp",
        "--token",
        "--instance",
        "--timeout",
        "--http",
        "--install-completion",
    ):
        assert option in result.output
    for variable in ("PTPIPCTL_SOCKET", "PTPIPCTL_TCP", "PTPIPCTL_TOKEN"):
        assert variable in result.output
    assert "105 daemon unreachable" in result.output
    bare = ctl(env=clean_env(home))  # no command: the help, as a usage error
    assert (bare.code, bare.err) == (2, ctl("--help", env=clean_env(home)).out)


def test_help_command_like_the_seeds(home: Path) -> None:
    env = clean_env(home)
    assert ctl("help", env=env).out == ctl("--help", env=env).out
    assert ctl("help", "get", env=env).out == ctl("get", "--help", env=env).out
    assert ctl("help", "shoot", env=env).out.startswith(
        "Usage: ptpipctl shoot [OPTIONS] [PATH]\n\n  Alias of capture."
    )
    nope = ctl("help", "nope", env=env)
    assert nope.code == 2 and "no such command 'nope'" in nope.err


def test_aliases_are_hidden_but_named_in_captures_help(home: Path) -> None:
    env = clean_env(home)
    listing = ctl("--help", env=env).out
    assert "\n  shoot " not in listing and "\n  snap " not in listing
    assert "Aliases: shoot, shutter, snap." in ctl("capture", "--help", env=env).out


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, "ptpipctl 0.1.0\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get"], "Missing argument 'PROP'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["download", "x"], "Invalid value for 'HANDLE': Input should be a valid integer"),
        (["download", "4294967296"], "Input should be less than or equal to 4294967295"),
        (["--timeout", "soon", "status"], "not a number of seconds: 'soon'"),
        (["events", "--jsn"], "No such option: --jsn"),
    ],
)
def test_usage_errors_exit_2(home: Path, args: list[str], message: str) -> None:
    result = ctl(*args, env=clean_env(home))
    assert result.code == 2
    assert message in result.err
    assert result.out == ""


def test_shell_completion_without_a_daemon(home: Path) -> None:
    env = clean_env(home)
    assert complete(env, "ptpipctl de", 1) == ["describe", "delete"]
    assert complete(env, "ptpipctl d", 1) == ["describe", "download", "delete"]
    assert complete(env, "ptpipctl get i", 2) == [n for n in PROPERTY_NAMES if n.startswith("i")]
    assert complete(env, "ptpipctl set e", 2) == [n for n in PROPERTY_NAMES if n.startswith("e")]
    assert complete(env, "ptpipctl set iso ") == []
    assert complete(env, "ptpipctl events --topic c", 3) == ["connection"]
    script = ctl("--show-completion", "bash", env=clean_env(home, SHELL="/bin/bash"))
    assert script.code == 0 and "_PTPIPCTL_COMPLETE" in script.out


def test_completion_falls_back_quietly_when_the_daemon_does_not_answer(home: Path) -> None:
    """A daemon that accepts but never answers: the static list after the completion timeout, no noise."""
    with socket.socket(socket.AF_UNIX) as silent:
        silent.bind(str(home / "silent.sock"))
        silent.listen()
        env = clean_env(home, PTPIPCTL_SOCKET=str(home / "silent.sock"))
        assert complete(env, "ptpipctl get ") == list(PROPERTY_NAMES)
        assert complete(env, "ptpipctl set iso ") == []


def test_events_human_lines_then_105_when_the_daemon_goes(home: Path, stub: StubDaemon) -> None:
    stub.after_subscribe = [
        {
            "method": "notify.event",
            "params": {"code": "0x4002", "name": "ObjectAdded", "params": [6], "time": 3600.25},
        },
        {
            "method": "notify.property",
            "params": {"property": "iso", "code": "0x500f", "value": 800, "label": "800"},
        },
        {"method": "notify.connection", "params": {"state": "disconnected", "reason": "camera gone"}},
    ]
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address), TZ="UTC")
    result = ctl("events", env=env)
    assert result.code == 105
    lines = result.out.splitlines()
    assert lines[0] == "01:00:00.250  event       ObjectAdded (0x4002) 6"
    assert lines[1].endswith("  property    iso = 800 (0x500f)")
    assert lines[2].endswith("  connection  disconnected: camera gone")
    assert len(lines) == 3
    assert result.err.splitlines() == [
        "listening to event, property, connection, ingest notifications; Ctrl-C stops",
        f"ptpipctl: lost the connection to ptpipd at {stub.address}: the daemon closed the connection",
    ]
    assert stub.requests[-1]["method"] == "subscribe" and "params" not in stub.requests[-1]


def test_events_json_with_topics(home: Path, stub: StubDaemon) -> None:
    stub.after_subscribe = [{"method": "notify.property", "params": {"property": "iso", "value": 800}}]
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    result = ctl(
        "events", "--json", "--topic", "property", "--topic", "event", "--topic", "property", env=env
    )
    assert result.out == '{"method":"notify.property","params":{"property":"iso","value":800}}\n'
    assert result.err.startswith("listening to property, event notifications; Ctrl-C stops\nptpipctl: lost")
    assert stub.requests[-1]["params"] == {"topics": ["property", "event"]}
    bad = ctl("events", "--topic", "weather", env=env)
    assert (bad.code, bad.err) == (
        2,
        "ptpipctl: unknown topic weather; topics: event, property, connection, ingest\n",
    )


def test_events_ingest_topic(home: Path, stub: StubDaemon) -> None:
    """Ingest's notifications can be chosen and read as text: the file's path, size and handle."""
    stored = {"path": "/pics/IMG_0001.JPG", "handle": 7, "size": 1234, "sha256": "ab" * 32, "time": 0}
    stub.after_subscribe = [{"method": "notify.ingest", "params": stored}]
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    result = ctl("events", "--topic", "ingest", env=env)
    assert stub.requests[-1]["params"] == {"topics": ["ingest"]}
    assert result.err.startswith("listening to ingest notifications; Ctrl-C stops\n")
    assert result.out.endswith("  ingest      /pics/IMG_0001.JPG (1234 bytes, handle 7)\n")


IMAGE = bytes(range(256)) * (12 * 1024)  # 3 MiB


def test_capture_progress_bar_and_atomic_write(home: Path, stub: StubDaemon) -> None:
    stub.http.capture_bytes = IMAGE
    stub.http.shot = {**stub.http.shot, "size": len(IMAGE), "path": "/daemon/captures/IMG_0009.JPG"}
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    target = home / "out.jpg"
    result = ctl("capture", str(target), "--progress", env=env)
    assert result.code == 0, result.err
    assert target.read_bytes() == IMAGE
    assert result.err.startswith("\rIMG_0009.JPG  [") and result.err.endswith("\r\x1b[K")
    assert "of 3.0 MiB  " in result.err and "/s\x1b[K" in result.err  # the total and the rate
    assert stub.methods() == [
        "POST /capture",
        "GET /captures/IMG_0009.JPG",
        "DELETE /captures/IMG_0009.JPG",  # the daemon's copy, once the picture is safe here
    ]
    assert stub.http.captures == {}
    quiet = ctl("capture", str(target), env=env)  # stderr is not a terminal: no bar
    assert quiet.code == 0 and quiet.err == ""
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []


def test_download_progress_has_the_total_and_the_name_from_the_headers(home: Path, stub: StubDaemon) -> None:
    stub.http.objects[7] = ("BIG.JPG", IMAGE)
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    result = ctl("download", "7", "--progress", env=env, cwd=home)
    assert result.code == 0, result.err
    assert (home / "BIG.JPG").read_bytes() == IMAGE
    assert "\rBIG.JPG  [" in result.err and "of 3.0 MiB" in result.err
    assert result.out == "saved BIG.JPG (3.0 MiB, image/jpeg, camera handle 7)\n"
    assert stub.methods() == ["GET /files/7"]
    again = ctl("download", "7", "--no-progress", env=env, cwd=home)
    assert (again.out, again.err) == ("saved BIG-1.JPG (3.0 MiB, image/jpeg, camera handle 7)\n", "")
    quiet = ctl("download", "7", "-", env=env)
    assert (quiet.raw, quiet.err) == (IMAGE, "")
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []


def test_capture_to_stdout(home: Path, stub: StubDaemon) -> None:
    stub.http.capture_bytes = b"abc"
    result = ctl("capture", "-", env=clean_env(home, PTPIPCTL_SOCKET=str(stub.address)))
    assert (result.code, result.raw, result.err) == (0, b"abc", "")


def test_installed_script_is_the_entry_point() -> None:
    assert PTPIPCTL.exists() and os.access(PTPIPCTL, os.X_OK)
    assert "ptpipctl.app" in PTPIPCTL.read_text()

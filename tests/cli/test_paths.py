"""The fast path and the typer path are one program: for the same command line they must print the same
bytes, exit with the same code and send the daemon the same requests. Each case runs the installed
``ptpipctl`` twice as a subprocess (``PTPIPCTL_FAST=0`` forces typer) against a stub daemon with fixed answers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from ptpipctl.declare import commands
from ptpipctl.fast import parse
from tests.cli.conftest import Result, clean_env, ctl
from tests.cli.stub import ISO, StubDaemon, stub_daemon

SOCK = "{sock}"  # replaced by the stub's socket path
HOME = "{home}"  # replaced by the test's home directory
HTTP_SOCK = "{http}"  # replaced by the stub's HTTP socket path
RUN = "{run}"  # replaced by the default socket directory (/run/ptpipd as root)

#: (arguments, environment (PTPIPCTL_SOCKET points at the stub unless given), fast path takes it, exit code)
CASES: list[tuple[list[str], dict[str, str], bool, int]] = [
    (["status"], {}, True, 0),
    (["status", "--json"], {}, True, 0),
    (["get", "iso"], {}, True, 0),
    (["get", "--json", "iso"], {}, True, 0),
    (["get", "0x500f"], {}, True, 1),  # the stub knows only "iso"
    (["get", "nosuch"], {}, True, 1),
    (["set", "iso", "800"], {}, True, 0),
    (["set", "iso", "800", "--json"], {}, True, 0),
    (["set", "iso", "-800"], {}, True, 0),  # a value like an option: set declares dash_values, as typer's
    (["set", "iso", "--json", "-800"], {}, True, 0),
    (["set", "-h", "iso", "800"], {}, False, 0),
    (["set", "iso"], {}, False, 2),  # VALUE takes the rest of the words, but at least one
    (["set", "iso", "--json"], {}, False, 2),
    (["describe", "iso"], {}, True, 0),
    (["describe", "iso", "--json"], {}, True, 0),
    (["describe", "--pretty", "iso"], {}, True, 0),
    (["snap", "--help"], {}, False, 0),
    (["info"], {}, True, 0),
    (["info", "--json"], {}, True, 0),
    (["info", "--pretty"], {}, True, 0),
    (["info", "--pretty", "--json"], {}, True, 0),
    (["state"], {}, True, 0),
    (["state", "--json"], {}, True, 0),
    (["files"], {}, True, 0),
    (["files", "--json"], {}, True, 0),
    (["opreq", "0x1015", "0xD212"], {}, True, 0),
    (["opreq", "1015", "0xd212", "--json"], {}, True, 0),
    (["opreq", "0x1015", "53778"], {}, True, 0),  # params are decimal unless 0x
    (["opreq", "0x1015", "d212"], {}, True, 2),
    (["opreq", "zz"], {}, True, 2),
    (["opreq", "0x1015", "-1"], {}, False, 2),
    (["opreq", "1", "2", "3", "4", "5", "6", "7"], {}, True, 2),
    (["call", "get", '{"property":"iso"}'], {}, True, 0),
    (["call", "--pretty", "status"], {}, True, 0),
    (["call", "files", "[]", "--json"], {}, True, 0),
    (["call", "get", "{not json"], {}, True, 2),
    (["call", "get", "3"], {}, True, 2),
    (["call", "nosuch"], {}, True, 1),
    (["capture", "-"], {}, True, 0),
    (["shoot", "--no-progress", "-"], {}, True, 0),
    (["capture", "-", "--json"], {}, True, 2),
    (["capture", "--progress", "--no-progress", "-"], {}, False, 0),
    (["capture", "a", "b"], {}, False, 2),
    (["download", "3", "-"], {}, True, 0),
    (["download", "4", "-", "--progress"], {}, True, 0),
    (["download", "x"], {}, False, 2),
    (["download", "4294967296"], {}, False, 2),
    (["download", "3", "-", "--resume"], {}, True, 2),
    (["download", "--resume", "4", HOME + "/four.jpg"], {}, True, 0),
    (["download", "3", "-"], {"PTPIPCTL_HTTP": "/nonexistent-http.sock"}, True, 105),
    (["--http", "127.0.0.1:1", "download", "3", "-"], {}, True, 105),
    (["--http", HTTP_SOCK, "download", "3", "-"], {"PTPIPCTL_HTTP": "x:1"}, True, 0),
    (["--http", SOCK, "download", "3", "-"], {}, True, 1),  # the JSON-RPC socket: not HTTP, said at once
    (["--http", "http://[::1", "download", "3", "-"], {}, True, 2),
    (["liveview", "--frames", "6"], {}, True, 0),
    (["liveview", "-o", "-", "--frames", "2"], {}, True, 0),
    (["liveview", "--output=-", "--seconds", "30", "--frames", "3"], {}, True, 0),
    (["liveview", "-o", HOME + "/live.mjpg", "--frames", "6"], {}, True, 0),
    (["liveview", "-o", HOME + "/missing/live.mjpg"], {}, True, 1),
    (["liveview", "--frames", "0"], {}, True, 2),
    (["liveview", "--frames", "-1"], {}, False, 2),
    (["liveview", "--seconds", "soon"], {}, False, 2),
    (["liveview", "--frames", "100", "-o", HOME + "/l.mjpg"], {}, True, 1),  # the stub's stream has 6
    (["url"], {}, True, 0),
    (["delete", "3", "4", "--yes"], {}, True, 0),
    (["delete", "--json", "--yes", "4"], {}, True, 0),
    (["delete", "3", "99", "--yes"], {}, True, 1),  # not on the camera: nothing deleted
    (["delete", "--yes"], {}, True, 2),
    (["delete", "x", "--yes"], {}, False, 2),
    (["delete", "4294967295", "--yes"], {}, False, 2),  # 0xFFFFFFFF means all objects: refused
    (["sync"], {}, False, 2),
    (["sync", HOME + "/stub.sock/x"], {}, True, 1),  # under a socket: not a directory
    (["url", "--json"], {}, True, 0),
    (["url", "liveview"], {}, True, 0),
    (["url", "weather"], {}, True, 2),
    (["--http", "192.0.2.1:8080", "--token", "t/k", "url"], {}, True, 0),
    (["--http", "/some/http.sock", "url"], {}, True, 2),
    (["events", "--topic", "weather"], {}, True, 2),
    (["events", "--topic=event", "--topic", "nope"], {}, True, 2),
    (["events", "--topic"], {}, False, 2),
    (["wait"], {}, True, 0),
    (["wait", "--timeout", "0"], {}, True, 0),
    (["wait", "--timeout=0.5"], {}, True, 0),
    (["wait", "--timeout", "soon"], {}, False, 2),
    (["wait", "--timeout", "-1"], {}, False, 2),
    (["--timeout", "5", "wait", "--timeout", "1"], {}, True, 0),
    (["get", "--json=1", "iso"], {}, False, 2),
    (["get"], {}, False, 2),
    (["get", "iso", "extra"], {}, False, 2),
    (["get", "iso", "--jsn"], {}, False, 2),
    (["--help"], {}, False, 0),
    (["frobnicate"], {}, False, 2),
    (["--timeout", "5", "get", "iso"], {}, True, 0),
    (["--timeout=5", "get", "iso"], {}, True, 0),
    (["--timeout", "0", "get", "iso"], {}, True, 2),
    (["--timeout", "soon", "get", "iso"], {}, True, 2),
    (["--socket", SOCK, "get", "iso"], {"PTPIPCTL_SOCKET": "/nonexistent.sock"}, True, 0),
    (["--socket=" + SOCK, "get", "iso"], {"PTPIPCTL_SOCKET": ""}, True, 0),
    (["--socket", "/nonexistent.sock", "get", "iso"], {}, True, 105),
    (["--instance", "studio", "get", "iso"], {}, True, 105),
    (["--socket", SOCK, "--instance", "studio", "get", "iso"], {}, True, 2),
    (["--tcp", "localhost:notaport", "get", "iso"], {}, True, 2),
    (["get", "iso"], {"PTPIPCTL_TIMEOUT": "soon"}, True, 2),
    (["get", "iso"], {"PTPIPCTL_TIMEOUT": "0"}, True, 2),
    (["get", "iso"], {"PTPIPCTL_SOCKET": ""}, True, 105),  # empty: unset, so the default socket
    (["get", "iso"], {"PTPIPCTL_SOCKET": "", "PTPIPCTL_INSTANCE": "studio"}, True, 105),
    (["--socket", "/nonexistent.sock", "get", "iso"], {"PTPIPCTL_TCP": "127.0.0.1:1"}, True, 105),
]


def case_id(case: tuple[list[str], dict[str, str], bool, int]) -> str:
    args, env, _, _ = case
    return " ".join(args) + "".join(f" [{k}={v}]" for k, v in env.items())


def default_dir(home: Path) -> str:
    """ptpipctl's default socket directory in the test environment."""
    return "/run/ptpipd" if os.geteuid() == 0 else f"{home}/run/ptpipd"


def run_both(
    args: list[str], env: dict[str, str], stub: StubDaemon
) -> tuple[Result, Result, list[list[dict[str, object]]]]:
    results = []
    requests = []
    for fast in (True, False):
        stub.requests.clear()
        results.append(ctl(*args, env=env, fast=fast))
        requests.append(list(stub.requests))
    return results[0], results[1], requests


@pytest.mark.parametrize(("args", "extra", "takes", "code"), CASES, ids=[case_id(c) for c in CASES])
def test_both_paths_agree(
    home: Path, stub: StubDaemon, args: list[str], extra: dict[str, str], takes: bool, code: int
) -> None:
    sock = str(stub.address)
    real_args = [
        a.replace(SOCK, sock).replace(HOME, str(home)).replace(HTTP_SOCK, str(stub.http.address))
        for a in args
    ]
    env = clean_env(home, **{"PTPIPCTL_SOCKET": sock, **extra})
    assert (parse(real_args) is not None) is takes
    fast, typer, requests = run_both(real_args, env, stub)
    assert (fast.code, fast.raw, fast.err) == (typer.code, typer.raw, typer.err)
    assert requests[0] == requests[1]
    assert fast.code == code, fast.err
    if code == 0:
        assert fast.err == "" and fast.out
        assert bool(requests[0]) is not ({"--help", "-h"} & set(args)), (
            "a command asks the daemon; help does not"
        )
    elif code == 105:
        assert fast.err.startswith("ptpipctl: cannot reach ptpipd") and fast.err.count("\n") == 1
        if "studio" in real_args or extra.get("PTPIPCTL_INSTANCE") == "studio":
            assert f"at socket {default_dir(home)}/studio.sock: " in fast.err
        elif extra.get("PTPIPCTL_SOCKET") == "" and "--socket" not in args:
            assert f"at socket {default_dir(home)}/ptpipd.sock: " in fast.err
    elif code == 1:
        assert fast.err.startswith("ptpipctl: ") and fast.err.count("\n") == 1 and fast.out == ""


@pytest.mark.parametrize(
    ("args", "prop", "sent"),
    [
        (["set", "exp-bias", "-1", "2/3"], "exp-bias", "-1 2/3"),  # "-1" is a word of the value, no option
        (["set", "exp-bias", "-1 2/3"], "exp-bias", "-1 2/3"),
        (["set", "--json", "artist", "Jane  Doe"], "artist", "Jane  Doe"),  # one quoted word: blanks as typed
        (["set", "whitebalance", "Color", "temperature", "--json"], "whitebalance", "Color temperature"),
        (["set", "focusmode", "AI", "Servo"], "focusmode", "AI Servo"),
        (["set", "exp-bias", "--", "-1", "2/3"], "exp-bias", "-1 2/3"),  # typer's
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else None,
)
def test_set_sends_the_rest_of_the_words_as_one_value(
    home: Path, stub: StubDaemon, args: list[str], prop: str, sent: str
) -> None:
    """``set PROP VALUE…``: the words after PROP are the value, joined by one blank, on both paths."""
    stub.answers["set"] = lambda p: {**ISO, "property": p["property"], "label": p["value"]}
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    fast, typer, requests = run_both(args, env, stub)
    assert (fast.code, fast.raw, fast.err) == (typer.code, typer.raw, typer.err)
    assert fast.code == 0, fast.err
    for each in requests:
        assert [(r["method"], r["params"]) for r in each] == [("set", {"property": prop, "value": sent})]


def imported(importtime: str) -> set[str]:
    """The modules a ``-X importtime`` report lists."""
    return {line.rsplit("|", 1)[-1].strip() for line in importtime.splitlines() if "import time:" in line}


#: One command line per declared command, each run on the fast path (issue 15 item 9).
EVERY_COMMAND = [
    ["status"],
    ["wait"],
    ["info"],
    ["state"],
    ["get", "iso"],
    ["set", "iso", "800"],
    ["describe", "iso"],
    ["files"],
    ["capture", "-"],
    ["download", "3", "-"],
    ["liveview", "-o", "-", "--frames", "2"],
    ["url"],
    ["delete", "3", "--yes"],
    ["sync", HOME + "/synced"],
    ["opreq", "0x1001"],
    ["call", "status"],
    ["events", "--json"],
]


def test_every_command_has_a_fast_path_case() -> None:
    assert {args[0] for args in EVERY_COMMAND} == {c.name for c in commands()}


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=lambda a: " ".join(a))
def test_fast_path_does_not_import_typer_and_typer_path_does(
    home: Path, stub: StubDaemon, args: list[str]
) -> None:
    if args[0] == "events":  # one notification, then the stub goes away: events ends with 105
        stub.after_subscribe = [
            {"method": "notify.event", "params": {"code": "0x4002", "name": "ObjectAdded"}}
        ]
    env = clean_env(home)
    args = [a.replace(HOME, str(home)) for a in args]
    fast = ctl("--socket", str(stub.address), *args, env=env, python_flags=("-X", "importtime"))
    if args[0] == "sync":  # the same run again: from an empty directory, not one the first run filled
        shutil.rmtree(home / "synced")
    slow = ctl("--socket", str(stub.address), *args, env=env, fast=False, python_flags=("-X", "importtime"))
    assert fast.code == slow.code == (105 if args[0] == "events" else 0), fast.err
    assert fast.raw == slow.raw
    assert "typer" not in imported(fast.err)
    assert "typer" in imported(slow.err)
    assert not {"ptpipd", "json", "_json", "socket", "re", "typing", "dataclasses"} & imported(fast.err)


def test_opreq_params_are_decimal_unless_0x(home: Path, stub: StubDaemon) -> None:
    """The delete trap: `opreq 0x100B 10` must mean handle 10, as `files` lists it, not 0x10."""
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    for fast in (True, False):
        stub.requests.clear()
        assert ctl("opreq", "0x100B", "10", "0x10", env=env, fast=fast).code == 0
        assert [r.get("params") for r in stub.requests] == [{"code": 0x100B, "params": [10, 16]}]
        refused = ctl("opreq", "0x100B", "1a", env=env, fast=fast)
        assert (refused.code, refused.err) == (
            2,
            "ptpipctl: invalid parameter '1a': 32 bits, decimal (16) or hex with 0x (0x10)\n",
        )
        assert stub.requests[1:] == []


def test_opreq_names_the_response_and_exits_1_unless_ok(home: Path, stub: StubDaemon) -> None:
    env = clean_env(home, PTPIPCTL_SOCKET=str(stub.address))
    ok = ctl("opreq", "0x1015", "0xd212", env=env)
    assert ok.code == 0 and ok.out.endswith("\nResponse: OK (0x2001)\n")
    refused = {"code": "0x2005", "name": "OperationNotSupported", "params": [7]}
    stub.answers["opreq"] = {"response": refused, "packets": ["0e00000007000000052003000000"]}
    for fast in (True, False):
        text = ctl("opreq", "0x9999", env=env, fast=fast)
        assert text.code == 1
        assert text.out.startswith("\nReceived 14 bytes. HEX dump:\n00000000  0e 00 00 00")
        assert text.out.endswith("\nResponse: OperationNotSupported (0x2005), parameters 7\n")
        assert (
            text.err == "ptpipctl: the camera answered OperationNotSupported (0x2005) to operation 0x9999\n"
        )
        as_json = ctl("opreq", "0x9999", "--json", env=env, fast=fast)
        assert (as_json.code, as_json.err) == (1, text.err)
        assert json.loads(as_json.out) == stub.answers["opreq"]


def test_token_is_sent_with_auth_first_over_tcp(home: Path) -> None:
    with stub_daemon(("127.0.0.1", 0)) as stub:
        host, port = stub.address
        env = clean_env(home)
        for fast in (True, False):
            stub.requests.clear()
            good = ctl("--tcp", f"{host}:{port}", "--token", "right", "get", "iso", env=env, fast=fast)
            assert good.code == 0, good.err
            assert stub.methods() == ["auth", "get"]
            assert stub.requests[0]["params"] == {"token": "right"}
            bad = ctl(
                "--tcp", f"{host}:{port}", "get", "iso", env=dict(env, PTPIPCTL_TOKEN="wrong"), fast=fast
            )
            assert (bad.code, bad.err) == (1, "ptpipctl: unauthorised: wrong token\n")


def test_token_is_not_sent_over_the_unix_socket(home: Path, stub: StubDaemon) -> None:
    result = ctl("--socket", str(stub.address), "--token", "right", "get", "iso", env=clean_env(home))
    assert result.code == 0
    assert stub.methods() == ["get"]


def test_unreachable_daemon_is_105_with_one_line_naming_the_socket(home: Path) -> None:
    env = clean_env(home)
    for fast in (True, False):
        result = ctl("get", "iso", env=env, fast=fast)
        assert result.code == 105
        assert result.out == ""
        assert result.err == (
            f"ptpipctl: cannot reach ptpipd at socket {default_dir(home)}/ptpipd.sock: No such file or directory\n"
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = ctl("--tcp", f"127.0.0.1:{port}", "status", env=env)
    assert (result.code, result.err) == (
        105,
        f"ptpipctl: cannot reach ptpipd at 127.0.0.1:{port}: Connection refused\n",
    )

"""Every ptpipctl command as a subprocess against a real daemon on each simulated camera."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Live, clean_env, complete, ctl, ctl_running
from tests.legacy.seed import packets_of

PAIR = re.compile(r"^(?P<key>[a-z][a-z ]*?)  +(?P<value>.*)$")


def pairs(text: str) -> dict[str, str]:
    """``key  value`` lines → dict (every line must be one)."""
    out = {}
    for line in text.splitlines():
        m = PAIR.match(line)
        assert m, line
        out[m["key"]] = m["value"]
    return out


def test_status(live: Live) -> None:
    result = live.ctl("status")
    assert result.code == 0, result.err
    fields = pairs(result.out)
    status = live.daemon.call("status")
    assert fields["state"] == "connected"
    assert fields["vendor"] == status["vendor"]
    assert fields["serial"] == status["camera"]["serial"]
    assert fields["daemon"] == f"ptpipd {status['daemon_version']}, API {status['api_version']}"
    as_json = json.loads(live.ctl("status", "--json").out)
    assert as_json["camera"] == status["camera"]


def test_get(live: Live) -> None:
    expected = live.daemon.call("get", {"property": "iso"})
    result = live.ctl("get", "iso")
    assert result.code == 0, result.err
    fields = pairs(result.out)
    assert fields["property"] == "iso"
    assert fields["value"] == expected["label"]
    assert fields["raw"] == f"{expected['value']} ({expected['hex']})"
    assert fields["name"] == f"{expected['name']} ({expected['code']})"
    assert json.loads(live.ctl("get", "iso", "--json").out) == expected
    assert live.ctl("get", expected["code"]).out == result.out


def test_set_reads_back(live: Live) -> None:
    desc = live.daemon.call("describe", {"property": "iso"})
    new = next(
        v["label"] for v in desc["form"]["values"] if v["label"] != desc["label"] and v["label"].isdigit()
    )
    result = live.ctl("set", "iso", new)
    assert result.code == 0, result.err
    assert pairs(result.out)["value"] == new
    assert live.daemon.call("get", {"property": "iso"})["label"] == new
    back = json.loads(live.ctl("set", "iso", desc["label"], "--json").out)
    assert back["label"] == desc["label"]


def test_set_a_negative_value_needs_no_double_dash(live: Live) -> None:
    desc = live.daemon.call("describe", {"property": "exp-bias"})
    negative = next(v["label"] for v in desc["form"]["values"] if v["label"].startswith("-"))
    result = live.ctl("set", "exp-bias", negative)
    assert result.code == 0, result.err
    assert pairs(result.out)["value"] == negative


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "typer"])
def test_set_a_label_with_blanks_as_words_or_quoted(live: Live, fast: bool) -> None:
    """``ptpipctl set exp-bias -1 2/3``: VALUE is the rest of the words (joined by one blank; ``-1`` is not
    an option), or one quoted word; either way the label ``get`` printed is written back."""
    desc = live.daemon.call("describe", {"property": "exp-bias"})
    spaced = [v for v in desc["form"]["values"] if " " in v["label"] and v["label"].startswith("-")]
    assert len(spaced) >= 2, desc["form"]["values"]
    try:
        for value, args in (
            (spaced[0], spaced[0]["label"].split()),
            (spaced[1], [spaced[1]["label"]]),
            (spaced[0], ["--json", *spaced[0]["label"].split()]),
        ):
            result = live.ctl("set", "exp-bias", *args, fast=fast)
            assert result.code == 0, result.err
            shown = json.loads(result.out)["label"] if "--json" in args else pairs(result.out)["value"]
            assert shown == value["label"]
            assert live.daemon.call("get", {"property": "exp-bias"})["value"] == value["value"]
    finally:
        live.daemon.call("set", {"property": "exp-bias", "value": desc["label"]})


def test_camera_error_exits_1_with_the_daemons_message(live: Live) -> None:
    with live.daemon.connect() as conn:
        error = conn.request("set", {"property": "iso", "value": "123"})["error"]
    result = live.ctl("set", "iso", "123")
    assert result.code == 1
    assert result.out == ""
    assert result.err == f"ptpipctl: {error['message']}\n"


def test_unknown_property_lists_the_known_ones(live: Live) -> None:
    result = live.ctl("describe", "nosuch")
    assert result.code == 1
    assert result.err.startswith("ptpipctl: unknown property 'nosuch' (known: ")
    assert "iso" in result.err and result.err.count("\n") == 1


def test_describe(live: Live) -> None:
    desc = live.daemon.call("describe", {"property": "iso"})
    result = live.ctl("describe", "iso")
    assert result.code == 0, result.err
    fields = pairs(result.out)
    assert fields["allowed"] == ", ".join(v["label"] for v in desc["form"]["values"])
    assert fields["default"].startswith(desc["factory_default"]["label"])
    assert json.loads(live.ctl("describe", "iso", "--json").out) == desc
    pretty = live.ctl("describe", "iso", "--pretty").out
    assert json.loads(pretty) == desc and "\n  " in pretty


def test_info_table(live: Live) -> None:
    info = live.daemon.call("info")
    result = live.ctl("info")
    assert result.code == 0, result.err
    head, _, table = result.out.partition("\n\n")
    assert pairs(head)["model"] == info["device"]["model"]
    lines = table.splitlines()
    assert re.match(r"Property +Code +Name +Value +Hex +Access$", lines[0])
    assert re.match(r"-{8} +-{4} +-{4} +-{5} +-{3} +-{6}$", lines[1])
    assert len(lines) == 2 + len(info["properties"])
    column = lines[0].index("Value")
    for line, prop in zip(lines[2:], info["properties"], strict=True):
        assert line.startswith(prop["property"] + " ")
        assert line[column:].startswith(prop["label"] or '""') or prop["label"] == ""
        assert line.endswith("rw" if prop["writable"] else "ro")


@pytest.mark.parametrize("flags", [["--json"], ["--pretty"], ["--json", "--pretty"]])
def test_info_json(live: Live, flags: list[str]) -> None:
    result = live.ctl("info", *flags)
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["device"] == live.daemon.call("info")["device"]
    assert ("\n  " in result.out) is ("--pretty" in flags)


@pytest.mark.parametrize("flags", [[], ["--json"], ["--pretty"]])
def test_state(live: Live, flags: list[str]) -> None:
    result = live.ctl("state", *flags)
    if live.vendor == "generic":
        assert result.code == 1
        assert result.err == "ptpipctl: 'state' is not supported by the generic vendor\n"
        return
    assert result.code == 0, result.err
    entries = live.daemon.call("state")
    if flags:
        assert json.loads(result.out) == entries
    else:
        assert len(result.out.splitlines()) == 2 + len(entries)


def test_files_and_download(live: Live, tmp_path: Path) -> None:
    with live.daemon.connect() as conn:
        answer = conn.request("files")
    result = live.ctl("files")
    if "error" in answer:  # the Fuji remote-control mode has no file access
        assert answer["error"]["code"] == -32003
        assert (result.code, result.err) == (1, f"ptpipctl: {answer['error']['message']}\n")
        assert live.ctl("download", "1", str(tmp_path)).code == 1
        return
    files = answer["result"]
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert re.match(r"Handle +Filename +Folder +Size +Format +Captured$", lines[0])
    assert len(lines) == 2 + len(files)
    assert json.loads(live.ctl("files", "--json").out) == files
    if not files:
        pytest.skip("this camera has no files")  # pragma: no cover - both simulators have some
    first = files[0]
    saved = live.ctl("download", str(first["handle"]), str(tmp_path))
    assert saved.code == 0, saved.err
    target = tmp_path / first["filename"]
    assert saved.out.startswith(f"saved {target} (")
    assert target.stat().st_size == first["size"]
    again = live.ctl("download", str(first["handle"]), str(tmp_path), "--json")
    assert json.loads(again.out)["path"] == str(target.with_name(target.stem + "-1" + target.suffix))
    to_stdout = live.ctl("download", str(first["handle"]), "-")
    assert to_stdout.raw == target.read_bytes()
    missing = live.ctl("download", "999999", str(tmp_path))
    assert missing.code == 1 and missing.err.startswith("ptpipctl: ")


def test_capture_to_a_file_a_directory_stdout_and_here(live: Live, tmp_path: Path) -> None:
    named = tmp_path / "shot.jpg"
    result = live.ctl("capture", str(named))
    assert result.code == 0, result.err
    assert result.out.startswith(f"saved {named} (")
    assert named.read_bytes()[:2] == b"\xff\xd8"
    into = tmp_path / "dir"
    into.mkdir()
    result = live.ctl("capture", str(into), "--json")
    saved = json.loads(result.out)
    assert Path(saved["path"]).parent == into and Path(saved["path"]).stat().st_size == saved["size"]
    assert "data" not in saved
    raw = live.ctl("capture", "-")
    assert raw.code == 0 and raw.raw[:2] == b"\xff\xd8" and raw.err == ""
    here = tmp_path / "here"
    here.mkdir()
    result = ctl("capture", env=live.env, cwd=here)
    assert result.code == 0, result.err
    written = [p for p in here.iterdir()]
    assert len(written) == 1 and result.out.startswith(f"saved {written[0].name} (")
    assert not list(tmp_path.rglob(".*.tmp")), "no temporary file is left"


@pytest.mark.parametrize("word", ["capture", "shoot", "shutter", "snap"])
def test_capture_and_the_seeds_aliases(live: Live, tmp_path: Path, word: str) -> None:
    target = tmp_path / f"{word}.jpg"
    result = live.ctl(word, str(target), "--json")
    assert result.code == 0, result.err
    saved = json.loads(result.out)
    assert saved["path"] == str(target)
    assert target.read_bytes()[:2] == b"\xff\xd8" and target.stat().st_size == saved["size"]


def test_capture_json_to_stdout_is_a_usage_error(live: Live) -> None:
    result = live.ctl("capture", "-", "--json")
    assert result.code == 2
    assert result.err == "ptpipctl: --json cannot be combined with writing the image to stdout ('-')\n"


def test_opreq_hex_dump_and_response(live: Live) -> None:
    result = live.ctl("opreq", "0x1001")
    assert result.code == 0, result.err
    dump, _, response = result.out.rpartition("\nResponse: ")
    assert response == "OK (0x2001)\n"
    packets = packets_of(dump)
    manufacturer = live.daemon.call("status")["camera"]["manufacturer"]
    assert manufacturer.encode("utf-16-le") in b"".join(packets)
    as_json = json.loads(live.ctl("opreq", "1001", "--json").out)
    assert as_json["response"]["name"] == "OK"
    assert [len(bytes.fromhex(p)) for p in as_json["packets"]] == [len(p) for p in packets]


def test_opreq_params_are_decimal_unless_0x(live: Live) -> None:
    """Issue 15 item 1: a parameter reads as decimal unless it starts with 0x (the legacy grammar keeps hex)."""
    code = live.daemon.call("get", {"property": "iso"})["code"]  # GetDevicePropValue of the ISO property
    by_hex = live.ctl("opreq", "0x1015", code, "--json")
    by_decimal = live.ctl("opreq", "0x1015", str(int(code, 16)), "--json")
    assert by_hex.code == by_decimal.code == 0, by_hex.err + by_decimal.err
    assert json.loads(by_decimal.out)["data"] == json.loads(by_hex.out)["data"]
    bare_hex = live.ctl("opreq", "0x1015", code.removeprefix("0x"))
    if not code.removeprefix("0x").isdigit():
        assert (bare_hex.code, bare_hex.out) == (2, "")


def test_opreq_non_ok_response_exits_1_naming_it(live: Live) -> None:
    """Issue 15 item 14: ``opreq 0x9999`` shows the response's name and exits 1; --json keeps everything."""
    result = live.ctl("opreq", "0x9999")
    assert result.code == 1
    assert result.out.endswith("\nResponse: OperationNotSupported (0x2005)\n")
    assert packets_of(result.out.rpartition("\nResponse: ")[0])
    assert result.err == "ptpipctl: the camera answered OperationNotSupported (0x2005) to operation 0x9999\n"
    as_json = live.ctl("opreq", "0x9999", "--json")
    assert (as_json.code, as_json.err) == (1, result.err)
    assert json.loads(as_json.out)["response"] == {
        "code": "0x2005",
        "name": "OperationNotSupported",
        "params": [],
    }


def test_call(live: Live) -> None:
    result = live.ctl("call", "get", '{"property": "iso"}')
    assert result.code == 0, result.err
    assert json.loads(result.out) == live.daemon.call("get", {"property": "iso"})
    assert json.loads(live.ctl("call", "get", '["iso"]').out)["property"] == "iso"
    discovered = json.loads(live.ctl("call", "rpc.discover", "--pretty").out)
    assert {m["name"] for m in discovered["methods"]} >= {"get", "set", "capture", "opreq"}
    missing = live.ctl("call", "nosuch")
    assert (missing.code, missing.err) == (1, "ptpipctl: Method not found: nosuch\n")
    bad = live.ctl("call", "get", "{}")
    assert bad.code == 1 and bad.err == "ptpipctl: Invalid params: property: Field required\n"


def test_over_tcp(live: Live) -> None:
    assert live.daemon.tcp is not None
    host, port = live.daemon.tcp
    env = {k: v for k, v in live.env.items() if k != "PTPIPCTL_SOCKET"}
    result = ctl("--tcp", f"{host}:{port}", "get", "iso", env=env)
    assert result.code == 0, result.err
    assert result.out == live.ctl("get", "iso").out
    env["PTPIPCTL_TCP"] = f"{host}:{port}"
    assert ctl("status", "--json", env=env).code == 0
    shot = ctl("--tcp", f"{host}:{port}", "capture", "-", env=env)  # the data plane found from its status
    assert shot.code == 0 and shot.raw[:2] == b"\xff\xd8", shot.err


def test_events_until_interrupted(live: Live) -> None:
    """``events --json`` prints notifications as they come; a capture makes some; Ctrl-C ends it with 0."""
    with ctl_running("events", "--json", "--topic", "event", env=live.env) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        assert proc.stderr.readline() == "listening to event notifications; Ctrl-C stops\n"  # subscribed
        subscribed_before = time.monotonic()
        live.daemon.call("capture")
        note = json.loads(proc.stdout.readline())
        assert note["method"] == "notify.event"
        assert set(note["params"]) >= {"code", "name", "params", "time"}
        assert time.monotonic() - subscribed_before < 15
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_daemon_down_exits_105_naming_the_socket(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    sock = tmp_path / "gone.sock"
    result = ctl("--socket", str(sock), "status", env=clean_env(tmp_path))
    assert result.code == 105
    assert result.err == f"ptpipctl: cannot reach ptpipd at socket {sock}: No such file or directory\n"
    assert os.path.exists(sock) is False


def test_completion_asks_the_connected_camera(live: Live) -> None:
    """Issue 15 item 17: property names from ``info``, values of ``set PROP`` from ``describe``."""
    names = [p["property"] for p in live.daemon.call("info")["properties"]]
    assert complete(live.env, "ptpipctl get ") == names
    assert complete(live.env, "ptpipctl describe f") == [n for n in names if n.startswith("f")]
    assert ("recmode" in complete(live.env, "ptpipctl get r")) is ("recmode" in names)
    labels = [v["label"] for v in live.daemon.call("describe", {"property": "iso"})["form"]["values"]]
    assert complete(live.env, "ptpipctl set iso ") == labels
    assert complete(live.env, "ptpipctl set iso 8") == [v for v in labels if v.startswith("8")]
    # the daemon of the command line being completed, not the environment's
    socket_given = {k: v for k, v in live.env.items() if k != "PTPIPCTL_SOCKET"}
    words = f"ptpipctl --socket {live.env['PTPIPCTL_SOCKET']} get "
    assert complete(socket_given, words) == names

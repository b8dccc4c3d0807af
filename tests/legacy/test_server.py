"""The text listener of a real daemon on its simulated cameras, driven like old scripts drive it:
``echo CMD | nc HOST PORT`` (which must return by itself), and raw sockets for the edge cases.

Every seed command and alias runs against both simulators; answers are checked against what the JSON-RPC
interface of the same daemon says, since the adapter goes through the same dispatcher (in the seed tool's
words, test_seed_output.py has the byte-exact comparison with its output).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ptpipd.legacy.seed_format import go_hex, go_hex8
from ptpipd.vendors.legacy_labels import LegacyLabels, legacy_labels
from tests.legacy.conftest import (
    Legacy,
    LineClient,
    nc,
    running_legacy,
)
from tests.legacy.seed import (
    SEED_902B,
    SEED_D212,
    mask_transaction_ids,
    packets_of,
    seed_text,
    transaction_ids,
)

#: The seed's table head: a blank line, the header, the dashes (columns as wide as the widest cell + 2).
TABLE_HEAD = re.compile(
    r"\nDevicePropCode +Property name +Value as string +Value as int64 +Value in hex\n"
    r"-{14} +-{13} +-{15} +-{14} +-{12}\n"
)
DESCRIBE_HEAD = re.compile(r"\nDevicePropCode +Prop name +Dflt val as str +.* +Vals allowed\n-{14} ")
GET_LINE = re.compile(r"^(?P<label>.*?)(?: \((?P<hex>0x[0-9a-f]+)\))?\n$")
SAVED = re.compile(r"^Image (preview )?saved to (?P<path>/\S+)\n$")


def short(hexa: str | None) -> str | None:
    return None if hexa is None else "0x" + (hexa[2:].lstrip("0") or "0")


def seed_words(server: Legacy) -> LegacyLabels:
    return legacy_labels(server.vendor)


def rpc(server: Legacy, method: str, params: Any = None) -> Any:
    return server.daemon.call(method, params)


def test_help(legacy: Legacy) -> None:
    text = legacy.nc("help")
    assert text.startswith("Supported commands:\n")
    for usage in (
        "capture [PATH]",
        "info [json [pretty]]",
        "get PROP",
        "set PROP VALUE",
        "opreq CODE [PARAM...]",
        "auth TOKEN",
    ):
        assert f"\n  {usage} " in text
    assert "shoot, shutter, snap" in text
    assert legacy.nc("help shutter").startswith("capture [PATH]\n")
    assert legacy.nc("help auth").startswith("auth TOKEN\n")


def test_info_table_lists_every_property_with_its_value(legacy: Legacy) -> None:
    text = legacy.nc("info")
    assert TABLE_HEAD.match(text), text
    expected = rpc(legacy, "info")["properties"]
    rows = text.splitlines()[3:]
    assert len(rows) == len(expected)
    for row, prop in zip(rows, expected, strict=True):
        code = int(prop["code"], 16)
        assert row.startswith(f"{code:#x}  ")
        assert f"  {seed_words(legacy).name(code)}  " in row or not seed_words(legacy).name(code)
        if isinstance(prop["value"], int):
            assert row.endswith(go_hex8(prop["value"])), row
            assert f"  {prop['value']}  " in row


@pytest.mark.parametrize("pretty", [False, True], ids=["json", "json-pretty"])
def test_info_json_parses(legacy: Legacy, pretty: bool) -> None:
    text = legacy.nc("info json pretty" if pretty else "info json")
    properties = json.loads(text)
    expected = rpc(legacy, "info")["properties"]
    assert [p["DevicePropertyCode"]["code"] for p in properties] == [
        hex(int(p["code"], 16)) for p in expected
    ]
    for seed, ours in zip(properties, expected, strict=True):
        assert seed["readOnly"] is not ours["writable"]
        assert seed["formType"] == ours["form"]["kind"]
        if isinstance(ours["value"], int):
            assert seed["CurrentValue"]["value"] == go_hex(ours["value"])
    assert ("\n    " in text) is pretty
    assert text.endswith("\n")
    assert (text.count("\n") > 1) is pretty


@pytest.mark.parametrize("suffix", ["", " json", " json pretty"])
def test_state(legacy: Legacy, suffix: str) -> None:
    text = legacy.nc("state" + suffix)
    if legacy.vendor == "generic":
        assert text == "state error: 'state' is not supported by the generic vendor\n"
        return
    entries = rpc(legacy, "state")
    if suffix:
        seed = json.loads(text)
        assert [e["DevicePropertyCode"]["code"] for e in seed] == [hex(int(e["code"], 16)) for e in entries]
        assert [int(e["CurrentValue"]["value"], 16) for e in seed] == [e["value"] for e in entries]
        assert ("\n    " in text) == suffix.endswith("pretty")
    else:
        assert TABLE_HEAD.match(text), text
        assert len(text.splitlines()) == 3 + len(entries)


def test_get_by_name_and_by_hex_code(legacy: Legacy) -> None:
    value = rpc(legacy, "get", {"property": "iso"})
    text = legacy.nc("get iso")
    m = GET_LINE.match(text)
    assert m, text
    assert m["label"] == seed_words(legacy).label(int(value["code"], 16), value["value"])
    assert m["hex"] == short(value["hex"])
    code = value["code"]  # 0x500f generic, 0xd02a Fuji
    assert legacy.nc(f"get {code}") == text
    assert legacy.nc(f"get {code[2:].upper()}") == text  # the seed's hex without 0x


def test_set_then_get(legacy: Legacy) -> None:
    desc = rpc(legacy, "describe", {"property": "iso"})
    labels = [v["label"] for v in desc["form"]["values"]]
    new = next(label for label in labels if label != desc["label"] and label.isdigit())
    text = legacy.nc(f"set iso {new}")
    after = rpc(legacy, "get", {"property": "iso"})
    assert after["label"] == new
    assert text == f"property iso successfully set to {short(after['hex'])}\n"
    assert legacy.nc("get iso").endswith(f" ({short(after['hex'])})\n")


def test_set_writes_back_a_label_with_blanks_that_get_printed(legacy: Legacy) -> None:
    """``get`` prints ``-1 2/3 (0xf97d)``; ``set exp-bias -1 2/3`` writes that label back (the value is the
    rest of the line), whatever blanks separate the words."""
    desc = rpc(legacy, "describe", {"property": "exp-bias"})
    spaced = [v for v in desc["form"]["values"] if " " in v["label"]]
    assert len(spaced) >= 2, desc["form"]["values"]
    first, second = spaced[0], spaced[-1]
    rpc(legacy, "set", {"property": "exp-bias", "value": first["label"]})
    m = GET_LINE.match(legacy.nc("get exp-bias"))
    assert m and m["label"] == first["label"] and " " in m["label"], m
    rpc(legacy, "set", {"property": "exp-bias", "value": second["label"]})
    assert legacy.nc(f"set exp-bias {m['label']}") == f"property exp-bias successfully set to {m['hex']}\n"
    assert rpc(legacy, "get", {"property": "exp-bias"})["value"] == first["value"]
    words = second["label"].split()
    assert legacy.nc(f"set   0x5010  {'   '.join(words)}  ") == (
        f"property 0x5010 successfully set to {short(second['hex'])}\n"
    )
    assert rpc(legacy, "get", {"property": "exp-bias"})["value"] == second["value"]


def test_words_after_a_value_are_part_of_it(legacy: Legacy) -> None:
    """``set iso 800 now``: the value is ``800 now``, which no camera knows: the daemon's invalid-value error
    (the seed's code dropped the extra words, its README knows no such line), and ISO stays as it was."""
    before = rpc(legacy, "get", {"property": "iso"})
    assert legacy.nc("set iso 800 now") == "set error: invalid device property value\n"
    assert rpc(legacy, "get", {"property": "iso"})["value"] == before["value"]


#: Labels with blanks each vendor's camera must take back through ``set`` (review of the legacy adapter).
SPACED = {"canon": {"AI Servo", "One Shot"}, "nikon": {"Lo 1.0", "Hi 1"}}


@pytest.fixture(scope="module", params=sorted(SPACED))
def body(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A daemon with the text listener on the simulated EOS 6D or D750."""
    vendor = str(request.param)
    with running_legacy(tmp_path_factory.mktemp(f"legacy-{vendor}"), vendor) as server:
        yield server


def test_set_takes_every_label_with_blanks_of_the_camera(body: Legacy) -> None:
    """Each allowed label that holds a blank, of every writable property, is written by ``set PROP LABEL``
    and read back by the daemon as that label (Canon ``AI Servo``, Nikon ``Lo 1.0``…)."""
    tried: set[str] = set()
    for prop in rpc(body, "info")["properties"]:
        desc = rpc(body, "describe", {"property": prop["property"]})
        values = (desc.get("form") or {}).get("values") or []
        if not desc["writable"] or not any(" " in v["label"] for v in values):
            continue
        try:
            for value in (v for v in values if " " in v["label"]):
                text = body.nc(f"set {prop['property']} {value['label']}")
                after = rpc(body, "get", {"property": prop["property"]})
                assert (after["label"], after["value"]) == (value["label"], value["value"]), text
                assert text == f"property {prop['property']} successfully set to {short(after['hex'])}\n"
                assert body.nc(f"get {prop['property']}").endswith(f" ({short(after['hex'])})\n")
                tried.add(value["label"])
        finally:
            rpc(body, "set", {"property": prop["property"], "value": desc["label"]})
    assert tried >= SPACED[body.vendor], tried


def test_describe(legacy: Legacy) -> None:
    desc = rpc(legacy, "describe", {"property": "iso"})
    text = legacy.nc("describe iso")
    assert DESCRIBE_HEAD.match(text), text
    assert text.endswith("  " + ", ".join(go_hex(v["value"]) for v in desc["form"]["values"]) + "\n")
    seed = json.loads(legacy.nc("describe iso json pretty"))
    assert seed["CurrentValue"]["value"] == go_hex(desc["value"])
    assert [v["value"] for v in seed["form"]["values"]] == [
        go_hex(v["value"]) for v in desc["form"]["values"]
    ]
    assert json.loads(legacy.nc(f"describe {desc['code']} json")) == seed


def test_opreq_dumps_what_the_camera_sent(legacy: Legacy) -> None:
    text = legacy.nc("opreq 0x1001")  # GetDeviceInfo, in both dialects
    packets = packets_of(text)
    assert len(packets) >= 2
    manufacturer = rpc(legacy, "info")["device"]["manufacturer"]
    assert manufacturer.encode("utf-16-le") in b"".join(packets)


@pytest.mark.parametrize("word", ["capture", "shoot", "shutter", "snap"])
def test_capture_and_aliases_without_path(legacy: Legacy, word: str) -> None:
    text = legacy.nc(word)
    m = SAVED.match(text)
    assert m, text
    assert (m[1] is not None) is (legacy.vendor == "fuji")  # a preview on the X-T1, the image on generic
    data = Path(m["path"]).read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"  # the whole JPEG


@pytest.mark.parametrize("word", ["capture", "shoot", "shutter", "snap"])
def test_capture_and_aliases_to_a_path(legacy: Legacy, word: str, tmp_path: Path) -> None:
    """An absolute PATH, as old scripts give it; inside the daemon's capture directory (issue 14 defect 1:
    nothing is written elsewhere, see tests/faults/test_legacy_paths.py)."""
    plain = SAVED.match(legacy.nc("capture"))
    assert plain, "a capture without PATH says where the capture directory is"
    target = Path(plain["path"]).parent / f"{word}-{tmp_path.name}.jpg"
    text = legacy.nc(f"{word} {target}")
    m = SAVED.match(text)
    assert m, text
    assert m["path"] == str(target)
    data = target.read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def test_errors_are_the_rpcs_in_one_line(legacy: Legacy) -> None:
    with legacy.daemon.connect() as conn:
        error = conn.request("get", {"property": "nosuch"})["error"]
    text = legacy.nc("get nosuch")
    assert text == f"get error: {error['message']} (known: {', '.join(error['data']['known'])})\n"
    text = legacy.nc("set iso 123")
    with legacy.daemon.connect() as conn:
        error = conn.request("set", {"property": "iso", "value": "123"})["error"]
    assert error["code"] == -32005  # refused before the camera: the line says what the camera would have said
    assert text == "set error: invalid device property value\n"


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("frobnicate", "unknown command 'frobnicate'; try 'help'"),
        ("get", "get error: missing a property; usage: get PROP"),
        ("info pretty", "info error: unexpected 'pretty'; usage: info [json [pretty]]"),
        ("opreq nothex", "opreq error: operation code 'nothex' is not a hex number (e.g. 0x1015)"),
    ],
)
def test_bad_lines_get_one_error_line_and_the_connection_ends(legacy: Legacy, line: str, answer: str) -> None:
    text = legacy.nc(line)
    assert text.count("\n") == 1
    assert text.startswith(answer)


def test_one_command_per_connection(legacy: Legacy) -> None:
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'printf "\\n\\nget iso\\nget iso\\nget iso\\n" | timeout 15 nc "$1" "$2"',
            "x",
            legacy.host,
            str(legacy.port),
        ],
        capture_output=True,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    assert GET_LINE.match(proc.stdout.decode()), proc.stdout  # blank lines skipped, one answer, then closed


def test_over_long_line_gets_an_error_and_the_connection_is_closed(legacy: Legacy) -> None:
    client = LineClient(legacy.host, legacy.port)
    try:
        client.send(b"get " + b"x" * 5000 + b"\n")
        assert client.read_to_end() == b"error: line longer than 4096 bytes; closing\n"
    finally:
        client.close()


def test_a_line_of_exactly_4_kib_is_served(legacy: Legacy) -> None:
    client = LineClient(legacy.host, legacy.port)
    try:
        client.send(b"x" * 4096 + b"\r\n")
        answer = client.read_to_end().decode()
        assert answer.startswith("unknown command 'xxxx") and answer.count("\n") == 1
    finally:
        client.close()


def test_not_utf8(legacy: Legacy) -> None:
    client = LineClient(legacy.host, legacy.port)
    try:
        client.send(b"get \xff\xfe\n")
        assert client.read_to_end() == b"error: the line is not UTF-8\n"
    finally:
        client.close()


def test_last_line_without_newline_counts(legacy: Legacy) -> None:
    proc = subprocess.run(
        ["bash", "-c", 'printf "get iso" | timeout 15 nc -N "$1" "$2"', "x", legacy.host, str(legacy.port)],
        capture_output=True,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    assert GET_LINE.match(proc.stdout.decode()), proc.stdout


# ------------------------------------------------------------------------------------------------ keep_open


@pytest.fixture(scope="module")
def interactive(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("keep-open")
    config = workdir / "ptpipd.ini"
    config.write_text("[server]\nkeep_open = true\n")
    with running_legacy(workdir, "generic", "-f", str(config)) as server:
        yield server


def test_keep_open_serves_line_after_line_and_survives_errors(interactive: Legacy) -> None:
    client = LineClient(interactive.host, interactive.port)
    try:
        client.send(b"get iso\n")
        first = client.read_line()
        assert GET_LINE.match(first + "\n")
        client.send(b"frobnicate\n")
        assert client.read_line().startswith("unknown command 'frobnicate'")
        client.send(b"get\n")
        assert client.read_line() == "get error: missing a property; usage: get PROP"
        client.send(b"set iso 800\r\nget iso\n")
        assert client.read_line() == "property iso successfully set to 0x320"
        assert client.read_line() == " (0x320)"  # the seed had no ISO label for a standard PTP camera
        client.sock.shutdown(2 - 1)  # SHUT_WR: we are done; the server closes too
        assert client.read_to_end() == b""
    finally:
        client.close()


def test_a_string_property_keeps_the_blanks_inside_its_value(interactive: Legacy) -> None:
    """The value is the rest of the line as typed, less the blanks around it: a string gets its own."""
    before = rpc(interactive, "get", {"property": "artist"})
    assert before["writable"] and before["type"] == "str", before
    client = LineClient(interactive.host, interactive.port)
    try:
        client.send(b"set artist  Jane  Doe \t\r\nget artist\n")
        assert client.read_line() == "property artist successfully set to Jane  Doe"
        assert client.read_line() == "Jane  Doe"
        assert rpc(interactive, "get", {"property": "artist"})["value"] == "Jane  Doe"
    finally:
        client.close()
        rpc(interactive, "set", {"property": "artist", "value": before["value"]})


def test_keep_open_still_closes_an_over_long_line(interactive: Legacy) -> None:
    client = LineClient(interactive.host, interactive.port)
    try:
        client.send(b"get iso\n")
        client.read_line()
        client.send(b"y" * 10_000 + b"\n")
        assert client.read_to_end() == b"error: line longer than 4096 bytes; closing\n"
    finally:
        client.close()


def test_daemon_stops_cleanly_with_idle_interactive_connections(tmp_path: Path) -> None:
    config = tmp_path / "ptpipd.ini"
    config.write_text("[server]\nkeep_open = true\n")
    with running_legacy(tmp_path / "d", "generic", "-f", str(config)) as server:
        busy = LineClient(server.host, server.port)
        idle = LineClient(server.host, server.port)
        try:
            busy.send(b"get iso\n")
            busy.read_line()
            # each listener counts its own clients: the two text connections and this JSON-RPC one
            assert server.daemon.call("status")["clients"] == 3
            rc, log = server.daemon.stop()
            assert busy.read_to_end() == b""  # the daemon closed both
            assert idle.read_to_end() == b""
        finally:
            busy.close()
            idle.close()
    assert rc == 0
    assert " ERROR " not in log, log


# ------------------------------------------------------------------------------------------------ the seed's dumps


@pytest.fixture
def fresh_fuji(tmp_path: Path) -> Any:
    """A daemon on a Fuji simulator in its default state."""
    with running_legacy(tmp_path / "fuji", "fuji") as server:
        yield server


@pytest.mark.parametrize(
    ("line", "path"),
    [("opreq 0x902B", SEED_902B), ("opreq 0x1015 0xD212", SEED_D212)],
    ids=["902B", "1015-D212"],
)
def test_fuji_opreq_matches_the_seed_readme_byte_for_byte(fresh_fuji: Legacy, line: str, path: Path) -> None:
    """The seed README's dumps, byte for byte, except the transaction IDs (bytes 8-11 of each container):
    the README's come from a session that had already run 7 and 6 transactions, ours from a fresh one.
    Exactly those bytes are masked (hex and ASCII columns); the rest must be identical."""
    expected = seed_text(path)
    text = fresh_fuji.nc(line)
    assert mask_transaction_ids(text) == mask_transaction_ids(expected)
    assert len(text) == len(expected)
    ours = transaction_ids(text)
    assert len(set(ours)) == 1, f"the data and response packets of one transaction share its ID: {ours}"


def test_nc_helper_fails_when_nc_has_to_be_killed() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        with pytest.raises(AssertionError, match="124"):
            nc("127.0.0.1", listener.getsockname()[1], "get iso", timeout=0.5)  # never answers, never closes
    finally:
        listener.close()


# ------------------------------------------------------------------------------------------------ auth


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this host that is not loopback (and can be bound), or None."""
    import contextlib
    import socket

    candidates: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # sends nothing: picks the outgoing interface
        candidates.append(probe.getsockname()[0])
    for address in candidates:
        if address.startswith("127."):
            continue
        try:
            with socket.socket() as s:
                s.bind((address, 0))
        except OSError:
            continue
        return str(address)
    return None


def test_a_network_listener_wants_auth_first(tmp_path: Path) -> None:
    """On a non-loopback address (allowed with an auth_token only) a client sends ``auth TOKEN`` first; that
    line does not use up the connection's one command."""
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to listen on")
    config = tmp_path / "auth.ini"
    config.write_text(
        f'[server]\nenabled = true\naddress = {address}\nport = 0\n[daemon]\nauth_token = "s3cret"\n'
    )
    from tests.procs import running_daemon

    with running_daemon(
        tmp_path / "d", "--simulate", "generic", "-f", str(config), "--log-level", "debug"
    ) as daemon:
        daemon.wait_connected()
        ready = daemon.notify.wait_for("READY", "1", timeout=1)
        match = re.search(rf"{re.escape(address)}:(\d+)", ready["STATUS"])
        assert match, ready
        port = int(match.group(1))
        assert nc(address, port, "get iso") == "get error: unauthorised: send 'auth TOKEN' first\n"
        assert "\n  auth TOKEN " in nc(address, port, "help"), "help needs no token, and lists auth"
        assert nc(address, port, "auth wrong") == "auth error: unauthorised: wrong token\n"
        answer = subprocess.run(
            [
                "bash",
                "-c",
                'printf "auth s3cret\\nget iso\\n" | timeout 15 nc "$1" "$2"',
                "x",
                address,
                str(port),
            ],
            capture_output=True,
            timeout=20,
        )
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.decode() == "authenticated\n (0x190)\n"
        rc, log = daemon.stop()
    assert rc == 0
    assert re.search(r"legacy client \d+: auth ok=True", log), "commands are logged at debug level"
    assert "s3cret" not in log, "the token was logged"


def test_the_docs_say_a_network_listener_wants_auth() -> None:
    """README and ptpipd-legacy.socket say what the test above shows: off loopback the text protocol wants
    ``auth TOKEN`` (they said it had no authentication), with the refusal's own words."""
    from ptpipd.legacy.adapter import NOT_AUTHENTICATED
    from tests.procs import REPO

    unit = (REPO / "systemd" / "ptpipd-legacy.socket").read_text()
    comment = " ".join(line.lstrip("# ") for line in unit.splitlines() if line.startswith("#"))
    assert "auth TOKEN" in comment and "auth_token" in comment
    assert "no authentication" not in comment
    readme = (REPO / "README.md").read_text()
    legacy = readme.split("\n## The legacy text protocol and one-shot mode\n", 1)[1].split("\n## ", 1)[0]
    assert "`auth TOKEN`" in legacy and f"`{NOT_AUTHENTICATED}`" in " ".join(legacy.split())
    security = readme.split("\n## Security notes\n", 1)[1].split("\n## ", 1)[0]
    off_loopback = " ".join(
        next(b for b in security.split("\n- ") if b.startswith("**Off loopback**")).split()
    )
    assert "legacy text protocol off loopback requires `auth_token`" in off_loopback
    assert "`auth TOKEN`" in off_loopback and "no authentication" not in off_loopback


@pytest.mark.parametrize("code", ["0x0", "0X00", "0"])
def test_a_code_is_named_as_written(legacy: Legacy, code: str) -> None:
    """Issue 14 item 11: the message names the code the user typed, not its decimal value."""
    text = legacy.nc(f"get {code}")
    assert text.count("\n") == 1 and text.startswith("get error: "), text
    # the daemon refuses the code itself (unknown property), or, once codes go to the camera (issue 13
    # item 2), reports the camera's answer; either way never the decimal '0'
    assert text.startswith(f"get error: unknown property {code!r} (known: ") or text == (
        "get error: device property not supported\n"
    ), text

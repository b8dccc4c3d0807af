"""The adapter: text command → :meth:`Dispatcher.call` of a real :class:`Dispatcher` → the seed's text.

The dispatcher here is the real class with a stub methods table (canned result models, recorded params), so
these tests pin the exact text of every command and error without a camera; tests/legacy/test_server.py and
test_seed_output.py run the same commands against the daemon and its simulated cameras.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ptpipd.errors import CameraRefused, InvalidValue, NotSupported, UnknownProperty
from ptpipd.legacy.adapter import Adapter, Reply, error_message
from ptpipd.legacy.seed_format import go_hex, go_hex8, go_json, hex_dump, packet_dumps, tabwriter
from ptpipd.rpc import Client, Dispatcher, Method, RpcError
from ptpipd.rpc import models as m
from tests.legacy.seed import SEED_902B, SEED_D212, packets_of, seed_text

ISO = {
    "property": "iso",
    "code": "0x500f",
    "name": "ExposureIndex",
    "type": "uint16",
    "value": 800,
    "hex": "0x0320",
    "label": "800",
    "writable": True,
}
FUJI_ISO = {
    **ISO,
    "code": "0xd02a",
    "type": "uint32",
    "value": 0x80001900,
    "hex": "0x80001900",
    "label": "S6400",
}
BIAS = {
    **ISO,
    "property": "exp-bias",
    "code": "0x5010",
    "type": "int16",
    "value": -333,
    "hex": "0xfeb3",
    "label": "-1/3",
}
DATE = {
    **ISO,
    "property": "datetime",
    "code": "0x5011",
    "type": "str",
    "value": "20240601T120000",
    "hex": None,
    "label": "20240601T120000",
}
NO_FORM = {"factory_default": {"value": 0, "hex": "0x0000", "label": "0"}, "form": {"kind": "none"}}
ISO_DESC = {
    **ISO,
    "factory_default": {"value": 400, "hex": "0x0190", "label": "400"},
    "form": {
        "kind": "enum",
        "values": [{"value": v, "hex": f"0x{v:04x}", "label": str(v)} for v in (400, 800)],
    },
}
WB_DESC = {
    **ISO,
    "property": "whitebalance",
    "code": "0x5005",
    "value": 2,
    "hex": "0x0002",
    "label": "auto",
    "factory_default": {"value": 2, "hex": "0x0002", "label": "auto"},
    "form": {"kind": "enum", "values": [{"value": 2, "hex": "0x0002", "label": "auto"}]},
}
JPEG = b"\xff\xd8\xff\xe0fake jpeg\xff\xd9"

RESULTS: dict[str, Any] = {
    "get": m.PropertyValueResult,
    "set": m.PropertyValueResult,
    "describe": m.PropertyDescResult,
    "info": m.InfoResult,
    "state": m.StateEntryResult,
    "capture": m.TransferResult,
    "opreq": m.OpreqResult,
    "status": m.StatusResult,
}


def status(vendor: str) -> dict[str, Any]:
    return {
        "state": "connected",
        "vendor": vendor,
        "host": "127.0.0.1",
        "ports": [15740],
        "camera": None,
        "connected_since": None,
        "reconnects": 0,
        "last_error": None,
        "last_error_time": None,
        "attempts": 0,
        "api_version": "1.0",
        "daemon_version": "0",
        "capabilities": {
            "events": "channel",
            "liveview": "none",
            "files": True,
            "partial_objects": False,
            "state_list": False,
            "delete": False,
        },
        "pairing": [],
        "clients": 1,
    }


def as_model(method: str, answer: Any) -> Any:
    """A canned answer (JSON-shaped, as the tests write it) as the result model the real handler returns."""
    model = RESULTS.get(method)
    if model is None:
        return answer
    if isinstance(answer, list):
        return [model.model_validate(a) for a in answer]
    return model.model_validate(answer)


class Stub:
    """A methods table with canned answers; ``calls`` records (method, params) in order (``status``, which
    the adapter asks for the camera's vendor, is answered but not recorded)."""

    def __init__(self, vendor: str = "generic", **answers: Any) -> None:
        self.answers = {"status": status(vendor), **answers}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def method(self, name: str, params: type[m.Params]) -> Method:
        async def handler(client: Client, p: m.Params) -> Any:
            if name != "status":
                self.calls.append((name, p.model_dump(exclude_defaults=False)))
            answer = self.answers[name]
            if isinstance(answer, Exception):
                raise answer
            return as_model(name, answer(p) if callable(answer) else answer)

        return Method(name, params, Any, handler, name)

    def dispatcher(self) -> Dispatcher:
        table = {
            "status": m.NoParams,
            "get": m.PropertyParams,
            "set": m.SetParams,
            "describe": m.PropertyParams,
            "info": m.NoParams,
            "state": m.NoParams,
            "capture": m.CaptureParams,
            "opreq": m.OpreqParams,
            "auth": m.AuthParams,
        }
        return Dispatcher(
            [self.method(name, params) for name, params in table.items() if name in self.answers]
        )


async def run(stub: Stub, line: str, capture_dir: Path = Path("/nonexistent")) -> Reply:
    reply = await Adapter(stub.dispatcher(), Client(1, "legacy", "test"), capture_dir).run_line(line)
    assert reply is not None
    return reply


# ------------------------------------------------------------------------------------------ Go's formats


def test_go_hex_formats() -> None:
    assert [go_hex(v) for v in (0, 2, 0x320, 0x80001900, -333)] == [
        "0x0",
        "0x2",
        "0x320",
        "0x80001900",
        "-0x14d",
    ]
    # %0#8x: 8 digits after 0x, 7 after -0x (Go counts the sign, not the prefix)
    assert [go_hex8(v) for v in (0, 3, 0x3020404, 0xFFFFFFFF, 0x1_0000_0000, -333)] == [
        "0x00000000",
        "0x00000003",
        "0x03020404",
        "0xffffffff",
        "0x100000000",
        "-0x000014d",
    ]


def test_tabwriter_is_gos_with_the_seeds_settings() -> None:
    # minimum cell width 8, padding 2, the last column unpadded
    assert (
        tabwriter([("a", "bb", "c"), ("long-name", "x", "")]) == "a          bb      c\nlong-name  x       \n"
    )


def test_go_json_escapes_like_go() -> None:
    assert (
        go_json({"a": "R&D <x>", "b": None, "c": []}, False)
        == '{"a":"R\\u0026D \\u003cx\\u003e","b":null,"c":[]}\n'
    )
    assert go_json([{"a": 1}], True) == '[\n    {\n        "a": 1\n    }\n]\n'


# ------------------------------------------------------------------------------------------ commands


async def test_get_prints_the_seeds_label_and_short_hex() -> None:
    stub = Stub("fuji", get=FUJI_ISO)
    assert await run(stub, "get iso") == Reply("S6400 (0x80001900)\n")
    assert stub.calls == [("get", {"property": "iso"})]
    wb = {**ISO, "code": "0x5005", "value": 2, "hex": "0x0002", "label": "auto"}
    assert (await run(Stub(get=wb), "get whitebalance")).text == "automatic (0x2)\n"  # ours says auto
    # no seed label (ISO on a standard PTP camera): an empty label, as the seed printed it
    assert (await run(Stub(get=ISO), "get iso")).text == " (0x320)\n"


async def test_get_by_hex_code_sends_the_code() -> None:
    stub = Stub(get=ISO)
    await run(stub, "get 500f")
    await run(stub, "get 0x500F")
    assert stub.calls == [("get", {"property": 0x500F}), ("get", {"property": 0x500F})]


async def test_get_negative_and_string_values() -> None:
    assert (await run(Stub(get=BIAS), "get exp-bias")).text == "-1/3 (0xfeb3)\n"
    assert (await run(Stub(get=DATE), "get datetime")).text == "20240601T120000\n"
    zero = {**ISO, "code": "0x5012", "value": 0, "hex": "0x0000", "label": "off"}
    assert (await run(Stub("fuji", get=zero), "get delay")).text == "off (0x0)\n"
    assert (await run(Stub("generic", get=zero), "get delay")).text == " (0x0)\n"


async def test_set_uses_the_seed_sentence_with_the_value_read_back() -> None:
    stub = Stub(set=ISO)
    assert (await run(stub, "set iso 800")).text == "property iso successfully set to 0x320\n"
    assert stub.calls == [("set", {"property": "iso", "value": "800"})]


async def test_info_table() -> None:
    properties = [ISO_DESC, {**BIAS, **NO_FORM, "writable": False}, {**DATE, **NO_FORM}, WB_DESC]
    stub = Stub(info={"device": {"model": "X"}, "properties": properties})
    assert (await run(stub, "info")).text == (
        "\n"
        "DevicePropCode  Property name               Value as string  Value as int64  Value in hex\n"
        "--------------  -------------               ---------------  --------------  ------------\n"
        "0x500f          ISO                                          800             0x00000320\n"
        "0x5010          exposure bias compensation  -1/3             -333            -0x000014d\n"
        "0x5011          date time                   20240601T120000  -               -\n"
        "0x5005          white balance               automatic        2               0x00000002\n"
    )


async def test_state_table() -> None:
    entries = [
        {"code": "0x5012", "name": "CaptureDelay", "property": "delay", "value": 0, "label": "off"},
        {"code": "0xd02a", "name": "ISO", "property": "iso", "value": 0x80000190, "label": "S 400"},
        {"code": "0xd999", "name": "Unknown", "property": "0xd999", "value": 7, "label": "7"},
    ]
    assert (await run(Stub("fuji", state=entries), "state")).text == (
        "\n"
        "DevicePropCode  Property name  Value as string  Value as int64  Value in hex\n"
        "--------------  -------------  ---------------  --------------  ------------\n"
        "0x5012          capture delay  off              0               0x00000000\n"
        "0xd02a          ISO            S400             2147484048      0x80000190\n"
        "0xd999                                          7               0x00000007\n"
    )


async def test_json_compact_and_pretty_with_four_spaces() -> None:
    entries = [{"code": "0x5001", "name": "BatteryLevel", "property": "battery", "value": 3, "label": "3/3"}]
    stub = Stub("fuji", state=entries, describe=ISO_DESC)
    compact = (await run(stub, "state json")).text
    assert compact == (
        '[{"DevicePropertyCode":{"code":"0x5001","label":"battery level"},"dataType":"uint32","readOnly":true,'
        '"FactoryDefaultValue":{"value":"0x0","label":""},"CurrentValue":{"value":"0x3","label":"3/3"},'
        '"formType":"none","form":null}]\n'
    )
    pretty = (await run(stub, "state json pretty")).text
    assert pretty.startswith('[\n    {\n        "DevicePropertyCode": {\n            "code": "0x5001",\n')
    assert (await run(stub, "describe iso json")).text == (
        '{"DevicePropertyCode":{"code":"0x500f","label":"ISO"},"dataType":"uint16","readOnly":false,'
        '"FactoryDefaultValue":{"value":"0x190","label":""},"CurrentValue":{"value":"0x320","label":""},'
        '"formType":"enum","form":{"values":[{"value":"0x190","label":""},{"value":"0x320","label":""}]}}\n'
    )


async def test_describe_text() -> None:
    assert (await run(Stub(describe=WB_DESC), "describe whitebalance")).text == (
        "\n"
        "DevicePropCode  Prop name      Dflt val as str  Dflt val as int64  Dflt val in hex  Cur val as str  "
        "Cur val as int64  Cur val in hex  Vals allowed\n"
        "--------------  ---------      ---------------  -----------------  ---------------  --------------  "
        "----------------  --------------  ------------\n"
        "0x5005          white balance  automatic        2                  0x00000002       automatic       "
        "2                 0x00000002      0x2\n"
    )
    ranged = {**BIAS, "factory_default": {"value": 0, "hex": "0x0000", "label": "0"}}
    ranged["form"] = {"kind": "range", "min": -3000, "max": 3000, "step": 333}
    text = (await run(Stub(describe=ranged), "describe exp-bias")).text
    assert text.endswith("  min -0xbb8, max 0xbb8, step 0x14d\n")
    ranged["form"] = {"kind": "range", "min": 0, "max": 0x10090707, "step": 1}
    text = (await run(Stub(describe=ranged), "describe exp-bias json")).text
    assert '"formType":"range","form":{"min":"0x0","max":"0x10090707","step":"0x1"}' in text


@pytest.mark.parametrize("path", [SEED_902B, SEED_D212], ids=["0x902B", "0x1015-0xD212"])
async def test_opreq_prints_the_seed_dump_byte_for_byte(path: Path) -> None:
    expected = seed_text(path)
    packets = packets_of(expected)
    answer = {
        "response": {"code": "0x2001", "name": "OK", "params": []},
        "packets": [p.hex() for p in packets],
    }
    stub = Stub(opreq=answer)
    words = path.stem.removeprefix("seed_opreq_").split("_")
    assert (await run(stub, "opreq " + " ".join(words))).text == expected
    assert stub.calls[0][1]["code"] == int(words[0], 16)
    assert packet_dumps(packets) == expected


def test_hex_dump_lines_of_every_length() -> None:
    data = bytes(range(0x20, 0x20 + 40))
    for n in range(1, 41):
        dump = hex_dump(data[:n])
        lines = dump.splitlines()
        assert len(lines) == (n + 15) // 16
        for i, line in enumerate(lines):
            chunk = data[i * 16 : i * 16 + 16][: n - i * 16]
            assert line[:10] == f"{i * 16:08x}  "
            assert line.index("|") == 60  # the ASCII column never moves
            assert line[61:-1] == chunk.decode()
    assert hex_dump(b"") == ""
    assert hex_dump(b"\x00\x7f\x1f~") == "00000000  00 7f 1f 7e" + " " * 39 + "|...~|\n"


async def test_capture_without_path_says_where_the_daemon_saved_it() -> None:
    saved = {"format": "jpeg", "size": 1234, "handle": 7, "path": "/var/lib/ptpipd/captures/IMG_0001.JPG"}
    stub = Stub(capture=saved)
    reply = await run(stub, "shoot")
    assert reply.text == "Image saved to /var/lib/ptpipd/captures/IMG_0001.JPG\n"
    assert stub.calls == [("capture", {"inline": False})]
    preview = {"format": "jpeg", "size": 1234, "path": "/var/lib/ptpipd/captures/preview.jpg"}
    assert (await run(Stub(capture=preview), "shoot")).text == (
        "Image preview saved to /var/lib/ptpipd/captures/preview.jpg\n"
    )


def _kept(directory: Path) -> Callable[[m.CaptureParams], dict[str, Any]]:
    """A daemon's ``capture`` without ``inline``: the picture kept in ``directory`` (its capture directory)."""
    count = itertools.count(1)

    def capture(p: m.CaptureParams) -> dict[str, Any]:
        assert not p.inline
        directory.mkdir(exist_ok=True)
        path = directory / f"IMG_0007-{next(count)}.JPG"  # as the daemon names a second IMG_0007.JPG
        path.write_bytes(JPEG)
        return {"format": "jpeg", "size": len(JPEG), "filename": "IMG_0007.JPG", "path": str(path)}

    return capture


def hidden_files(root: Path) -> list[Path]:
    return list(root.rglob(".*"))


def exists(path: Path) -> bool:
    return path.exists()


def content(path: Path) -> bytes:
    return path.read_bytes()


async def test_capture_to_a_path_on_the_daemons_side(tmp_path: Path) -> None:
    kept = tmp_path / "captures"
    stub = Stub(capture=_kept(kept))
    sub = tmp_path / "sub"
    sub.mkdir()
    reply = await run(stub, "snap sub/one.jpg", tmp_path)
    assert reply.text == f"Image preview saved to {sub / 'one.jpg'}\n"
    assert content(sub / "one.jpg") == JPEG
    existing = tmp_path / "abs.jpg"
    existing.write_bytes(b"old")
    reply = await run(stub, f"shutter {existing}", tmp_path)  # absolute, inside the capture directory
    assert reply.text == f"Image preview saved to {tmp_path / 'abs-1.jpg'}\n"
    assert content(existing) == b"old"  # an existing file is never replaced (issue 14 defect 1)
    refused = await run(stub, f"shutter {existing}", tmp_path / "unused")  # outside the capture directory
    assert not refused.ok and refused.text.count("\n") == 1, refused
    assert content(existing) == b"old" and not exists(tmp_path / "unused")
    assert (
        await run(stub, f"capture {sub}", tmp_path)
    ).text == f"Image preview saved to {sub / 'IMG_0007.JPG'}\n"
    assert content(sub / "IMG_0007.JPG") == JPEG  # a directory gets the camera's name
    assert (await run(stub, f"capture {sub}", tmp_path)).text.endswith(f"{sub / 'IMG_0007-1.JPG'}\n")
    assert content(sub / "IMG_0007-1.JPG") == JPEG  # and never replaces a file there
    assert hidden_files(tmp_path) == [], "no temporary file is left behind"
    assert list(kept.iterdir()) == [], "moved out of the capture directory, not copied"
    assert stub.calls == [("capture", {"inline": False})] * 4  # streamed to a file, whatever its size


async def test_capture_into_a_missing_directory_is_one_error_line(tmp_path: Path) -> None:
    kept = tmp_path / "captures"
    reply = await run(Stub(capture=_kept(kept)), "capture nowhere/x.jpg", tmp_path)
    assert not reply.ok
    assert reply.text.startswith(f"capture error: cannot write {tmp_path / 'nowhere' / 'x.jpg'}: ")
    assert reply.text.endswith(f"; the picture is kept as {kept / 'IMG_0007-1.JPG'}\n")
    assert reply.text.count("\n") == 1
    assert hidden_files(tmp_path) == [] and not exists(tmp_path / "nowhere")
    assert content(kept / "IMG_0007-1.JPG") == JPEG, "nothing lost"


async def test_daemon_errors_become_one_seed_style_line() -> None:
    stub = Stub(
        get=UnknownProperty("nosuch", ["iso", "delay"]),
        set=InvalidValue("iso", "123", ["100", "200"]),
        state=NotSupported("'state' is not supported by the generic vendor", vendor="generic"),
    )
    assert await run(stub, "get nosuch") == Reply(
        "get error: unknown property 'nosuch' (known: iso, delay)\n", ok=False
    )
    # refused before the camera: what the camera would have said (the seed sent everything to it)
    assert await run(stub, "set iso 123") == Reply("set error: invalid device property value\n", ok=False)
    assert await run(stub, "state") == Reply(
        "state error: 'state' is not supported by the generic vendor\n", ok=False
    )


async def test_a_read_only_property_is_access_denied() -> None:
    battery = {**WB_DESC, "code": "0x5001", "writable": False}
    stub = Stub(set=InvalidValue("battery", "2", [], "battery is read-only"), describe=battery)
    assert await run(stub, "set battery 2") == Reply("set error: access denied\n", ok=False)
    assert stub.calls == [
        ("set", {"property": "battery", "value": "2"}),
        ("describe", {"property": "battery"}),
    ]


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (0x201C, "invalid device property value"),
        (0x200F, "access denied"),
        (0x200A, "device property not supported"),
        (0x2019, "device busy"),
        (0x9999, "unknown operation response code: 0x9999"),
    ],
)
async def test_a_camera_refusal_is_the_seeds_text_of_its_response(response: int, text: str) -> None:
    stub = Stub(get=CameraRefused(response, "X", 0x1015), set=CameraRefused(response, "X", 0x1016))
    assert await run(stub, "get 0xd999") == Reply(f"get error: {text}\n", ok=False)
    assert await run(stub, "set iso 0x320") == Reply(f"set error: {text}\n", ok=False)


def test_invalid_params_are_explained_from_pydantics_errors() -> None:
    error = RpcError(
        -32602,
        "Invalid params",
        [
            {"type": "missing", "loc": ["property"], "msg": "Field required"},
            {"loc": [], "msg": "bad"},
        ],
    )
    assert error_message(error) == "Invalid params: property: Field required; bad"
    assert error_message(RpcError(-32000, "the camera is\n connecting")) == "the camera is connecting"


async def test_parse_errors_never_reach_the_dispatcher() -> None:
    stub = Stub(get=ISO)
    reply = await run(stub, "get")
    assert reply == Reply("get error: missing a property; usage: get PROP\n", ok=False)
    reply = await run(stub, "frobnicate now")
    assert not reply.ok and reply.text.startswith("unknown command 'frobnicate'")
    assert stub.calls == []


async def test_blank_line_is_no_reply() -> None:
    adapter = Adapter(Stub(get=ISO).dispatcher(), Client(1, "legacy", "test"), Path("/"))
    assert await adapter.run_line("  \r\n") is None


async def test_help_needs_no_daemon() -> None:
    reply = await run(Stub(), "help")
    assert reply.ok and reply.text.startswith("Supported commands:\n")


@pytest.mark.parametrize("line", ["get iso", "set iso 800", "opreq 0x1001", "capture", "info json"])
async def test_unauthenticated_client_is_told_the_text_command(line: str) -> None:
    """The dispatcher refuses (-32010, in JSON-RPC's words: ``call auth {token}``); the line gives the text
    protocol's command instead, and nothing reaches the camera."""
    stub = Stub(get=ISO, set=ISO, opreq={"packets": []}, capture={}, info={}, auth=True)
    client = Client(1, "legacy", "192.0.2.1", authenticated=False)
    reply = await Adapter(stub.dispatcher(), client, Path("/")).run_line(line)
    name = line.split()[0]
    assert reply == Reply(f"{name} error: unauthorised: send 'auth TOKEN' first\n", ok=False)
    assert stub.calls == []


async def test_the_vendor_is_asked_once_per_connection() -> None:
    asked: list[str] = []
    stub = Stub("fuji", get=FUJI_ISO)
    stub.answers["status"] = lambda p: asked.append("status") or status("fuji")
    adapter = Adapter(stub.dispatcher(), Client(1, "legacy", "test"), Path("/"))
    for _ in range(3):
        reply = await adapter.run_line("get iso")
        assert reply == Reply("S6400 (0x80001900)\n")
    assert asked == ["status"]


def test_rpc_package_imports_under_the_projects_warning_filters(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.procs import REPO

    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "from ptpipd.rpc import make_dispatcher  # noqa: F401\n\n\ndef test_nothing() -> None:\n    pass\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(REPO / "pyproject.toml"),
            str(probe),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]


async def test_an_unknown_code_is_named_as_typed() -> None:
    """Issue 14 item 11: the camera layer names the code it was given (0, in decimal); the line names what the
    user typed."""
    stub = Stub(get=UnknownProperty("0", ["iso"]))
    assert await run(stub, "get 0x0") == Reply("get error: unknown property '0x0' (known: iso)\n", ok=False)
    assert stub.calls == [("get", {"property": 0})]

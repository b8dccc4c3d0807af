"""Every JSON-RPC method of DESIGN.md §4, over the Unix socket and over TCP, against each simulated vendor.

One daemon and one simulator per vendor serve the whole module; each test leaves the camera as it can be
found by any other (it reads the state it depends on first). Results are also checked against the result
schemas of the daemon's own ``rpc.discover`` document, so the document and the answers cannot drift apart.
"""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any

import pytest

import ptpipd
from ptpipd.ptp import DeviceInfo
from tests.daemon.conftest import (
    GENERIC_MANUFACTURER,
    GENERIC_MODEL,
    TRANSPORTS,
    Schemas,
    other_enum_value,
)
from tests.procs import DaemonProcess, SimProcess
from tests.rpcclient import RpcConnection

Shared = tuple[str, SimProcess, DaemonProcess]

JPEG_SOI = b"\xff\xd8\xff"


@pytest.fixture(scope="module")
def schemas(shared: Shared) -> Schemas:
    return Schemas(shared[2].call("rpc.discover"))


@pytest.fixture(params=TRANSPORTS)
def conn(request: pytest.FixtureRequest, shared: Shared) -> Any:
    with shared[2].connect(request.param) as c:
        yield c


def test_status(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    vendor, sim, _ = shared
    status = conn.call("status")
    schemas.check("status", status)
    assert status["state"] == "connected"
    assert status["vendor"] == vendor
    assert status["host"] == sim.host
    assert status["ports"] == sim.ports
    assert status["daemon_version"] == ptpipd.__version__
    assert status["api_version"] == ptpipd.API_VERSION
    assert isinstance(status["connected_since"], float)
    assert status["clients"] >= 1  # this connection at least
    if vendor == "generic":
        assert status["camera"]["manufacturer"] == GENERIC_MANUFACTURER
        assert status["camera"]["model"] == GENERIC_MODEL
        assert status["camera"]["serial"] == "SIM-0001"


def test_status_counts_clients(shared: Shared, conn: RpcConnection) -> None:
    before = conn.call("status")["clients"]
    with shared[2].connect("unix") as second, shared[2].connect("tcp") as third:
        second.call("status")
        third.call("status")
        assert conn.call("status")["clients"] == before + 2


def test_info(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    vendor = shared[0]
    info = conn.call("info")
    schemas.check("info", info)
    names = {p["property"] for p in info["properties"]}
    assert "iso" in names
    if vendor == "generic":
        assert info["device"]["manufacturer"] == GENERIC_MANUFACTURER
        assert info["device"]["serial"] == "SIM-0001"
        iso = next(p for p in info["properties"] if p["property"] == "iso")
        assert iso["code"] == "0x500f"
        assert iso["factory_default"]["label"] == "400"
        assert {v["label"] for v in iso["form"]["values"]} >= {"100", "400", "800", "6400"}


def test_state(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    vendor = shared[0]
    if vendor == "generic":
        response = conn.request("state")
        assert response["error"]["code"] == -32003, response
        assert response["error"]["data"] == {"vendor": "generic"}
        return
    entries = conn.call("state")
    schemas.check("state", entries)
    assert entries, "the Fuji state list is empty"


REFS: dict[str, Any] = {
    "name": lambda code: "iso",
    "upper-case name": lambda code: "ISO",
    "hex": lambda code: f"0x{code:04x}",
    "upper-case hex": lambda code: f"0x{code:04X}",
    "integer": lambda code: code,
    "decimal string": lambda code: str(code),
}


@pytest.mark.parametrize("ref", sorted(REFS))
def test_get_by_name_or_code(shared: Shared, conn: RpcConnection, schemas: Schemas, ref: str) -> None:
    code = int(conn.call("get", ["iso"])["code"], 16)
    if shared[0] == "generic":
        assert code == 0x500F  # ExposureIndex
    value = conn.call("get", {"property": REFS[ref](code)})
    schemas.check("get", value)
    assert value["property"] == "iso"
    assert value["code"] == f"0x{code:04x}"
    assert isinstance(value["value"], int)
    assert value["label"]
    assert value["writable"] is True


def test_get_positional(conn: RpcConnection) -> None:
    by_name = conn.call("get", {"property": "iso"})
    assert conn.call("get", ["iso"]) == by_name


def test_set_reads_back(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    desc = conn.call("describe", {"property": "iso"})
    target = other_enum_value(desc)
    result = conn.call("set", {"property": "iso", "value": target["label"]})
    schemas.check("set", result)
    assert result["value"] == target["value"]
    assert result["label"] == target["label"]
    assert conn.call("get", {"property": "iso"})["value"] == target["value"]
    # positional, by hex string and by integer
    back = conn.call("set", ["iso", desc["hex"]])
    assert back["value"] == desc["value"]
    again = conn.call("set", {"property": "iso", "value": target["value"]})
    assert again["value"] == target["value"]
    conn.call("set", {"property": "iso", "value": desc["value"]})


def test_set_is_seen_by_other_transport(shared: Shared, conn: RpcConnection) -> None:
    desc = conn.call("describe", {"property": "iso"})
    target = other_enum_value(desc)
    conn.call("set", {"property": "iso", "value": target["label"]})
    other = "tcp" if conn.sock.family == socket.AF_UNIX else "unix"
    with shared[2].connect(other) as second:
        assert second.call("get", ["iso"])["value"] == target["value"]
    conn.call("set", {"property": "iso", "value": desc["value"]})


def test_describe(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    desc = conn.call("describe", {"property": "iso"})
    schemas.check("describe", desc)
    assert desc["property"] == "iso"
    assert desc["form"]["kind"] == "enum"
    labels = [v["label"] for v in desc["form"]["values"]]
    assert desc["label"] in labels
    for v in desc["form"]["values"]:
        assert int(v["hex"], 16) == v["value"]
    if shared[0] == "generic":
        assert desc["factory_default"] == {"value": 400, "hex": "0x0190", "label": "400"}
        assert desc["type"] == "uint16"
        battery = conn.call("describe", ["battery"])
        assert battery["writable"] is False
        assert battery["form"] == {"kind": "range", "min": 0, "max": 100, "step": 1}


def test_capture_saved(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    result = conn.call("capture", timeout=30)
    schemas.check("capture", result)
    path = Path(result["path"])
    assert path.is_file()
    assert path.is_relative_to(shared[2].workdir), path  # the daemon's state directory, not /var/lib
    data = path.read_bytes()
    assert len(data) == result["size"]
    assert data.startswith(JPEG_SOI)
    assert "data" not in result
    if shared[0] == "generic":
        assert result["format"] == "jpeg"
        assert result["filename"].startswith("IMG_")
        handles = {f["handle"] for f in conn.call("files")}
        assert result["handle"] in handles


def test_capture_inline(conn: RpcConnection, schemas: Schemas) -> None:
    result = conn.call("capture", {"inline": True}, timeout=30)
    schemas.check("capture", result)
    data = base64.b64decode(result["data"], validate=True)
    assert len(data) == result["size"]
    assert data.startswith(JPEG_SOI)
    assert "path" not in result


def not_supported(conn: RpcConnection, method: str, params: Any = None) -> None:
    response = conn.request(method, params)
    assert response["error"]["code"] == -32003, response
    assert response["error"]["data"] == {"vendor": "fuji"}


def test_files(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    if shared[0] == "fuji":  # the X-T1 in remote mode does not browse its card
        not_supported(conn, "files")
        return
    files = conn.call("files")
    schemas.check("files", files)
    names = [f["filename"] for f in files]
    assert names[:3] == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    first = files[0]
    assert first["handle"] == 3
    assert first["storage"] == "0x00010001"
    assert first["folder"] == "DCIM/100TEST"
    assert first["captured"] == "2024-06-01T10:15:00"


def test_download(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    if shared[0] == "fuji":
        not_supported(conn, "download", {"handle": 1, "inline": True})
        return
    entry = conn.call("files")[0]
    inline = conn.call("download", {"handle": entry["handle"], "inline": True})
    schemas.check("download", inline)
    data = base64.b64decode(inline["data"], validate=True)
    assert len(data) == entry["size"] == inline["size"]
    saved = conn.call("download", [entry["handle"]])
    schemas.check("download", saved)
    assert Path(saved["path"]).read_bytes() == data
    from ptpipd.sim.generic_model import INITIAL_PHOTO_SIZES, photo_bytes

    # the simulator's photo 1, recomputed independently of the daemon
    assert data == photo_bytes(0, 1, 640, 480, INITIAL_PHOTO_SIZES[0])


def test_download_unknown_handle(shared: Shared, conn: RpcConnection) -> None:
    if shared[0] == "fuji":
        not_supported(conn, "download", {"handle": 0x7FFF_0000})
        return
    response = conn.request("download", {"handle": 0x7FFF_0000, "inline": True})
    assert response["error"]["code"] == -32002, response
    assert response["error"]["data"]["name"] == "InvalidObjectHandle"


def test_delete(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    """DeleteObject: the object leaves the card, a second delete is refused; the X-T1 has no DeleteObject."""
    if shared[0] == "fuji":
        not_supported(conn, "delete", {"handle": 1})
        return
    handle = conn.call("capture", timeout=30)["handle"]
    assert conn.call("delete", {"handle": handle}) is True
    assert handle not in {f["handle"] for f in conn.call("files")}
    again = conn.request("delete", [handle])
    assert again["error"]["code"] == -32002 and again["error"]["data"]["name"] == "InvalidObjectHandle", again
    locked = conn.request("delete", {"handle": 3})  # IMG_0001.JPG is write-protected on the simulated card
    assert locked["error"]["data"]["name"] == "ObjectWriteProtected", locked
    assert conn.request("delete", {"handle": 0xFFFF_FFFF})["error"]["code"] == -32602  # "all" is refused


def test_opreq_get_device_info(shared: Shared, conn: RpcConnection, schemas: Schemas) -> None:
    result = conn.call("opreq", {"code": "0x1001"})
    schemas.check("opreq", result)
    assert result["response"]["code"] == "0x2001"
    assert result["response"]["name"] == "OK"
    assert result["packets"] and all(bytes.fromhex(p) for p in result["packets"])
    info = DeviceInfo.decode(base64.b64decode(result["data"]))
    if shared[0] == "generic":
        assert info.manufacturer == GENERIC_MANUFACTURER
        assert info.serial_number == "SIM-0001"


def test_opreq_with_params(conn: RpcConnection) -> None:
    iso = conn.call("get", ["iso"])
    width = len(iso["hex"]) // 2 - 1  # bytes of the value's type
    # GetDevicePropValue (0x1015 = 4117) of the ISO property, positional, the parameter as a hex string
    result = conn.call("opreq", [4117, [iso["code"]]])
    assert result["response"]["name"] == "OK"
    data = base64.b64decode(result["data"])
    assert len(data) == width
    assert int.from_bytes(data, "little") == iso["value"]
    refused = conn.call("opreq", {"code": 0x1015, "params": [0x5555]})
    assert refused["response"] == {"code": "0x200a", "name": "DevicePropNotSupported", "params": []}
    assert "data" not in refused


def test_subscribe_and_unsubscribe(conn: RpcConnection, schemas: Schemas) -> None:
    assert conn.call("subscribe") is True
    assert conn.call("subscribe", {"topics": ["event", "property"]}) is True
    assert conn.call("unsubscribe") is True
    assert conn.call("unsubscribe") is True  # twice is fine


def test_auth_without_a_token_configured(conn: RpcConnection) -> None:
    response = conn.request("auth", {"token": "anything"})
    assert response["error"]["code"] == -32010, response
    conn.call("status")  # still served: loopback and Unix clients need no auth


def test_rpc_discover_lists_every_method(conn: RpcConnection, schemas: Schemas) -> None:
    document = conn.call("rpc.discover")
    assert document == schemas.document
    assert document["openrpc"].startswith("1.")
    names = [m["name"] for m in document["methods"]]
    assert sorted(names) == sorted(
        [
            "status",
            "info",
            "state",
            "get",
            "set",
            "describe",
            "capture",
            "files",
            "download",
            "delete",
            "opreq",
            "subscribe",
            "unsubscribe",
            "auth",
            "rpc.discover",
        ]
    )
    for method in document["methods"]:
        assert "schema" in method["result"], method["name"]
        for param in method["params"]:
            assert "schema" in param and isinstance(param["required"], bool), (method["name"], param)
    params = {m["name"]: {p["name"]: p["required"] for p in m["params"]} for m in document["methods"]}
    assert params["get"] == {"property": True}
    assert params["set"] == {"property": True, "value": True}
    assert params["download"] == {"handle": True, "inline": False}
    assert params["opreq"] == {"code": True, "params": False}
    assert params["capture"] == {"inline": False}
    assert params["subscribe"] == {"topics": False}
    assert params["status"] == {}
    # every $ref points at a schema the document contains
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in document["components"]["schemas"], ref


def test_batch(conn: RpcConnection) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": "a"},
        {"jsonrpc": "2.0", "method": "status", "id": 2},
        {"jsonrpc": "2.0", "method": "status"},  # a notification: no response
        {"jsonrpc": "2.0", "method": "no.such.method", "id": 3},
        {"jsonrpc": "2.0", "method": "get", "params": {"property": "nope"}, "id": 4},
    ]
    conn.send_line(json.dumps(batch))
    responses = conn.read_response()
    assert isinstance(responses, list)
    by_id = {r["id"]: r for r in responses}
    assert sorted(by_id, key=str) == sorted(["a", 2, 3, 4], key=str)
    assert by_id["a"]["result"]["property"] == "iso"
    assert by_id[2]["result"]["state"] == "connected"
    assert by_id[3]["error"]["code"] == -32601
    assert by_id[4]["error"]["code"] == -32004


def test_batch_of_notifications_gets_no_response(conn: RpcConnection) -> None:
    conn.send_line(json.dumps([{"jsonrpc": "2.0", "method": "status"}] * 3))
    # nothing is due for the batch: the next line on the connection is the answer to the next request
    assert conn.request("status")["result"]["state"] == "connected"


def test_requests_on_one_connection_are_answered_in_order(conn: RpcConnection) -> None:
    methods = ["get", "status", "describe", "files", "get", "rpc.discover", "info", "status"]
    lines = [
        json.dumps(
            {"jsonrpc": "2.0", "method": m, "params": ["iso"] if m in ("get", "describe") else [], "id": i}
        )
        for i, m in enumerate(methods)
    ]
    conn.send_line("\n".join(lines))
    ids = [conn.read_response()["id"] for _ in methods]
    assert ids == list(range(len(methods)))

"""JSON-RPC over the data plane: a WebSocket at /rpc (every method, batches, notifications) and POST /rpc,
answering exactly as NDJSON does for the same input."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from ptpipd.rpc.dispatcher import MAX_MESSAGE
from tests.daemon.conftest import other_enum_value
from tests.rpcclient import RpcConnection
from tests.web.conftest import Web, raw_request

#: Bad inputs and mistakes; each must get the same error code(s) on every transport.
BAD = [
    "{",
    '{"jsonrpc": "1.0", "method": "status", "id": 1}',
    '{"jsonrpc": "2.0", "method": "nope", "id": 2}',
    '{"jsonrpc": "2.0", "method": "get", "id": 3}',
    '{"jsonrpc": "2.0", "method": "get", "params": {"property": "no-such"}, "id": 4}',
    '{"jsonrpc": "2.0", "method": "set", "params": {"property": "iso", "value": "12345678"}, "id": 5}',
    '{"jsonrpc": "2.0", "method": "download", "params": {"handle": 9999}, "id": 6}',
    '{"jsonrpc": "2.0", "method": "opreq", "params": {"code": 70000}, "id": 7}',
    '{"jsonrpc": "2.0", "method": "state", "id": 8}',
    '{"jsonrpc": "2.0", "method": "subscribe", "params": {"topics": ["weather"]}, "id": 9}',
    "[]",
    '[{"jsonrpc": "2.0", "method": "status", "id": 10}, {"jsonrpc": "2.0", "method": "nope", "id": 11}, 5]',
]


def codes(answer: Any) -> Any:
    """The error codes of a response or batch (None for a success), in id order for a batch."""
    if isinstance(answer, list):
        return sorted((str(a.get("id")), codes(a)) for a in answer)
    return answer["error"]["code"] if "error" in answer else None


def ndjson(web: Web, line: str) -> Any:
    with RpcConnection(str(web.daemon.socket_path)) as conn:
        conn.send_line(line)
        return conn.read_response()


async def test_bad_inputs_get_the_ndjson_errors(generic_web: Web) -> None:
    expected = [codes(ndjson(generic_web, line)) for line in BAD]
    assert expected[0] == -32700 and expected[2] == -32601 and expected[8] == -32003  # a real mix
    async with aiohttp.ClientSession() as session, session.ws_connect(generic_web.url("/rpc")) as ws:
        for line, want in zip(BAD, expected, strict=True):
            await ws.send_str(line)
            got = json.loads(await ws.receive_str(timeout=30))
            assert codes(got) == want, line
        await ws.send_bytes(b'{"jsonrpc": "2.0", "method": "status", "id": 1}')
        assert codes(json.loads(await ws.receive_str(timeout=30))) == -32600
        for line, want in zip(BAD, expected, strict=True):
            async with session.post(generic_web.url("/rpc"), data=line) as response:
                assert codes(json.loads(await response.text())) == want, line


async def test_every_method_over_a_websocket(generic_web: Web) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(generic_web.url("/rpc")) as ws:
        ids = iter(range(1, 1000))

        async def call(method: str, params: Any = None) -> Any:
            request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": next(ids)}
            if params is not None:
                request["params"] = params
            await ws.send_json(request)
            while True:
                message = json.loads(await ws.receive_str(timeout=30))
                if "id" in message:
                    assert message["id"] == request["id"]
                    return message

        assert (await call("status"))["result"]["http"]["connections"] >= 1
        assert (await call("info"))["result"]["properties"]
        assert (await call("state"))["error"]["code"] == -32003
        iso = (await call("describe", {"property": "iso"}))["result"]
        assert (await call("get", ["iso"]))["result"]["value"] == iso["value"]
        target = other_enum_value(iso)
        assert (await call("set", {"property": "iso", "value": target["label"]}))["result"][
            "label"
        ] == target["label"]
        await call("set", {"property": "iso", "value": iso["value"]})
        shot = (await call("capture"))["result"]
        assert shot["size"] > 0 and shot["path"] and shot["url"] == f"/files/{shot['handle']}"
        inline = (await call("capture", {"inline": True}))["result"]
        assert inline["data"] and "path" not in inline and inline["url"] == f"/files/{inline['handle']}"
        files = (await call("files"))["result"]
        assert all(f["url"] == f"/files/{f['handle']}" for f in files)
        handle = files[0]["handle"]
        got = (await call("download", {"handle": handle, "inline": True}))["result"]
        assert got["size"] == files[0]["size"] and got["data"]
        assert (await call("opreq", {"code": "0x1001"}))["result"]["response"]["name"] == "OK"
        assert (await call("subscribe"))["result"] is True
        assert (await call("unsubscribe"))["result"] is True
        assert (await call("auth", {"token": "x"}))["error"]["code"] == -32010  # no token is configured
        assert {m["name"] for m in (await call("rpc.discover"))["result"]["methods"]} >= {
            "status",
            "download",
        }
        # a batch in one message
        await ws.send_str(
            json.dumps([{"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": i} for i in (501, 502)])
        )
        batch = json.loads(await ws.receive_str(timeout=30))
        assert sorted(a["id"] for a in batch) == [501, 502]


async def test_notify_property_round_trip(generic_web: Web) -> None:
    """A WebSocket subscribes; a change made over NDJSON arrives as notify.property; after unsubscribe none."""
    async with aiohttp.ClientSession() as session, session.ws_connect(generic_web.url("/rpc")) as ws:
        await ws.send_json(
            {"jsonrpc": "2.0", "method": "subscribe", "params": {"topics": ["property"]}, "id": 1}
        )
        assert json.loads(await ws.receive_str(timeout=30))["result"] is True
        with RpcConnection(str(generic_web.daemon.socket_path)) as conn:
            desc = conn.call("describe", {"property": "whitebalance"})
            target = other_enum_value(desc)
            conn.call("set", {"property": "whitebalance", "value": target["value"]})
            while True:
                note = json.loads(await ws.receive_str(timeout=30))
                assert "id" not in note and note["method"] == "notify.property", note
                if note["params"]["property"] == "whitebalance":
                    break
            assert note["params"]["value"] == target["value"] and note["params"]["label"] == target["label"]
            conn.call("set", {"property": "whitebalance", "value": desc["value"]})


async def test_post_rpc(generic_web: Web) -> None:
    async with aiohttp.ClientSession() as session:
        body = json.dumps({"jsonrpc": "2.0", "method": "get", "params": {"property": "iso"}, "id": 7})
        async with session.post(generic_web.url("/rpc"), data=body) as response:
            assert response.status == 200 and response.content_type == "application/json"
            assert (await response.json())["result"]["property"] == "iso"
        note = json.dumps({"jsonrpc": "2.0", "method": "status"})  # a notification: nothing to answer
        async with session.post(generic_web.url("/rpc"), data=note) as response:
            assert response.status == 204
        async with session.post(generic_web.url("/rpc"), data=io.BytesIO(b"[" * 2_000_000)) as response:
            assert response.status == 413


def test_post_rpc_not_utf8_is_a_parse_error(generic_web: Web) -> None:
    """A body that is not UTF-8 is -32700 as the same bytes are on NDJSON ("not UTF-8"), not a 500 -32603
    "Internal error" with a traceback logged at ERROR (DESIGN.md §8: same dispatcher and errors)."""
    status, _, body = generic_web.request("POST", "/rpc", b"\xff\xfe")
    assert status == 200, (status, body)
    error = json.loads(body)["error"]
    assert (error["code"], error["data"]) == (-32700, "not UTF-8 (byte 0)"), body
    same_on_ndjson = ndjson(generic_web, b"\xff\xfe")  # type: ignore[arg-type]
    assert same_on_ndjson["error"] == error


#: A request padded with JSON whitespace to any length.
STATUS = '{"jsonrpc": "2.0", "method": "status", "id": 1}'


async def test_websocket_message_over_1_mib_closes_the_socket(generic_web: Web) -> None:
    """A WebSocket message of 1 MiB (``MAX_MESSAGE``) is answered, as an NDJSON line of 1 MiB is; one byte
    more and the daemon closes the WebSocket with 1009 (message too big), no JSON-RPC answer, without reading
    the message; it serves the next connection as before."""
    assert codes(ndjson(generic_web, STATUS.ljust(MAX_MESSAGE))) is None  # the NDJSON line cap, for reference
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(generic_web.url("/rpc")) as ws:
            await ws.send_str(STATUS.ljust(MAX_MESSAGE))
            assert json.loads(await ws.receive_str(timeout=30))["result"]["state"] == "connected"
            await ws.send_str(STATUS.ljust(MAX_MESSAGE + 1))
            closing = await ws.receive(timeout=30)
            assert (closing.type, closing.data, closing.extra) == (
                WSMsgType.CLOSE,
                WSCloseCode.MESSAGE_TOO_BIG,
                "",
            )
            assert (await ws.receive(timeout=30)).type == WSMsgType.CLOSED
            assert ws.close_code == 1009
        async with session.ws_connect(generic_web.url("/rpc")) as ws:
            await ws.send_str(STATUS)
            assert json.loads(await ws.receive_str(timeout=30))["result"]["state"] == "connected"


def test_post_rpc_content_length_over_1_mib_is_413_at_once(generic_web: Web) -> None:
    """``POST /rpc`` announcing a body over 1 MiB is refused (413, -32600) from its headers alone: the daemon
    answers before a byte of the body is sent. A body of exactly 1 MiB is answered."""
    head = b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % (MAX_MESSAGE + 1)
    with raw_request(generic_web.host, generic_web.port, head) as sock:
        answer = sock.makefile("rb")
        assert answer.readline().startswith(b"HTTP/1.1 413 "), "refused without the body"
        headers = {}
        while (line := answer.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(answer.read(int(headers["content-length"])))["error"]
    assert (error["code"], error["message"]) == (-32600, "request over 1 MiB")
    status, _, body = generic_web.request("POST", "/rpc", STATUS.ljust(MAX_MESSAGE))
    assert status == 200 and json.loads(body)["result"]["state"] == "connected"


def test_chunked_post_rpc_over_1_mib_is_a_413(generic_web: Web) -> None:
    """A body over 1 MiB without Content-Length (chunked) is refused as one with it is: 413 with the same
    JSON error (-32600, "request over 1 MiB"), not a bare text 500 with a traceback logged at ERROR."""
    errors_before = generic_web.daemon.stderr_text().count(" ERROR ")
    sock = raw_request(
        generic_web.host,
        generic_web.port,
        b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    with sock:
        chunk = b"[" * (256 << 10)
        with contextlib.suppress(OSError):  # the daemon may answer and close before the last chunk
            for _ in range(5):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while piece := sock.recv(65536):
                answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)["error"]
    assert (error["code"], error["message"]) == (-32600, "request over 1 MiB")
    assert generic_web.daemon.stderr_text().count(" ERROR ") == errors_before


def test_get_rpc_without_a_websocket_upgrade_is_a_json_400(generic_web: Web) -> None:
    """``GET /rpc`` as a plain request (a browser tab, ``curl``): aiohttp refuses the handshake; the answer is
    the JSON error every answer has (400, -32600, aiohttp's reason), not a bare text 500 with a traceback."""
    errors_before = generic_web.daemon.stderr_text().count(" ERROR ")
    status, headers, body = generic_web.request("GET", "/rpc")
    assert (status, headers["content-type"]) == (400, "application/json; charset=utf-8"), body
    error = json.loads(body)["error"]
    assert error["code"] == -32600 and "WebSocket" in error["message"], error
    assert generic_web.daemon.stderr_text().count(" ERROR ") == errors_before


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_cross_site_websocket_and_post_refused(generic_web: Web, origin: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(generic_web.url("/capture"), headers={"Origin": origin}) as response:
            assert response.status == 403
            assert (await response.json())["error"]["code"] == -32010
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(generic_web.url("/rpc"), headers={"Origin": origin})
        assert refused.value.status == 403
        same = f"http://{generic_web.host}:{generic_web.port}"
        async with session.ws_connect(generic_web.url("/rpc"), headers={"Origin": same}) as ws:
            await ws.send_json({"jsonrpc": "2.0", "method": "status", "id": 1})
            assert json.loads(await ws.receive_str(timeout=30))["result"]["state"] == "connected"

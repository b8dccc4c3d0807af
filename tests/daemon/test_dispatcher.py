"""The daemon's dispatcher against jsonrpcserver's own ``async_dispatch`` pipeline, request for request.

The dispatcher runs jsonrpcserver's steps without its per-request ``inspect.signature`` check and
``asyncio.gather`` (see Dispatcher.dispatch); for every valid request or batch the answer must be the same
as the full pipeline's. Where the two differ on purpose — invalid requests say why, and a batch answers
each member (JSON-RPC 2.0 §6) — the expected answer is spelled out.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from jsonrpcserver import async_dispatch

from ptpipd.errors import NotConnected
from ptpipd.ptp import DataType
from ptpipd.rpc import Client, Dispatcher, make_dispatcher
from ptpipd.rpc.dispatcher import validate_request
from ptpipd.service import CameraService
from ptpipd.vendors.base import CameraConfig, PropertyValue

ISO = PropertyValue("iso", 0x500F, "ExposureIndex", DataType.UINT16, 400, "400", True)


class FakeService(CameraService):
    """A service whose camera answers ``get iso``, fails ``get battery``, and breaks on ``get 0xdead``."""

    async def get(self, prop: str | int) -> PropertyValue:
        if prop == "battery":
            raise NotConnected("the camera is disconnected", state="disconnected")
        if prop == "0xdead":
            raise RuntimeError("a bug")
        return ISO


@pytest.fixture
def dispatcher(tmp_path: Path) -> Dispatcher:
    return make_dispatcher(FakeService(CameraConfig(host="127.0.0.1", port=1)), tmp_path, None)


async def reference(d: Dispatcher, line: str, client: Client) -> Any:
    text = await async_dispatch(
        line, methods=d.methods, context=client, validator=validate_request, deserializer=json.loads
    )
    return json.loads(text) if text else None


async def ours(d: Dispatcher, line: str, client: Client) -> Any:
    text = await d.dispatch(line, client)
    return json.loads(text) if text else None


def req(method: str, params: Any = None, rid: Any = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        out["params"] = params
    if rid is not None:
        out["id"] = rid
    return out


SAME = [
    req("get", ["iso"]),
    req("get", {"property": "iso"}, "abc"),
    req("get", {"property": "iso"}, None),  # notification
    req("get", {"property": "iso"}, 2.5),
    req("get", ["battery"]),  # a camera error
    req("get", {}),  # invalid params
    req("get", ["iso", "x", "y"]),
    req("get", {"property": "iso", "client": 1}),  # a param named like the context argument
    req("status"),
    req("status", []),
    req("status", {}),
    req("no.such.method", [1]),
    req("no.such.method", None, None),
    req("subscribe", {"topics": ["nope"]}),
    req("auth", {"token": "x"}),
    [req("get", ["iso"], 1), req("status", None, 2), req("nope", None, 3), req("get", {}, 4)],
    [req("status", None, None), req("status", None, None)],  # batch of notifications: no answer
    [req("get", ["iso"], None), req("status", None, "s")],
]


@pytest.mark.parametrize("request_", SAME, ids=[json.dumps(r)[:60] for r in SAME])
async def test_same_answer_as_jsonrpcserver(dispatcher: Dispatcher, request_: Any) -> None:
    line = json.dumps(request_)
    client = Client(1, "unix", "test")
    expected = await reference(dispatcher, line, Client(2, "unix", "test"))
    got = await ours(dispatcher, line, client)
    if isinstance(expected, list):
        key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731 - order of batch answers is free
        assert sorted(got, key=key) == sorted(expected, key=key)
    else:
        assert got == expected


async def test_a_bug_is_internal_error_and_logged(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(1, "unix", "test")
    with caplog.at_level(logging.ERROR):
        got = await ours(dispatcher, json.dumps(req("get", ["0xdead"], 9)), client)
    assert got["id"] == 9
    assert got["error"]["code"] == -32603
    assert "a bug" in got["error"]["data"]
    assert any(r.exc_info for r in caplog.records), "no traceback logged"


@pytest.mark.parametrize(
    "line",
    ["{", "[1,", "not json", "[" * 100_000 + "]" * 100_000],
    ids=["brace", "batch", "text", "deep"],
)
async def test_parse_error(dispatcher: Dispatcher, line: str) -> None:
    got = await ours(dispatcher, line, Client(1, "unix", "test"))
    assert got["error"]["code"] == -32700 and got["id"] is None


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (42, "object"),
        ([], "empty"),
        ({"jsonrpc": "2.0", "method": "status", "id": 1, "x": 1}, "unknown members"),
        ({"jsonrpc": "2.0", "method": 1, "id": 1}, "method"),
    ],
)
async def test_invalid_request_says_why(dispatcher: Dispatcher, request_: Any, reason: str) -> None:
    got = await ours(dispatcher, json.dumps(request_), Client(1, "unix", "test"))
    assert got["error"]["code"] == -32600 and got["id"] is None
    assert reason in got["error"]["data"]


async def test_batch_answers_each_member(dispatcher: Dispatcher) -> None:
    line = json.dumps([1, req("get", ["iso"], "a"), {"x": 1}, req("status", None, None)])
    got = await ours(dispatcher, line, Client(1, "unix", "test"))
    assert len(got) == 3
    assert [g["id"] for g in got if "result" in g] == ["a"]
    assert [g["error"]["code"] for g in got if "error" in g] == [-32600, -32600]
    only_invalid = await ours(dispatcher, json.dumps([1, 2]), Client(1, "unix", "test"))
    assert [g["error"]["code"] for g in only_invalid] == [-32600, -32600]

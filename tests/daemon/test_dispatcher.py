"""The daemon's dispatcher: the JSON-RPC 2.0 envelope it owns, request for request, and the structured
:meth:`Dispatcher.call` every transport uses.

The answers below were jsonrpcserver's (``async_dispatch``) for the same requests when the daemon still ran on
it; they are spelled out so the envelope we own now cannot drift from what clients have been getting. Where
the two differ on purpose — invalid requests say why, a batch answers each member (JSON-RPC 2.0 §6), strict
JSON — the test says so.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest

from ptpipd.errors import NotConnected, shorten
from ptpipd.ptp import DataType
from ptpipd.rpc import Client, Dispatcher, RpcError, make_dispatcher
from ptpipd.rpc import models as m
from ptpipd.rpc.auth import AuthGuard, AuthRefused
from ptpipd.rpc.dispatcher import parse_json
from ptpipd.rpc.errors import json_safe
from ptpipd.service import CameraService
from ptpipd.vendors.base import CameraConfig, PropertyValue

ISO = PropertyValue("iso", 0x500F, "ExposureIndex", DataType.UINT16, 400, "400", True)
ISO_JSON = {
    "property": "iso",
    "code": "0x500f",
    "name": "ExposureIndex",
    "type": "uint16",
    "value": 400,
    "hex": "0x0190",
    "label": "400",
    "writable": True,
}
STATUS_JSON = {
    "state": "disconnected",
    "vendor": "generic",
    "host": "127.0.0.1",
    "ports": [1],
    "camera": None,
    "connected_since": None,
    "reconnects": 0,
    "last_error": None,
    "last_error_time": None,
    "attempts": 0,
    "api_version": "1.0",
    "daemon_version": "0.1.0",
    "capabilities": {
        "events": "channel",
        "liveview": "none",
        "files": True,
        "partial_objects": True,
        "state_list": False,
        "delete": True,
    },
    "pairing": [],
    "next_retry": None,
    "clients": 0,
    "internal_errors": 0,
}


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


async def ours(d: Dispatcher, line: str, client: Client | None = None) -> Any:
    text = await d.respond(line, client or Client(1, "unix", "test"))
    return json.loads(text) if text is not None else None


def req(method: str, params: Any = None, rid: Any = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        out["params"] = params
    if rid is not None:
        out["id"] = rid
    return out


def ok(result: Any, rid: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": rid}


def err(code: int, message: str, data: Any = None, rid: Any = 1) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": rid}


MISSING_PROPERTY = [{"type": "missing", "loc": ["property"], "msg": "Field required", "input": {}}]

#: (request, the answer jsonrpcserver gave)
SAME: list[tuple[Any, Any]] = [
    (req("get", ["iso"]), ok(ISO_JSON)),
    (req("get", {"property": "iso"}, "abc"), ok(ISO_JSON, "abc")),
    (req("get", {"property": "iso"}, None), None),  # notification
    (req("get", {"property": "iso"}, 2.5), ok(ISO_JSON, 2.5)),
    (
        req("get", ["battery"]),  # a camera error
        err(-32000, "the camera is disconnected", {"state": "disconnected", "last_error": None}),
    ),
    (req("get", {}), err(-32602, "Invalid params", MISSING_PROPERTY)),
    (
        req("get", ["iso", "x", "y"]),
        err(
            -32602,
            "Invalid params",
            [
                {
                    "type": "too_many_arguments",
                    "loc": [],
                    "msg": "get takes at most 1 positional params: ['property']",
                }
            ],
        ),
    ),
    (
        req("get", {"property": "iso", "client": 1}),  # a param named like the context argument
        err(
            -32602,
            "Invalid params",
            [
                {
                    "type": "extra_forbidden",
                    "loc": ["client"],
                    "msg": "Extra inputs are not permitted",
                    "input": 1,
                }
            ],
        ),
    ),
    (req("status"), ok(STATUS_JSON)),
    (req("status", []), ok(STATUS_JSON)),
    (req("status", {}), ok(STATUS_JSON)),
    (req("no.such.method", [1]), err(-32601, "Method not found", "no.such.method")),
    (req("no.such.method", None, None), None),
    (
        req("subscribe", {"topics": ["nope"]}),
        err(
            -32602,
            "Invalid params",
            [
                {
                    "type": "literal_error",
                    "loc": ["topics", "0"],
                    "msg": "Input should be 'event', 'property', 'connection' or 'ingest'",
                    "input": "nope",
                }
            ],
        ),
    ),
    (req("auth", {"token": "x"}), err(-32010, "unauthorised: wrong token")),
    (
        [req("get", ["iso"], 1), req("status", None, 2), req("nope", None, 3), req("get", {}, 4)],
        [
            ok(ISO_JSON, 1),
            ok(STATUS_JSON, 2),
            err(-32601, "Method not found", "nope", 3),
            err(-32602, "Invalid params", MISSING_PROPERTY, 4),
        ],
    ),
    ([req("status", None, None), req("status", None, None)], None),  # batch of notifications: no answer
    ([req("get", ["iso"], None), req("status", None, "s")], [ok(STATUS_JSON, "s")]),
]


@pytest.mark.parametrize(("request_", "expected"), SAME, ids=[json.dumps(r)[:60] for r, _ in SAME])
async def test_same_answer_as_jsonrpcserver_gave(
    dispatcher: Dispatcher, request_: Any, expected: Any
) -> None:
    # byte for byte as before, spacing included: scripts match lines like `"format": "jpeg"` with sed
    text = await dispatcher.respond(json.dumps(request_), Client(1, "unix", "test"))
    assert text == (None if expected is None else json.dumps(expected))
    # the same message handed over already parsed (a WebSocket or HTTP layer that parsed it) and as bytes
    assert await ours(dispatcher, request_) == expected
    text = await dispatcher.respond(json.dumps(request_).encode(), Client(1, "unix", "test"))
    assert (json.loads(text) if text is not None else None) == expected


async def test_a_bug_is_internal_error_and_logged(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        got = await ours(dispatcher, json.dumps(req("get", ["0xdead"], 9)))
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
    got = await ours(dispatcher, line)
    assert got["error"]["code"] == -32700 and got["id"] is None


async def test_not_utf8_is_a_parse_error(dispatcher: Dispatcher) -> None:
    text = await dispatcher.respond(b'{"jsonrpc": "2.0", "method": "\xff", "id": 1}', Client(1, "unix", "t"))
    assert text is not None
    got = json.loads(text)
    assert got["error"]["code"] == -32700 and "UTF-8" in got["error"]["data"]


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
    got = await ours(dispatcher, json.dumps(request_))
    assert got["error"]["code"] == -32600 and got["id"] is None
    assert reason in got["error"]["data"]


async def test_batch_answers_each_member(dispatcher: Dispatcher) -> None:
    line = json.dumps([1, req("get", ["iso"], "a"), {"x": 1}, req("status", None, None)])
    got = await ours(dispatcher, line)
    assert len(got) == 3
    assert [g["id"] for g in got if "result" in g] == ["a"]
    assert [g["error"]["code"] for g in got if "error" in g] == [-32600, -32600]
    only_invalid = await ours(dispatcher, json.dumps([1, 2]))
    assert [g["error"]["code"] for g in only_invalid] == [-32600, -32600]


# ---------------------------------------------------------------------------------------- call()


async def test_call_returns_the_result_model(dispatcher: Dispatcher) -> None:
    client = Client(1, "ws", "test")
    got = await dispatcher.call("get", {"property": "iso"}, client)
    assert isinstance(got, m.PropertyValueResult)
    assert got.model_dump(mode="json") == ISO_JSON
    assert await dispatcher.call("get", ["iso"], client) == got  # positional, as on the wire
    assert await dispatcher.call("get", m.PropertyParams(property="iso"), client) == got  # the model itself
    status = await dispatcher.call("status", None, client)
    assert isinstance(status, m.StatusResult) and status.state == "disconnected"


async def test_call_returns_errors_instead_of_raising(dispatcher: Dispatcher) -> None:
    client = Client(1, "ws", "test")
    missing = await dispatcher.call("get", {}, client)
    assert isinstance(missing, RpcError) and missing.code == -32602
    assert missing.data == MISSING_PROPERTY
    nope = await dispatcher.call("nope", None, client)
    assert isinstance(nope, RpcError)
    assert nope.to_dict() == {"code": -32601, "message": "Method not found", "data": "nope"}
    camera = await dispatcher.call("get", {"property": "battery"}, client)
    assert isinstance(camera, RpcError) and camera.code == -32000
    locked = Client(2, "tcp", "192.0.2.1", authenticated=False)
    refused = await dispatcher.call("get", {"property": "iso"}, locked)
    assert isinstance(refused, RpcError)
    assert refused.to_dict() == {"code": -32010, "message": "unauthorised: call auth {token} first"}


async def test_status_counts_the_clients_the_daemon_reports(tmp_path: Path) -> None:
    service = FakeService(CameraConfig(host="127.0.0.1", port=1))
    connected = [3]
    dispatcher = make_dispatcher(service, tmp_path, None, client_count=lambda: connected[0])
    assert (await dispatcher.call("status", None, Client(1, "unix", "t"))).clients == 3
    connected[0] = 5
    assert (await dispatcher.call("status", None, Client(1, "unix", "t"))).clients == 5
    assert (await make_dispatcher(service, tmp_path).call("status", None, Client(1, "u", "t"))).clients == 0


def test_strict_json_parser() -> None:
    assert parse_json('{"a": [1, 2.5, -0.0, 1e300, "NaN"]}') == {"a": [1, 2.5, -0.0, 1e300, "NaN"]}
    for bad in ("NaN", "[Infinity]", '{"x": -Infinity}', "1e400", "[-1e999]"):
        with pytest.raises(ValueError):
            parse_json(bad)
    assert math.isinf(json.loads("1e400")), "control: Python's own json accepts it"


async def test_a_result_the_handler_cannot_build_is_internal_not_invalid_params(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """pydantic's ValidationError is a ValueError: inside a handler it is a bug (-32603), not the client's."""

    class Broken(FakeService):
        def status(self) -> dict[str, Any]:
            return {"state": "nonsense"}

    dispatcher = make_dispatcher(Broken(CameraConfig(host="127.0.0.1", port=1)), tmp_path)
    with caplog.at_level(logging.ERROR):
        got = await ours(dispatcher, json.dumps(req("status")))
    assert got["error"]["code"] == -32603
    assert any(r.exc_info for r in caplog.records)


# ---------------------------------------------------------------------------------------- auth guard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_auth_guard_limits_per_connection_and_locks_out_per_address() -> None:
    clock = Clock()
    guard = AuthGuard("right", clock)
    peer = "192.0.2.5"
    guard.check("right", peer, 0)  # a right token passes
    for here in range(2):
        with pytest.raises(AuthRefused) as refused:
            guard.check("wrong", peer, here)
        assert str(refused.value) == "unauthorised: wrong token" and not refused.value.close
    with pytest.raises(AuthRefused) as refused:
        guard.check("wrong", peer, 2)  # third wrong token: this connection ends
    assert refused.value.close and "closing" in str(refused.value)
    # the address is locked out 0.5 s, then 1 s, 2 s … ; the token is not even looked at
    with pytest.raises(AuthRefused, match=r"from 192\.0\.2\.5; try again in 0\.5 s"):
        guard.check("right", peer, 0)
    guard.check("right", "198.51.100.1", 0)  # another address is not affected
    clock.now += 0.5
    with pytest.raises(AuthRefused, match="wrong token"):
        guard.check("wrong", peer, 0)
    with pytest.raises(AuthRefused, match=r"try again in 1\.0 s"):
        guard.check("right", peer, 0)
    clock.now += 1.0
    guard.check("right", peer, 0)  # a right token clears the record
    with pytest.raises(AuthRefused, match="wrong token"):
        guard.check("wrong", peer, 0)
    with pytest.raises(AuthRefused, match="too many wrong tokens on this connection"):
        guard.check("right", peer, 3)  # a connection over the limit is refused unchecked


def test_a_token_that_is_not_valid_unicode_is_a_wrong_token() -> None:
    """Lone surrogates (a JSON ``"\\ud800"``, header bytes aiohttp keeps as ``\\udcff``) are wrong tokens,
    counted like any other, never a UnicodeEncodeError; a daemon token set from bytes that are not UTF-8 (an
    environment variable) is matched by the same bytes."""
    guard = AuthGuard("right", Clock())
    for here, token in enumerate(("\ud800", "\udcff\udcfe", "right\udcff")):
        with pytest.raises(AuthRefused, match="wrong token"):
            guard.check(token, "192.0.2.5", here)
    with pytest.raises(AuthRefused, match="too many wrong tokens"):
        guard.check("right", "192.0.2.5", 0)
    odd = AuthGuard("t\udcff", Clock())
    odd.check("t\udcff", "192.0.2.6", 0)
    with pytest.raises(AuthRefused, match="wrong token"):
        odd.check("t\u00ff", "192.0.2.6", 0)


def test_an_ipv4_client_has_one_lockout_on_ipv4_and_dual_stack_listeners() -> None:
    """The data plane on [::] sees an IPv4 client as ::ffff:a.b.c.d, JSON-RPC on 0.0.0.0 as a.b.c.d: one
    record for both, so the guesses of one count against the other (review of w/trim17)."""
    guard = AuthGuard("right", Clock())
    for here, host in enumerate(("::ffff:192.0.2.5", "192.0.2.5", "::ffff:192.0.2.5")):
        with pytest.raises(AuthRefused, match="wrong token"):
            guard.check("wrong", host, here)
    with pytest.raises(AuthRefused, match=r"too many wrong tokens from 192\.0\.2\.5"):
        guard.check("right", "192.0.2.5", 0)
    with pytest.raises(AuthRefused, match=r"too many wrong tokens from 192\.0\.2\.5"):
        guard.check("right", "::ffff:192.0.2.5", 0)
    guard.check("right", "2001:db8::5", 0)  # a plain IPv6 address is its own


def test_auth_guard_forgets_quiet_addresses_and_remembers_a_bounded_number() -> None:
    clock = Clock()
    guard = AuthGuard("right", clock)
    for _ in range(2):
        with pytest.raises(AuthRefused):
            guard.check("wrong", "unix", 0)
    clock.now += 601
    for _ in range(2):  # forgotten: two more wrong tokens are free again
        with pytest.raises(AuthRefused, match="wrong token"):
            guard.check("wrong", "unix", 0)
    for i in range(5000):
        with pytest.raises(AuthRefused):
            guard.check("wrong", f"10.0.{i // 256}.{i % 256}", 0)
    assert len(guard._peers) <= 4096


def test_auth_guard_without_a_token_refuses_everything() -> None:
    with pytest.raises(AuthRefused, match="wrong token"):
        AuthGuard(None).check("", "x", 0)


async def test_a_silent_exception_still_says_what_happened(tmp_path: Path) -> None:
    """Issue 14 item 11: an empty TimeoutError is not an empty message."""

    class Silent(FakeService):
        async def get(self, prop: str | int) -> PropertyValue:
            raise TimeoutError

    dispatcher = make_dispatcher(Silent(CameraConfig(host="127.0.0.1", port=1)), tmp_path)
    got = await dispatcher.call("get", ["iso"], Client(1, "unix", "t"))
    assert isinstance(got, RpcError)
    assert got.to_dict() == {"code": -32603, "message": "Internal error", "data": "TimeoutError"}


async def test_a_value_error_inside_a_method_is_internal_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ValueError raised by a method's own code is a bug of the daemon (-32603, logged), not the client's
    params: the params were valid (they passed the method's model)."""

    class Buggy(FakeService):
        async def get(self, prop: str | int) -> PropertyValue:
            return PropertyValue("iso", 0x500F, "ExposureIndex", DataType.UINT16, int("nonsense"), "", True)

    dispatcher = make_dispatcher(Buggy(CameraConfig(host="127.0.0.1", port=1)), tmp_path)
    with caplog.at_level(logging.ERROR):
        got = await ours(dispatcher, json.dumps(req("get", ["iso"], 3)))
    assert got["error"]["code"] == -32603, got
    assert got["error"]["message"] == "Internal error"
    assert "invalid literal for int()" in got["error"]["data"]
    assert any(r.exc_info and "get failed" in r.getMessage() for r in caplog.records), "no traceback logged"


async def test_invalid_params_are_found_where_the_params_are_validated(dispatcher: Dispatcher) -> None:
    """-32602 comes from the params model (the code's own parser), naming the field, before any camera call."""
    got = await ours(dispatcher, json.dumps(req("opreq", {"code": "zz"})))
    assert got["error"]["code"] == -32602
    (problem,) = got["error"]["data"]
    assert problem["loc"] == ["code"] and "not a number: 'zz'" in problem["msg"]
    got = await ours(dispatcher, json.dumps(req("opreq", {"code": "0x1001", "params": ["0x10", "q"]})))
    (problem,) = got["error"]["data"]
    assert problem["loc"] == ["params", "1"] and "not a number: 'q'" in problem["msg"], "names the parameter"
    got = await ours(dispatcher, json.dumps(req("opreq", {"code": 0x1001, "params": [1, 2, 3, 4, 5, 6]})))
    assert got["error"]["code"] == -32602 and got["error"]["data"][0]["loc"] == ["params"]


def test_the_invalid_params_echo_is_cut_later_than_a_camera_errors() -> None:
    assert json_safe("x" * 500) == "x" * 200 + "…"
    assert json_safe(1 << 1000) == f"{1 << 1000:#x}"[:200] + "…"
    assert json_safe({"k" * 300: 1}) == {"k" * 200: 1}
    assert shorten("x" * 500) == "x" * 64 + "…" and shorten("x" * 64) == "x" * 64

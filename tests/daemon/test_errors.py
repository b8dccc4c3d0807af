"""Wrong input gets the right error (DESIGN.md §4) and breaks nothing else: the connection that sent it
keeps working where the contract says so, other clients never notice, the camera is not touched."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import VENDORS, camera_args, wait_until
from tests.procs import DaemonProcess, SimProcess, running_daemon, running_sim
from tests.rpcclient import RpcConnection

MiB = 1 << 20

#: The simulator's -v log line of an operation it received: "0x1016 tid=7 (20495,) -> 0x2001 ()".
SIM_OPERATION = re.compile(r"\b0x(?P<code>[0-9A-F]{4}) tid=\d+ ")
SET_DEVICE_PROP_VALUE = "1016"
GET_DEVICE_PROP_VALUE = "1015"


class SimLog:
    """The operations the simulator received (it logs each one with -v) from a point on."""

    def __init__(self, sim: SimProcess) -> None:
        self.sim = sim
        self.start = len(sim.stderr_text())

    def operations(self) -> list[str]:
        return [m["code"] for m in SIM_OPERATION.finditer(self.sim.stderr_text()[self.start :])]


@pytest.fixture(scope="module", params=VENDORS)
def verbose(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SimProcess, DaemonProcess]]:
    """A simulator that logs every operation it receives (-v), no battery drain, and a daemon on it."""
    vendor = str(request.param)
    workdir = tmp_path_factory.mktemp("verbose")
    with (
        running_sim(vendor, "-v", "--battery-interval", "0") as sim,
        running_daemon(workdir, *camera_args(sim, vendor)) as daemon,
    ):
        daemon.wait_connected()
        yield sim, daemon


@pytest.fixture
def daemon(shared: tuple[str, SimProcess, DaemonProcess]) -> DaemonProcess:
    """This module's tests share one daemon per vendor: none of them may disturb it."""
    return shared[2]


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    assert "error" in response and "result" not in response, response
    error: dict[str, Any] = response["error"]
    assert isinstance(error["code"], int) and isinstance(error["message"], str) and error["message"]
    return error


def assert_still_serves(conn: RpcConnection) -> None:
    assert conn.call("status")["state"] == "connected"


# --------------------------------------------------------------------------------------- JSON-RPC level


@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc": "2.0", "method": "status", "id": 1',
        "{'jsonrpc': '2.0'}",
        "status",
        '{"jsonrpc": "2.0", "method": "status", "id": 1}}',
    ],
)
@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_invalid_json_is_a_parse_error(daemon: DaemonProcess, via: str, line: str) -> None:
    with daemon.connect(via) as conn:
        conn.send_line(line)
        response = conn.read_response()
        assert error_of(response)["code"] == -32700
        assert response["id"] is None
        assert_still_serves(conn)


def test_non_utf8_line_is_a_parse_error(daemon: DaemonProcess) -> None:
    with daemon.connect() as conn:
        conn.send_line(b'{"jsonrpc": "2.0", "method": "\xff\xfe", "id": 1}')
        assert error_of(conn.read_response())["code"] == -32700
        assert_still_serves(conn)


@pytest.mark.parametrize(
    "request_",
    [
        42,
        "status",
        None,
        True,
        [],
        {"method": "status", "id": 1},  # no "jsonrpc"
        {"jsonrpc": "1.0", "method": "status", "id": 1},
        {"jsonrpc": "2.0", "method": 5, "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": "status", "id": {"a": 1}},
        {"jsonrpc": "2.0", "method": "status", "id": True},
        {"jsonrpc": "2.0", "method": "get", "params": "iso", "id": 1},
        {"jsonrpc": "2.0", "method": "status", "id": 1, "extra": 1},
    ],
)
@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_not_a_request_object_is_invalid_request(daemon: DaemonProcess, via: str, request_: object) -> None:
    with daemon.connect(via) as conn:
        conn.send_line(json.dumps(request_))
        response = conn.read_response()
        assert isinstance(response, dict), response  # one error, not a batch answer
        assert error_of(response)["code"] == -32600
        assert response["id"] is None
        assert_still_serves(conn)


def test_batch_with_invalid_members_answers_each(daemon: DaemonProcess) -> None:
    """JSON-RPC 2.0 §6: every member of a batch gets its own answer; a bad one does not sink the rest."""
    with daemon.connect() as conn:
        conn.send_line(json.dumps([1, {"jsonrpc": "2.0", "method": "status", "id": "ok"}, {"foo": "bar"}]))
        responses = conn.read_response()
        assert isinstance(responses, list), responses
        assert len(responses) == 3
        errors = [r for r in responses if "error" in r]
        assert [e["error"]["code"] for e in errors] == [-32600, -32600]
        assert all(e["id"] is None for e in errors)
        (ok,) = [r for r in responses if "result" in r]
        assert ok["id"] == "ok" and ok["result"]["state"] == "connected"


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_unknown_method(daemon: DaemonProcess, via: str) -> None:
    with daemon.connect(via) as conn:
        response = conn.request("shoot_the_moon", {"now": True})
        assert error_of(response)["code"] == -32601
        assert response["id"] is not None
        conn.send_line(json.dumps({"jsonrpc": "2.0", "method": "nope"}))  # a notification: no answer
        assert_still_serves(conn)


BAD_PARAMS: list[tuple[str, Any, str, list[str]]] = [
    ("get", {}, "missing", ["property"]),
    ("get", {"property": "iso", "colour": "red"}, "extra_forbidden", ["colour"]),
    ("get", {"property": 1.5}, "", ["property"]),
    ("get", ["iso", "extra"], "too_many_arguments", []),
    ("set", {"property": "iso"}, "missing", ["value"]),
    ("set", {"property": "iso", "value": [800]}, "", ["value"]),
    ("download", {"handle": -1}, "greater_than_equal", ["handle"]),
    ("download", {"handle": "three"}, "int_parsing", ["handle"]),
    ("download", {"handle": 3, "inline": "maybe"}, "bool_parsing", ["inline"]),
    ("opreq", {"code": "0x1001", "params": [1, 2, 3, 4, 5, 6]}, "too_long", ["params"]),
    ("opreq", {"code": 0x10000}, "less_than_equal", ["code"]),
    ("opreq", {"code": "zz"}, "value_error", ["code"]),
    ("opreq", {"code": 0x1001, "params": [-1]}, "greater_than_equal", ["params", "0"]),
    ("capture", {"inline": "maybe"}, "bool_parsing", ["inline"]),
    ("status", {"verbose": True}, "extra_forbidden", ["verbose"]),
    ("subscribe", {"topics": "event"}, "list_type", ["topics"]),
]


@pytest.mark.parametrize(("method", "params", "kind", "loc"), BAD_PARAMS)
def test_bad_params_with_details(
    daemon: DaemonProcess, method: str, params: Any, kind: str, loc: list[str]
) -> None:
    with daemon.connect() as conn:
        error = error_of(conn.request(method, params))
        assert error["code"] == -32602
        details = error["data"]
        assert isinstance(details, list) and details, error
        for detail in details:
            assert {"type", "loc", "msg"} <= detail.keys(), detail
        if kind:
            assert kind in [d["type"] for d in details], details
        assert any(d["loc"][: len(loc)] == loc for d in details), details
        assert_still_serves(conn)


def test_unknown_property(daemon: DaemonProcess) -> None:
    with daemon.connect() as conn:
        for method, params in [
            ("get", {"property": "warp-factor"}),
            ("describe", ["warp-factor"]),
            ("set", {"property": "warp-factor", "value": 9}),
            ("get", {"property": ""}),
        ]:
            error = error_of(conn.request(method, params))
            assert error["code"] == -32004, (method, error)
            assert error["data"]["property"] == params["property" if isinstance(params, dict) else 0]
            assert "iso" in error["data"]["known"]
        assert_still_serves(conn)


@pytest.mark.parametrize("code", ["0x9999", "9999", 0x9999])
def test_unknown_property_code(request: pytest.FixtureRequest, daemon: DaemonProcess, code: object) -> None:
    """A code the camera does not have goes to the camera, whose refusal is the answer (-32002 with its
    response name; issue 13 item 2); -32004 is for names."""
    with daemon.connect() as conn:
        for method in ("get", "describe"):
            error = error_of(conn.request(method, {"property": code}))
            assert error["code"] == -32002, (method, error)
            assert (error["data"]["response"], error["data"]["name"]) == ("0x200A", "DevicePropNotSupported")
        assert_still_serves(conn)


@pytest.mark.parametrize("value", ["123", 123, "0x7b", "ISO 9000", "", -400])
def test_value_outside_the_enum_leaves_the_camera_untouched(
    verbose: tuple[SimProcess, DaemonProcess], value: object
) -> None:
    sim, daemon = verbose
    log = SimLog(sim)
    with daemon.connect() as conn:
        before = conn.call("get", ["iso"])
        error = error_of(conn.request("set", {"property": "iso", "value": value}))
        assert error["code"] == -32005
        assert error["data"]["property"] == "iso"
        assert error["data"]["value"] == value
        assert "800" in error["data"]["allowed"]
        # read back through the daemon ...
        assert conn.call("get", ["iso"]) == before
        # ... and from the simulator's own log: the GetDevicePropValue of that read is there, no Set at all
        ops = log.operations()
        assert GET_DEVICE_PROP_VALUE in ops
        assert SET_DEVICE_PROP_VALUE not in ops, ops
        # positive control: a valid set does show up, so the check above can fail
        conn.call("set", {"property": "iso", "value": "800" if before["label"] != "800" else "200"})
        assert SET_DEVICE_PROP_VALUE in log.operations()


def test_read_only_property_is_refused_before_the_camera(verbose: tuple[SimProcess, DaemonProcess]) -> None:
    sim, daemon = verbose
    log = SimLog(sim)
    with daemon.connect() as conn:
        before = conn.call("get", ["battery"])
        assert before["writable"] is False
        error = error_of(conn.request("set", {"property": "battery", "value": before["value"]}))
        assert error["code"] == -32005
        assert conn.call("get", ["battery"]) == before
    ops = log.operations()
    assert GET_DEVICE_PROP_VALUE in ops
    assert SET_DEVICE_PROP_VALUE not in ops, ops


# --------------------------------------------------------------------------------------- transport level


def _line_of(size: int) -> bytes:
    """A syntactically valid request line of ``size`` bytes before its newline."""
    head = b'{"jsonrpc": "2.0", "method": "status", "id": 1}'
    return head + b" " * (size - len(head)) + b"\n"


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_a_line_of_exactly_one_mib_is_accepted(daemon: DaemonProcess, via: str) -> None:
    with daemon.connect(via) as conn:
        conn.sock.sendall(_line_of(MiB))
        assert conn.read_response()["result"]["state"] == "connected"


@pytest.mark.parametrize("size", [MiB + 1, 4 * MiB])
@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_over_long_line_is_refused_and_closed(daemon: DaemonProcess, via: str, size: int) -> None:
    """A plain client that writes its whole (too long) line and then reads must get the -32600, then EOF;
    meanwhile a client connected before, and one connecting after, are served."""
    with daemon.connect(via) as bystander:
        bystander.call("status")
        with daemon.connect(via) as conn:
            conn.sock.sendall(_line_of(size))  # everything, like a simple script would, before reading
            response = conn.read_response()
            assert error_of(response)["code"] == -32600
            assert "1048576" in response["error"]["message"] or "MiB" in response["error"]["message"]
            with pytest.raises((EOFError, ConnectionResetError)):
                conn.read_message(timeout=5)
        assert_still_serves(bystander)
    with daemon.connect(via) as late:
        assert_still_serves(late)
    assert daemon.proc.poll() is None


def test_over_long_line_while_sending_in_a_thread(daemon: DaemonProcess) -> None:
    """A client that keeps writing a 16 MiB line is answered and cut off, and cannot wedge the daemon."""
    with daemon.connect("tcp") as conn:
        failure: list[BaseException] = []

        def send() -> None:
            try:
                conn.sock.sendall(b"[" + b" " * (16 * MiB))
            except OSError as exc:  # the daemon may close before all of it is sent
                failure.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        assert error_of(conn.read_response())["code"] == -32600
        sender.join(10)
        assert not sender.is_alive()
    assert daemon.call("status")["state"] == "connected"


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[SimProcess, DaemonProcess]]:
    """Every camera answer takes 0.3 s, so a request is reliably still in flight when its client leaves."""
    with (
        running_sim("generic", "--response-delay", "0.3", "--battery-interval", "0") as sim,
        running_daemon(tmp_path / "daemon", *camera_args(sim, "generic")) as daemon,
    ):
        daemon.wait_connected()
        yield sim, daemon


@pytest.mark.slow
def test_client_disconnecting_mid_request(slow: tuple[SimProcess, DaemonProcess]) -> None:
    daemon = slow[1]
    with daemon.connect("unix") as b:
        baseline = b.call("status")["clients"]
        for via in ("unix", "tcp"):
            gone = daemon.connect(via)
            gone.send_line(json.dumps({"jsonrpc": "2.0", "method": "capture", "id": 1}))
            gone.send_line(json.dumps({"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": 2}))
            gone.sock.shutdown(socket.SHUT_RDWR)
            gone.close()
            # B's request queues behind the abandoned ones and is answered normally
            assert b.call("get", ["iso"], timeout=15)["property"] == "iso"
        half = daemon.connect("tcp")
        half.sock.sendall(b'{"jsonrpc": "2.0", "method": "get", "par')  # half a line, then gone
        half.close()
        wait_until(lambda: b.call("status")["clients"] == baseline, 10, "the daemon forgets the clients")
        assert b.call("status")["reconnects"] == 0
    log = daemon.stderr_text()
    assert "Traceback" not in log and " ERROR " not in log, log
    assert daemon.proc.poll() is None


# ------------------------------------------------------------------- strict JSON, huge numbers (issue 14)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_loads(line: bytes) -> Any:
    """What a strict parser (JavaScript's JSON.parse) accepts: no NaN, no Infinity."""
    return json.loads(line, parse_constant=_no_constant)


def raw_exchange(conn: RpcConnection, line: bytes) -> bytes:
    """Sends one line on a fresh connection and returns the response line exactly as the daemon wrote it."""
    conn.send_line(line)
    data = b""
    conn.sock.settimeout(15)
    while not data.endswith(b"\n"):
        chunk = conn.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(f"the daemon closed the connection; got {data!r}")
        data += chunk
    return data.rstrip(b"\n")


HUGE_HEX = "0x" + "f" * 5000


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("opreq", {"code": HUGE_HEX}),
        ("opreq", {"code": "0x1015", "params": [HUGE_HEX]}),
        ("download", {"handle": 10**1000}),
        ("get", {"property": 1.5e308}),
    ],
    ids=["code", "param", "handle", "float"],
)
def test_huge_numbers_are_invalid_params(daemon: DaemonProcess, method: str, params: Any) -> None:
    """Issue 14 item 4: -32602 (never -32603) for numbers far out of range, over a real socket."""
    with daemon.connect() as conn:
        response = strict_loads(
            raw_exchange(
                conn, json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 7}).encode()
            )
        )
        error = error_of(response)
        assert error["code"] == -32602, error
        assert response["id"] == 7
        assert len(json.dumps(error)) < 2000, "the error does not echo 5000 digits back"
        assert_still_serves(conn)


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc": "2.0", "method": "status", "id": NaN}',
        b'{"jsonrpc": "2.0", "method": "status", "id": Infinity}',
        b'{"jsonrpc": "2.0", "method": "status", "id": -Infinity}',
        b'{"jsonrpc": "2.0", "method": "status", "id": 1e400}',
        b'{"jsonrpc": "2.0", "method": "get", "params": {"property": NaN}, "id": 1}',
        b'{"jsonrpc": "2.0", "method": "set", "params": {"property": "iso", "value": -1e999}, "id": 1}',
        b'[{"jsonrpc": "2.0", "method": "status", "id": 1}, {"jsonrpc": "2.0", "method": "status", "id": NaN}]',
    ],
    ids=["id-nan", "id-inf", "id-minus-inf", "id-1e400", "param-nan", "param-1e999", "batch-nan"],
)
@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_non_standard_numbers_are_refused_and_never_sent_back(
    daemon: DaemonProcess, via: str, line: bytes
) -> None:
    """Issue 14 item 5: NaN / Infinity / 1e400 get -32700 or -32600 with a null id, and every byte the daemon
    writes back is strict JSON."""
    with daemon.connect(via) as conn:
        raw = raw_exchange(conn, line)
        response = strict_loads(raw)  # raises on a bare NaN / Infinity anywhere in the line
        assert isinstance(response, dict), response
        assert error_of(response)["code"] in (-32700, -32600)
        assert response["id"] is None
        assert_still_serves(conn)


# ------------------------------------------------------------------------ wrong tokens (issue 14 item 12)

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[DaemonProcess]:
    """A daemon with an auth_token (its loopback TCP clients need none, but ``auth`` still checks it)."""
    config = tmp_path / "auth.ini"
    config.write_text(f'[daemon]\nauth_token = "{TOKEN}"\n')
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(config)) as daemon:
        daemon.wait_connected()
        yield daemon


def _auth(daemon: DaemonProcess, token: str) -> dict[str, Any]:
    with daemon.connect("tcp") as conn:
        return conn.request("auth", {"token": token})


def test_wrong_tokens_close_the_connection_and_lock_the_address_out(guarded: DaemonProcess) -> None:
    # one connection: three wrong tokens, then the daemon closes it
    answers: list[dict[str, Any]] = []
    with guarded.connect("tcp") as conn, pytest.raises((EOFError, ConnectionResetError, BrokenPipeError)):
        for i in range(10):
            answers.append(conn.request("auth", {"token": f"guess-{i}"}))
    assert [error_of(a)["code"] for a in answers] == [-32010] * 3, answers
    assert answers[0]["error"]["message"] == "unauthorised: wrong token"
    assert "closing the connection" in answers[-1]["error"]["message"]
    # the address is locked out for a while: even the right token is refused, unchecked
    locked = error_of(_auth(guarded, TOKEN))
    match = re.fullmatch(
        r"unauthorised: too many wrong tokens from 127\.0\.0\.1; try again in ([0-9.]+) s", locked["message"]
    )
    assert locked["code"] == -32010 and match, locked
    # the lockout is a time the daemon announced: waiting it out is the behaviour under test
    time.sleep(float(match[1]) + 0.05)
    assert _auth(guarded, TOKEN)["result"] is True  # and a right token clears the record
    # guesses in parallel gain nothing: after the free ones, every attempt is refused unchecked
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: error_of(_auth(guarded, f"parallel-{i}"))["message"], range(24)))
    checked = [r for r in replies if r.startswith("unauthorised: wrong token")]
    assert len(checked) == 3, replies
    assert all("try again in" in r for r in replies if r not in checked)
    assert guarded.call("status")["state"] == "connected"

"""ptpipctl.client: where the daemon is, how errors read, and the NDJSON connection."""

from __future__ import annotations

import base64
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from ptpipctl import client
from ptpipctl.client import (
    Connection,
    CtlError,
    DaemonUnreachable,
    Globals,
    RpcFailure,
    Target,
    UsageError,
    describe_error,
    parse_host_port,
)
from tests.cli.stub import ISO, StubDaemon, stub_daemon


def target(env: dict[str, str] | None = None, **given: Any) -> Target:
    return Globals(env=env or {}, **given).target()


@pytest.fixture
def user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "_is_root", lambda: False)


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "_is_root", lambda: True)


def test_default_socket_as_root(root: None) -> None:
    assert target({"XDG_RUNTIME_DIR": "/run/user/1000"}).path == "/run/ptpipd/ptpipd.sock"
    assert target(instance="studio").path == "/run/ptpipd/studio.sock"


def test_default_socket_as_a_user(user: None) -> None:
    assert target({"XDG_RUNTIME_DIR": "/run/user/1000/"}).path == "/run/user/1000/ptpipd/ptpipd.sock"
    assert target({"XDG_RUNTIME_DIR": "/run/user/1000"}, instance="a").path == "/run/user/1000/ptpipd/a.sock"
    import os

    assert target({}).path == f"/tmp/ptpipd-{os.getuid()}/ptpipd.sock"
    assert target({"XDG_RUNTIME_DIR": ""}).path == f"/tmp/ptpipd-{os.getuid()}/ptpipd.sock"


def test_command_line_beats_the_environment_as_a_group(user: None) -> None:
    env = {"PTPIPCTL_SOCKET": "/env.sock", "PTPIPCTL_TCP": "10.0.0.1:1", "XDG_RUNTIME_DIR": "/r"}
    assert target(env).path == "/env.sock"
    assert str(target(env, tcp="127.0.0.1:99")) == "127.0.0.1:99"
    assert target(env, instance="x").path == "/r/ptpipd/x.sock"
    assert str(target({"PTPIPCTL_TCP": "10.0.0.1:1", "PTPIPCTL_INSTANCE": "x"})) == "10.0.0.1:1"
    assert target({"PTPIPCTL_INSTANCE": "x", "XDG_RUNTIME_DIR": "/r"}).path == "/r/ptpipd/x.sock"


def test_only_one_address_on_the_command_line() -> None:
    with pytest.raises(UsageError, match="give only one of --socket, --tcp"):
        target(socket="/a", tcp="b:1")


@pytest.mark.parametrize("name", ["", "a/b", "..", "."])
def test_bad_instance_names(name: str) -> None:
    with pytest.raises(UsageError, match="invalid instance name"):
        client.instance_socket(name, {})


def test_token_and_timeout(user: None) -> None:
    t = target({"PTPIPCTL_TOKEN": "env", "PTPIPCTL_TIMEOUT": "2.5"})
    assert (t.token, t.timeout) == ("env", 2.5)
    t = target({"PTPIPCTL_TOKEN": "env", "PTPIPCTL_TIMEOUT": "2.5"}, token="flag", timeout=9)
    assert (t.token, t.timeout) == ("flag", 9)
    assert target({}).timeout == client.DEFAULT_TIMEOUT
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(UsageError, match="positive number of seconds"):
            target(timeout=bad)
    with pytest.raises(UsageError, match="PTPIPCTL_TIMEOUT: not a number of seconds: 'soon'"):
        target({"PTPIPCTL_TIMEOUT": "soon"})
    with pytest.raises(UsageError, match="--timeout: not a number of seconds: 'later'"):
        target({"PTPIPCTL_TIMEOUT": "soon"}, timeout="later")
    assert target({"PTPIPCTL_TIMEOUT": "soon"}, timeout="2.5").timeout == 2.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:15741", ("127.0.0.1", 15741)),
        ("camera.local", ("camera.local", 15741)),
        (":9000", ("127.0.0.1", 9000)),
        ("[::1]:9000", ("::1", 9000)),
        ("[::1]", ("::1", 15741)),
        ("::1", ("::1", 15741)),
    ],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["host:0", "host:65536", "host:http", "[::1", "[::1]x"])
def test_parse_host_port_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_host_port(text)


def test_target_names() -> None:
    assert str(Target(host="::1", port=5)) == "[::1]:5"
    assert str(Target(path="/x.sock")) == "/x.sock"


def test_describe_error() -> None:
    invalid = [{"loc": ["property"], "msg": "Field required"}, {"loc": [], "msg": "extra"}]
    assert (
        describe_error(-32602, "Invalid params", invalid) == "Invalid params: property: Field required; extra"
    )
    assert (
        describe_error(-32004, "unknown property 'x'", {"known": ["iso"]})
        == "unknown property 'x' (known: iso)"
    )
    assert describe_error(-32601, "Method not found", "nosuch") == "Method not found: nosuch"
    assert describe_error(-32000, "the camera is\n  disconnected", None) == "the camera is disconnected"
    assert (
        str(RpcFailure(-32004, "unknown property 'x'", {"known": ["a", "b"]}))
        == "unknown property 'x' (known: a, b)"
    )


def test_connection_sets_notifications_aside_and_reports_progress(tmp_path: Path) -> None:
    big = {**ISO, "data": base64.b64encode(bytes(300_000)).decode()}
    with stub_daemon(tmp_path / "s.sock", {"subscribe": True, "get": big}) as stub:
        stub.after_subscribe = []
        seen: list[int] = []
        with Connection(Target(path=str(stub.address), timeout=10)) as conn:
            assert conn.call("subscribe") is True
            result = conn.call("get", {"property": "iso"}, progress=seen.append)
        assert result == big
        assert seen == sorted(seen) and seen[-1] > 400_000
        assert stub.methods() == ["subscribe", "get"]


class OneShotServer:
    """A Unix socket that answers one connection with fixed bytes, then closes it."""

    def __init__(self, path: Path, reply: bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen()
        self.path = path
        self.thread = threading.Thread(target=self.serve, args=(reply,), daemon=True)
        self.thread.start()

    def serve(self, reply: bytes) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(reply)

    def close(self) -> None:
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (b"", DaemonUnreachable, "the daemon closed the connection"),
        (b'{"jsonrpc":"2.0","result":1,"id":', DaemonUnreachable, "the daemon closed the connection"),
        (b"not json\n", CtlError, "the daemon sent a line that is not JSON"),
        (b'{"jsonrpc":"2.0","result":1,"id":99}\n', CtlError, "unexpected message from the daemon"),
        (
            b'{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid request"},"id":null}\n',
            RpcFailure,
            "Invalid request",
        ),
    ],
)
def test_broken_answers(tmp_path: Path, reply: bytes, error: type[Exception], message: str) -> None:
    server = OneShotServer(tmp_path / "s.sock", reply)
    try:
        with (
            pytest.raises(error, match=message),
            Connection(Target(path=str(server.path), timeout=10)) as conn,
        ):
            conn.call("status")
    finally:
        server.close()


def test_a_silent_daemon_times_out(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen()
    try:
        with (
            pytest.raises(DaemonUnreachable, match=r"no answer within 0.2 s"),
            Target(path=str(tmp_path / "s.sock"), timeout=0.2).connect() as conn,
        ):
            conn.call("status")
    finally:
        listener.close()


def test_errors_carry_exit_codes() -> None:
    assert (CtlError.exit_code, UsageError.exit_code, DaemonUnreachable.exit_code, RpcFailure.exit_code) == (
        1,
        2,
        105,
        1,
    )


def test_stub_answers_unknown_methods(tmp_path: Path) -> None:
    with (
        stub_daemon(tmp_path / "s.sock") as stub,
        pytest.raises(RpcFailure, match="Method not found: nope"),
        Target(path=str(stub.address)).connect() as conn,
    ):
        conn.call("nope")
    assert isinstance(stub, StubDaemon)

"""The listeners' bounds, over real sockets to a real daemon: ``max_connections`` per listener (JSON-RPC on
the Unix socket and TCP, the legacy text listener), the legacy command/idle timeouts, and the write timeout
that drops a client which reads nothing.

The daemon runs with ``--max-connections 2``, ``write_timeout = 1`` and a keep-open legacy listener with
``idle_timeout = 3``. Waiting is done on the daemon's own signals: its answers, its ``status.clients`` count,
its log line.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.legacy.conftest import Legacy, LineClient, running_legacy
from tests.rpcclient import RpcConnection

CAP = 2
IDLE = 3.0
GET_ISO = b"get iso\n"


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    workdir = tmp_path_factory.mktemp("bounds")
    config = workdir / "ptpipd.ini"
    config.write_text(f"[server]\nkeep_open = true\nidle_timeout = {IDLE:g}\n[daemon]\nwrite_timeout = 1\n")
    with running_legacy(workdir, "generic", "-f", str(config), "--max-connections", str(CAP)) as server:
        yield server


def wait_clients(server: Legacy, count: int, timeout: float = 15.0) -> None:
    """Waits until the daemon's ``status.clients`` (the asking connection included) is ``count``."""
    deadline = time.monotonic() + timeout
    while True:
        seen = server.daemon.call("status")["clients"]
        if seen == count:
            return
        assert time.monotonic() < deadline, f"status.clients stayed {seen}, expected {count}"


def refused_rpc(address: str | tuple[str, int]) -> dict[str, object]:
    """Connects once more than the cap allows: the one line the daemon sends, then its end of stream."""
    with RpcConnection(address, timeout=10) as conn:
        message = conn.read_message()
        assert conn.sock.recv(1) == b"", "the refused connection was not closed"
    return dict(message)


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_rpc_listener_refuses_the_connection_over_its_cap_and_keeps_serving_the_others(
    bounded: Legacy, via: str
) -> None:
    daemon = bounded.daemon
    address: str | tuple[str, int] = str(daemon.socket_path) if via == "unix" else daemon.tcp  # type: ignore[assignment]
    held = [daemon.connect(via) for _ in range(CAP)]
    try:
        for conn in held:
            assert conn.call("status")["state"] in ("connected", "connecting", "disconnected")
        message = refused_rpc(address)
        assert message["id"] is None
        error = message["error"]
        assert isinstance(error, dict) and error["code"] == -32006
        assert error["data"] == {"connections": CAP}
        assert f"at most {CAP}" in error["message"]
        # the held clients go on; the other JSON-RPC listener has its own cap and serves meanwhile
        assert all(conn.call("status")["clients"] >= CAP for conn in held)
        other = "tcp" if via == "unix" else "unix"
        assert daemon.call("status", via=other)["clients"] == CAP + 1
    finally:
        for conn in held:
            conn.close()
    wait_clients(bounded, 1, timeout=15)
    with daemon.connect(via) as conn:  # a place is free again
        assert conn.call("status")["clients"] >= 1


def test_legacy_listener_refuses_over_its_cap_and_closes_a_silent_client(bounded: Legacy) -> None:
    held = [LineClient(bounded.host, bounded.port) for _ in range(CAP)]
    try:
        for client in held:  # served: each answers a command (keep_open: the connection stays)
            client.send(GET_ISO)
            assert not client.read_line().startswith("error")
        late = LineClient(bounded.host, bounded.port)
        try:
            assert (
                late.read_to_end()
                == f"error: too many connections (at most {CAP}); try again later\n".encode()
            )
        finally:
            late.close()
        held[0].send(GET_ISO)  # still served
        assert not held[0].read_line().startswith("error")
        # silent for idle_timeout: one error line, then the end of stream
        started = time.monotonic()
        assert held[1].read_to_end() == f"error: no command within {IDLE:g} s; closing\n".encode()
        assert time.monotonic() - started >= IDLE - 1.5  # not at once: it had been served just before
    finally:
        for client in held:
            client.close()


def test_a_client_that_reads_nothing_is_dropped_after_the_write_timeout(bounded: Legacy) -> None:
    daemon = bounded.daemon
    wait_clients(bounded, 1)
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(str(daemon.socket_path))
    request = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "info"}) + "\n").encode()
    stalled.settimeout(0.5)
    try:
        # pipeline requests without reading until the daemon stops taking them (its answers have filled
        # the socket buffers and it waits to write)
        with pytest.raises((TimeoutError, ConnectionError, BrokenPipeError)):
            for _ in range(100_000):
                stalled.sendall(request)
        with daemon.connect() as watcher:
            deadline = time.monotonic() + 15
            while watcher.call("status")["clients"] != 1:
                assert time.monotonic() < deadline, "the stalled client was never dropped"
            assert "took nothing for 1 s" in daemon.stderr_text()
            assert watcher.call("status")["clients"] == 1  # the daemon goes on serving
    finally:
        stalled.close()


def test_the_cap_and_timeouts_are_settings_of_the_config_file_and_environment(tmp_path: Path) -> None:
    from ptpipd.config import INI_KEYS, read_env, read_ini

    config = tmp_path / "ptpipd.ini"
    config.write_text(
        "[daemon]\nmax_connections = 5\nwrite_timeout = 2.5\n[server]\ncommand_timeout = 4\nidle_timeout = 9\n"
    )
    values = read_ini(config).values
    assert values == {
        "max_connections": "5",
        "write_timeout": "2.5",
        "legacy_command_timeout": "4",
        "legacy_idle_timeout": "9",
    }
    assert INI_KEYS[("daemon", "max_connections")] == "max_connections"
    env = {"PTPIPD_MAX_CONNECTIONS": "7", "PTPIPD_LEGACY_IDLE_TIMEOUT": "60"}
    assert read_env(env) == {"max_connections": "7", "legacy_idle_timeout": "60"}


def test_silent_clients_are_closed_a_subscriber_is_not(tmp_path: Path) -> None:
    """``rpc_idle_timeout`` for a JSON-RPC client that has not subscribed, ``command_timeout`` for a legacy
    one-command connection that sends nothing: one last line each, then the end of stream."""
    config = tmp_path / "ptpipd.ini"
    config.write_text("[daemon]\nrpc_idle_timeout = 1\n[server]\ncommand_timeout = 1\n")
    with running_legacy(tmp_path / "d", "generic", "-f", str(config)) as server:
        daemon = server.daemon
        with daemon.connect() as subscriber, daemon.connect("tcp") as silent:
            subscriber.call("subscribe")
            legacy = LineClient(server.host, server.port)
            started = time.monotonic()
            assert silent.read_message(timeout=15) == {
                "jsonrpc": "2.0",
                "method": "notify.connection",
                "params": {"state": "dropped", "reason": "no request for 1 s"},
            }
            assert silent.sock.recv(1) == b""
            try:
                assert legacy.read_to_end() == b"error: no command within 1 s; closing\n"
            finally:
                legacy.close()
            assert time.monotonic() - started >= 0.5  # they had their second of silence
            # the subscriber, silent as long, is still served
            assert subscriber.call("status")["state"] == "connected"
        assert "no request for 1 s; closing the connection" in daemon.stderr_text()

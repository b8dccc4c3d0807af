"""Who gets in, and what the data plane refuses: the token off loopback (header, query, browser cookie),
the Unix socket, oversized headers, connections that never finish a request, and the settings."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.daemon.conftest import run_daemon_once, wait_until
from tests.daemon.test_config import non_loopback_ipv4
from tests.procs import DaemonProcess, daemon_env, running_daemon
from tests.web.conftest import Web, http_port, raw_request

TOKEN = "s3cret-token"
WRONG = "unauthorised: wrong token"


def _get(
    host: str, port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@contextlib.contextmanager
def token_daemon(tmp_path: Path) -> Iterator[tuple[DaemonProcess, str, int, int]]:
    """A daemon with ``auth_token``, HTTP and JSON-RPC on this machine's non-loopback address: (daemon,
    address, HTTP port, JSON-RPC port), connected to its simulated camera."""
    address = non_loopback_ipv4()
    assert address is not None, "this test needs a non-loopback IPv4 address (the existing auth tests too)"
    ini = tmp_path / "auth.ini"
    ini.write_text(f'[daemon]\nhttp = {address}:0\nrpc_tcp = {address}:0\nauth_token = "{TOKEN}"\n')
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(ini)) as daemon:
        daemon.wait_connected()
        ready = daemon.notify.wait_for("READY", "1", timeout=0)
        match = re.search(rf"http://{re.escape(address)}:(\d+)", ready["STATUS"])
        rpc_match = re.search(rf"(?<!/){re.escape(address)}:(\d+)", ready["STATUS"])
        assert match and rpc_match, ready
        yield daemon, address, int(match.group(1)), int(rpc_match.group(1))


def _unix_status(daemon: DaemonProcess, path: str) -> str:
    """The HTTP status of GET ``path`` over the data plane's Unix socket (curl), which needs no token."""
    sock = str(daemon.socket_path.parent / "ptpipd-http.sock")
    done = subprocess.run(
        ["curl", "-sS", "--unix-socket", sock, "-o", "/dev/null", "-w", "%{http_code}", f"http://x{path}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert not done.stderr, done.stderr
    return done.stdout


def test_token_off_loopback(tmp_path: Path) -> None:
    with token_daemon(tmp_path) as (daemon, address, port, _):
        status, headers, body = _get(address, port, "/files")
        assert status == 401
        assert headers["www-authenticate"].startswith("Bearer")
        assert json.loads(body)["error"]["code"] == -32010
        assert _get(address, port, "/files", {"Authorization": "Bearer wrong"})[0] == 401
        assert _get(address, port, "/files", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        assert _get(address, port, f"/files/3?token={TOKEN}")[0] == 200
        assert _get(address, port, "/")[0] == 200  # the page holds nothing: it asks for the token
        # the browser's way: POST /auth once, then a cookie (never the token itself)
        conn = http.client.HTTPConnection(address, port, timeout=30)
        conn.request(
            "POST",
            "/auth",
            body=f"token={TOKEN}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200
        cookie = answer.getheader("Set-Cookie") or ""
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        session = cookie.split(";")[0]
        conn.close()
        assert _get(address, port, "/files", {"Cookie": session})[0] == 200
        conn = http.client.HTTPConnection(address, port, timeout=30)
        conn.request(
            "POST", "/auth", body=json.dumps({"token": "nope"}), headers={"Content-Type": "application/json"}
        )
        assert conn.getresponse().status == 401
        conn.close()
        # the Unix socket needs no token
        assert _get(address, port, "/liveview.jpg")[0] == 401
        assert _unix_status(daemon, "/files") == "200"


def _post_auth(host: str, port: int, token: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(
            "POST", "/auth", body=json.dumps({"token": token}), headers={"Content-Type": "application/json"}
        )
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())["error"]["message"] if answer.status != 200 else ""
    finally:
        conn.close()


def test_wrong_tokens_over_http_lock_the_address_out(tmp_path: Path) -> None:
    """Guessing the token over HTTP is as slow as over JSON-RPC: three wrong ones (POST /auth, Bearer,
    ?token=), then the address is locked out and even the right token is refused for a while."""
    with token_daemon(tmp_path) as (daemon, address, port, rpc_port):
        assert _post_auth(address, port, "guess-1") == (401, "unauthorised: wrong token")
        status, _, body = _get(address, port, "/files", {"Authorization": "Bearer guess-2"})
        assert (status, json.loads(body)["error"]["message"]) == (401, "unauthorised: wrong token")
        assert _get(address, port, "/files?token=guess-3")[0] == 401
        status, message = _post_auth(address, port, TOKEN)
        assert status == 401 and message.startswith(f"unauthorised: too many wrong tokens from {address}")
        status, _, body = _get(address, port, "/files", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 401 and "too many wrong tokens" in json.loads(body)["error"]["message"]
        assert _get(address, port, "/")[0] == 200  # the page itself stays open
        # one record for the daemon: JSON-RPC auth from that address is locked out too
        with socket.create_connection((address, rpc_port), timeout=30) as sock:
            sock.sendall(
                b'{"jsonrpc": "2.0", "id": 1, "method": "auth", "params": {"token": "%s"}}\n' % TOKEN.encode()
            )
            answer = json.loads(sock.makefile("rb").readline())
        assert answer.get("error", {}).get("code") == -32010, answer
        assert "too many wrong tokens" in answer["error"]["message"], answer
        # the HTTP Unix socket (no peer address) is never locked out
        assert _unix_status(daemon, "/files") == "200"


def _auth(n: int, token: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": n, "method": "auth", "params": {"token": token}}


def _ndjson_auth(address: str, rpc_port: int, tokens: list[str]) -> list[dict[str, Any]]:
    """The answers to JSON-RPC ``auth`` with each of ``tokens`` in turn, on one NDJSON TCP connection."""
    with socket.create_connection((address, rpc_port), timeout=30) as sock:
        answers = sock.makefile("rb")
        replies = []
        for n, token in enumerate(tokens):
            sock.sendall(json.dumps(_auth(n, token)).encode() + b"\n")
            replies.append(json.loads(answers.readline()))
        return replies


def _refused(answer: dict[str, Any]) -> str:
    """The message of an ``auth`` refused with -32010."""
    assert answer.get("error", {}).get("code") == -32010, answer
    return str(answer["error"]["message"])


async def test_wrong_tokens_over_websocket_auth_lock_out_ndjson(tmp_path: Path) -> None:
    """A WebSocket opened without credentials sends three wrong tokens with JSON-RPC ``auth``: the daemon
    closes it (1008), and the right token over NDJSON TCP from the same address is refused: one lockout
    record for both transports."""
    with token_daemon(tmp_path) as (_, address, port, rpc_port):
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://{address}:{port}/rpc") as ws:
                replies = []
                for n in range(3):
                    await ws.send_json(_auth(n, f"guess-{n}"))
                    replies.append(_refused(json.loads(await ws.receive_str(timeout=30))))
                closing = await ws.receive(timeout=30)
            assert replies == [WRONG, WRONG, f"{WRONG}; closing the connection"]
            assert (closing.type, closing.data, closing.extra) == (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSCloseCode.POLICY_VIOLATION,
                "too many wrong tokens",
            )
            [answer] = _ndjson_auth(address, rpc_port, [TOKEN])
        assert _refused(answer).startswith(f"unauthorised: too many wrong tokens from {address}; try again")


async def test_wrong_tokens_over_ndjson_lock_out_websocket_auth(tmp_path: Path) -> None:
    """The reverse: three wrong tokens over NDJSON TCP, then the right one with ``auth`` on a WebSocket from
    the same address is refused, and the WebSocket stays unauthenticated."""
    with token_daemon(tmp_path) as (_, address, port, rpc_port):
        wrong = _ndjson_auth(address, rpc_port, ["guess-1", "guess-2", "guess-3"])
        assert [_refused(a) for a in wrong] == [WRONG, WRONG, f"{WRONG}; closing the connection"]
        url = f"http://{address}:{port}/rpc"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_json(_auth(1, TOKEN))
            answer = json.loads(await ws.receive_str(timeout=30))
            await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "status"})
            status = json.loads(await ws.receive_str(timeout=30))
        assert _refused(answer).startswith(f"unauthorised: too many wrong tokens from {address}; try again")
        assert status["error"]["code"] == -32010, status  # still not authenticated


def test_non_loopback_http_without_a_token_is_refused(tmp_path: Path) -> None:
    env = daemon_env(tmp_path, tmp_path / "notify.sock")
    done = run_daemon_once(
        ["--simulate", "generic", "--http", "192.0.2.1:15780", "--socket", str(tmp_path / "s")], env
    )
    assert done.returncode == 104, done.stderr
    assert "http 192.0.2.1:15780 is not a loopback address" in done.stderr


def test_http_off(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic", "--http", "off") as daemon:
        status = daemon.call("status")
        assert status["http"]["addresses"] == [str(daemon.socket_path.parent / "ptpipd-http.sock")]


def test_oversized_headers_refused_and_serving_goes_on(generic_web: Web) -> None:
    big = b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    sock = raw_request(generic_web.host, generic_web.port, big)
    with sock:
        answer = sock.recv(4096)
    assert re.match(rb"HTTP/1\.[01] (400|431)", answer), answer[:100]
    many = (
        b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(b"X-%d: y\r\n" % i for i in range(500))
        + b"\r\n"
    )
    with raw_request(generic_web.host, generic_web.port, many) as sock:
        assert re.match(rb"HTTP/1\.[01] (400|431)", sock.recv(4096))
    assert generic_web.request("GET", "/files")[0] == 200


@pytest.mark.parametrize(
    "head", [b"", b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\n"], ids=["silent", "half-headers"]
)
def test_connection_without_a_complete_request_is_closed(big_web: Web, head: bytes) -> None:
    """A client that connects and sends nothing, or stops in the middle of its headers, is disconnected
    after ``http_timeout`` (2 s for this daemon); nobody else waits meanwhile."""
    sock = raw_request(big_web.host, big_web.port, head, timeout=60)
    with sock:
        assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
        assert sock.recv(4096) == b"", "the daemon closes the connection without answering"


def test_shutdown_with_clients_connected_is_prompt(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "fuji", "--http", "127.0.0.1:0") as daemon:
        daemon.wait_connected()
        ready = daemon.notify.wait_for("READY", "1", timeout=0)
        port = int(re.findall(r"http://127\.0\.0\.1:(\d+)", ready["STATUS"])[0])
        viewer = socket.create_connection(("127.0.0.1", port), timeout=30)
        viewer.sendall(b"GET /liveview.mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert viewer.recv(100).startswith(b"HTTP/1.1 200")
        wait_until(lambda: daemon.call("status")["liveview"]["viewers"] == 1, 10, "the viewer")
        rc, log = daemon.stop(timeout=10)
        viewer.close()
    assert rc == 0, log
    assert "Traceback" not in log
    assert not (daemon.socket_path.parent / "ptpipd-http.sock").exists()


def _read_all(sock: socket.socket) -> bytes:
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while piece := sock.recv(65536):
            answer += piece
    return answer


def test_dns_rebinding_host_cannot_drive_the_camera(generic_web: Web) -> None:
    """A page on a foreign site reached through DNS rebinding sends ``Origin: http://evil:PORT`` with
    ``Host: evil:PORT`` to the loopback daemon: Origin equals Host, yet the site is foreign. Without a token
    the daemon answers only a ``Host`` that names it: anything else is 403 (-32010) — changing (``delete``),
    reading (``/files``, a picture) and the WebSocket alike — while localhost and the loopback addresses
    work as before."""
    web = generic_web
    evil = f"rebind.evil.example:{web.port}"
    body = json.dumps({"jsonrpc": "2.0", "method": "delete", "params": {"handle": 5}, "id": 1})
    status, headers, answer = web.request(
        "POST", "/rpc", body, {"Host": evil, "Origin": f"http://{evil}", "Content-Type": "application/json"}
    )
    assert status == 403, (status, answer)
    assert headers["content-type"].startswith("application/json")
    error = json.loads(answer)["error"]
    assert error["code"] == -32010 and "rebind.evil.example" in error["message"], error
    assert 5 in [f["handle"] for f in web.get_json("/files")[1]]
    for path in ("/files", "/files/5", "/liveview.jpg", "/"):
        assert web.request("GET", path, headers={"Host": evil})[0] == 403, path
    # the WebSocket: the handshake is refused
    sock = raw_request(
        web.host,
        web.port,
        f"GET /rpc HTTP/1.1\r\nHost: {evil}\r\nOrigin: http://{evil}\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "\r\n".encode(),
    )
    with sock:
        assert sock.recv(100).startswith(b"HTTP/1.1 403 "), "the WebSocket must not open"
    for host in (f"localhost:{web.port}", f"127.0.0.1:{web.port}", "127.0.0.2", "[::1]:1", "app.localhost"):
        assert web.request("GET", "/files", headers={"Host": host})[0] == 200, host
        origin = {"Host": host, "Origin": f"http://{host}"}
        assert web.request("POST", "/rpc", STATUS, origin)[0] == 200, host


STATUS = '{"jsonrpc": "2.0", "method": "status", "id": 1}'


@contextlib.contextmanager
def _token_daemon_off_loopback(
    tmp_path: Path, http: str, env: dict[str, str]
) -> Iterator[tuple[DaemonProcess, str]]:
    """A daemon with the token and its HTTP data plane on ``http`` (``{address}`` stands for this machine's
    address off loopback), JSON-RPC TCP off; yields it and that address."""
    address = non_loopback_ipv4()
    assert address is not None, "this test needs a non-loopback IPv4 address (the existing auth tests too)"
    ini = tmp_path / "auth.ini"
    ini.write_text(
        f'[daemon]\nhttp = {http.format(address=address)}\nrpc_tcp = off\nauth_token = "{TOKEN}"\n'
    )
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(ini), env=env) as daemon:
        daemon.wait_connected()
        yield daemon, address


def test_a_request_body_that_never_completes_is_closed_after_http_timeout(tmp_path: Path) -> None:
    """README (Bounds): "a connection without a complete request … is closed after http_timeout". A peer
    off loopback with no token may POST /auth (the login is open): one that announces a body and stops
    sending it is answered 408 (JSON) after http_timeout (2 s here) and its connection closed, not held for
    ever with what it sent buffered (100 such connections took a daemon from 67 to 211 MB and kept it
    there). Nor may such a peer announce more than a login needs."""
    env = {"PTPIPD_HTTP_TIMEOUT": "2"}
    with _token_daemon_off_loopback(tmp_path, "{address}:0", env) as (daemon, address):
        port = http_port(daemon, address)
        head = (
            b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        with raw_request(address, port, head + b'{"token"', timeout=12) as sock:
            try:
                answer = _read_all(sock)  # the answer and the end of the connection, within 12 s
            except TimeoutError:
                pytest.fail("the daemon still waits for the body 12 s later (http_timeout is 2 s)")
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            error = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
            assert (error["code"], error["message"]) == (-32600, "the request body did not arrive within 2 s")
        # without the token a body is small and declared: 413 from the headers, before any of it is sent
        for framing in (b"Content-Length: 9000", b"Transfer-Encoding: chunked"):
            big = b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n\r\n" % framing
            with raw_request(address, port, big, timeout=12) as sock:
                answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"] == (
                "without the token a request body is at most 8192 bytes, with Content-Length"
            )


def test_a_half_sent_body_on_loopback_is_dropped_too(big_web: Web) -> None:
    """The same on loopback (``POST /rpc``, 2 s for this daemon): a 408, the connection closed, and nobody
    else waited meanwhile."""
    head = b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    with raw_request(big_web.host, big_web.port, head + b'{"jsonrpc"', timeout=12) as sock:
        assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


@contextlib.contextmanager
def _loopback_daemon(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[DaemonProcess, int]]:
    with running_daemon(tmp_path / "d", "--simulate", "generic", "--http", "127.0.0.1:0", env=env) as daemon:
        daemon.wait_connected()
        yield daemon, http_port(daemon)


def test_http_connections_over_the_cap_get_a_503(tmp_path: Path) -> None:
    """``http_max_connections`` (3 here): a fourth connection gets a JSON 503 (-32006, ``Retry-After``) and
    is closed, while the three go on; once one closes, a new connection is served."""
    with _loopback_daemon(tmp_path, {"PTPIPD_HTTP_MAX_CONNECTIONS": "3"}) as (daemon, port):
        held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
        try:
            wait_until(lambda: daemon.call("status")["http"]["connections"] == 3, 10, "three connections")
            with raw_request("127.0.0.1", port, b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") as sock:
                answer = _read_all(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in head, answer[:300]
            assert json.loads(body)["error"]["code"] == -32006
            held[0].sendall(b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert _read_all(held[0]).startswith(b"HTTP/1.1 200 "), "a connection under the cap is served"
            held.pop(0).close()
            wait_until(lambda: daemon.call("status")["http"]["connections"] == 2, 10, "one closed")
            assert _get("127.0.0.1", port, "/files")[0] == 200
        finally:
            for sock in held:
                sock.close()
        rc, log = daemon.stop(timeout=10)
    assert rc == 0 and "Traceback" not in log, log
    assert "HTTP: 3 connections open from this machine, refusing more until one closes" in log


async def test_a_token_that_is_not_utf8_is_a_wrong_token(tmp_path: Path) -> None:
    """Off loopback, a token that is not UTF-8 (bytes in a header or cookie, a lone surrogate in JSON-RPC
    ``auth`` over a WebSocket or NDJSON) is a wrong token: 401 / -32010 and counted by the lockout like any
    other, never a 500 -32603 with a traceback logged at ERROR."""
    with token_daemon(tmp_path) as (daemon, address, port, rpc_port):
        # a session cookie that is not this daemon's is no token shown (not counted); a header is a wrong one
        for header, message in (
            (b"Cookie: ptpipd_session_%d=\xff" % port, "unauthorised: this address needs the daemon's token"),
            (b"Authorization: Bearer \xff\xfe", WRONG),
        ):
            request = b"GET /files HTTP/1.1\r\nHost: x\r\n%s\r\nConnection: close\r\n\r\n" % header
            with raw_request(address, port, request) as sock:
                answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 401 "), answer[:400]
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"] == message
        url = f"http://{address}:{port}/rpc"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_str('{"jsonrpc": "2.0", "id": 1, "method": "auth", "params": {"token": "\\ud800"}}')
            assert _refused(json.loads(await ws.receive_str(timeout=30))) == WRONG
        [answer] = _ndjson_auth(address, rpc_port, ["\udcff"])  # the third: NDJSON, escaped as \udcff
        assert _refused(answer) == WRONG
        status, _, body = _get(address, port, "/files", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 401 and "too many wrong tokens" in json.loads(body)["error"]["message"]
        rc, log = daemon.stop(timeout=10)
    assert rc == 0 and "Traceback" not in log, log


async def test_two_daemons_on_one_host_keep_their_sessions_apart(tmp_path: Path) -> None:
    """A browser keeps cookies per host, not per port (RFC 6265 §8.5): each daemon's session cookie is
    named after its port, so logging in to a second daemon on the same machine keeps the first session."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        token_daemon(tmp_path / "a") as (_, address, port_a, _),
        token_daemon(tmp_path / "b") as (*_, port_b, _),
    ):
        jar = aiohttp.CookieJar(unsafe=True)  # a browser's jar (one per host, ports ignored), IP hosts too
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            for port in (port_a, port_b):
                async with session.post(f"http://{address}:{port}/auth", json={"token": TOKEN}) as r:
                    assert r.status == 200
                    assert set(r.cookies) == {f"ptpipd_session_{port}"}
            assert len(jar) == 2
            for port in (port_a, port_b):
                async with session.get(f"http://{address}:{port}/files") as r:
                    assert r.status == 200, port


def test_http_require_token_asks_loopback_peers_too(tmp_path: Path) -> None:
    """``http_require_token`` (behind a reverse proxy on this machine every client comes from loopback): a
    loopback peer shows the token too, then any ``Host`` (the proxy's public name) is fine; the Unix socket
    stays open. Without ``auth_token`` the setting is refused (exit 104)."""
    env = {"PTPIPD_AUTH_TOKEN": TOKEN, "PTPIPD_HTTP_REQUIRE_TOKEN": "true"}
    with _loopback_daemon(tmp_path, env) as (daemon, port):
        assert _get("127.0.0.1", port, "/files")[0] == 401
        bearer = {"Authorization": f"Bearer {TOKEN}", "Host": "camera.example.org"}
        assert _get("127.0.0.1", port, "/files", bearer)[0] == 200
        assert _unix_status(daemon, "/files") == "200"
    done = run_daemon_once(
        ["--simulate", "generic", "--socket", str(tmp_path / "s")],
        {**daemon_env(tmp_path, tmp_path / "notify.sock"), "PTPIPD_HTTP_REQUIRE_TOKEN": "yes"},
    )
    assert done.returncode == 104, done.stderr
    assert "http_require_token needs auth_token" in done.stderr


def test_a_loopback_request_showing_the_token_may_name_any_host(tmp_path: Path) -> None:
    """A local proxy passing its public Host, without http_require_token: the token it shows lets the
    request in whatever Host it names; without the token the same Host is refused (DNS rebinding)."""
    with _loopback_daemon(tmp_path, {"PTPIPD_AUTH_TOKEN": TOKEN}) as (_, port):
        public = {"Host": "camera.example.org"}
        status, _, body = _get("127.0.0.1", port, "/files", public | {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body[:300]
        status, _, body = _get("127.0.0.1", port, "/files", public)
        assert status == 403 and b"or send the token" in body, body[:300]


def test_strangers_filling_the_cap_never_lock_local_users_out(tmp_path: Path) -> None:
    """http_max_connections counts the connections from this machine (Unix socket, loopback) and those from
    elsewhere apart: peers off loopback that never show the token hold every slot they may take, and the
    next of them is refused, while the Unix socket and loopback are still served."""
    env = {"PTPIPD_HTTP_MAX_CONNECTIONS": "3"}
    with _token_daemon_off_loopback(tmp_path, "0.0.0.0:0", env) as (daemon, address):
        ready = daemon.notify.wait_for("READY", "1", timeout=0)
        match = re.search(r"http://0\.0\.0\.0:(\d+)", ready["STATUS"])
        assert match, ready
        port = int(match.group(1))
        held = [socket.create_connection((address, port), timeout=30) for _ in range(3)]
        try:
            wait_until(lambda: daemon.call("status")["http"]["connections"] == 3, 10, "three connections")
            assert _get(address, port, "/files")[0] == 503, "a fourth stranger is over the cap"
            assert _unix_status(daemon, "/files") == "200", "the Unix socket is locked out by strangers"
            assert _get("127.0.0.1", port, "/files")[0] == 200, "loopback is locked out by strangers"
        finally:
            for sock in held:
                sock.close()

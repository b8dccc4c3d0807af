"""systemd integration through real sockets: sd_notify datagrams to a NOTIFY_SOCKET we own (READY, STATUS,
WATCHDOG, STOPPING) and socket activation by the real ``systemd-socket-activate``."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ptpipd.config import Settings, SettingsError
from ptpipd.systemd import ActivatedSockets
from tests.daemon.conftest import camera_args, wait_until
from tests.procs import REPO, NotifyListener, daemon_env, read_line_until, running_daemon, running_sim
from tests.rpcclient import RpcConnection

STATUS_REQUEST = json.dumps({"jsonrpc": "2.0", "method": "status", "id": 1})


def raw_status(sock: socket.socket) -> dict[str, object]:
    """Sends ``status`` on a freshly connected socket and returns the response."""
    sock.settimeout(10)
    sock.sendall(STATUS_REQUEST.encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        assert chunk, "the daemon closed the connection"
        data += chunk
    response: dict[str, object] = json.loads(data)
    return response


def test_ready_means_both_listeners_accept(tmp_path: Path) -> None:
    """The harness returns the moment READY=1 arrives; both sockets must already take connections."""
    with running_daemon(tmp_path / "d", "--simulate", "generic") as daemon:
        ready = daemon.notify.wait_for("READY", "1", timeout=0)
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            unix.connect(str(daemon.socket_path))  # ENOENT/ECONNREFUSED if READY came too early
            assert daemon.tcp is not None, ready
            tcp.connect(daemon.tcp)
            assert raw_status(unix)["result"]
            assert raw_status(tcp)["result"]
        finally:
            unix.close()
            tcp.close()
        serving = f"serving {daemon.socket_path}, 127.0.0.1:{daemon.tcp[1]}, {daemon.socket_path.parent}/ptpipd-http.sock"
        assert re.search(rf"{re.escape(serving)}, http://127\.0\.0\.1:\d+$", ready["STATUS"]), ready
        http_port = int(ready["STATUS"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", http_port), timeout=10):
            pass  # the data plane accepts too
        assert sum("READY" in m for m in daemon.notify.messages) == 1


def test_status_follows_the_camera(tmp_path: Path) -> None:
    """STATUS= says connected, then disconnected with the reason when the camera leaves, then connected."""
    with running_sim("generic", "--battery-interval", "0") as sim:
        port = sim.port
        with running_daemon(tmp_path / "d", *camera_args(sim, "generic")) as daemon:
            notify = daemon.notify
            up = notify.wait_until(lambda m: m.get("STATUS", "").startswith("camera connected"), 10)
            assert "ptpipd Simulated PTP/IP camera" in up["STATUS"]
            cursor = len(notify.messages)
            sim.stop()  # the camera is switched off (closes its connections)
            down = notify.wait_until(lambda m: "STATUS" in m, 10, after=cursor)
            assert down["STATUS"].startswith("camera disconnected (127.0.0.1): "), down
            cursor = len(notify.messages)
            with running_sim("generic", "--port", str(port), "--battery-interval", "0"):
                notify.wait_until(
                    lambda m: m.get("STATUS", "").startswith("camera connected"), 30, after=cursor
                )
                states = [m["STATUS"].split(" (")[0] for m in notify.messages[cursor:] if "STATUS" in m]
                assert states[-1] == "camera connected"
                assert set(states) <= {"camera connecting", "camera disconnected", "camera connected"}
                assert daemon.call("get", ["iso"])["property"] == "iso"


WATCHDOG_USEC = 200_000


def test_watchdog_pings(tmp_path: Path) -> None:
    """With WATCHDOG_USEC=200000 a WATCHDOG=1 comes well within every 0.2 s (systemd's deadline)."""
    env = {"WATCHDOG_USEC": str(WATCHDOG_USEC)}
    with running_daemon(tmp_path / "d", "--simulate", "generic", env=env) as daemon:
        daemon.notify.wait_for("WATCHDOG", "1", timeout=5)
        with daemon.connect() as conn:
            for _ in range(8):  # ~0.8 s of pings while the daemon also serves requests
                cursor = len(daemon.notify.messages)
                conn.call("status")
                daemon.notify.wait_for("WATCHDOG", "1", timeout=WATCHDOG_USEC / 1e6, after=cursor)


def test_watchdog_for_another_pid_is_not_ours(tmp_path: Path) -> None:
    """WATCHDOG_PID names the watched process; a daemon that is not it sends no pings."""
    env = {"WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": "1"}
    with running_daemon(tmp_path / "d", "--simulate", "generic", env=env) as daemon:
        daemon.wait_connected()
        rc, _ = daemon.stop()
    assert rc == 0
    daemon.notify.drain()  # closed: everything it sent is in .messages already
    assert not [m for m in daemon.notify.messages if "WATCHDOG" in m]


@pytest.mark.slow
def test_sigterm_stops_in_order_within_five_seconds(tmp_path: Path) -> None:
    """SIGTERM with a subscribed client and a camera request in flight: the request is answered, STOPPING=1
    is sent, the camera session is closed (CloseSession on the simulator), exit code 0, all within 5 s."""
    with running_sim("generic", "-v", "--response-delay", "0.5", "--battery-interval", "0") as sim:
        daemon_ctx = running_daemon(tmp_path / "d", *camera_args(sim, "generic"))
        with daemon_ctx as daemon:
            daemon.wait_connected()
            subscriber = daemon.connect("tcp")
            subscriber.call("subscribe")
            busy = daemon.connect("unix")
            start = len(sim.stderr_text())
            busy.send_line(json.dumps({"jsonrpc": "2.0", "method": "get", "params": ["iso"], "id": 7}))
            wait_until(
                lambda: "0x1015 tid=" in sim.stderr_text()[start:], 10, "the request reaches the camera"
            )
            cursor = len(daemon.notify.messages)
            t0 = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            rc = daemon.proc.wait(10)
            elapsed = time.monotonic() - t0
            answer = busy.read_response(timeout=5)
            with pytest.raises(EOFError):
                busy.read_message(timeout=5)
            with pytest.raises((EOFError, ConnectionResetError)):
                while True:  # the subscriber may get notify.connection first, then the end
                    subscriber.read_message(timeout=5)
            busy.close()
            subscriber.close()
            rc_again, log = daemon.stop()
        assert rc == rc_again == 0, log
        assert elapsed < 5.0, f"stopping took {elapsed:.1f} s"
        assert answer["id"] == 7 and answer["result"]["property"] == "iso", answer
        daemon.notify.drain()
        stopping = daemon.notify.wait_for("STOPPING", "1", timeout=0, after=cursor)
        assert stopping
        assert "0x1003 tid=" in sim.stderr_text()[start:], "no CloseSession reached the camera"
        assert "Traceback" not in log, log
        assert not [m for m in daemon.notify.messages if "WATCHDOG" in m]  # not asked for


def test_sigint_stops_too(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic") as daemon:
        daemon.wait_connected()
        cursor = len(daemon.notify.messages)
        rc, log = daemon.stop(signal.SIGINT)
    assert rc == 0, log
    assert daemon.notify.wait_for("STOPPING", "1", timeout=0, after=cursor)
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log


def test_unix_socket_file_is_removed_on_exit(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic") as daemon:
        assert daemon.socket_path.is_socket()
        rc, log = daemon.stop()
    assert rc == 0, log
    assert not daemon.socket_path.exists(), "the daemon left its socket file behind"


# ------------------------------------------------------------------------------------ socket activation

ACTIVATE = shutil.which("systemd-socket-activate")
LISTENING_ON = re.compile(r"Listening on (?P<address>\S+) as (?P<fd>\d+)\.")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.interop
@pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed")
@pytest.mark.parametrize("names", [True, False], ids=["fdnames", "no-fdnames"])
def test_socket_activation(tmp_path: Path, names: bool) -> None:
    """systemd-socket-activate binds a Unix socket and a TCP port, waits for the first connection, then
    starts the daemon with LISTEN_FDS: the daemon must serve JSON-RPC on exactly those sockets."""
    assert ACTIVATE is not None
    (tmp_path / "run").mkdir()
    notify = NotifyListener(tmp_path / "notify.sock")
    sock_path = tmp_path / "activated.sock"
    port = free_tcp_port()
    env = daemon_env(tmp_path, notify.path)
    passed = [
        f"--setenv={k}={env[k]}" for k in ("NOTIFY_SOCKET", "XDG_RUNTIME_DIR", "STATE_DIRECTORY", "HOME")
    ]
    cmd = [
        ACTIVATE,
        f"--listen={sock_path}",
        f"--listen=127.0.0.1:{port}",
        *(["--fdname=rpc:rpc-tcp"] if names else []),
        *passed,
        "--setenv=PYTHONUNBUFFERED=1",
        sys.executable,
        "-m",
        "ptpipd.daemon",
        "--simulate",
        "generic",
        "--socket",
        str(tmp_path / "not-used.sock"),  # activation wins: nothing is bound here
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        read_line_until(proc, LISTENING_ON, 10)
        read_line_until(proc, LISTENING_ON, 10)
        assert not notify.messages
        # the first connection starts the daemon; it finds this connection waiting on the passed socket
        with RpcConnection(str(sock_path), timeout=20) as first:
            status = first.call("status")
            assert status["vendor"] == "generic"
            ready = notify.wait_for("READY", "1", timeout=10)
            assert str(sock_path) in ready["STATUS"] and f"127.0.0.1:{port}" in ready["STATUS"], ready
            with RpcConnection(("127.0.0.1", port)) as second:
                second.call("subscribe")
                status = second.call("status")
                assert status["clients"] == 2
            assert first.call("rpc.discover")["openrpc"]
        assert not (tmp_path / "not-used.sock").exists()
        assert not (tmp_path / "run" / "ptpipd" / "ptpipd.sock").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        notify.wait_for("STOPPING", "1", timeout=0)
        assert sock_path.is_socket(), "the daemon removed a socket that systemd owns"
    finally:
        output = _reap(proc)
        notify.close()
    assert "Traceback" not in output, output


#: What each kind of activated socket is sent to see whether it is served: (FileDescriptorName, request).
EXPOSED_REQUESTS = {
    "rpc-tcp": b'{"jsonrpc":"2.0","id":1,"method":"opreq","params":{"code":4097}}\n',
    "": b'{"jsonrpc":"2.0","id":1,"method":"opreq","params":{"code":4097}}\n',  # unnamed: JSON-RPC
    "http": b"GET /files HTTP/1.0\r\n\r\n",
    "legacy": b"opreq 0x1001\n",
}


def _activate(tmp_path: Path, listen: list[str], fdnames: str, *extra_env: str) -> subprocess.Popen[str]:
    """systemd-socket-activate holding ``listen`` (named ``fdnames``) for the simulated daemon; returns
    once it announced every socket (it starts the daemon at the first connection)."""
    assert ACTIVATE is not None
    env = daemon_env(tmp_path, tmp_path / "notify.sock")
    passed = [f"--setenv={k}={env[k]}" for k in ("XDG_RUNTIME_DIR", "STATE_DIRECTORY", "HOME")]
    cmd = [
        ACTIVATE,
        *(f"--listen={address}" for address in listen),
        *([f"--fdname={fdnames}"] if fdnames else []),
        *passed,
        *(f"--setenv={item}" for item in extra_env),
        "--setenv=PYTHONUNBUFFERED=1",
        *(sys.executable, "-m", "ptpipd.daemon", "--simulate", "generic"),
        *("--socket", str(tmp_path / "not-used.sock")),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    for _ in listen:
        read_line_until(proc, LISTENING_ON, 10)
    return proc


def _reap(proc: subprocess.Popen[str]) -> str:
    """Kills ``proc`` if it still runs; its whole output."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    assert proc.stdout is not None
    with proc.stdout:
        return proc.stdout.read()


def _answer(address: tuple[str, int], request: bytes) -> bytes:
    """Everything the listener at ``address`` answers to ``request`` before it closes (a reset: nothing)."""
    with socket.create_connection(address, timeout=30) as conn:
        conn.sendall(request)
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return data


@pytest.mark.interop
@pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed")
@pytest.mark.parametrize("fdname", sorted(EXPOSED_REQUESTS), ids=lambda n: n or "unnamed")
def test_an_activated_socket_off_loopback_without_a_token_is_refused(tmp_path: Path, fdname: str) -> None:
    """A drop-in ``ListenStream=0.0.0.0:15741`` is the same exposure as ``rpc_tcp = 0.0.0.0:15741``: without
    auth_token the daemon refuses to start (exit 104) naming the socket, and serves nothing on it (JSON-RPC,
    HTTP, or the text protocol)."""
    port = free_tcp_port()
    proc = _activate(tmp_path, [f"0.0.0.0:{port}"], fdname)
    try:
        answer = _answer(("127.0.0.1", port), EXPOSED_REQUESTS[fdname])  # the first connection starts it
        assert proc.wait(30) == 104
    finally:
        output = _reap(proc)
    assert answer == b"", answer
    name = f' "{fdname}"' if fdname else ""
    said = (
        f"the socket systemd passed as fd 3{name} (0.0.0.0:{port}) is not a loopback address: set auth_token"
    )
    assert said in output, output
    assert "Traceback" not in output, output


def _lan_address() -> str | None:
    """This machine's own non-loopback IPv4 address, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.mark.interop
@pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed")
def test_an_activated_socket_off_loopback_with_a_token_asks_for_it(tmp_path: Path) -> None:
    """With auth_token the same socket serves: a peer off loopback must call ``auth`` first (-32010 until
    then: opreq is not run for it), a loopback peer needs nothing."""
    lan = _lan_address()
    if lan is None:
        pytest.skip("no non-loopback IPv4 address to connect from")
    port = free_tcp_port()
    token = "an activated token"
    proc = _activate(tmp_path, [f"0.0.0.0:{port}"], "rpc-tcp", f"PTPIPD_AUTH_TOKEN={token}")
    try:
        with RpcConnection((lan, port), timeout=30) as remote:
            assert remote.sock.getsockname()[0] == lan  # the daemon sees a peer off loopback
            refused = remote.request("opreq", {"code": 0x1001})
            assert refused["error"]["code"] == -32010, refused
            assert remote.call("auth", {"token": token}) is True
            assert remote.call("status")["vendor"] == "generic"
        with RpcConnection(("127.0.0.1", port), timeout=30) as local:
            assert local.call("status")["vendor"] == "generic"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        output = _reap(proc)
    assert token not in output and "Traceback" not in output, output


def test_activated_network_sockets_are_named_by_descriptor_and_address() -> None:
    """What the rule sees of systemd's sockets: every TCP one (not the Unix ones), its role, the address it
    is bound to, and a name an administrator finds in the unit (descriptor and FileDescriptorName)."""
    with contextlib.ExitStack() as stack:
        unix = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        public, local, legacy = (stack.enter_context(socket.socket()) for _ in range(3))
        public.bind(("0.0.0.0", 0))
        local.bind(("127.0.0.1", 0))
        legacy.bind(("127.0.0.1", 0))
        activated = ActivatedSockets(
            unix=[unix], tcp=[public], http=[local], legacy=[legacy], names={public.fileno(): "rpc-tcp"}
        )
        seen = activated.network()
        assert [(role, address) for role, address, _ in seen] == [
            ("rpc_tcp", public.getsockname()),
            ("http", local.getsockname()),
            ("legacy", legacy.getsockname()),
        ]
        assert seen[0][2] == f'the socket systemd passed as fd {public.fileno()} "rpc-tcp"'
        assert seen[2][2] == f"the socket systemd passed as fd {legacy.fileno()}"
        for role, (host, bound), name in seen:
            Settings(auth_token="t").check_exposure(role, host, bound, name)
            if host == "0.0.0.0":
                said = f"{name} (0.0.0.0:{bound}) is not a loopback address: set auth_token in [daemon]"
                with pytest.raises(SettingsError, match=re.escape(said)):
                    Settings().check_exposure(role, host, bound, name)
            else:
                Settings().check_exposure(role, host, bound, name)  # loopback: no token needed


def _fill(path: Path) -> int:
    """Sends datagrams to ``path`` until its queue takes no more; how many it took."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    probe.setblocking(False)
    try:
        for sent in range(100_000):  # the queue holds net.unix.max_dgram_qlen datagrams (10 by default)
            try:
                probe.sendto(b"STATUS=filler", str(path))
            except BlockingIOError:
                return sent
        raise AssertionError(f"{path} took 100000 datagrams: not a queue that fills")
    finally:
        probe.close()


def test_a_notify_socket_nobody_reads_does_not_stop_the_daemon(tmp_path: Path) -> None:
    """systemd's queue full (a manager that falls behind): READY=1 and the watchdog pings cannot go, and
    the daemon serves all the same; once the queue drains, its messages arrive again."""
    workdir = tmp_path / "d"
    (workdir / "run").mkdir(parents=True)
    notify = NotifyListener(workdir / "notify.sock")
    assert _fill(notify.path) > 0
    env = daemon_env(workdir, notify.path, {"WATCHDOG_USEC": str(WATCHDOG_USEC)})
    sock = workdir / "ptpipd.sock"
    cmd = [sys.executable, "-m", "ptpipd.daemon", "--socket", str(sock), "--rpc-tcp", "off", "--http", "off"]
    proc = subprocess.Popen(
        [*cmd, "--simulate", "generic"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        read_line_until(proc, re.compile(rf"listening on {re.escape(str(sock))}"), 30)
        with RpcConnection(str(sock), timeout=10) as conn:
            assert conn.call("status")["api_version"]  # READY=1 found the queue full: a blocking send hangs
            assert conn.call("files")
        notify.drain()  # the fillers (and what fitted after them) out of the queue
        cursor = len(notify.messages)
        notify.wait_for("WATCHDOG", "1", timeout=5, after=cursor)  # the daemon still talks to systemd
        assert [m for m in notify.messages if m.get("STATUS") == "filler"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None
        proc.stdout.close()
        notify.close()

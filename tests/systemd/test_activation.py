"""The units as systemd would run them: socket activation by the real ``systemd-socket-activate`` of the
sockets the .socket units list, the daemon started with the service's own ExecStart and the environment
systemd gives it, Type=notify observed on a real NOTIFY_SOCKET, and SIGTERM (systemd's stop).

What cannot be done without systemd as PID 1: the sandbox, the User=, SocketMode/SocketGroup. Those are
checked by systemd-analyze (test_units.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.procs import NotifyListener, read_line_until
from tests.rpcclient import RpcConnection
from tests.systemd.units import ACTIVATE, LISTENING_ON, REPO, UNITS, Emulation, Unit, emulate

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is not installed"),
]


@contextmanager
def activated(emu: Emulation, notify: NotifyListener, log: Path) -> Iterator[subprocess.Popen[str]]:
    """systemd-socket-activate holding the unit's sockets; the daemon starts on the first connection.

    Its output (systemd-socket-activate's "Listening on" lines, then the daemon's log, on stderr) is read
    until the sockets are announced, then drained into ``log`` by a thread so the pipe never fills."""
    emu.env["NOTIFY_SOCKET"] = str(notify.path)
    proc = subprocess.Popen(
        emu.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/"
    )
    assert proc.stdout is not None
    drain: threading.Thread | None = None
    try:
        for _ in emu.listen:
            read_line_until(proc, LISTENING_ON, 10)
        stream = proc.stdout
        drain = threading.Thread(target=lambda: log.write_text(stream.read()), daemon=True)
        drain.start()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if drain is not None:
            drain.join(10)
        proc.stdout.close()


def test_ptpipd_socket_and_service(tmp_path: Path) -> None:
    """ptpipd.socket's Unix and TCP sockets both serve JSON-RPC from the one daemon of ptpipd.service,
    configured by /etc/ptpipd/ptpipd.conf (the installed template, set to the simulated camera)."""
    service, sock = Unit.load(UNITS / "ptpipd.service"), Unit.load(UNITS / "ptpipd.socket")
    emu = emulate(service, [sock], tmp_path)
    conf = tmp_path / "etc/ptpipd/ptpipd.conf"
    assert emu.argv[1:] == ["-f", str(conf)]
    template = (REPO / "contrib/ptpipd.conf").read_text()
    assert template.count("\n[daemon]\n") == 1
    conf.write_text(template.replace("\n[daemon]\n", "\n[daemon]\nsimulate = generic\n"))
    notify = NotifyListener(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    try:
        with activated(emu, notify, log) as proc:
            assert not notify.messages, "the daemon must not start before the first connection"
            (unix,) = emu.unix_sockets
            (tcp,) = emu.tcp
            with RpcConnection(str(unix), timeout=20) as first:
                status = first.call("status")
                ready = notify.wait_for("READY", "1", timeout=10)
                assert str(unix) in ready["STATUS"] and f"{tcp[0]}:{tcp[1]}" in ready["STATUS"], ready
                notify.wait_for("WATCHDOG", "1", timeout=10)  # the first ping comes right away
                with RpcConnection(tcp) as second:
                    assert second.call("status")["clients"] == 2
                    shot = second.call("capture")
                assert status["vendor"] == "generic"
                # captures land in the StateDirectory systemd hands over
                assert Path(shot["path"]).parent == emu.dirs["STATE_DIRECTORY"] / "captures"
            # nothing bound by the daemon itself: only the activated sockets exist
            assert sorted(p.name for p in (tmp_path / "run/ptpipd").iterdir()) == ["ptpipd.sock"]
            cursor = len(notify.messages)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            notify.wait_for("STOPPING", "1", timeout=0, after=cursor)
            assert unix.is_socket(), "the socket belongs to systemd and must stay"
    finally:
        notify.close()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_instance_socket_and_service(tmp_path: Path) -> None:
    """ptpipd@cam1: /etc/ptpipd/cam1.conf, the socket /run/ptpipd/cam1.sock, state in /var/lib/ptpipd/cam1."""
    service, sock = Unit.load(UNITS / "ptpipd@.service"), Unit.load(UNITS / "ptpipd@.socket")
    emu = emulate(service, [sock], tmp_path, instance="cam1")
    assert emu.listen == [str(tmp_path / "run/ptpipd/cam1.sock")]
    assert emu.dirs["STATE_DIRECTORY"] == tmp_path / "var/lib/ptpipd/cam1"
    conf = tmp_path / "etc/ptpipd/cam1.conf"
    assert emu.argv[1:3] == ["-f", str(conf)]
    conf.write_text('[initiator]\nfriendly_name = "cam1"\n\n[daemon]\nsimulate = generic\n')
    notify = NotifyListener(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    try:
        with activated(emu, notify, log) as proc:
            with RpcConnection(emu.listen[0], timeout=20) as conn:
                assert conn.call("status")["vendor"] == "generic"
                notify.wait_for("READY", "1", timeout=10)
            # the GUID the camera pairs with is kept per instance
            assert (emu.dirs["STATE_DIRECTORY"] / "guid").is_file()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            notify.wait_for("STOPPING", "1", timeout=0)
    finally:
        notify.close()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_legacy_socket(tmp_path: Path) -> None:
    """With ptpipd-legacy.socket enabled, systemd passes its port too (fd named "legacy"): the seed's text
    protocol is served there, one command per connection, next to JSON-RPC."""
    service = Unit.load(UNITS / "ptpipd.service")
    sockets = [Unit.load(UNITS / "ptpipd.socket"), Unit.load(UNITS / "ptpipd-legacy.socket")]
    emu = emulate(service, sockets, tmp_path)
    assert emu.fdnames == ["rpc", "rpc", "legacy"]
    (tmp_path / "etc/ptpipd/ptpipd.conf").write_text("[daemon]\nsimulate = generic\n")
    notify = NotifyListener(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    legacy = emu.tcp[1]
    try:
        with activated(emu, notify, log) as proc:
            with socket.create_connection(legacy, timeout=20) as conn:
                conn.sendall(b"get iso\n")
                answer = conn.makefile("rb").read().decode()
            assert answer == " (0x190)\n", answer  # the seed tool's line: no ISO label on standard PTP
            with RpcConnection(str(emu.unix_sockets[0]), timeout=20) as rpc:
                assert rpc.call("get", {"property": "iso"})["label"] == "400"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    finally:
        notify.close()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_captures_follow_the_units_umask(tmp_path: Path) -> None:
    """UMask=0027: a client in the ptpipd group can open the picture whose path `capture` returns."""
    service, sock = Unit.load(UNITS / "ptpipd.service"), Unit.load(UNITS / "ptpipd.socket")
    emu = emulate(service, [sock], tmp_path)
    assert emu.umask == "0027"
    (tmp_path / "etc/ptpipd/ptpipd.conf").write_text("[daemon]\nsimulate = generic\n")
    notify = NotifyListener(tmp_path / "notify.sock")
    try:
        with activated(emu, notify, tmp_path / "daemon.log") as proc:
            with RpcConnection(str(emu.unix_sockets[0]), timeout=20) as conn:
                conn.call("status")
                notify.wait_for("READY", "1", timeout=10)
                shot = Path(conn.call("capture")["path"])
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
    finally:
        notify.close()
    assert shot.stat().st_mode & 0o777 == 0o640


def test_http_socket(tmp_path: Path) -> None:
    """With ptpipd-http.socket (fds named "http"), the data plane is served on systemd's Unix socket and TCP
    port, JSON-RPC on ptpipd.socket's, by the one daemon; curl is the HTTP client."""
    service = Unit.load(UNITS / "ptpipd.service")
    sockets = [Unit.load(UNITS / "ptpipd.socket"), Unit.load(UNITS / "ptpipd-http.socket")]
    emu = emulate(service, sockets, tmp_path)
    assert emu.fdnames == ["rpc", "rpc", "http", "http"]
    (tmp_path / "etc/ptpipd/ptpipd.conf").write_text("[daemon]\nsimulate = generic\n")
    notify = NotifyListener(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    host, port = emu.tcp[1]
    try:
        with activated(emu, notify, log) as proc:
            fetched = subprocess.run(
                ["curl", "-sS", "-f", "--retry", "0", f"http://{host}:{port}/files"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert fetched.returncode == 0, fetched.stderr
            assert "IMG_0001.JPG" in fetched.stdout
            via_unix = subprocess.run(
                ["curl", "-sS", "-f", "--unix-socket", str(emu.unix_sockets[1]), "http://ptpipd/files/3"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert via_unix.returncode == 0 and via_unix.stdout.startswith(b"\xff\xd8"), via_unix.stderr
            with RpcConnection(str(emu.unix_sockets[0]), timeout=20) as rpc:
                status = rpc.call("status")
            assert sorted(status["http"]["addresses"]) == sorted(
                [str(emu.unix_sockets[1]), f"http://{host}:{port}"]
            )
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        assert emu.unix_sockets[1].is_socket(), "the daemon removed a socket that systemd owns"
    finally:
        notify.close()
    assert "Traceback" not in log.read_text(), log.read_text()

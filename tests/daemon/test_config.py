"""Settings and the daemon's surroundings: the seed's INI files, exit codes 102/104, ``PTPIPD_*``,
precedence, the auth token rule, the Unix socket file (mode, stale, live), journald-style logs."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import json
import logging
import os
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ptpipd.config import ConfigFileError, Settings, SettingsError, load
from ptpipd.daemon import build_parser, flags_from_args
from ptpipd.net import is_loopback_peer as is_loopback
from ptpipd.net import peer_host
from ptpipd.rpc import make_dispatcher
from ptpipd.service import CameraService
from ptpipd.transports.handler import ClientHandler
from ptpipd.transports.listeners import bind_unix
from ptpipd.vendors import VENDORS
from ptpipd.vendors.base import CameraConfig
from tests.daemon.conftest import camera_args, run_daemon_once
from tests.procs import DaemonProcess, SimProcess, daemon_env, running_daemon, running_sim
from tests.rpcclient import RpcConnection

DATA = Path(__file__).parent / "data"
TOKEN = "correct horse battery staple"


# ------------------------------------------------------------------------------------------- INI files


def test_seed_generic_example_loads_unchanged() -> None:
    s = load({}, DATA / "seed-generic.ini", env={}).settings
    assert s.friendly_name == "Golang PTP/IP generic client"
    assert s.guid == "cca455de-79ac-4b12-9731-91e433a899cf"
    assert s.host == "192.168.0.1"
    assert s.port == 15740
    assert s.command_port() == 15740
    assert s.vendor == "generic"
    assert (s.legacy_enabled, s.legacy_address, s.legacy_port) == (True, "127.0.0.1", 15740)


def test_seed_fuji_example_loads_unchanged() -> None:
    s = load({}, DATA / "seed-fuji.ini", env={}).settings
    assert s.friendly_name == "Golang PTP/IP Fuji client"
    assert s.guid == "9fe5160c-4951-404d-9505-10baaf725606"
    assert s.vendor == "fuji"
    assert (s.cmd_data_port, s.event_port, s.stream_port) == (55740, 55741, 55742)
    assert s.command_port() == 55740
    assert s.host == "192.168.0.1"  # not in the file: the default
    assert (s.legacy_enabled, s.legacy_address, s.legacy_port) == (True, "127.0.0.1", 15740)


def test_daemon_section_is_read(tmp_path: Path) -> None:
    ini = tmp_path / "d.ini"
    ini.write_text(
        "[daemon]\nsocket = /tmp/x.sock\nsocket_mode = 0600\nrpc_tcp = off\nlog_level = debug\n"
        'timeout = 2.5\nauth_token = "t0k"\n'
    )
    s = load({}, ini, env={}).settings
    assert s.socket == Path("/tmp/x.sock")
    assert s.socket_mode == 0o600
    assert s.rpc_tcp_address() is None
    assert (s.log_level, s.timeout, s.auth_token) == ("debug", 2.5, "t0k")


BROKEN_INI = {
    "no-section": "host = 192.168.0.1\n",
    "garbage": "[responder\nhost = \n\x00\n",
    "unknown-key": "[responder]\ncolour = red\n",
    "unknown-section": "[camera]\nhost = 192.168.0.1\n",
    "duplicate": "[responder]\nhost = a\nhost = b\n",
    "not-utf8": b"[initiator]\nfriendly_name = \xff\xfe\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN_INI))
def test_broken_ini_exits_102(tmp_path: Path, name: str) -> None:
    ini = tmp_path / f"{name}.ini"
    content = BROKEN_INI[name]
    if isinstance(content, bytes):
        ini.write_bytes(content)
    else:
        ini.write_text(content)
    with pytest.raises(ConfigFileError):
        load({}, ini, env={})
    done = run_daemon_once(["-f", str(ini)], daemon_env(tmp_path, tmp_path / "no-notify"))
    assert done.returncode == 102, done.stderr
    assert done.stderr.startswith("ptpipd: ") and str(ini) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_missing_config_file_exits_102(tmp_path: Path) -> None:
    done = run_daemon_once(["-f", str(tmp_path / "nope.ini")], daemon_env(tmp_path, tmp_path / "n"))
    assert done.returncode == 102, done.stderr
    assert "nope.ini" in done.stderr


INVALID_SETTINGS: dict[str, tuple[list[str], str, dict[str, str]]] = {
    "public-tcp-flag": (["--rpc-tcp", "0.0.0.0:0"], "", {}),
    "public-tcp-ini": ([], "[daemon]\nrpc_tcp = 0.0.0.0:15741\n", {}),
    "public-tcp-env": ([], "", {"PTPIPD_RPC_TCP": "192.0.2.2:15741"}),
    "public-legacy": ([], '[server]\nenabled = true\naddress = "0.0.0.0"\n', {}),
    "bad-env-port": ([], "", {"PTPIPD_PORT": "fifteen"}),
    "bad-tcp-port": (["--rpc-tcp", "127.0.0.1:99999"], "", {}),
}


@pytest.mark.parametrize("name", sorted(INVALID_SETTINGS))
def test_invalid_settings_exit_104(tmp_path: Path, name: str) -> None:
    flags, ini_text, env = INVALID_SETTINGS[name]
    args = [*flags]
    if ini_text:
        ini = tmp_path / "c.ini"
        ini.write_text(ini_text)
        args += ["-f", str(ini)]
    done = run_daemon_once(args, daemon_env(tmp_path, tmp_path / "no-notify", env))
    assert done.returncode == 104, (done.returncode, done.stderr)
    assert done.stderr.startswith("ptpipd: "), done.stderr
    assert "Traceback" not in done.stderr


#: Issue 15 item 15: a value in the file that is not valid is an invalid config file (exit 102, as the README
#: says), and the message names the file, the section, the key and what is wrong with the value.
INVALID_IN_FILE: dict[str, tuple[str, str]] = {
    "port-abc": ("[responder]\nport = abc\n", "[responder] port: not a number: 'abc'"),
    "port-70000": ("[responder]\nport = 70000\n", "[responder] port: out of range: '70000' (at most 65535)"),
    "bad-guid": ("[initiator]\nguid = not-a-uuid\n", "[initiator] guid: not a UUID such as"),
    "bad-vendor": (
        "[responder]\nvendor = polaroid\n",
        "[responder] vendor: unknown vendor 'polaroid'; known:",
    ),
    "bad-simulate": ("[daemon]\nsimulate = polaroid\n", "[daemon] simulate: unknown vendor 'polaroid'"),
    "bad-timeout": ("[daemon]\ntimeout = soon\n", "[daemon] timeout: not a number: 'soon'"),
    "bad-level": ("[daemon]\nlog_level = loud\n", "[daemon] log_level: should be 'debug', 'info',"),
    "bad-mode": (
        "[daemon]\nsocket_mode = rw\n",
        "[daemon] socket_mode: not an octal mode such as 0660: 'rw'",
    ),
    "bad-rpc-tcp": ("[daemon]\nrpc_tcp = 127.0.0.1:http\n", "[daemon] rpc_tcp: bad port in '127.0.0.1:http'"),
    # a socket permission that cannot be applied is refused, not skipped when the socket is bound
    "no-such-group": (
        "[daemon]\nsocket_group = no-such-group-ptpipd\n",
        "[daemon] socket_group: no group named 'no-such-group-ptpipd' on this machine",
    ),
    "mode-too-big": (
        "[daemon]\nsocket_mode = 7777777\n",
        "[daemon] socket_mode: not a mode from 0000 to 0777 (permission bits only): '7777777'",
    ),
    "mode-setuid": (
        "[daemon]\nsocket_mode = 4660\n",
        "[daemon] socket_mode: not a mode from 0000 to 0777 (permission bits only): '4660'",
    ),
    "legacy-port": ("[server]\nport = 15740x\n", "[server] port: not a number: '15740x'"),
}


@pytest.mark.parametrize("name", sorted(INVALID_IN_FILE))
def test_an_invalid_value_in_the_file_exits_102_naming_file_section_and_key(
    tmp_path: Path, name: str
) -> None:
    text, said = INVALID_IN_FILE[name]
    ini = tmp_path / "c.ini"
    ini.write_text(text)
    with pytest.raises(ConfigFileError, match=re.escape(f"{ini}: {said}")):
        load({}, ini, env={})
    done = run_daemon_once(["-f", str(ini)], daemon_env(tmp_path, tmp_path / "no-notify"))
    assert done.returncode == 102, (done.returncode, done.stderr)
    assert done.stderr.startswith(f"ptpipd: {ini}: {said}"), done.stderr
    assert "Traceback" not in done.stderr


def test_an_invalid_flag_or_variable_is_named() -> None:
    with pytest.raises(SettingsError, match=re.escape("PTPIPD_PORT: not a number: 'fifteen'")):
        load({}, None, env={"PTPIPD_PORT": "fifteen"})
    with pytest.raises(SettingsError, match=re.escape("--rpc-tcp: port out of range in '127.0.0.1:99999'")):
        load({"rpc_tcp": "127.0.0.1:99999"}, None, env={})
    with pytest.raises(
        SettingsError, match=re.escape("PTPIPD_SOCKET_MODE: not an octal mode such as 0660: '9'")
    ):
        load({}, None, env={"PTPIPD_SOCKET_MODE": "9"})
    with pytest.raises(SettingsError, match=re.escape("PTPIPD_SOCKET_MODE: not a mode from 0000 to 0777")):
        load({}, None, env={"PTPIPD_SOCKET_MODE": "1777"})
    with pytest.raises(SettingsError, match=re.escape("PTPIPD_SOCKET_GROUP: no group named 'nobody-here'")):
        load({}, None, env={"PTPIPD_SOCKET_GROUP": "nobody-here"})
    # a switch is true or false in any of the usual spellings; anything else is an error, not false
    assert load({}, None, env={"PTPIPD_LEGACY_KEEP_OPEN": "On"}).settings.legacy_keep_open is True
    assert load({}, None, env={"PTPIPD_INGEST_DELETE_AFTER": "no"}).settings.ingest_delete_after is False
    # spaces around the word are ignored, and an empty variable means off (a common systemd idiom)
    assert load({}, None, env={"PTPIPD_LEGACY_KEEP_OPEN": " yes "}).settings.legacy_keep_open is True
    assert load({}, None, env={"PTPIPD_LEGACY_ENABLED": ""}).settings.legacy_enabled is False
    with pytest.raises(SettingsError, match=r"PTPIPD_LEGACY_ENABLED: .*boolean.*: 'maybe'"):
        load({}, None, env={"PTPIPD_LEGACY_ENABLED": "maybe"})


def test_vendors_come_from_the_one_list() -> None:
    """Flags and settings accept exactly ptpipd.vendors.VENDORS; the error names them."""
    for name in VENDORS:
        assert load({"vendor": name, "simulate": name}, None, env={}).settings.vendor == name
    with pytest.raises(SettingsError, match=f"unknown vendor 'polaroid'; known: {', '.join(VENDORS)}"):
        load({"vendor": "polaroid"}, None, env={})
    actions = {a.dest: a for a in build_parser()._actions}
    assert tuple(actions["vendor"].choices) == tuple(actions["simulate"].choices) == VENDORS  # type: ignore[arg-type]


def test_socket_group_is_a_group_of_this_machine() -> None:
    """A group name that exists, or a numeric GID (systemd's SocketGroup= takes both); empty means none."""
    own = grp.getgrgid(os.getegid()).gr_name
    assert load({}, None, env={"PTPIPD_SOCKET_GROUP": own}).settings.socket_group == own
    assert load({}, None, env={"PTPIPD_SOCKET_GROUP": " 4242 "}).settings.socket_group == "4242"
    assert load({}, None, env={"PTPIPD_SOCKET_GROUP": ""}).settings.socket_group is None
    assert load({}, None, env={"PTPIPD_SOCKET_MODE": "0777"}).settings.socket_mode == 0o777
    assert load({}, None, env={"PTPIPD_SOCKET_MODE": "0"}).settings.socket_mode == 0


@pytest.mark.parametrize(
    ("argv", "env", "field", "expected"),
    [
        (["--legacy", "41790"], {}, "legacy", ("127.0.0.1", 41790)),
        (["--rpc-tcp", "41791"], {}, "rpc_tcp", ("127.0.0.1", 41791)),
        ([], {"PTPIPD_HTTP": " 41792 "}, "http", ("127.0.0.1", 41792)),
        (["--legacy", "192.0.2.7"], {"PTPIPD_AUTH_TOKEN": TOKEN}, "legacy", ("192.0.2.7", 15740)),
    ],
)
def test_a_bare_number_is_a_port(argv: list[str], env: dict[str, str], field: str, expected: object) -> None:
    """``--legacy 41790`` listens on 127.0.0.1:41790 (as ``:41790``), not on a host named 41790; a bare
    address still takes the default port."""
    s = load(flags_from_args(build_parser().parse_args(argv)), None, env=env).settings
    address = {
        "legacy": (s.legacy_address, s.legacy_port) if s.legacy_enabled else None,
        "rpc_tcp": s.rpc_tcp_address(),
        "http": s.http_address(),
    }[field]
    assert address == expected


def test_a_bare_port_reaches_the_daemon(tmp_path: Path) -> None:
    """Bare ports on the command line (0: any free one), served on loopback."""
    with running_daemon(tmp_path / "d", "--simulate", "generic", "--rpc-tcp", "0", "--legacy", "0") as daemon:
        status = daemon.notify.wait_for("READY", "1", timeout=0)["STATUS"]
        assert len(re.findall(r"127\.0\.0\.1:\d+", status)) == 3, status  # JSON-RPC, HTTP, legacy
        with socket.create_connection(daemon.tcp or ("", 0), timeout=10) as conn:
            conn.sendall(b'{"jsonrpc":"2.0","id":1,"method":"status"}\n')
            assert json.loads(conn.makefile().readline())["result"]["vendor"] == "generic"


def test_public_tcp_with_a_token_is_allowed() -> None:
    s = load({"rpc_tcp": "0.0.0.0:15741"}, None, env={"PTPIPD_AUTH_TOKEN": TOKEN}).settings
    assert s.rpc_tcp_address() == ("0.0.0.0", 15741)
    with pytest.raises(SettingsError):
        load({"rpc_tcp": "0.0.0.0:15741"}, None, env={})
    with pytest.raises(SettingsError, match=re.escape("rpc_tcp [::]:15741 is not a loopback address")):
        load({"rpc_tcp": "[::]:15741"}, None, env={})
    said = (
        "legacy 0.0.0.0:15740 is not a loopback address: set auth_token in [daemon] (text clients then send"
    )
    with pytest.raises(SettingsError, match=re.escape(said)):
        load({"legacy_enabled": True, "legacy_address": "0.0.0.0"}, None, env={})


# ------------------------------------------------------------------------------- env and precedence


def test_env_vars_apply() -> None:
    env = {
        "PTPIPD_HOST": "10.1.2.3",
        "PTPIPD_PORT": "1234",
        "PTPIPD_VENDOR": "FUJI",
        "PTPIPD_FRIENDLY_NAME": "from env",
        "PTPIPD_LEGACY_ENABLED": "yes",
        "PTPIPD_SOCKET_MODE": "600",
        "PTPIPD_RPC_TCP": "off",
        "PTPIPD_TIMEOUT": "2.5",
        "UNRELATED": "x",
    }
    s = load({}, None, env=env).settings
    assert (s.host, s.port, s.vendor, s.friendly_name) == ("10.1.2.3", 1234, "fuji", "from env")
    assert s.legacy_enabled is True
    assert s.socket_mode == 0o600
    assert s.rpc_tcp_address() is None
    assert s.timeout == 2.5


def test_precedence_env_then_flags_then_file(tmp_path: Path) -> None:
    ini = tmp_path / "p.ini"
    ini.write_text("[responder]\nport = 3333\n")
    env = {"PTPIPD_HOST": "10.0.0.1", "PTPIPD_PORT": "1111", "PTPIPD_FRIENDLY_NAME": "env"}
    flags: dict[str, Any] = {"port": 2222, "friendly_name": "flag", "host": None}
    s = load(flags, ini, env=env).settings
    assert s.host == "10.0.0.1"  # only the environment sets it
    assert s.friendly_name == "flag"  # flag over environment
    assert s.port == 3333  # config file over flag (the seed's rule)
    assert load(flags, None, env=env).settings.port == 2222


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    with running_sim("generic", "--battery-interval", "0") as s:
        yield s


def test_env_vars_reach_the_daemon(tmp_path: Path, sim: SimProcess) -> None:
    env = {"PTPIPD_HOST": sim.host, "PTPIPD_PORT": str(sim.port), "PTPIPD_FRIENDLY_NAME": "env-name"}
    with running_daemon(tmp_path / "d", env=env) as daemon:
        status = daemon.wait_connected()
        assert (status["host"], status["ports"]) == (sim.host, [sim.port])
    assert "initiator 'env-name' connected" in sim.stderr_text()


def test_config_file_beats_flags_in_the_daemon(tmp_path: Path, sim: SimProcess) -> None:
    ini = tmp_path / "c.ini"
    ini.write_text(
        f'[responder]\nhost = "{sim.host}"\nport = {sim.port}\n[initiator]\nfriendly_name = from-file\n'
    )
    wrong = [
        "--host",
        "192.0.2.99",
        "--port",
        str(sim.port + 1 if sim.port < 65535 else 1),
        "--friendly-name",
        "flag",
    ]
    with running_daemon(tmp_path / "d", *wrong, "--vendor", "generic", "-f", str(ini)) as daemon:
        status = daemon.wait_connected()
        assert (status["host"], status["ports"]) == (sim.host, [sim.port])
    assert "initiator 'from-file' connected" in sim.stderr_text()
    # Issue 15 item 3: the daemon says once, at start-up, which flags the file overrode, with both values
    # (--vendor generic agrees with the file's default and is not a flag the file sets: not named).
    log = daemon.stderr_text()
    lines = [line for line in log.splitlines() if "overrides these flags" in line]
    assert len(lines) == 1, log
    assert f"--host 192.0.2.99 by {ini}: [responder] host = {sim.host}" in lines[0]
    assert f"--port {wrong[3]} by {ini}: [responder] port = {sim.port}" in lines[0]
    assert f"--friendly-name flag by {ini}: [initiator] friendly_name = from-file" in lines[0]
    assert "--vendor" not in lines[0]


def test_no_override_line_when_the_file_agrees_with_the_flags(tmp_path: Path, sim: SimProcess) -> None:
    ini = tmp_path / "c.ini"
    ini.write_text(f"[responder]\nhost = {sim.host}\nport = {sim.port}\n")
    with running_daemon(tmp_path / "d", "--port", str(sim.port), "-f", str(ini)) as daemon:
        daemon.wait_connected()
    assert "overrides" not in daemon.stderr_text()


# ------------------------------------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        (("127.0.0.1", 40000), True),
        (("127.8.9.10", 40000), True),
        (("::1", 40000, 0, 0), True),
        (("::ffff:127.0.0.1", 40000, 0, 0), True),  # an IPv4 client of a dual-stack listener
        ("", True),  # a Unix socket peer
        (None, True),
        (("192.0.2.7", 40000), False),
        (("10.0.0.5", 40000), False),
        (("fe80::1%eth0", 40000, 0, 2), False),
        (("2001:db8::1", 40000, 0, 0), False),
        (("::ffff:192.0.2.7", 40000, 0, 0), False),
    ],
)
def test_is_loopback(peer: object, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


def test_peer_host_is_the_address_any_port_counts_against() -> None:
    # the wrong-token lockout is kept per address: two connections from one host share it whatever their ports
    assert peer_host(("192.0.2.5", 40001)) == peer_host(("192.0.2.5", 40002)) == "192.0.2.5"
    assert peer_host(("2001:db8::1", 40000, 0, 0)) == "2001:db8::1"
    assert peer_host("") is None and peer_host(None) is None  # a Unix socket peer


class FakeWriter:
    """Just enough of a StreamWriter for ClientHandler: records what is written."""

    def __init__(self, peer: object) -> None:
        self.peer = peer
        self.out = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer}.get(name, default)

    def write(self, data: bytes) -> None:
        self.out += data

    async def drain(self) -> None:
        return None

    def can_write_eof(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


async def converse(peer: object, lines: list[dict[str, Any]], token: str | None) -> list[dict[str, Any]]:
    """Runs the daemon's real client handler and dispatcher on ``lines`` from ``peer``; returns the answers."""
    service = CameraService(CameraConfig(host="127.0.0.1", port=1))  # never run: status works without it
    dispatcher = make_dispatcher(service, Path("/nonexistent"), token)
    handler = ClientHandler(dispatcher, service, Settings(auth_token=token))
    reader = asyncio.StreamReader()
    for i, line in enumerate(lines):
        reader.feed_data(json.dumps({"jsonrpc": "2.0", "id": i, **line}).encode() + b"\n")
    reader.feed_eof()
    writer = FakeWriter(peer)
    await asyncio.wait_for(handler(reader, writer), 10)  # type: ignore[arg-type]
    assert writer.closed
    return [json.loads(x) for x in writer.out.decode().splitlines()]


STATUS = {"method": "status"}


async def test_non_loopback_peer_must_authenticate() -> None:
    answers = await converse(
        ("192.0.2.7", 40000),
        [
            STATUS,
            {"method": "get", "params": ["iso"]},
            {"method": "rpc.discover"},
            {"method": "auth", "params": {"token": "wrong"}},
            STATUS,
            {"method": "auth", "params": [TOKEN]},
            STATUS,
        ],
        TOKEN,
    )
    codes = [a.get("error", {}).get("code") for a in answers]
    assert codes == [-32010, -32010, None, -32010, -32010, None, None], answers
    assert answers[5]["result"] is True
    assert answers[6]["result"]["state"] == "disconnected"


@pytest.mark.parametrize("peer", [("127.0.0.1", 40000), ("::1", 40000, 0, 0), ""])
async def test_loopback_and_unix_peers_need_no_token(peer: object) -> None:
    (answer,) = await converse(peer, [STATUS], TOKEN)
    assert answer["result"]["state"] == "disconnected"


async def test_without_a_token_nobody_is_asked() -> None:
    (answer,) = await converse(("192.0.2.7", 40000), [STATUS], None)
    assert "result" in answer


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this host that is not loopback (and can be bound), or None."""
    candidates: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        candidates.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += [ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    for address in candidates:
        if address.startswith("127.") or address == "0.0.0.0":
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((address, 0))
        except OSError:
            continue
        return str(address)
    return None


def test_token_required_over_real_non_loopback_tcp(tmp_path: Path) -> None:
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to put the TCP listener on")
    ini = tmp_path / "auth.ini"
    ini.write_text(f'[daemon]\nrpc_tcp = {address}:0\nauth_token = "{TOKEN}"\n')
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(ini)) as daemon:
        ready = daemon.notify.wait_for("READY", "1", timeout=0)
        match = re.search(rf"{re.escape(address)}:(\d+)", ready["STATUS"])
        assert match, ready
        endpoint = (address, int(match.group(1)))
        with RpcConnection(endpoint) as conn:
            assert conn.sock.getsockname()[0] == address  # the daemon sees a non-loopback peer
            before = conn.request("status")
            assert before["error"]["code"] == -32010, before
            assert conn.request("get", ["iso"])["error"]["code"] == -32010
            assert conn.call("rpc.discover")["openrpc"]  # discovery needs no token
            assert conn.request("auth", {"token": "wrong"})["error"]["code"] == -32010
            assert conn.call("auth", {"token": TOKEN}) is True
            assert conn.call("status")["vendor"] == "generic"
        with RpcConnection(endpoint) as again:  # authentication is per connection
            assert again.request("status")["error"]["code"] == -32010
        assert daemon.call("status", via="unix")["vendor"] == "generic"  # the Unix socket: no token
        rc, log = daemon.stop()
    assert rc == 0
    assert TOKEN not in log, "the token was logged"


# ------------------------------------------------------------------------------------- the socket file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_socket_mode_is_0660(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic") as daemon:
        assert daemon.socket_path.is_socket()
        assert mode_of(daemon.socket_path) == 0o660


def test_socket_mode_from_config(tmp_path: Path) -> None:
    ini = tmp_path / "m.ini"
    ini.write_text("[daemon]\nsocket_mode = 0600\n")
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(ini)) as daemon:
        assert mode_of(daemon.socket_path) == 0o600


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    workdir = tmp_path / "d"
    workdir.mkdir()
    path = workdir / "ptpipd.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))  # bound, never listening, then gone: what a killed daemon leaves
    leftover.close()
    assert path.is_socket()
    with running_daemon(workdir, "--simulate", "generic") as daemon:
        assert daemon.call("status")["vendor"] == "generic"
        assert "stale socket" in daemon.stderr_text()


def test_live_socket_makes_a_second_daemon_exit(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "first", "--simulate", "generic") as first:
        inode = first.socket_path.stat().st_ino
        done = run_daemon_once(
            ["--socket", str(first.socket_path), "--rpc-tcp", "127.0.0.1:0", "--simulate", "generic"],
            daemon_env(tmp_path / "second", tmp_path / "no-notify"),
        )
        assert done.returncode != 0
        assert f"another ptpipd already listens on {first.socket_path}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        # the first one's socket is untouched and it still serves
        assert first.socket_path.stat().st_ino == inode
        assert first.call("status")["vendor"] == "generic"


def test_a_file_in_the_way_is_not_deleted(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("do not delete")
    done = run_daemon_once(
        ["--socket", str(precious), "--rpc-tcp", "off", "--simulate", "generic"],
        daemon_env(tmp_path, tmp_path / "no-notify"),
    )
    assert done.returncode != 0
    assert "not a socket" in done.stderr, done.stderr
    assert precious.read_text() == "do not delete"


@pytest.mark.parametrize("which", ["--http", "--legacy", "--rpc-tcp"])
def test_a_listener_that_cannot_bind_names_its_address_and_leaves_no_socket_file(
    tmp_path: Path, which: str
) -> None:
    """The Unix sockets are bound first; when a TCP listener after them cannot be bound the daemon exits 1
    naming that address, and removes the socket files it created, as when it stops."""
    with contextlib.ExitStack() as stack:
        busy = stack.enter_context(socket.socket())
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        camera = stack.enter_context(socket.socket())
        camera.bind(("127.0.0.1", 0))  # bound, not listening: the camera is refused at once
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        listeners = {"--rpc-tcp": "off", "--http": "off", which: address}
        args = ["--host", "127.0.0.1", "--port", str(camera.getsockname()[1])]
        args += ["--socket", str(tmp_path / "run" / "ptpipd.sock")]
        done = run_daemon_once(
            [*args, *(item for flag, value in listeners.items() for item in (flag, value))],
            daemon_env(tmp_path, tmp_path / "no-notify"),
        )
    assert done.returncode == 1, done.stderr
    assert f"cannot listen: {address}: Address already in use" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert list((tmp_path / "run").iterdir()) == [], "socket files left behind after exit 1"


def _socket_gid(path: Path) -> int:
    return path.stat().st_gid


def test_socket_group_is_applied(tmp_path: Path) -> None:
    """Both Unix sockets (JSON-RPC and HTTP) are given to ``socket_group``."""
    own = os.getegid()
    mine = os.getgroups() if os.geteuid() else [g.gr_gid for g in grp.getgrall()]
    other = next((gid for gid in mine if gid != own), None)
    if other is None:
        pytest.skip("the test user can give files to no other group")
    ini = tmp_path / "g.ini"
    ini.write_text(f"[daemon]\nsocket_group = {grp.getgrgid(other).gr_name}\nsocket_mode = 0640\n")
    with running_daemon(tmp_path / "d", "--simulate", "generic", "-f", str(ini)) as daemon:
        http = daemon.socket_path.with_name("ptpipd-http.sock")
        assert [_socket_gid(p) for p in (daemon.socket_path, http)] == [other, other]
        assert [mode_of(p) for p in (daemon.socket_path, http)] == [0o640, 0o640]


def test_a_group_the_daemon_may_not_give_to_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A daemon whose user is not in ``socket_group`` cannot chgrp (EPERM): it says so once and serves with
    the socket in its own group. As root nothing is refused, so the kernel's answer is played there."""
    target = 0
    if os.geteuid() == 0:
        target = next(g.gr_gid for g in grp.getgrall() if g.gr_gid != os.getegid())

        def refuse(path: object, uid: int, gid: int) -> None:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

        monkeypatch.setattr(os, "chown", refuse)
    elif target in os.getgroups():
        pytest.skip("the test user is in group 0")
    path = tmp_path / "g.sock"
    with caplog.at_level(logging.WARNING), bind_unix(path, 0o660, str(target)):
        assert path.is_socket() and _socket_gid(path) == os.getegid()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [
        f"cannot give {path} to group {target} (Operation not permitted): it stays in group {os.getegid()}; "
        f"the daemon's user must be a member of {target}"
    ]


# ------------------------------------------------------------------------------------------------ logs

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def provoke_a_warning(daemon: DaemonProcess) -> None:
    """An over-long request line: the daemon logs a warning about it."""
    with daemon.connect() as conn:
        conn.sock.sendall(b"x" * ((1 << 20) + 10) + b"\n")
        assert conn.read_response()["error"]["code"] == -32600


def test_journald_logging(tmp_path: Path, sim: SimProcess) -> None:
    env = {"JOURNAL_STREAM": "8:123456"}
    with running_daemon(tmp_path / "d", *camera_args(sim, "generic"), env=env) as daemon:
        daemon.wait_connected()
        provoke_a_warning(daemon)
        rc, log = daemon.stop()
    assert rc == 0
    lines = log.splitlines()
    assert lines
    for line in lines:
        assert re.match(r"<[0-7]>\S", line), line
        assert not TIMESTAMP.search(line), line
    assert any(line.startswith("<6>ptpipd: listening on ") for line in lines), lines
    assert any(line.startswith("<4>") and "request line over" in line for line in lines), lines


def test_terminal_logging_has_timestamps(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic") as daemon:
        provoke_a_warning(daemon)
        rc, log = daemon.stop()
    assert rc == 0
    lines = log.splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines), lines
    assert not any(line.startswith("<") for line in lines)
    assert any(" WARNING " in line and "request line over" in line for line in lines)


def test_debug_log_level_from_env(tmp_path: Path) -> None:
    with running_daemon(tmp_path / "d", "--simulate", "generic", env={"PTPIPD_LOG_LEVEL": "debug"}) as daemon:
        daemon.call("status")
        rc, log = daemon.stop()
    assert rc == 0
    assert " DEBUG " in log and "client 1 connected over unix" in log, log


def test_no_env_leaks_into_tests() -> None:
    """The harness strips PTPIPD_*, LISTEN_*, NOTIFY_* and JOURNAL_* from the daemon's environment."""
    env = daemon_env(Path("/tmp/x"), Path("/tmp/x/n"), None)
    assert not [k for k in env if k.startswith(("PTPIPD_", "LISTEN_", "JOURNAL_", "WATCHDOG_"))]
    assert env["NOTIFY_SOCKET"] == "/tmp/x/n"
    assert env["STATE_DIRECTORY"] == "/tmp/x/state/ptpipd"  # never /var/lib/ptpipd, even as root

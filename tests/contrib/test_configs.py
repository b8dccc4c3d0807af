"""The example configs: the seed's two INI examples as ready configs, and ptpipd.conf, the commented
reference installed as /etc/ptpipd/ptpipd.conf."""

from __future__ import annotations

import configparser
import grp
import os
import re
import socket
from pathlib import Path

import pytest

from ptpipd.config import INI_KEYS, Settings, load
from tests.contrib.conftest import CONTRIB, free_tcp_port
from tests.procs import running_daemon


def test_seed_examples_load() -> None:
    generic = load({}, CONTRIB / "generic.conf", env={}).settings
    assert (generic.vendor, generic.host, generic.command_port()) == ("generic", "192.168.0.1", 15740)
    assert (generic.legacy_enabled, generic.legacy_address, generic.legacy_port) == (True, "127.0.0.1", 15740)
    fuji = load({}, CONTRIB / "fuji.conf", env={}).settings
    assert fuji.vendor == "fuji"
    assert (fuji.cmd_data_port, fuji.event_port, fuji.stream_port) == (55740, 55741, 55742)
    assert fuji.legacy_enabled and fuji.legacy_port != generic.legacy_port, "both instances can run at once"
    for settings in (generic, fuji):
        assert settings.guid is None, "a shipped GUID would be shared by every installation"
        assert settings.friendly_name.startswith("ptpipd")


def test_seed_examples_keep_the_seed_format() -> None:
    """The seed's sections and keys, quoted values and ';' comments (the seed tool reads them too)."""
    for name, keys in {
        "generic.conf": {"initiator": {"friendly_name"}, "responder": {"host", "port"}},
        "fuji.conf": {
            "initiator": {"friendly_name"},
            "responder": {"vendor", "host", "cmd_data_port", "event_port", "stream_port"},
        },
    }.items():
        parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
        parser.read(CONTRIB / name)
        assert parser.sections() == ["initiator", "responder", "server"]
        for section, expected in keys.items():
            assert set(parser[section]) == expected, (name, section)
        assert set(parser["server"]) == {"enabled", "address", "port"}
        assert parser["initiator"]["friendly_name"].startswith('"')


def test_reference_config_documents_every_key(tmp_path: Path) -> None:
    """Every INI key the daemon reads is in ptpipd.conf, in its section; uncommented, the file loads."""
    text = (CONTRIB / "ptpipd.conf").read_text()
    assert load({}, CONTRIB / "ptpipd.conf", env={}).settings == Settings(), "everything is commented out"
    section = None
    documented = set()
    for line in text.splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = m[1]
        elif m := re.fullmatch(r";(\w+) = .*", line):
            documented.add((section, m[1]))
    assert documented == set(INI_KEYS)
    uncommented = re.sub(r"(?m)^;(\w+ = )", r"\1", text)
    # the example's group is the one the package's units create; here, a group this machine has
    own_group = grp.getgrgid(os.getgid()).gr_name
    uncommented, n = re.subn(r"(?m)^socket_group = .*$", f"socket_group = {own_group}", uncommented)
    assert n == 1
    path = tmp_path / "uncommented.conf"
    path.write_text(uncommented)
    settings = load({}, path, env={}).settings
    assert settings.simulate == "generic" and settings.auth_token and settings.rpc_tcp == "127.0.0.1:15741"


@pytest.mark.parametrize(
    ("name", "vendor"),
    [
        ("generic.conf", "generic"),
        ("fuji.conf", "fuji"),
    ],
)
def test_daemon_runs_with_example(tmp_path: Path, name: str, vendor: str) -> None:
    """The example as shipped (only its legacy port moved to a free one), on the simulated camera of its
    vendor: JSON-RPC and the seed's text protocol both answer."""
    port = free_tcp_port()
    text = (CONTRIB / name).read_text()
    head, server = text.split("\n[server]\n")
    server, n = re.subn(r"(?m)^port = 157[45]0$", f"port = {port}", server)
    assert n == 1
    moved = f"{head}\n[server]\n{server}"
    conf = tmp_path / name
    conf.write_text(moved)
    with running_daemon(tmp_path, "-f", str(conf), "--simulate", vendor) as daemon:
        status = daemon.wait_connected()
        assert status["vendor"] == vendor
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            conn.sendall(b"get iso\n")
            answer = conn.makefile("rb").read().decode()
        value = daemon.call("get", {"property": "iso"})
        # the legacy line is the seed tool's: its label (none for ISO on a standard PTP camera) and the hex
        seed_label = value["label"] if vendor == "fuji" else ""
        assert answer == f"{seed_label} (0x{int(value['hex'], 16):x})\n", answer

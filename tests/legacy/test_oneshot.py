"""``ptpipd -c COMMAND``: connect, run one text command, print it, exit with the seed's codes
(0 ok, 1 the command failed, 102 config unreadable, 104 invalid settings or command, 105 could not connect)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.legacy.conftest import VENDORS
from tests.legacy.seed import SEED_902B, SEED_D212, mask_transaction_ids, seed_text
from tests.procs import REPO

#: The members of a property object in the seed's JSON (SEED-OUTPUT.md).
SEED_PROPERTY_KEYS = {
    "DevicePropertyCode",
    "dataType",
    "readOnly",
    "FactoryDefaultValue",
    "CurrentValue",
    "formType",
    "form",
}


def one_shot(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PTPIPD_")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), STATE_DIRECTORY=str(tmp_path / "state" / "ptpipd"))
    return subprocess.run(
        [sys.executable, "-m", "ptpipd.daemon", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_get(tmp_path: Path, vendor: str) -> None:
    proc = one_shot(tmp_path, "--simulate", vendor, "-c", "get iso")
    assert proc.returncode == 0, proc.stderr
    # the seed's label (none for ISO on a standard PTP camera, S6400 on the X-T1), then the value in hex
    assert re.fullmatch(r"(S6400)? \(0x[0-9a-f]+\)\n", proc.stdout), proc.stdout
    assert proc.stdout.startswith("S6400 ") is (vendor == "fuji")
    assert proc.stderr == ""


@pytest.mark.parametrize("vendor", VENDORS)
def test_info_json_pretty(tmp_path: Path, vendor: str) -> None:
    import json

    proc = one_shot(tmp_path, "--simulate", vendor, "-c", "info json pretty")
    assert proc.returncode == 0, proc.stderr
    properties = json.loads(proc.stdout)
    assert properties and all(set(p) == SEED_PROPERTY_KEYS for p in properties)
    assert proc.stdout.startswith('[\n    {\n        "DevicePropertyCode": {\n')


def test_capture_to_a_path(tmp_path: Path) -> None:
    target = tmp_path / "one-shot.jpg"
    proc = one_shot(tmp_path, "--simulate", "generic", "-c", f"snap {target}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"Image saved to {target}\n"
    data = target.read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def test_a_failing_command_exits_1_with_its_error_on_stderr(tmp_path: Path) -> None:
    proc = one_shot(tmp_path, "--simulate", "generic", "-c", "state")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == "ptpipd: state error: 'state' is not supported by the generic vendor\n"


@pytest.mark.parametrize("command", ["frobnicate", "get", "", "opreq 0xZZ", "info pretty"])
def test_an_invalid_command_exits_104_without_connecting(tmp_path: Path, command: str) -> None:
    started = time.monotonic()
    proc = one_shot(tmp_path, "--host", "192.0.2.1", "-c", command)  # TEST-NET: would never answer
    assert proc.returncode == 104, proc.stderr
    assert proc.stderr.startswith("ptpipd: ") and proc.stderr.count("\n") == 1
    assert time.monotonic() - started < 20


def test_help_needs_no_camera(tmp_path: Path) -> None:
    proc = one_shot(tmp_path, "--host", "192.0.2.1", "-c", "help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Supported commands:\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_camera_exits_105(tmp_path: Path) -> None:
    port = free_port()
    proc = one_shot(tmp_path, "--host", "127.0.0.1", "--port", str(port), "-c", "get iso")
    assert proc.returncode == 105
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"ptpipd: could not connect to the camera at 127.0.0.1:{port}: ")
    assert proc.stderr.count("\n") == 1


def test_a_camera_that_never_answers_exits_105_after_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts the TCP connection, never answers the init packet
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = tmp_path / "c.ini"
        config.write_text("[daemon]\ntimeout = 1\n")
        started = time.monotonic()
        proc = one_shot(
            tmp_path,
            "-f",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(silent.getsockname()[1]),
            "-c",
            "get iso",
        )
    assert proc.returncode == 105, proc.stderr
    assert time.monotonic() - started < 15
    assert "could not connect to the camera" in proc.stderr


def test_unreadable_config_exits_102(tmp_path: Path) -> None:
    proc = one_shot(tmp_path, "-f", str(tmp_path / "missing.ini"), "-c", "get iso")
    assert proc.returncode == 102


@pytest.mark.parametrize(
    ("command", "path"),
    [("opreq 0x902B", SEED_902B), ("opreq 0x1015 0xD212", SEED_D212)],
    ids=["902B", "1015-D212"],
)
def test_fuji_opreq_one_shot_matches_the_seed(tmp_path: Path, command: str, path: Path) -> None:
    """As in test_server.py: the seed's dump, transaction-ID bytes masked."""
    proc = one_shot(tmp_path, "--simulate", "fuji", "-c", command)
    assert proc.returncode == 0, proc.stderr
    assert mask_transaction_ids(proc.stdout) == mask_transaction_ids(seed_text(path))

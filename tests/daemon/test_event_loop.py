"""The daemon's event loop (ptpipd/loops.py): uvloop by default when it is installed, Python's own loop with
``event_loop = asyncio`` (the fallback), and ``uvloop`` refused with a clear error where it is missing.

The daemon says at start-up which loop it runs on, read from the running loop itself; the process's memory
map shows whether uvloop's extension was loaded at all (the fallback never loads it). Either way a real
simulated camera is reached and a request served."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import ptpipd.config
from ptpipd import loops
from ptpipd.config import SettingsError, load
from tests.daemon.conftest import camera_args
from tests.procs import running_daemon, running_sim

LOOP_LINE = re.compile(r"event loop: (\w+) \(([\w.]+)\)")


def _uvloop_mapped(pid: int) -> bool:
    """uvloop's compiled loop (``uvloop/loop.cpython-*.so``) is in the process's memory."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return re.search(r"/uvloop/loop\.[^/\s]*\.so", maps) is not None


@pytest.mark.parametrize(
    ("env", "family", "loop_class"),
    [
        ({}, "uvloop", "uvloop.Loop"),  # auto, the default: uvloop is a dependency
        ({"PTPIPD_EVENT_LOOP": "uvloop"}, "uvloop", "uvloop.Loop"),
        ({"PTPIPD_EVENT_LOOP": "asyncio"}, "asyncio", "asyncio.unix_events._UnixSelectorEventLoop"),
    ],
    ids=["default", "uvloop", "asyncio"],
)
def test_daemon_runs_on_the_loop_it_was_told(
    tmp_path: Path, env: dict[str, str], family: str, loop_class: str
) -> None:
    with (
        running_sim("generic") as sim,
        running_daemon(tmp_path, *camera_args(sim, "generic"), env=env) as daemon,
    ):
        daemon.wait_connected()
        with daemon.connect() as conn:
            assert int(conn.call("get", ["iso"])["code"], 16) == 0x500F
        found = LOOP_LINE.search(daemon.stderr_text())
        assert found is not None, daemon.stderr_text()
        assert found.groups() == (family, loop_class)
        assert _uvloop_mapped(daemon.pid) is (family == "uvloop")
        code, _ = daemon.stop()
    assert code == 0


def test_event_loop_flag_and_file_key(tmp_path: Path) -> None:
    ini = tmp_path / "ptpipd.ini"
    ini.write_text("[daemon]\nevent_loop = asyncio\n")
    assert load({}, ini, env={}).settings.event_loop == "asyncio"
    assert load({"event_loop": "uvloop"}, env={}).settings.event_loop == "uvloop"
    assert load({}, env={}).settings.event_loop == "auto"
    with pytest.raises(SettingsError, match="PTPIPD_EVENT_LOOP"):
        load({}, env={"PTPIPD_EVENT_LOOP": "trio"})


def test_uvloop_asked_for_but_missing_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # uvloop is installed here: its absence is what cannot be arranged for real in this environment
    monkeypatch.setattr(ptpipd.config, "uvloop_available", lambda: False)
    with pytest.raises(SettingsError, match="uvloop is not installed"):
        load({"event_loop": "uvloop"}, env={})
    assert load({}, env={}).settings.event_loop == "auto"  # auto falls back (ptpipd.loops.loop_factory)


def test_auto_falls_back_when_uvloop_is_there_but_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A uvloop that is installed but does not import (a broken wheel, another ABI): ``auto`` takes
    asyncio's loop, ``uvloop`` says why it cannot."""
    monkeypatch.setattr(loops, "uvloop_available", lambda: True)  # found on disk…
    monkeypatch.setitem(sys.modules, "uvloop", None)  # …but import uvloop raises ImportError
    assert loops.loop_factory("auto") is None
    with pytest.raises(ImportError):
        loops.loop_factory("uvloop")

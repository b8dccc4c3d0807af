"""Behaviour the API document describes that the daemon does not (yet) have; reported to the owners."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import running_daemon


@pytest.mark.xfail(
    strict=True,
    reason="BUG: `download` of a folder handle (1 = DCIM on the simulated card) answers a 0-byte 'file' "
    "named DCIM with format 'folder' and writes it to the capture directory, instead of refusing",
)
def test_download_refuses_a_folder(tmp_path: Path) -> None:
    with running_daemon(tmp_path, "--simulate", "generic") as daemon:
        daemon.wait_connected()
        folders = [f for f in daemon.call("files") if f["format"] == "folder"]
        handle = folders[0]["handle"] if folders else 1
        with daemon.connect() as conn:
            answer = conn.request("download", {"handle": handle})
    assert "error" in answer, answer

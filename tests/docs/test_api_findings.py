"""Behaviour the API document describes that the daemon does not (yet) have; reported to the owners."""

from __future__ import annotations

from pathlib import Path

from tests.procs import running_daemon


def test_download_refuses_a_folder(tmp_path: Path) -> None:
    with running_daemon(tmp_path, "--simulate", "generic") as daemon:
        daemon.wait_connected()
        folders = [f for f in daemon.call("files") if f["format"] == "folder"]
        handle = folders[0]["handle"] if folders else 1
        with daemon.connect() as conn:
            answer = conn.request("download", {"handle": handle})
    assert "error" in answer, answer

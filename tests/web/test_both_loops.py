"""The data plane's byte paths on both event loops: uvloop (the default) and asyncio's own (the fallback,
``event_loop = asyncio``). The download goes camera → client by splice on either loop, a range too."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.procs import running_sim
from tests.web.conftest import running_web


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_downloads_and_ranges_on_each_loop(tmp_path: Path, loop: str) -> None:
    with (
        running_sim("generic") as sim,
        running_web(tmp_path, sim, "generic", env={"PTPIPD_EVENT_LOOP": loop}) as web,
    ):
        assert f"event loop: {loop} (" in web.daemon.stderr_text()
        status, files = web.get_json("/files")
        assert status == 200 and files
        entry = files[0]
        status, headers, whole = web.request("GET", entry["url"])
        assert status == 200 and len(whole) == entry["size"] == int(headers["content-length"])
        assert whole[:3] == b"\xff\xd8\xff"  # a JPEG, whole
        status, _, tail = web.request("GET", entry["url"], headers={"Range": "bytes=100-"})
        assert status == 206 and tail == whole[100:]
        # the same bytes as the camera's object, through JSON-RPC's own path (no HTTP, no splice)
        with web.daemon.connect() as conn:
            answer = conn.call("download", {"handle": entry["handle"], "inline": True})
        assert hashlib.sha256(base64.b64decode(answer["data"])).digest() == hashlib.sha256(whole).digest()

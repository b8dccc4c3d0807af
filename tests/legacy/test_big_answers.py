"""Answers too big for memory through the text listener, against a simulator subprocess: ``capture PATH`` of
a picture over the JSON-RPC inline limit (8 MiB) is streamed to the file, and ``opreq`` of an object larger
than the daemon keeps says it truncated the dump, with the real size."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.sim import bigobject
from tests.cli.conftest import clean_env, ctl
from tests.legacy.conftest import Legacy, legacy_port
from tests.procs import running_daemon, running_sim

#: Every picture the simulator takes (``--photo-size``): over the 8 MiB a JSON-RPC answer may inline.
PHOTO_SIZE = 12 << 20
#: The simulator's BIG00001.BIN (``--object-size``): handle 6 (ptpipd/sim/generic_model.py).
BIG_HANDLE, BIG_SIZE = 6, 20 << 20
#: What ``opreq`` keeps of a data phase (ptpipd.camera.OPREQ_CAP).
OPREQ_CAP = 8 << 20
DUMP_HEADER = re.compile(r"\nReceived (\d+) bytes\. HEX dump:\n")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    extra = ("--photo-size", str(PHOTO_SIZE), "--object-size", str(BIG_SIZE), "--battery-interval", "0")
    with running_sim("generic", *extra) as sim:
        workdir = tmp_path_factory.mktemp("big")
        args = ("--host", "127.0.0.1", "--port", str(sim.port), "--legacy", "127.0.0.1:0")
        with running_daemon(workdir, *args) as daemon:
            daemon.wait_connected()
            yield Legacy("generic", daemon, "127.0.0.1", legacy_port(daemon))


def test_capture_to_a_path_streams_a_picture_over_the_inline_limit(big: Legacy) -> None:
    captures = big.daemon.workdir / "state" / "ptpipd" / "captures"  # PATH stays inside it (issue 14)
    target = captures / "big.jpg"
    text = big.nc("capture big.jpg", timeout=60)
    assert text == f"Image saved to {target}\n"
    data = target.read_bytes()
    assert len(data) == PHOTO_SIZE
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"  # the whole JPEG
    # the camera's own copy, read over JSON-RPC into the daemon's capture directory: the same bytes
    with big.daemon.connect() as conn:
        files = conn.call("files")
        newest = max(files, key=lambda f: f["handle"])
        kept = conn.call("download", {"handle": newest["handle"]})
    assert newest["size"] == PHOTO_SIZE
    assert hashlib.sha256(Path(kept["path"]).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert Path(kept["path"]).name == newest["filename"], "the capture's own copy was moved to PATH"
    assert not [p for p in captures.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_opreq_of_more_than_the_cap_says_truncated_with_the_real_size(big: Legacy) -> None:
    with big.daemon.connect() as conn:
        answer = conn.call("opreq", {"code": 0x1009, "params": [BIG_HANDLE]})  # GetObject
        assert conn.call("get", {"property": "iso"})["property"] == "iso"  # the session is fine
    assert answer["response"]["name"] == "OK"
    assert answer["truncated"] is True and answer["size"] == BIG_SIZE
    data = base64.b64decode(answer["data"])
    assert len(data) == OPREQ_CAP
    assert data[: 1 << 20] == bigobject.block(0)  # the object's first bytes, by the formula
    assert data[-(1 << 20) :] == bigobject.block(OPREQ_CAP // (1 << 20) - 1)
    assert sum(len(p) // 2 for p in answer["packets"]) == OPREQ_CAP
    # ptpipctl: the dumps, the response, then the truncation said
    env = clean_env(big.daemon.workdir / "home", PTPIPCTL_SOCKET=str(big.daemon.socket_path))
    result = ctl("opreq", "0x1009", str(BIG_HANDLE), env=env, timeout=120)
    assert result.code == 0, result.err
    assert sum(int(n) for n in DUMP_HEADER.findall(result.out)) == OPREQ_CAP
    assert result.out.endswith(
        f"\nResponse: OK (0x2001)\nTruncated: the camera sent {BIG_SIZE} bytes of data.\n"
    )
    # the text listener: the seed's dumps up to the cap, then one line saying so
    text = big.nc(f"opreq 0x1009 {BIG_HANDLE:#x}", timeout=120)
    assert sum(int(n) for n in DUMP_HEADER.findall(text)) == OPREQ_CAP
    assert text.endswith(f"\nTruncated: the camera sent {BIG_SIZE} bytes of data; the dump stops at 8 MiB.\n")

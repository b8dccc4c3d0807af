"""The HTTP data plane in front of the simulated Nikons (daemon and body as subprocesses, plain sockets).

100 live-view frames through ``/liveview.mjpeg`` (each a JPEG Pillow decodes, its drawn counter matching
its stamp, the counters rising: the daemon polls 0x9203 frame after frame), live view ended on the body
after the last viewer; the download through ``/files/{handle}`` (whole, and a ``Range``) and a capture
through ``POST /capture``, all checked by SHA-256 against the pictures the body made, including a Z that
refuses GetObjectInfo/GetObject (its files come with GetPartialObjectEx).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ptpipd.sim.nikon_model import photo_bytes
from ptpipd.sim.pictures import frame_stamp
from tests.daemon.conftest import wait_until
from tests.sim.nikon_sim import QUIET, running_nikon
from tests.sim.test_pictures import read_counter
from tests.web.conftest import Web, running_web
from tests.web.mjpeg import open_stream

MODELS = ["d750", "z6"]


@contextlib.contextmanager
def nikon_web(tmp_path: Path, model: str, *sim_args: str) -> Iterator[Web]:
    with (
        running_nikon("--model", model, "--wifi", "ap", *QUIET, *sim_args) as sim,
        # 60 polled frames a second at most (the default is 30): the 100 frames below in under 2 s
        running_web(tmp_path / "web", sim, "nikon", env={"PTPIPD_LIVEVIEW_FPS": "60"}) as web,
    ):
        yield web


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("model", MODELS)
def test_100_frames_through_liveview_mjpeg(tmp_path: Path, model: str) -> None:
    with nikon_web(tmp_path, model) as web:
        reader = open_stream(web.host, web.port)
        assert reader.status == 200, reader.headers
        counters, sequences = [], []
        for index in range(100):
            part = reader.next_part()
            stamp = frame_stamp(part.jpeg)
            assert stamp is not None
            counters.append(stamp.frame)
            sequences.append(part.sequence)
            if index in (0, 99):
                image = Image.open(io.BytesIO(part.jpeg))
                image.load()  # a whole JPEG, not a cut one
                assert read_counter(image.convert("RGB")) == f"{stamp.frame:06d}"
        reader.sock.close()
        assert counters == sorted(set(counters)) and sequences == sorted(set(sequences))
        # the body drew the frames the daemon polled, one 0x9203 after the other
        assert counters[-1] - counters[0] >= 99
        wait_until(lambda: web.daemon.call("status")["liveview"]["running"] is False, 20, "live view stopped")
        assert web.daemon.call("get", ["liveview"])["label"] == "off"  # EndLiveView reached the body


@pytest.mark.parametrize("model", MODELS)
def test_download_and_capture_over_http(tmp_path: Path, model: str) -> None:
    with nikon_web(tmp_path, model) as web:
        status, files = web.get_json("/files")
        assert status == 200
        first = files[0]
        assert (first["filename"], first["url"]) == ("DSC_0001.JPG", f"/files/{first['handle']}")
        status, headers, body = web.request("GET", first["url"])
        assert status == 200 and sha(body) == sha(photo_bytes(0, 1))
        assert 'filename="DSC_0001.JPG"' in headers["content-disposition"]
        status, headers, part = web.request("GET", first["url"], headers={"Range": "bytes=1000-1999"})
        assert (status, part) == (206, photo_bytes(0, 1)[1000:2000])
        status, _, raw = web.request("POST", "/capture")
        assert status == 200, raw
        shot = json.loads(raw)
        status, _, picture = web.request("GET", shot["url"])
        assert status == 200 and sha(picture) == sha(photo_bytes(0, 3))


def test_a_locked_z_serves_its_files_with_partial_object_ex(tmp_path: Path) -> None:
    with nikon_web(tmp_path, "z6", "--file-lock") as web:
        status, files = web.get_json("/files")
        assert status == 200
        assert [f["filename"] for f in files] == ["object-00000003", "object-00000004"]
        status, _, body = web.request("GET", "/files/4")
        assert status == 200 and sha(body) == sha(photo_bytes(0, 2))
        status, _, part = web.request("GET", "/files/4", headers={"Range": "bytes=-100"})
        assert (status, part) == (206, photo_bytes(0, 2)[-100:])

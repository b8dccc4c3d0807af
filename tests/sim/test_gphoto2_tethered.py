"""The shutter pressed on the simulated body, seen by Debian's gphoto2 ``--capture-tethered``.

gphoto2 is an independent initiator: it turns an ObjectAdded event into "file added" and downloads the file
(libgphoto2's event loop, ORACLES.md §1). What it saved is compared with what the simulator serves, read
back over a raw socket, not through our own initiator.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ptpipd.ptp import ObjectInfo, decode_uint32_array
from tests.interop.gphoto2 import GPHOTO2, RawCamera, gphoto2
from tests.procs import running_sim

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(GPHOTO2 is None, reason="gphoto2 is not installed (make system-deps)"),
]


def test_capture_tethered_downloads_every_picture_the_body_takes(tmp_path: Path) -> None:
    with running_sim("generic", "--battery-interval", "0", "--shoot-every", "0.3") as sim:
        done = gphoto2(sim.port, "--capture-tethered=2s", "--keep", home=tmp_path)
        assert done.returncode == 0, done.stderr
        saved = re.findall(r"Saving file as (IMG_\d{4}\.JPG)", done.stdout)
        assert len(saved) >= 3, done.stdout
        with RawCamera(sim.port) as raw:
            handles = decode_uint32_array(raw.data(0x1007, 0x0001_0001, 0, 2))[0]
            on_card = {ObjectInfo.decode(raw.data(0x1008, h)).filename: h for h in handles}
            for name in saved:
                assert (tmp_path / name).read_bytes() == raw.data(0x1009, on_card[name]), name
    assert "IMG_0001.JPG" not in saved  # only the new pictures, none of those already on the card

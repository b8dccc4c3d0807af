"""A full disk is not a lost camera: when the sink of a download cannot write (ENOSPC, EFBIG), the rest of the
data phase is read and discarded, the transaction finishes, the caller gets a clear error with the reason
(JSON-RPC -32007) and the camera session goes on: the next request works on the same connection.

Both tests talk to the simulator as a subprocess over real sockets: the library with a sink that raises
ENOSPC mid-transfer, and the daemon writing into its capture directory under a file-size limit
(``RLIMIT_FSIZE`` set on the running daemon: its writes past the limit fail with EFBIG, as CPython ignores
SIGXFSZ), so the failure is a real one of the file system.
"""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptpipd.camera import Camera
from ptpipd.errors import WriteFailed
from ptpipd.ip.transport import BytesSink
from tests.faults.conftest import daemon_on, error_code
from tests.procs import SimProcess, running_sim

BIG = 6  # the simulator's --object-size object
SIZE = 4 << 20
ROOM = 1 << 20  # bytes the sink (or the daemon's file) takes before the disk is "full"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with running_sim("generic", "--object-size", str(SIZE)) as process:
        yield process


class FullDisk:
    """A sink that takes ``room`` bytes, then fails as a full disk does; counts the calls after that."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.size = 0
        self.failures = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.size + len(data) > self.room:
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.size += len(data)


async def test_a_sink_that_fails_mid_transfer_leaves_the_session_working(sim: SimProcess) -> None:
    async with Camera(host=sim.host, port=sim.port) as cam:
        disk = FullDisk(ROOM)
        with pytest.raises(WriteFailed, match="could not store the data: No space left on device") as info:
            await cam.download(BIG, disk)
        assert info.value.data() == {"reason": "No space left on device", "errno": "ENOSPC"}
        assert disk.failures == 1  # nothing more was offered to the failed sink
        assert 0 < disk.size <= ROOM
        # the same session goes on, in step: a property, then the whole object again
        assert (await cam.get("iso")).label
        whole = BytesSink(SIZE)
        await cam.download(BIG, whole)
        assert whole.size == SIZE and not whole.overflow


def test_the_daemon_answers_a_full_disk_with_its_reason_and_goes_on(sim: SimProcess, tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    with daemon_on(sim, tmp_path / "d", "--capture-dir", str(captures)) as daemon, daemon.connect() as conn:
        before = conn.call("status")
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (ROOM, resource.RLIM_INFINITY))
        response = conn.request("download", {"handle": BIG}, timeout=60)
        assert error_code(response) == -32007, response
        error = response["error"]
        assert error["message"] == "the daemon could not store the data: File too large", error
        assert error["data"] == {"reason": "File too large", "errno": "EFBIG"}
        assert conn.call("get", ["iso"])["label"]
        after = conn.call("status")
        assert after["state"] == "connected"
        assert after["connected_since"] == before["connected_since"]  # the same session: no reconnect
        assert after["reconnects"] == before["reconnects"]
        assert list(captures.iterdir()) == []  # no partial file left behind
        unlimited = resource.RLIM_INFINITY
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        saved = conn.call("download", {"handle": BIG}, timeout=60)
        assert Path(saved["path"]).stat().st_size == SIZE

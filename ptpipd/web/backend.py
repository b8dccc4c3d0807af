"""What the HTTP data plane needs from the rest of the daemon: :class:`Backend`, the camera service and the
JSON-RPC dispatcher behind one small interface. The other web modules use them only through it (JSON-RPC
messages go to its dispatcher).

Every camera operation is one request through the service's queue, so a download's pieces, thumbnails and
captures take turns with every other client's requests. Failures are raised as
:class:`ptpipd.errors.CameraError` subclasses (their JSON-RPC code decides the HTTP status, see
:mod:`ptpipd.web.errors`) or as :class:`UnknownObject`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from ptpipd.camera import Camera
from ptpipd.errors import CameraError, CameraRefused, NotConnected
from ptpipd.ip.errors import PTPIPError
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import OperationCode, ResponseCode
from ptpipd.rpc import Dispatcher
from ptpipd.rpc.models import FileResult
from ptpipd.service import CameraService
from ptpipd.vendors.base import FileEntry
from ptpipd.vendors.liveview import LiveFrame

T = TypeVar("T")

#: The piece of an object read from the camera in one transaction (GetPartialObject): 2 MiB (DESIGN.md §8 allows
#: up to 4). Each piece costs a round trip and the daemon's work of a transaction (half of them per GiB compared
#: with libgphoto2's 1 MiB), its bytes go camera → client by splice (the daemon holds none of them, or at most
#: the piece for a client too slow to keep up), and other clients' requests wait at most one piece (a few ms at
#: loopback speed, a fraction of a second over Wi-Fi). 4 MiB pieces measured no faster (bench/download.py:
#: ptpipctl 89–94 % of the ceiling either way), doubled `get iso`'s wait during a download (p99 10 ms against
#: 4–6), and a slow client's piece held in memory took the daemon past its 64 MB under a loaded CI run.
CHUNK = 2 << 20


class UnknownObject(CameraRefused):
    """No object with this handle on the camera: its refusal InvalidObjectHandle (-32002), naming the handle
    (HTTP 404)."""

    def __init__(self, handle: int, opcode: int = OperationCode.GetObjectInfo) -> None:
        response = ResponseCode.InvalidObjectHandle
        super().__init__(response, response.name, opcode, f"no object with handle {handle} on the camera")
        self.handle = handle

    def data(self) -> dict[str, Any]:
        return {**(super().data() or {}), "handle": self.handle}


class Backend:
    """The daemon as the data plane sees it: the camera service and the JSON-RPC dispatcher."""

    def __init__(self, service: CameraService, dispatcher: Dispatcher, capture_dir: Path) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.capture_dir = capture_dir

    async def _on_camera(self, op: Callable[[Camera], Awaitable[T]], handle: int) -> T:
        """``op`` (a :class:`Camera` method, which raises the camera layer's errors) as one queued request;
        an unknown handle is a 404."""
        try:
            return await self.service.request(op)
        except CameraRefused as exc:
            if exc.response == ResponseCode.InvalidObjectHandle:
                raise UnknownObject(handle, exc.opcode) from None
            raise

    # ---------------------------------------------------------------- files

    async def files(self) -> list[dict[str, Any]]:
        """The ``files`` result (JSON objects as the JSON-RPC method returns them)."""
        return [FileResult.from_entry(e).model_dump(mode="json") for e in await self.service.files()]

    async def file_entry(self, handle: int) -> FileEntry:
        """What a download needs to know before the first byte: the object as ``files`` lists it (name,
        format, size, capture time); :class:`UnknownObject` for a handle the camera refuses."""
        return await self._on_camera(lambda cam: cam.file_entry(handle), handle)

    async def read_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """Up to ``length`` bytes from ``offset`` into ``sink`` (one camera transaction); how many came."""
        return await self._on_camera(lambda cam: cam.download_part(handle, offset, length, sink), handle)

    async def read_all(self, handle: int, sink: DataSink) -> None:
        """The whole object into ``sink`` (GetObject, for cameras without partial reads)."""
        await self._on_camera(lambda cam: cam.download(handle, sink), handle)

    async def thumb(self, handle: int) -> bytes:
        """The camera's thumbnail of the object (GetThumb)."""
        return await self._on_camera(lambda cam: cam.thumb(handle), handle)

    # ---------------------------------------------------------------- live view

    async def frames(self) -> AsyncGenerator[LiveFrame, None]:
        """The camera's live-view frames for as long as the caller iterates (started on the first
        ``__anext__``, stopped when the generator is closed: ``aclose``); :class:`ptpipd.errors.NotSupported` without one."""
        # an async generator (typed as an iterator by the service): closing it runs its finally, which stops
        # the camera's live view
        frames = cast(AsyncGenerator[LiveFrame, None], self.service.live_frames())
        try:
            async for frame in frames:
                yield frame
        except PTPIPError as exc:
            raise NotConnected(f"live view lost: {exc}") from exc
        finally:
            with contextlib.suppress(CameraError, PTPIPError, OSError):
                await frames.aclose()

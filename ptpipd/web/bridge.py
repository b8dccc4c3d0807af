"""The daemon as the data plane's :class:`~ptpipd.web.backend.Backend`: the camera service and the JSON-RPC
dispatcher behind the small interface :mod:`ptpipd.web` uses. This is the only web module that knows them.

Every camera operation is one request through the service's queue, so a download's pieces, thumbnails and
captures take turns with every other client's requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from ptpipd.camera import Camera
from ptpipd.errors import CameraError, CameraRefused, NotConnected
from ptpipd.ip.errors import PTPIPError
from ptpipd.ptp import ObjectFormat, ResponseCode, code_name
from ptpipd.rpc import Client, Dispatcher, notification_text
from ptpipd.rpc.models import FileResult
from ptpipd.rpc.saving import save
from ptpipd.service import CameraService, SubscriberOverflow, Subscription
from ptpipd.vendors.base import LiveViewSource, unsupported
from ptpipd.vendors.liveview import LiveFrame
from ptpipd.web.backend import ObjectMeta, Shot, Sink, UnknownObject

T = TypeVar("T")


class RpcBridge:
    """One data-plane JSON-RPC client on the dispatcher, with its notifications as an async iterator."""

    def __init__(self, dispatcher: Dispatcher, service: CameraService, client: Client) -> None:
        self.dispatcher = dispatcher
        self.service = service
        self.client = client
        self._changed = asyncio.Event()
        client.on_subscribe = lambda sub: self._changed.set()

    @property
    def closing(self) -> bool:
        return self.client.closing

    async def respond(self, message: str) -> str | None:
        return await self.dispatcher.respond(message, self.client)

    async def notifications(self) -> AsyncGenerator[str, None]:
        while True:
            sub = self.client.subscription
            if sub is None:
                await self._changed.wait()
                self._changed.clear()
                continue
            try:
                note = await self._next(sub)
            except SubscriberOverflow as exc:
                yield notification_text("notify.connection", {"state": "dropped", "reason": str(exc)})
                return
            if note is not None:
                yield notification_text(*note)

    async def _next(self, sub: Subscription) -> tuple[str, dict[str, Any]] | None:
        """The next notification of ``sub``, or None when the client (un)subscribed meanwhile."""
        getter = asyncio.ensure_future(sub.next())
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({getter, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            note = getter.result()
            return note.method, note.params
        self._changed.clear()
        return None

    def close(self) -> None:
        if self.client.subscription is not None:
            self.service.unsubscribe(self.client.subscription)
            self.client.subscription = None


class ServiceBackend:
    """The daemon's service and dispatcher as a data-plane backend."""

    def __init__(self, service: CameraService, dispatcher: Dispatcher, capture_dir: Path) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.capture_dir = capture_dir
        self._ids = itertools.count(1_000_000)  # apart from the NDJSON clients' numbers in logs

    # ---------------------------------------------------------------- JSON-RPC

    def rpc_session(self, transport: str, peer: str, authenticated: bool) -> RpcBridge:
        client = Client(next(self._ids), transport, peer, authenticated=authenticated)
        return RpcBridge(self.dispatcher, self.service, client)

    def status(self) -> dict[str, Any]:
        return self.service.status()

    # ---------------------------------------------------------------- what the camera can do

    @property
    def partial_reads(self) -> bool:
        return self.service.capabilities.partial_objects

    @property
    def liveview(self) -> bool:
        return self.service.capabilities.liveview is not LiveViewSource.NONE

    def _files_supported(self) -> None:
        if not self.service.capabilities.files:
            raise unsupported(self.service.vendor_name, "'files'")

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
        return [FileResult.from_entry(e).model_dump(mode="json") for e in await self.service.files()]

    async def object_meta(self, handle: int) -> ObjectMeta:
        self._files_supported()

        oi = await self._on_camera(lambda cam: cam.object_info(handle), handle)
        kind = code_name(ObjectFormat, oi.object_format).lower()  # the media type comes from the file name
        return ObjectMeta(handle, oi.filename, kind, oi.compressed_size, oi.capture_date or None)

    async def read_part(self, handle: int, offset: int, length: int, sink: Sink) -> int:
        return await self._on_camera(lambda cam: cam.download_part(handle, offset, length, sink), handle)

    async def read_all(self, handle: int, sink: Sink) -> int:
        capture = await self._on_camera(lambda cam: cam.download(handle, sink), handle)
        return capture.transfer.size

    async def thumb(self, handle: int) -> bytes:
        self._files_supported()
        return await self._on_camera(lambda cam: cam.thumb(handle), handle)

    # ---------------------------------------------------------------- capture

    async def capture(self) -> Shot:
        saved = await save(self.capture_dir, "capture", self.service.capture)
        t = saved.transfer
        return Shot(t.format, t.size, t.handle, t.filename, str(saved.path))

    # ---------------------------------------------------------------- live view

    async def frames(self) -> AsyncGenerator[LiveFrame, None]:
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

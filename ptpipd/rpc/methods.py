"""The methods table: every JSON-RPC method, its params and result models, and its handler.

The table is explicit (no global registry): :func:`build_methods` returns the list and
:class:`~ptpipd.rpc.dispatcher.Dispatcher` runs it. Handlers take the validated params model and return the
method's result model (or ``bool`` / the OpenRPC document); the dispatcher serialises it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptpipd.camera import Capture
from ptpipd.errors import WriteFailed
from ptpipd.files import AtomicFile
from ptpipd.ip.transport import BytesSink
from ptpipd.ptp import DecodeError, ObjectInfo, OperationCode, ResponseCode
from ptpipd.rpc import errors as codes
from ptpipd.rpc import models as m
from ptpipd.rpc.auth import AuthGuard, AuthRefused
from ptpipd.rpc.errors import RpcError
from ptpipd.rpc.urls import INLINE_LIMIT, capture_url, object_url
from ptpipd.service import CameraService, Subscription


@dataclass(eq=False)
class Client:
    """One connected client: the context every method receives.

    ``closing`` is set by a method when the connection must end once its answer is sent (too many wrong
    ``auth`` tokens); ``auth_failures`` counts this connection's wrong tokens.
    """

    id: int
    transport: str
    peer: str
    authenticated: bool = True
    subscription: Subscription | None = None
    on_subscribe: Callable[[Subscription | None], None] | None = None
    auth_failures: int = 0
    closing: bool = False


Handler = Callable[[Client, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    """One entry of the methods table."""

    name: str
    params: type[m.Params]
    result: Any
    handler: Handler
    summary: str
    errors: tuple[int, ...] = ()
    needs_auth: bool = True


CAMERA_ERRORS = (codes.NOT_CONNECTED, codes.TIMEOUT, codes.REFUSED, codes.TOO_MANY_REQUESTS)
PROPERTY_ERRORS = (*CAMERA_ERRORS, codes.UNKNOWN_PROPERTY, codes.NOT_SUPPORTED)


def no_clients() -> int:
    """The default client count (a dispatcher without listeners)."""
    return 0


@dataclass
class Api:
    """The handlers, bound to the service and the daemon's settings.

    ``client_count`` answers how many clients are connected (the listeners count their own; the daemon
    passes their sum).
    """

    service: CameraService
    capture_dir: Path
    auth_token: str | None = None
    client_count: Callable[[], int] = no_clients
    started: float = field(default_factory=time.time)
    #: More of ``status`` from the layers above (the data plane's ``http`` and ``liveview``).
    status_extra: Callable[[], dict[str, Any]] | None = None
    guard: AuthGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = AuthGuard(self.auth_token)

    async def status(self, client: Client, p: m.NoParams) -> m.StatusResult:
        extra = self.status_extra() if self.status_extra is not None else {}
        return m.StatusResult.model_validate(
            {**self.service.status(), "clients": self.client_count(), **extra}
        )

    async def info(self, client: Client, p: m.NoParams) -> m.InfoResult:
        return m.InfoResult.from_info(await self.service.info())

    async def state(self, client: Client, p: m.NoParams) -> list[m.StateEntryResult]:
        return [m.StateEntryResult.from_entry(e) for e in await self.service.state_list()]

    async def get(self, client: Client, p: m.PropertyParams) -> m.PropertyValueResult:
        return m.PropertyValueResult.from_value(await self.service.get(p.property))

    async def set(self, client: Client, p: m.SetParams) -> m.PropertyValueResult:
        return m.PropertyValueResult.from_value(await self.service.set(p.property, p.value))

    async def describe(self, client: Client, p: m.PropertyParams) -> m.PropertyDescResult:
        return m.PropertyDescResult.from_desc(await self.service.describe(p.property))

    async def capture(self, client: Client, p: m.CaptureParams) -> m.TransferResult:
        memory = BytesSink(INLINE_LIMIT if p.inline else 0)
        with AtomicFile(self.capture_dir) as file:
            cap = await self.service.capture(_Tee(file, memory))
            if p.inline and not memory.overflow:
                file.abort()  # inline: the client gets the bytes, the daemon keeps nothing
                url = object_url(cap.transfer.handle) if cap.transfer.handle is not None else None
                return m.TransferResult.from_transfer(cap.transfer, data=bytes(memory.buffer), url=url)
            saved = self._saved(cap, file, "capture")
        if p.inline:  # too big to inline: the picture is kept, and the error says where
            raise _too_big(cap.transfer.size, saved.url or "", saved.path)
        return saved

    async def files(self, client: Client, p: m.NoParams) -> list[m.FileResult]:
        return [m.FileResult.from_entry(f) for f in await self.service.files()]

    async def download(self, client: Client, p: m.DownloadParams) -> m.TransferResult:
        if p.inline:
            size = await self._announced_size(p.handle)
            if size is not None and size > INLINE_LIMIT:
                raise _too_big(size, object_url(p.handle))
            memory = BytesSink(INLINE_LIMIT)
            cap = await self.service.download(p.handle, memory)
            if memory.overflow:  # the camera sent more than it announced
                raise _too_big(memory.size, object_url(p.handle))
            return m.TransferResult.from_transfer(
                cap.transfer, data=bytes(memory.buffer), url=object_url(p.handle)
            )
        with AtomicFile(self.capture_dir) as sink:
            cap = await self.service.download(p.handle, sink)
            return self._saved(cap, sink, f"object-{p.handle}")

    async def _announced_size(self, handle: int) -> int | None:
        """The size GetObjectInfo announces, or None when the camera does not answer it."""
        answer = await self.service.opreq(OperationCode.GetObjectInfo, [handle])
        if answer.code != ResponseCode.OK or not answer.data:
            return None
        try:
            return ObjectInfo.decode(answer.data).compressed_size
        except DecodeError:
            return None

    @staticmethod
    def _saved(cap: Capture, sink: AtomicFile, stem: str) -> m.TransferResult:
        fallback = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{cap.transfer.format}"
        try:
            path = sink.commit(Path(cap.transfer.filename or "").name, fallback=fallback)
        except OSError as exc:  # flushing the last bytes or naming the file: the disk, not the camera
            raise WriteFailed(exc, "the file") from exc
        handle = cap.transfer.handle
        url = object_url(handle) if handle is not None else capture_url(str(path))
        return m.TransferResult.from_transfer(cap.transfer, path=str(path), url=url)

    async def delete(self, client: Client, p: m.DeleteParams) -> bool:
        await self.service.delete(p.handle)
        return True

    async def opreq(self, client: Client, p: m.OpreqParams) -> m.OpreqResult:
        return m.OpreqResult.from_result(await self.service.opreq(p.code, list(p.params)))

    async def subscribe(self, client: Client, p: m.SubscribeParams) -> bool:
        if client.subscription is not None:
            self.service.unsubscribe(client.subscription)
        client.subscription = self.service.subscribe(p.topics)
        if client.on_subscribe is not None:
            client.on_subscribe(client.subscription)
        return True

    async def unsubscribe(self, client: Client, p: m.SubscribeParams) -> bool:
        if client.subscription is not None:
            self.service.unsubscribe(client.subscription)
            client.subscription = None
            if client.on_subscribe is not None:
                client.on_subscribe(None)
        return True

    async def auth(self, client: Client, p: m.AuthParams) -> bool:
        try:
            self.guard.check(p.token, client.peer, client.auth_failures)
        except AuthRefused as exc:
            client.auth_failures += 1
            client.closing = client.closing or exc.close
            raise RpcError(codes.UNAUTHORISED, str(exc)) from None
        client.authenticated = True
        return True


class _Tee:
    """A data sink writing to two sinks."""

    def __init__(self, first: AtomicFile, second: BytesSink) -> None:
        self.first = first
        self.second = second

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.first.write(data)
        self.second.write(data)


def _too_big(size: int, url: str, path: str | None = None) -> RpcError:
    """-32602 for an object over the inline limit, naming where to fetch it instead."""
    where = f"GET {url} on the HTTP data plane" + (f" (saved as {path})" if path else "")
    data = {"size": size, "limit": INLINE_LIMIT, "url": url} | ({"path": path} if path else {})
    return RpcError(
        codes.INVALID_PARAMS,
        f"the object is {size} bytes, more than the {INLINE_LIMIT}-byte inline limit: {where}",
        data,
    )


def build_methods(api: Api, discover: Handler) -> list[Method]:
    """The methods of DESIGN.md §4, in the order the docs list them."""
    return [
        Method("status", m.NoParams, m.StatusResult, api.status, "The daemon and the camera connection."),
        Method(
            "info",
            m.NoParams,
            m.InfoResult,
            api.info,
            "The camera's description and all its properties.",
            PROPERTY_ERRORS,
        ),
        Method(
            "state",
            m.NoParams,
            list[m.StateEntryResult],
            api.state,
            "The camera's state list (Fuji 0xD212); other vendors answer -32003.",
            (*CAMERA_ERRORS, codes.NOT_SUPPORTED),
        ),
        Method(
            "get",
            m.PropertyParams,
            m.PropertyValueResult,
            api.get,
            "A property's current value.",
            PROPERTY_ERRORS,
        ),
        Method(
            "set",
            m.SetParams,
            m.PropertyValueResult,
            api.set,
            "Writes a property; returns the value read back from the camera. Invalid values are refused before anything is sent.",
            (*PROPERTY_ERRORS, codes.INVALID_VALUE),
        ),
        Method(
            "describe",
            m.PropertyParams,
            m.PropertyDescResult,
            api.describe,
            "A property's type, default and allowed values.",
            PROPERTY_ERRORS,
        ),
        Method(
            "capture",
            m.CaptureParams,
            m.TransferResult,
            api.capture,
            "Takes a picture: the new image (generic) or the preview (Fuji), saved by the daemon or returned inline.",
            (*CAMERA_ERRORS, codes.NOT_SUPPORTED, codes.WRITE_FAILED),
        ),
        Method(
            "files",
            m.NoParams,
            list[m.FileResult],
            api.files,
            "The images and files on the camera.",
            (*CAMERA_ERRORS, codes.NOT_SUPPORTED),
        ),
        Method(
            "download",
            m.DownloadParams,
            m.TransferResult,
            api.download,
            "One object from the camera, saved by the daemon or returned inline.",
            (*CAMERA_ERRORS, codes.NOT_SUPPORTED, codes.WRITE_FAILED),
        ),
        Method(
            "delete",
            m.DeleteParams,
            bool,
            api.delete,
            "Deletes one object from the camera (DeleteObject 0x100B); -32003 where the camera has none.",
            (*CAMERA_ERRORS, codes.NOT_SUPPORTED),
        ),
        Method(
            "opreq",
            m.OpreqParams,
            m.OpreqResult,
            api.opreq,
            "Any operation with up to five parameters: the response, the data and the raw packets. It can change anything on the camera.",
            CAMERA_ERRORS,
        ),
        Method(
            "subscribe",
            m.SubscribeParams,
            bool,
            api.subscribe,
            "Notifications on this connection: notify.event, notify.property, notify.connection, notify.ingest.",
        ),
        Method(
            "unsubscribe",
            m.SubscribeParams,
            bool,
            api.unsubscribe,
            "Stops the notifications on this connection.",
        ),
        Method(
            "auth",
            m.AuthParams,
            bool,
            api.auth,
            "Authenticates a non-loopback TCP client with the daemon's token.",
            (codes.UNAUTHORISED,),
            needs_auth=False,
        ),
        Method(
            "rpc.discover",
            m.NoParams,
            dict[str, Any],
            discover,
            "This API as an OpenRPC document.",
            needs_auth=False,
        ),
    ]

"""The methods table: every JSON-RPC method, its params and result models, and its handler.

Each method is declared once, as a handler of :class:`Api` decorated with :func:`method`: its name is the
method's, its annotations are the params model and the result type, its docstring the summary
``rpc.discover`` shows. :func:`build_methods` returns the table bound to one :class:`Api` and
:class:`~ptpipd.rpc.dispatcher.Dispatcher` runs it. Handlers take the validated params model and return the
method's result model (or ``bool`` / the OpenRPC document); the dispatcher serialises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from ptpipd.errors import ErrorCode as codes
from ptpipd.ip.transport import BytesSink
from ptpipd.rpc import models as m
from ptpipd.rpc.auth import AuthGuard, AuthRefused
from ptpipd.rpc.errors import RpcError
from ptpipd.rpc.saving import save
from ptpipd.rpc.urls import INLINE_LIMIT, object_url
from ptpipd.service import CameraService, Subscription

log = logging.getLogger("ptpipd.rpc")


@dataclass(eq=False)
class Client:
    """One connected client: the context every method receives.

    ``peer`` is the client's address (its transport's name for a Unix-socket peer: never one that needs a
    token); ``closing`` is set by a method when the connection must end once its answer is sent (too many wrong
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


@contextlib.asynccontextmanager
async def notifying(
    client: Client, service: CameraService, notify: Callable[[Subscription], Coroutine[Any, Any, None]] | None
) -> AsyncIterator[None]:
    """A connection's notifications: while inside, ``notify(subscription)`` runs as a task of its own for the
    client's subscription, started when the client subscribes and cancelled when it unsubscribes or subscribes
    anew. Leaving ends the subscription and waits for the tasks, cancelled; a task that fails is logged
    (the connection goes on without notifications). ``notify`` None: a transport that cannot send
    notifications (``POST /rpc``); a subscription then only ends with it."""
    tasks: set[asyncio.Task[None]] = set()

    def ended(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # the connection goes on serving requests; only its notifications stopped
            log.error("client %d: notifications stopped: %r", client.id, exc, exc_info=exc)

    def follow(sub: Subscription | None) -> None:
        for task in tasks:
            task.cancel()
        if sub is not None and notify is not None:
            task = asyncio.create_task(notify(sub), name=f"notify-{client.id}")
            tasks.add(task)
            task.add_done_callback(ended)

    client.on_subscribe = follow
    try:
        yield
    finally:
        if client.subscription is not None:
            service.unsubscribe(client.subscription)
            client.subscription = None
        follow(None)  # every task cancelled, those of earlier subscriptions too, and waited for
        if tasks:
            await asyncio.wait(set(tasks))


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


#: The declared methods, by name, in the order the docs list them: (errors, needs_auth).
_DECLARED: dict[str, tuple[tuple[int, ...], bool]] = {}
H = TypeVar("H", bound=Callable[..., Any])


def method(*errors: int, needs_auth: bool = True) -> Callable[[H], H]:
    """Declares an :class:`Api` handler a method of the same name: its params and result models are its
    annotations, its summary its docstring, ``errors`` the codes it answers with besides -32602."""

    def declare(handler: H) -> H:
        _DECLARED[handler.__name__] = (errors, needs_auth)
        return handler

    return declare


@dataclass
class Api:
    """The handlers, bound to the service and the daemon's settings.

    ``client_count`` answers how many clients are connected (the listeners count their own; the daemon
    passes their sum); ``guard`` checks ``auth`` tokens against the daemon's.
    """

    service: CameraService
    capture_dir: Path
    guard: AuthGuard
    client_count: Callable[[], int]
    #: More of ``status`` from the layers above (the data plane's ``http`` and ``liveview``).
    status_extra: Callable[[], dict[str, Any]]

    @method()
    async def status(self, client: Client, p: m.NoParams) -> m.StatusResult:
        """The daemon and the camera connection."""
        return m.StatusResult.model_validate(
            {**self.service.status(), "clients": self.client_count(), **self.status_extra()}
        )

    @method(*PROPERTY_ERRORS)
    async def info(self, client: Client, p: m.NoParams) -> m.InfoResult:
        """The camera's description and all its properties."""
        return m.InfoResult.from_info(await self.service.request(lambda cam: cam.info()))

    @method(*CAMERA_ERRORS, codes.NOT_SUPPORTED)
    async def state(self, client: Client, p: m.NoParams) -> list[m.StateEntryResult]:
        """The camera's state list (Fuji 0xD212); other vendors answer -32003."""
        return [m.StateEntryResult.from_entry(e) for e in await self.service.request(lambda cam: cam.state())]

    @method(*PROPERTY_ERRORS)
    async def get(self, client: Client, p: m.PropertyParams) -> m.PropertyValueResult:
        """A property's current value."""
        return m.PropertyValueResult.from_value(await self.service.get(p.property))

    @method(*PROPERTY_ERRORS, codes.INVALID_VALUE)
    async def set(self, client: Client, p: m.SetParams) -> m.PropertyValueResult:
        """Writes a property; returns the value read back from the camera. Invalid values are refused before
        anything is sent."""
        return m.PropertyValueResult.from_value(await self.service.set(p.property, p.value))

    @method(*PROPERTY_ERRORS)
    async def describe(self, client: Client, p: m.PropertyParams) -> m.PropertyDescResult:
        """A property's type, default and allowed values."""
        return m.PropertyDescResult.from_desc(
            await self.service.request(lambda cam: cam.describe(p.property))
        )

    @method(*CAMERA_ERRORS, codes.NOT_SUPPORTED, codes.WRITE_FAILED)
    async def capture(self, client: Client, p: m.CaptureParams) -> m.TransferResult:
        """Takes a picture: the new image (generic) or the preview (Fuji), saved by the daemon or returned
        inline."""
        inline = INLINE_LIMIT if p.inline else None
        saved = await save(self.capture_dir, "capture", self.service.capture, inline=inline)
        if saved.data is not None:  # inline: the client gets the bytes, the daemon keeps nothing
            return m.TransferResult.from_transfer(saved.transfer, data=saved.data)
        result = m.TransferResult.from_transfer(saved.transfer, path=str(saved.path))
        if p.inline:  # too big to inline: the picture is kept, and the error says where
            raise _too_big(saved.transfer.size, result.url or "", result.path)
        return result

    @method(*CAMERA_ERRORS, codes.NOT_SUPPORTED)
    async def files(self, client: Client, p: m.NoParams) -> list[m.FileResult]:
        """The images and files on the camera."""
        return [m.FileResult.from_entry(f) for f in await self.service.files()]

    @method(*CAMERA_ERRORS, codes.NOT_SUPPORTED, codes.WRITE_FAILED)
    async def download(self, client: Client, p: m.DownloadParams) -> m.TransferResult:
        """One object from the camera, saved by the daemon or returned inline."""
        handle = p.handle
        if not p.inline:
            fetch = functools.partial(self.service.download, handle)
            saved = await save(self.capture_dir, f"object-{handle}", fetch)
            return m.TransferResult.from_transfer(saved.transfer, path=str(saved.path))
        # the size as the driver lists it (a later Fuji body's GetObjectInfo alone gives a placeholder)
        size = (await self.service.file_entry(handle)).size
        if size > INLINE_LIMIT:
            raise _too_big(size, object_url(handle))
        memory = BytesSink(INLINE_LIMIT)
        cap = await self.service.download(handle, memory)
        if memory.overflow:  # the camera sent more than it announced
            raise _too_big(memory.size, object_url(handle))
        return m.TransferResult.from_transfer(cap.transfer, data=bytes(memory.buffer))

    @method(*CAMERA_ERRORS, codes.NOT_SUPPORTED)
    async def delete(self, client: Client, p: m.DeleteParams) -> bool:
        """Deletes one object from the camera (DeleteObject 0x100B); -32003 where the camera has none."""
        await self.service.delete(p.handle)
        return True

    @method(*CAMERA_ERRORS)
    async def opreq(self, client: Client, p: m.OpreqParams) -> m.OpreqResult:
        """Any operation with up to five parameters: the response, the data and the raw packets. It can change
        anything on the camera."""
        return m.OpreqResult.from_result(
            await self.service.request(lambda cam: cam.opreq(p.code, list(p.params)))
        )

    @method()
    async def subscribe(self, client: Client, p: m.SubscribeParams) -> bool:
        """Notifications on this connection: notify.event, notify.property, notify.connection, notify.ingest."""
        if client.subscription is not None:
            self.service.unsubscribe(client.subscription)
        client.subscription = self.service.subscribe(p.topics)
        if client.on_subscribe is not None:
            client.on_subscribe(client.subscription)
        return True

    @method()
    async def unsubscribe(self, client: Client, p: m.SubscribeParams) -> bool:
        """Stops the notifications on this connection."""
        if client.subscription is not None:
            self.service.unsubscribe(client.subscription)
            client.subscription = None
            if client.on_subscribe is not None:
                client.on_subscribe(None)
        return True

    @method(codes.UNAUTHORISED, needs_auth=False)
    async def auth(self, client: Client, p: m.AuthParams) -> bool:
        """Authenticates a non-loopback TCP client with the daemon's token."""
        try:
            self.guard.check(p.token, client.peer, client.auth_failures)
        except AuthRefused as exc:
            client.auth_failures += 1
            client.closing = client.closing or exc.close
            raise RpcError(codes.UNAUTHORISED, str(exc)) from None
        client.authenticated = True
        return True


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
    """The methods of DESIGN.md §4, in the order the docs list them, as :func:`method` declared them."""
    methods = []
    for name, (errors, needs_auth) in _DECLARED.items():
        handler = getattr(Api, name)
        hints = get_type_hints(handler)
        summary = " ".join((handler.__doc__ or "").split())
        methods.append(
            Method(name, hints["p"], hints["return"], getattr(api, name), summary, errors, needs_auth)
        )
    about = "This API as an OpenRPC document."
    return [*methods, Method("rpc.discover", m.NoParams, dict[str, Any], discover, about, needs_auth=False)]

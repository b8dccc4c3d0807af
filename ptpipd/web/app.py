"""The HTTP data plane (DESIGN.md §8): the aiohttp application and its routes, inside the daemon's loop.

| route | answer |
|---|---|
| ``GET /files`` | the ``files`` result, each entry with its ``url`` |
| ``GET``/``HEAD /files/{handle}`` | the object streamed from the camera (``Range``, ``ETag``, ``If-Range``) |
| ``GET /files/{handle}/thumb`` | the camera's thumbnail |
| ``POST /capture`` | takes a picture: ``{handle, url, format, size, filename, path}`` (:func:`post_capture`) |
| ``GET /captures/{name}`` | a file the daemon saved (a capture preview on cameras that keep no object) |
| ``DELETE /captures/{name}`` | removes it (a client that kept its own copy) |
| ``GET /liveview.mjpeg`` | ``multipart/x-mixed-replace`` JPEG stream (one camera stream for all viewers) |
| ``GET /liveview.jpg`` | the newest live-view frame |
| ``HEAD`` of either | their headers only: no viewer joins, the camera's live view does not start |
| ``GET /rpc`` / ``POST /rpc`` | JSON-RPC over a WebSocket / one request or batch |
| ``POST /auth`` | sets the browser's session cookie (see :mod:`ptpipd.web.auth`) |
| ``GET /``, ``GET /static/{name}`` | the remote-control page and its files (``static/``, shipped in the package) |

Errors are ``{"error": {code, message, data}}`` with the JSON-RPC code and an HTTP status
(:mod:`ptpipd.web.errors`), aiohttp's own refusals too (a 405 keeps its ``Allow``), until the answer has
begun: a stream (a download, live view) that fails after its head went out ends its connection, so the client
sees a short body and never an error inside it. Everything is bounded (:class:`WebOptions`): request line and
header sizes, a connection that sends no complete request, a client that stops reading (each write has a
timeout, and no write ever happens while the camera is held), viewers and their one-frame slots.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from aiohttp import web

from ptpipd.errors import CameraError
from ptpipd.errors import ErrorCode as codes
from ptpipd.rpc.auth import AuthRefused
from ptpipd.rpc.dispatcher import MAX_MESSAGE
from ptpipd.rpc.models import TransferResult
from ptpipd.rpc.saving import save
from ptpipd.vendors.base import LiveViewSource, unsupported
from ptpipd.vendors.liveview import LiveFrame
from ptpipd.web import files as files_route
from ptpipd.web import rpc as rpc_route
from ptpipd.web.auth import Handler, TokenRule, cookie_name, middleware, peer_key, unauthorised
from ptpipd.web.backend import Backend
from ptpipd.web.errors import HttpError, not_found, reason
from ptpipd.web.limits import body_middleware
from ptpipd.web.liveview import LiveHub, Viewer, ViewerLimit

log = logging.getLogger(__name__)

BOUNDARY = "ptpipdframe"


@dataclass(frozen=True, slots=True)
class WebOptions:
    """Limits and timeouts of the data plane (seconds and bytes)."""

    write_timeout: float = 20.0  # one write to a client that does not read
    idle_timeout: float = 15.0  # a connection without a complete request (slow or silent headers or body)
    max_connections: int = 128  # HTTP connections at a time (more: 503), every listener together
    loopback_exempt: bool = True  # False: loopback peers show the token too (a reverse proxy on this machine)
    first_frame_timeout: float = 10.0
    frame_timeout: float = 10.0
    linger: float = 3.0  # the camera's live view runs this long after the last viewer left
    max_viewers: int = 64
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 64
    heartbeat: float = 20.0  # WebSocket ping interval; a client that does not answer is dropped
    shutdown_timeout: float = 1.0


BACKEND = web.AppKey("backend", Backend)
HUB = web.AppKey("hub", LiveHub)
OPTIONS = web.AppKey("options", WebOptions)
RULE = web.AppKey("rule", TokenRule)


#: The responses prepared (their head on the wire) while the handler of the current request runs: from then on a
#: failure can only end the connection, never become an error answer (aiohttp would write that into the body
#: already begun). A context variable, not request storage: aiohttp before 3.14 has no typed request keys.
_BEGUN: ContextVar[list[web.StreamResponse] | None] = ContextVar("ptpipd_web_begun", default=None)


async def _prepared(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: notes an answer under way (every streaming handler's ``prepare()``, downloads,
    live view and WebSockets alike, passes through here; the middleware's own answers come after it)."""
    begun = _BEGUN.get()
    if begun is not None:
        begun.append(response)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    begun: list[web.StreamResponse] = []
    token = _BEGUN.set(begun)
    try:
        return await handler(request)
    except Exception as exc:
        if not begun:
            return _answer(request, exc)
        # the head (and maybe part of the body) is out: the client must see a short body, never foreign bytes
        if isinstance(exc, (CameraError, ConnectionError, TimeoutError)):
            log.info("%s %s to %s stopped: %s", request.method, request.path, request.remote, reason(exc))
        else:  # a bug: logged with its traceback
            log.exception("%s %s failed after its answer began", request.method, request.path)
        if request.transport is not None:
            request.transport.abort()
        return begun[0]  # already prepared: aiohttp sends nothing more on the closed transport
    finally:
        _BEGUN.reset(token)


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The error answer of a request whose handler failed before any answer began."""
    if isinstance(exc, HttpError):
        return exc.response()
    if isinstance(exc, CameraError):
        return HttpError.from_camera(exc).response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        if exc.status == 404:
            return not_found(request.path[:200]).response()
        return _refusal(request, exc).response()
    if isinstance(exc, (ConnectionError, TimeoutError)):
        # the client went away, or stopped reading for longer than the write timeout: nothing to answer
        log.debug("%s %s: client %s gone: %s", request.method, request.path, request.remote, exc)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never sent (the transport is closed); aiohttp drops it quietly
    # a bug: logged with its traceback, -32603 for the client
    log.error("%s %s failed", request.method, request.path, exc_info=exc)
    return HttpError(500, codes.INTERNAL_ERROR, "Internal error", str(exc) or type(exc).__name__).response()


def _refusal(request: web.Request, exc: web.HTTPException) -> HttpError:
    """aiohttp's own refusal (a 405, a body over the cap, a bad WebSocket handshake …) as a JSON error. Its
    headers (``Allow`` …) are kept, not those of its text body (``Content-Type``: aiohttp refuses both that
    header and the JSON body's ``content_type``)."""
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
    if exc.status == 405:
        allowed = headers.get("Allow", "")
        message = f"{request.method} is not allowed on {request.path[:200]} (allowed: {allowed})"
        return HttpError(405, codes.INVALID_REQUEST, message, {"allow": allowed.split(",")}, headers)
    return HttpError(exc.status, codes.INVALID_REQUEST, exc.text or exc.reason, None, headers)


# ---------------------------------------------------------------------------------------------- files


async def list_files(request: web.Request) -> web.Response:
    return web.json_response(await request.app[BACKEND].files())  # each entry with its url (FileResult)


async def get_file(request: web.Request) -> web.StreamResponse:
    handle = files_route.parse_handle(request.match_info["handle"])
    app = request.app
    return await files_route.serve_object(request, app[BACKEND], handle, app[OPTIONS].write_timeout)


async def get_thumb(request: web.Request) -> web.Response:
    handle = files_route.parse_handle(request.match_info["handle"])
    data = await request.app[BACKEND].thumb(handle)
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "no-cache"})


async def post_capture(request: web.Request) -> web.Response:
    """Takes a picture. The daemon keeps a copy in its capture directory (``path``, ``GET /captures/NAME``);
    with ``?copy=needed`` only of what the camera keeps nothing of (a preview): a picture on the card is then
    served from ``/files/HANDLE`` and ``path`` is null (no copy piles up, as a time-lapse from the page would)."""
    backend = request.app[BACKEND]
    copy = request.query.get("copy", "always")
    if copy not in ("always", "needed"):
        raise HttpError(400, codes.INVALID_PARAMS, f"copy must be 'always' or 'needed', not {copy[:40]!r}")
    saved = await save(backend.capture_dir, "capture", backend.service.capture, copy_kept=copy == "always")
    t = saved.transfer
    # as the JSON-RPC capture answers (the url: the camera's object, else the file the daemon saved), with
    # the handle and file name even when there are none
    path = str(saved.path) if saved.path is not None else None
    shot = TransferResult.from_transfer(t, path=path).model_dump(mode="json")
    return web.json_response({"handle": t.handle, "filename": t.filename, "path": path, **shot})


def _file_in(directory: Path, where: str, request: web.Request) -> Path:
    """The file ``{name}`` names in ``directory`` (no sub-directories, no dot-files); 404 for anything else."""
    name = request.match_info["name"]
    path = directory / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise not_found(f"{where}{name[:100]}")
    return path


async def get_capture(request: web.Request) -> web.StreamResponse:
    path = _file_in(request.app[BACKEND].capture_dir, "/captures/", request)
    # a bad Range: the JSON 416 of /files, not aiohttp's empty one
    files_route.check_range(request, path.stat().st_size)
    return web.FileResponse(
        path, headers={"Content-Disposition": files_route.disposition("attachment", path.name)}
    )


async def delete_capture(request: web.Request) -> web.Response:
    """Removes a file the daemon saved (a client that has its own copy now, such as ptpipctl capture)."""
    _file_in(request.app[BACKEND].capture_dir, "/captures/", request).unlink(missing_ok=True)
    return web.Response(status=204)


# ---------------------------------------------------------------------------------------------- live view


#: The headers of each live-view answer.
MJPEG_HEADERS = {
    "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
}
JPEG_HEADERS = {"Content-Type": "image/jpeg", "Cache-Control": "no-store"}


def _check_liveview(request: web.Request) -> None:
    service = request.app[BACKEND].service
    if service.capabilities.liveview is LiveViewSource.NONE:
        raise unsupported(service.vendor_name, "live view")


async def _head_only(request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
    """``HEAD`` (aiohttp adds it to every GET route): the answer's headers alone, without joining the hub, so
    no camera stream starts and no viewer stays for a body a HEAD never has (RFC 9110 §9.3.2)."""
    _check_liveview(request)
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)  # no Content-Length: a frame's size is only known once it came
    return response


def _join(request: web.Request) -> Viewer:
    _check_liveview(request)
    try:
        return request.app[HUB].join()
    except ViewerLimit as exc:
        raise HttpError(503, codes.TOO_MANY_REQUESTS, str(exc), None, {"Retry-After": "5"}) from None


async def _first(viewer: Viewer, timeout: float) -> LiveFrame:
    try:
        return await viewer.next(timeout)
    except TimeoutError:
        raise HttpError(504, codes.TIMEOUT, f"no live-view frame within {timeout:g} s") from None


def _part(frame: LiveFrame) -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n"
        f"X-Frame: {frame.sequence}\r\n\r\n"
    )
    return head.encode() + frame.jpeg + b"\r\n"


async def _stream(response: web.StreamResponse, viewer: Viewer, frame: LiveFrame, opts: WebOptions) -> None:
    """Writes ``frame`` and each next one until the stream fails (with a reason the log line names)."""
    while True:
        try:
            async with asyncio.timeout(opts.write_timeout):
                await response.write(_part(frame))
        except TimeoutError:
            raise TimeoutError("write timeout") from None
        try:
            frame = await viewer.next(opts.frame_timeout)
        except TimeoutError:
            raise TimeoutError(f"no frame from the camera for {opts.frame_timeout:g} s") from None


async def liveview_mjpeg(request: web.Request) -> web.StreamResponse:
    if request.method == "HEAD":
        return await _head_only(request, MJPEG_HEADERS)
    opts, hub = request.app[OPTIONS], request.app[HUB]
    viewer = _join(request)
    try:
        frame = await _first(viewer, opts.first_frame_timeout)
        response = web.StreamResponse(headers=MJPEG_HEADERS)
        await response.prepare(request)
        try:
            await _stream(response, viewer, frame, opts)
        except (CameraError, TimeoutError, ConnectionError) as exc:
            # the camera's stream ended, no frame came for long, or the viewer stopped reading: a multipart
            # stream has no end marker a player waits for, so the connection simply ends
            log.info("live-view viewer %s: %s", request.remote, reason(exc))
            if request.transport is not None:
                request.transport.abort()
        return response
    finally:
        hub.leave(viewer)


async def liveview_jpg(request: web.Request) -> web.StreamResponse:
    if request.method == "HEAD":
        return await _head_only(request, JPEG_HEADERS)
    viewer = _join(request)
    try:
        frame = await _first(viewer, request.app[OPTIONS].first_frame_timeout)
    finally:
        request.app[HUB].leave(viewer)
    return web.Response(body=frame.jpeg, headers={**JPEG_HEADERS, "X-Frame": str(frame.sequence)})


# ---------------------------------------------------------------------------------------------- rpc, auth


async def post_auth(request: web.Request) -> web.Response:
    rule = request.app[RULE]
    if request.content_type == "application/json":
        try:
            token = (await request.json()).get("token")
        except (ValueError, AttributeError):
            raise HttpError(400, codes.INVALID_PARAMS, 'the body must be JSON {"token": "…"}') from None
    else:
        token = (await request.post()).get("token")
    if rule.session is None:
        return web.json_response({"authenticated": True})
    try:
        # a wrong token counts against the peer's address; while it is locked out none is taken
        rule.guard.check(token if isinstance(token, str) else "", peer_key(request), 0)
    except AuthRefused as exc:
        raise unauthorised(str(exc)) from None
    response = web.json_response({"authenticated": True})
    response.set_cookie(cookie_name(request), rule.session, httponly=True, samesite="Strict", path="/")
    return response


#: The web page: static files shipped in the package (no build step, nothing fetched from elsewhere).
STATIC = Path(__file__).resolve().parent / "static"

#: Every answer of the page's own files: a browser may keep them but asks again each time (the daemon and
#: its page change together on an upgrade); nothing from any other origin may run or load in the page.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
}


#: The page's media types, fixed (the system's MIME table varies: ``.js`` may be application/javascript).
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def _page_file(path: Path) -> web.FileResponse:
    media = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return web.FileResponse(path, headers={**PAGE_HEADERS, "Content-Type": media})


async def index(request: web.Request) -> web.FileResponse:
    """The remote-control page (``static/index.html``)."""
    return _page_file(STATIC / "index.html")


async def static_file(request: web.Request) -> web.FileResponse:
    """``/static/NAME``: one of the page's files (no sub-directories, no dot-files)."""
    return _page_file(_file_in(STATIC, "/static/", request))


def create_app(backend: Backend, hub: LiveHub, options: WebOptions) -> web.Application:
    """The application: routes, the token rule, JSON errors, a 1 MiB body cap."""
    rule = TokenRule(backend.dispatcher.guard, loopback_exempt=options.loopback_exempt)
    middlewares = [_errors, middleware(rule), body_middleware(options.idle_timeout)]
    app = web.Application(middlewares=middlewares, client_max_size=MAX_MESSAGE)
    app[BACKEND] = backend
    app[HUB] = hub
    app[OPTIONS] = options
    app[RULE] = rule
    app.on_response_prepare.append(_prepared)
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_post("/auth", post_auth)
    app.router.add_get("/files", list_files)
    app.router.add_get("/files/{handle}", get_file)  # HEAD too (aiohttp adds it for GET routes)
    app.router.add_get("/files/{handle}/thumb", get_thumb)
    app.router.add_post("/capture", post_capture)
    app.router.add_get("/captures/{name}", get_capture)
    app.router.add_delete("/captures/{name}", delete_capture)
    app.router.add_get("/liveview.mjpeg", liveview_mjpeg)
    app.router.add_get("/liveview.jpg", liveview_jpg)
    app.router.add_get("/rpc", partial(rpc_route.websocket, backend=backend, heartbeat=options.heartbeat))
    app.router.add_post("/rpc", partial(rpc_route.post_rpc, backend=backend))
    return app

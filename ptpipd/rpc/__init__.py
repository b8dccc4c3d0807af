"""JSON-RPC 2.0: the methods table with pydantic models, error codes, OpenRPC discovery, dispatching.

For a transport (NDJSON, WebSocket, ``POST /rpc``): ``make_dispatcher(...)`` once, a :class:`Client` per
connection, then ``await dispatcher.respond(message, client)`` per message (text, bytes, or already parsed)
→ the response text, or None when nothing is due; notifications after ``subscribe`` arrive on the
subscription :func:`notifying` hands to the transport's sender (``client.on_subscribe``) and are written
with :func:`notification_text`; close the connection after an answer when ``client.closing`` is set.
In-process callers use ``await dispatcher.call(method, params, client)`` → the result model or an
:class:`RpcError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ptpipd.rpc.auth import AuthGuard
from ptpipd.rpc.dispatcher import Dispatcher, error_response, notification_text
from ptpipd.rpc.errors import RpcError
from ptpipd.rpc.methods import Api, Client, Method, build_methods, notifying
from ptpipd.rpc.openrpc import openrpc_document
from ptpipd.service import CameraService

__all__ = [
    "Client",
    "Dispatcher",
    "Method",
    "RpcError",
    "error_response",
    "make_dispatcher",
    "notification_text",
    "notifying",
]


def make_dispatcher(
    service: CameraService,
    capture_dir: Path,
    auth_token: str | None = None,
    *,
    client_count: Callable[[], int] = int,
    status_extra: Callable[[], dict[str, Any]] = dict,
) -> Dispatcher:
    """The daemon's dispatcher: the methods of DESIGN.md §4 bound to ``service``.

    ``client_count`` says how many clients are connected right now (``status.clients``); the daemon passes
    the sum of its listeners' own counts. ``status_extra`` adds the layers above to ``status`` (the data
    plane's ``http`` and ``liveview``). Without them (``int``, ``dict``): no clients, nothing more.
    """
    guard = AuthGuard(auth_token)
    api = Api(service, capture_dir, guard, client_count, status_extra)
    document: dict[str, Any] = {}

    async def discover(client: Client, params: Any) -> dict[str, Any]:
        return document

    methods = build_methods(api, discover)
    document.update(openrpc_document(methods))
    return Dispatcher(methods, guard)

"""JSON-RPC 2.0: the methods table with pydantic models, error codes, OpenRPC discovery, dispatching."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ptpipd.rpc.dispatcher import Dispatcher
from ptpipd.rpc.errors import RpcError
from ptpipd.rpc.methods import Api, Client, Method, build_methods, no_clients
from ptpipd.rpc.openrpc import openrpc_document
from ptpipd.service import CameraService

__all__ = [
    "Api",
    "Client",
    "Dispatcher",
    "Method",
    "RpcError",
    "build_methods",
    "make_dispatcher",
    "openrpc_document",
]


def make_dispatcher(
    service: CameraService,
    capture_dir: Path,
    auth_token: str | None = None,
    client_count: Callable[[], int] = no_clients,
) -> Dispatcher:
    """The daemon's dispatcher: the methods of DESIGN.md §4 bound to ``service``.

    ``client_count`` says how many clients are connected right now (``status.clients``); the daemon passes
    the sum of its listeners' own counts.
    """
    api = Api(service, capture_dir, auth_token, client_count)
    document: dict[str, Any] = {}

    async def discover(client: Client, params: Any) -> dict[str, Any]:
        return document

    methods = build_methods(api, discover)
    document.update(openrpc_document(methods))
    return Dispatcher(methods)

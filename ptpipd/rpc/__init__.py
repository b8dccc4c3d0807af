"""JSON-RPC 2.0: the methods table with pydantic models, error codes, OpenRPC discovery, dispatching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ptpipd.rpc.dispatcher import Dispatcher
from ptpipd.rpc.methods import Api, Client, Method, build_methods
from ptpipd.rpc.openrpc import openrpc_document
from ptpipd.service import CameraService

__all__ = ["Api", "Client", "Dispatcher", "Method", "build_methods", "make_dispatcher", "openrpc_document"]


def make_dispatcher(service: CameraService, capture_dir: Path, auth_token: str | None = None) -> Dispatcher:
    """The daemon's dispatcher: the methods of DESIGN.md §4 bound to ``service``."""
    api = Api(service, capture_dir, auth_token)
    document: dict[str, Any] = {}

    async def discover(client: Client, params: Any) -> dict[str, Any]:
        return document

    methods = build_methods(api, discover)
    document.update(openrpc_document(methods))
    return Dispatcher(methods)

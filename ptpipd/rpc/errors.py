"""JSON-RPC error codes (DESIGN.md §4) and the conversion of exceptions into error results."""

from __future__ import annotations

import json
from typing import Any

from jsonrpcserver import Error, InvalidParams, Result
from pydantic import ValidationError

from ptpipd.errors import CameraError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NOT_CONNECTED = -32000
TIMEOUT = -32001
REFUSED = -32002
NOT_SUPPORTED = -32003
UNKNOWN_PROPERTY = -32004
INVALID_VALUE = -32005
TOO_MANY_REQUESTS = -32006
UNAUTHORISED = -32010

#: Every error a method can answer with, and what it means (used by rpc.discover and the docs).
ERROR_TABLE: dict[int, str] = {
    PARSE_ERROR: "Parse error: the line is not valid JSON",
    INVALID_REQUEST: "Invalid request: not a JSON-RPC 2.0 request object (or a line over 1 MiB)",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params: `data` lists what is wrong",
    INTERNAL_ERROR: "Internal error: a bug in the daemon (logged with a traceback)",
    NOT_CONNECTED: "Camera not connected: `data` has `state` and `last_error`",
    TIMEOUT: "The camera did not answer in time: `data` has `timeout_s` and `opcode`",
    REFUSED: "The camera refused (PTP response not OK): `data` has `response`, `name`, `opcode`",
    NOT_SUPPORTED: "Not supported by this camera or vendor: `data` has `vendor`",
    UNKNOWN_PROPERTY: "Unknown property: `data` has `property` and the `known` names",
    INVALID_VALUE: "Invalid value (nothing was sent to the camera): `data` has `property`, `value`, `allowed`",
    TOO_MANY_REQUESTS: "Too many queued requests: `data` has `queued`",
    UNAUTHORISED: "Unauthorised: on non-loopback TCP, call `auth` with the daemon's token first",
}


class RpcError(Exception):
    """An error a method raises to answer with a specific code."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


def camera_error(exc: CameraError) -> Result:
    """The error result of a camera error."""
    data = exc.data()
    return Error(exc.rpc_code, str(exc), data) if data is not None else Error(exc.rpc_code, str(exc))


def rpc_error(exc: RpcError) -> Result:
    """The error result of an :class:`RpcError`."""
    return Error(exc.code, str(exc), exc.data) if exc.data is not None else Error(exc.code, str(exc))


def invalid_params(exc: ValidationError) -> Result:
    """-32602 with pydantic's errors (JSON-safe) as ``data``."""
    errors = json.loads(exc.json(include_url=False, include_context=False, include_input=True))
    for error in errors:
        error["loc"] = [str(part) for part in error.get("loc", [])]
    return InvalidParams(errors)

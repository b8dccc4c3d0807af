"""JSON-RPC errors: what each code means (DESIGN.md §4), and the conversion of exceptions into them.

The numbers and their names are :class:`ptpipd.errors.ErrorCode`'s (imported as ``codes``: the layers read
``codes.INVALID_PARAMS``).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from ptpipd.errors import ErrorCode as codes
from ptpipd.errors import shorten

#: Every error a method can answer with, and what it means (used by rpc.discover and the docs).
ERROR_TABLE: dict[int, str] = {
    codes.PARSE_ERROR: "Parse error: the line is not valid JSON",
    codes.INVALID_REQUEST: "Invalid request: not a JSON-RPC 2.0 request object (or a line over 1 MiB)",
    codes.METHOD_NOT_FOUND: "Method not found",
    codes.INVALID_PARAMS: "Invalid params: `data` lists what is wrong",
    codes.INTERNAL_ERROR: "Internal error: a bug in the daemon (logged with a traceback)",
    codes.NOT_CONNECTED: "Camera not connected: `data` has `state` and `last_error`",
    codes.TIMEOUT: "The camera did not answer in time: `data` has `timeout_s` and `opcode`",
    codes.REFUSED: "The camera refused (PTP response not OK): `data` has `response`, `name`, `opcode`",
    codes.NOT_SUPPORTED: "Not supported by this camera or vendor: `data` has `vendor`",
    codes.UNKNOWN_PROPERTY: "Unknown property: `data` has `property` and the `known` names",
    codes.INVALID_VALUE: "Invalid value (nothing was sent to the camera): `data` has `property`, `value`, `allowed`",
    codes.TOO_MANY_REQUESTS: "Too many queued requests (`data` has `queued`), or too many connections on this "
    "listener (`data` has `connections`; the connection is then closed)",
    codes.WRITE_FAILED: "The daemon could not store the data (a full disk…); the camera keeps it: `data` has `reason`, `errno`",
    codes.UNAUTHORISED: "Unauthorised: on non-loopback TCP, call `auth` with the daemon's token first",
}

#: How much of a client's input the -32602 ``data`` may echo back (strings, and integers in hex digits): more
#: than a camera error repeats of a value (:data:`ptpipd.errors.ECHO_LIMIT`, which its one-line message
#: quotes), since this echo is what shows a program which part of its request was refused.
INPUT_ECHO_LIMIT = 200


class RpcError(Exception):
    """A JSON-RPC error: ``code``, ``message`` (the exception's text) and optional ``data``.

    Handlers raise it to answer with a specific code; :meth:`Dispatcher.call` returns it (never raises it) for
    every failure, so a caller holds either a result or an :class:`RpcError`.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        """The JSON-RPC ``error`` object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def __repr__(self) -> str:
        return f"RpcError({self.code}, {self.message!r}, {self.data!r})"


def invalid_params(exc: ValidationError) -> RpcError:
    """-32602 with pydantic's errors as ``data``: ``type``, ``loc`` (strings), ``msg`` and the ``input``.

    The errors are taken as Python objects (never through pydantic's JSON and back) and the echoed input is
    made safe for strict JSON: no NaN or Infinity, no integer wider than the JSON a client can read (shown as
    hex), nothing longer than :data:`INPUT_ECHO_LIMIT`.
    """
    details = []
    for error in exc.errors(include_url=False, include_context=False):
        detail: dict[str, Any] = {
            "type": error["type"],
            "loc": [str(part) for part in error["loc"]],
            "msg": error["msg"],
        }
        if "input" in error:
            detail["input"] = json_safe(error["input"])
        details.append(detail)
    return params_error(details)


def params_error(details: list[dict[str, Any]]) -> RpcError:
    """-32602 with ``details`` (pydantic-shaped: ``type``, ``loc``, ``msg``)."""
    return RpcError(codes.INVALID_PARAMS, "Invalid params", details)


def problem(kind: str, message: str) -> RpcError:
    """-32602 for one problem that is not a field's (``loc`` empty)."""
    return params_error([{"type": kind, "loc": [], "msg": message}])


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as strict JSON can carry it (a client's input, echoed in an error)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) < 1 << 63:
            return value
        return shorten(f"{value:#x}", INPUT_ECHO_LIMIT)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return shorten(value, INPUT_ECHO_LIMIT)
    if depth >= 4:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return {str(k)[:INPUT_ECHO_LIMIT]: json_safe(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value[:20]]
    return json_safe(repr(value))

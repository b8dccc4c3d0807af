"""Error answers of the data plane: ``{"error": {code, message, data}}`` with the JSON-RPC code of the same
failure and a fitting HTTP status (DESIGN.md §8)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ptpipd.camera import failure_reason
from ptpipd.errors import CameraError
from ptpipd.errors import ErrorCode as codes
from ptpipd.rpc.errors import RpcError
from ptpipd.web.backend import UnknownObject

#: The HTTP status of each JSON-RPC code (anything else: 500).
STATUS_OF_CODE: dict[int, int] = {
    codes.PARSE_ERROR: 400,
    codes.INVALID_REQUEST: 400,
    codes.METHOD_NOT_FOUND: 404,
    codes.INVALID_PARAMS: 400,
    codes.NOT_CONNECTED: 503,
    codes.TIMEOUT: 504,
    codes.REFUSED: 502,
    codes.NOT_SUPPORTED: 501,
    codes.UNKNOWN_PROPERTY: 404,
    codes.INVALID_VALUE: 400,
    codes.TOO_MANY_REQUESTS: 503,
    codes.WRITE_FAILED: 507,  # Insufficient Storage
    codes.UNAUTHORISED: 401,
}


class HttpError(RpcError):
    """An error answer: HTTP ``status``, the JSON-RPC error (``code``, ``message``, ``data``), extra
    ``headers``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, data)
        self.status = status
        self.headers = headers or {}

    @classmethod
    def from_camera(cls, exc: CameraError) -> HttpError:
        """The answer for a camera failure (an unknown object is a 404)."""
        status = 404 if isinstance(exc, UnknownObject) else STATUS_OF_CODE.get(exc.rpc_code, 500)
        headers = {"Retry-After": "1"} if status == 503 else None
        return cls(status, exc.rpc_code, str(exc), exc.data(), headers)

    def response(self) -> web.Response:
        """The JSON error response."""
        return web.Response(
            status=self.status,
            text=json.dumps({"error": self.to_dict()}, ensure_ascii=False, default=str),
            content_type="application/json",
            headers=self.headers,
        )


def not_found(what: str) -> HttpError:
    """404 for a path the data plane does not serve."""
    return HttpError(404, codes.METHOD_NOT_FOUND, f"no such resource: {what}")


def reason(exc: BaseException, timeout: str = "timed out") -> str:
    """Why a stream stopped, for its log line: ``timeout`` for a timeout without text, else the link's
    :func:`~ptpipd.camera.failure_reason` (the text, or the exception's type name); never empty."""
    if isinstance(exc, TimeoutError) and not str(exc).strip():
        return timeout
    return failure_reason(exc)

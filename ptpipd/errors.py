"""The JSON-RPC error codes of DESIGN.md §4, named once, and the errors a camera operation can end with.

:class:`ErrorCode` is the one place the numbers are written; every other module names them. The camera
errors (one class per application code) are raised by :mod:`ptpipd.vendors` and :mod:`ptpipd.camera`, passed
through by the service, and turned into JSON-RPC errors by :mod:`ptpipd.rpc` (each class's ``rpc_code`` and
:meth:`CameraError.data`). This module imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from enum import IntEnum
from typing import Any, ClassVar


class ErrorCode(IntEnum):
    """Every JSON-RPC error code the daemon answers with (DESIGN.md §4)."""

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
    WRITE_FAILED = -32007
    UNAUTHORISED = -32010


#: How much of a user's value or name a camera error repeats in its message and ``data`` (the rest is cut: a
#: 100 kB value is not echoed). A second, longer limit is the -32602 ``data``'s echo of a request's input
#: (:data:`ptpipd.rpc.errors.INPUT_ECHO_LIMIT`).
ECHO_LIMIT = 64


def shorten(value: object, limit: int = ECHO_LIMIT) -> object:
    """``value``, or its first ``limit`` characters and ``…`` when it is a longer text."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


def echo(value: object) -> str:
    """How a message repeats a user's value: quoted, cut after :data:`ECHO_LIMIT` characters with its
    length said (``'xxxx…' (100000 characters)``)."""
    if isinstance(value, str) and len(value) > ECHO_LIMIT:
        return f"{shorten(value)!r} ({len(value)} characters)"
    return repr(value)


class CameraError(Exception):
    """Base class: a camera operation did not succeed, for a reason a client should be told; ``data`` is the
    JSON-RPC ``error.data`` object that goes with it (DESIGN.md §4), given by each subclass's constructor."""

    rpc_code: ClassVar[int] = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self._data = data

    def data(self) -> dict[str, Any] | None:
        """The JSON-RPC ``error.data`` object for this error (DESIGN.md §4)."""
        return self._data


class NotConnected(CameraError):
    """-32000: there is no working session with the camera (it is connecting, pairing or gone)."""

    rpc_code = ErrorCode.NOT_CONNECTED

    def __init__(self, message: str, *, state: str = "disconnected", last_error: str | None = None) -> None:
        super().__init__(message, {"state": state, "last_error": last_error})


class CameraTimeout(CameraError):
    """-32001: the camera did not answer in time (the session is then reset)."""

    rpc_code = ErrorCode.TIMEOUT

    def __init__(self, message: str, *, timeout_s: float, opcode: int | None = None) -> None:
        code = None if opcode is None else f"0x{opcode:04X}"
        super().__init__(message, {"timeout_s": timeout_s, "opcode": code})


class CameraRefused(CameraError):
    """-32002: the camera answered with a response code other than OK."""

    rpc_code = ErrorCode.REFUSED

    def __init__(self, response: int, response_name: str, opcode: int, message: str | None = None) -> None:
        super().__init__(
            message or f"the camera refused operation 0x{opcode:04X}: {response_name} (0x{response:04X})",
            {"response": f"0x{response:04X}", "name": response_name, "opcode": f"0x{opcode:04X}"},
        )
        self.response = response
        self.response_name = response_name
        self.opcode = opcode


class NotSupported(CameraError):
    """-32003: this camera or vendor does not support the operation."""

    rpc_code = ErrorCode.NOT_SUPPORTED

    def __init__(self, message: str, *, vendor: str) -> None:
        super().__init__(message, {"vendor": vendor})


class UnknownProperty(CameraError):
    """-32004: no property by that name or code on this camera."""

    rpc_code = ErrorCode.UNKNOWN_PROPERTY

    def __init__(self, prop: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown property {echo(prop)}", {"property": str(shorten(prop)), "known": list(known)}
        )


class InvalidValue(CameraError):
    """-32005: the value is not one the property allows; nothing was sent to the camera."""

    rpc_code = ErrorCode.INVALID_VALUE

    def __init__(self, prop: str, value: object, allowed: Sequence[str], reason: str | None = None) -> None:
        # the whole list, never cut mid-list: it is what the user may write instead
        listed = f"allowed: {', '.join(allowed)}" if allowed else None
        detail = "; ".join(part for part in (reason, listed) if part) or "no value is allowed"
        super().__init__(
            f"invalid value {echo(value)} for {prop}: {detail}",
            {"property": prop, "value": shorten(value), "allowed": list(allowed)},
        )


class TooManyRequests(CameraError):
    """-32006: too many requests are already queued for the camera."""

    rpc_code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(self, queued: int) -> None:
        super().__init__(f"too many queued requests ({queued}); try again later", {"queued": queued})


class WriteFailed(CameraError):
    """-32007: the daemon could not store what the camera sent (a full disk, say); the session goes on and
    the camera keeps its copy."""

    rpc_code = ErrorCode.WRITE_FAILED

    def __init__(self, error: OSError, what: str = "the data") -> None:
        reason = error.strerror or str(error)
        errno_name = errno.errorcode.get(error.errno or 0)
        super().__init__(
            f"the daemon could not store {what}: {reason}", {"reason": reason, "errno": errno_name}
        )


class PairingFailed(CameraError):
    """The camera refused this client at the init handshake (InitFail); the message, the vendor driver's
    explanation of the reason, says what to do on the camera."""

    rpc_code = ErrorCode.NOT_CONNECTED

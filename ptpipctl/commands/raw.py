"""``ptpipctl opreq`` (any operation, hex-dumped like the seed tool) and ``call`` (any JSON-RPC method)."""

from __future__ import annotations

import sys

from ptpipctl.client import UsageError
from ptpipctl.jsonio import JSONError, loads
from ptpipctl.output import json_text, packet_dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.commands import Globals

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_hex(text: str, bits: int, what: str) -> int:
    """A hex number as the seed reads it: ``0x1015`` or ``1015``; :class:`UsageError` otherwise."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if not digits or not set(digits) <= HEX_DIGITS:
        raise UsageError(f"invalid {what} {text!r}: give it in hex, e.g. 0x1015")
    value = int(digits, 16)
    if value >= 1 << bits:
        raise UsageError(f"invalid {what} {text!r}: more than {bits} bits")
    return value


def opreq(g: Globals, code: str, params: list[str] | tuple[str, ...] = (), *, as_json: bool = False) -> None:
    """Runs any operation (code and up to five parameters, in hex) and hex-dumps the packets received."""
    if len(params) > 5:
        raise UsageError(f"an operation takes at most 5 parameters, got {len(params)}")
    request = {
        "code": parse_hex(code, 16, "operation code"),
        "params": [parse_hex(p, 32, "parameter") for p in params],
    }
    with g.target().connect() as conn:
        result = conn.call("opreq", request)
    if as_json:
        sys.stdout.write(json_text(result))
    else:
        sys.stdout.write(packet_dumps(bytes.fromhex(p) for p in result.get("packets") or []))


def call(g: Globals, method: str, params: str | None = None, *, pretty: bool = False) -> None:
    """Sends one raw JSON-RPC request (params: a JSON object or array) and prints its result as JSON."""
    value: Any = None
    if params is not None:
        try:
            value = loads(params)
        except JSONError as exc:
            raise UsageError(f"the params are not valid JSON: {exc}") from None
        if not isinstance(value, dict | list):
            raise UsageError("the params must be a JSON object or array")
    with g.target().connect() as conn:
        result = conn.call(method, value)
    sys.stdout.write(json_text(result, pretty=pretty))

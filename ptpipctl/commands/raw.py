"""``ptpipctl opreq`` (any operation, hex-dumped like the seed tool) and ``call`` (any JSON-RPC method)."""

from __future__ import annotations

import sys

from ptpipctl.client import CtlError, UsageError
from ptpipctl.declare import JSON, PRETTY, Param, command
from ptpipctl.jsonio import JSONError, loads
from ptpipctl.output import json_text, packet_dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
OK = "0x2001"


def parse_code(text: str) -> int:
    """An operation code as the seed reads it, always hex: ``0x1015`` or ``1015``."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if not digits or not set(digits) <= HEX_DIGITS or int(digits, 16) > 0xFFFF:
        raise UsageError(f"invalid operation code {text!r}: give 16 bits in hex, e.g. 0x1015")
    return int(digits, 16)


def parse_param(text: str) -> int:
    """A parameter as everywhere else in ptpipctl: decimal (``16``), or hex with ``0x`` (``0x10``)."""
    hexa = text[:2] in ("0x", "0X")
    digits = text[2:] if hexa else text
    if not digits or not set(digits) <= (HEX_DIGITS if hexa else frozenset("0123456789")):
        raise UsageError(f"invalid parameter {text!r}: decimal (16) or hex with 0x (0x10)")
    value = int(digits, 16 if hexa else 10)
    if value > 0xFFFF_FFFF:
        raise UsageError(f"invalid parameter {text!r}: more than 32 bits")
    return value


@command(
    Param("CODE", "code", "The operation code, in hex (0x1015; 1015 as the seed tool reads it)."),
    Param("PARAM", "params", "Up to five parameters: decimal (16), or hex with 0x (0xD212).", many=True),
    JSON,
)
def opreq(g: Globals, code: str, params: tuple[str, ...], *, as_json: bool) -> None:
    """Runs any operation, hex-dumps the packets received and names the response (exit 1 unless OK)."""
    if len(params) > 5:
        raise UsageError(f"an operation takes at most 5 parameters, got {len(params)}")
    request = {"code": parse_code(code), "params": [parse_param(p) for p in params]}
    with g.target().connect() as conn:
        result = conn.call("opreq", request)
    response = result.get("response") or {}
    if as_json:
        sys.stdout.write(json_text(result))
    else:
        sys.stdout.write(packet_dumps(bytes.fromhex(p) for p in result.get("packets") or []))
        sys.stdout.write(f"\n{response_text(response)}\n")
    if response.get("code") != OK:
        name = f"{response.get('name')} ({response.get('code')})"
        raise CtlError(f"the camera answered {name} to operation 0x{request['code']:04x}")


def response_text(response: dict[str, Any]) -> str:
    """``Response: OK (0x2001)``, with the response's parameters when it has any."""
    params = ", ".join(str(p) for p in response.get("params") or [])
    return f"Response: {response.get('name')} ({response.get('code')})" + (
        f", parameters {params}" if params else ""
    )


@command(
    Param("METHOD", "method", "A JSON-RPC method (see 'call rpc.discover')."),
    Param(
        "JSON", "params", 'The params: a JSON object or array, e.g. \'{"property":"iso"}\'.', required=False
    ),
    PRETTY,
    Param("--json", "as_json", "Accepted for symmetry: the output is JSON."),
)
def call(g: Globals, method: str, params: str | None, *, pretty: bool, as_json: bool) -> None:
    """Sends one raw JSON-RPC request and prints its result as JSON."""
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

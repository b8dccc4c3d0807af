"""``ptpipctl opreq`` (any operation, hex-dumped like the seed tool) and ``call`` (any JSON-RPC method)."""

from __future__ import annotations

import sys

from ptpipctl.client import CtlError, UsageError
from ptpipctl.commands import show
from ptpipctl.declare import JSON, PRETTY, Param, command
from ptpipctl.jsonio import JSONError, loads
from ptpipctl.output import json_text, packet_dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

OK = "0x2001"


def parse_number(text: str, what: str, *, hexa: bool = False) -> int:
    """``0x…`` in hex, else decimal — or hex for an operation code (``hexa``), as the seed reads it."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        value = (
            int(digits, 16 if hexa or digits != text else 10) if digits.isascii() and digits.isalnum() else -1
        )
    except ValueError:
        value = -1
    if not 0 <= value <= (0xFFFF if hexa else 0xFFFF_FFFF):
        hint = "16 bits in hex, e.g. 0x1015" if hexa else "32 bits, decimal (16) or hex with 0x (0x10)"
        raise UsageError(f"invalid {what} {text!r}: {hint}")
    return value


@command(
    Param("CODE", "code", "The operation code, in hex (0x1015; 1015 as the seed tool reads it)."),
    Param("PARAM", "params", "Up to five parameters: decimal (16), or hex with 0x (0xD212).", many=True),
    JSON,
)
def opreq(g: Globals, code: str, params: tuple[str, ...], *, as_json: bool) -> None:
    """Runs any operation, hex-dumps the packets received and names the response (exit 1 unless OK); past 8 MiB
    the daemon truncates, and a last line says how much the camera sent."""
    if len(params) > 5:
        raise UsageError(f"an operation takes at most 5 parameters, got {len(params)}")
    request = {
        "code": parse_number(code, "operation code", hexa=True),
        "params": [parse_number(p, "parameter") for p in params],
    }
    with g.target().connect() as conn:
        result = conn.call("opreq", request)
    response = result.get("response") or {}
    name = f"{response.get('name')} ({response.get('code')})"
    if as_json:
        sys.stdout.write(json_text(result))
    else:
        sys.stdout.write(packet_dumps(bytes.fromhex(p) for p in result.get("packets") or []))
        params_text = ", ".join(str(p) for p in response.get("params") or [])
        sys.stdout.write(
            f"\nResponse: {name}" + (f", parameters {params_text}" if params_text else "") + "\n"
        )
        if result.get("truncated"):  # the daemon keeps at most 8 MiB of what the camera sends
            sys.stdout.write(f"Truncated: the camera sent {result.get('size')} bytes of data.\n")
    if response.get("code") != OK:
        raise CtlError(f"the camera answered {name} to operation 0x{request['code']:04x}")


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
    show(g, method, value, json_text, True, pretty)  # JSON always

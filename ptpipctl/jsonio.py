"""JSON for the hot path without importing :mod:`json` (which pulls in :mod:`re` and costs ~2 ms at start-up).

:func:`loads` uses the C scanner of CPython's ``_json`` accelerator — the same one :func:`json.loads` uses
— configured like ``json.JSONDecoder()``; :func:`dumps` writes compact JSON for requests with
``_json.encode_basestring_ascii`` for strings. Where the accelerator is missing (another Python
implementation) both fall back to :mod:`json`. Pretty output for users goes through :mod:`json` itself
(:func:`ptpipctl.output.json_text`): that is not on the hot path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class JSONError(ValueError):
    """The text is not one JSON value."""


def _constant(name: str) -> float:
    return float(name)  # 'NaN', 'Infinity', '-Infinity', as json.loads accepts them


class _Context:
    """What the C scanner reads from a ``JSONDecoder``: the default settings."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)


_scan: Callable[[str, int], tuple[Any, int]] | None
_quote: Callable[[str], str] | None
try:
    from _json import encode_basestring_ascii as _quote_c
    from _json import make_scanner as _make_scanner

    _scan = _make_scanner(_Context())  # type: ignore[arg-type]  # it reads a decoder's attributes
    _quote = _quote_c
except ImportError:  # pragma: no cover - CPython always has _json
    _scan = None
    _quote = None

_WHITESPACE = " \t\n\r"


def loads(text: str) -> Any:
    """The value of one JSON document (surrounding whitespace allowed); :class:`JSONError` otherwise."""
    if _scan is not None:
        n = len(text)
        start = 0
        while start < n and text[start] in _WHITESPACE:
            start += 1
        try:
            value, end = _scan(text, start)
        except (StopIteration, ValueError, SystemError):
            # The C scanner words its errors with json.decoder.JSONDecodeError, which it only finds when
            # json.decoder is already imported (else SystemError): let the json module say what is wrong.
            pass
        else:
            while end < n and text[end] in _WHITESPACE:
                end += 1
            if end == n:
                return value
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise JSONError(str(exc)) from None


def dumps(value: Any) -> str:
    """Compact JSON (``ensure_ascii``), enough for requests: dict, list, tuple, str, int, float, bool, None."""
    if _quote is None:  # pragma: no cover
        import json

        return json.dumps(value, separators=(",", ":"))
    parts: list[str] = []
    _encode(value, parts.append, _quote)
    return "".join(parts)


def _encode(value: Any, out: Callable[[str], object], quote: Callable[[str], str]) -> None:
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(quote(value))
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            out({"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)])
        else:
            out(float.__repr__(value))
    elif isinstance(value, dict):
        out("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            if not first:
                out(",")
            first = False
            out(quote(key))
            out(":")
            _encode(item, out, quote)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _encode(item, out, quote)
        out("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

"""JSON for the hot path without importing :mod:`json` (which pulls in :mod:`re` and :mod:`enum`, several
times the cost of ``ptpipctl get iso`` itself), and without CPython's private ``_json``.

:func:`loads` is a small recursive-descent parser that takes the quick way through the daemon's answers
(strings are sliced out with ``str.find``); whenever the text is not plainly valid JSON it hands the text to
:func:`json.loads`, which then either parses it (a case this parser is too strict for) or words the error
exactly as Python does. :func:`dumps` writes what ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))`` writes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class JSONError(ValueError):
    """The text is not one JSON value."""


class _Invalid(Exception):
    """Not plainly valid: let the json module decide and word it."""


_WHITESPACE = " \t\n\r"
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPED = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_CONSTANTS: tuple[tuple[str, object], ...] = (("true", True), ("false", False), ("null", None))
_CONSTANTS += (("NaN", float("nan")), ("Infinity", float("inf")), ("-Infinity", float("-inf")))


def loads(text: str) -> Any:
    """The value of one JSON document (surrounding whitespace allowed); :class:`JSONError` otherwise."""
    try:
        value, end = _value(text, _skip(text, 0))
        if _skip(text, end) == len(text):
            return value
    except (_Invalid, LookupError, ValueError, RecursionError):
        pass
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise JSONError(str(exc)) from None


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WHITESPACE:
        i += 1
    return i


def _value(s: str, i: int) -> tuple[Any, int]:
    c = s[i]
    if c == '"':
        return _string(s, i + 1)
    if c == "{":
        return _object(s, _skip(s, i + 1))
    if c == "[":
        return _array(s, _skip(s, i + 1))
    if c in _DIGITS or (c == "-" and s[i + 1 : i + 2] in _DIGITS):
        return _number(s, i)
    for word, constant in _CONSTANTS:
        if s.startswith(word, i):
            return constant, i + len(word)
    raise _Invalid


def _object(s: str, i: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    if s[i] == "}":
        return result, i + 1
    while True:
        if s[i] != '"':
            raise _Invalid
        key, i = _string(s, i + 1)
        i = _skip(s, i)
        if s[i] != ":":
            raise _Invalid
        result[key], i = _value(s, _skip(s, i + 1))
        i = _skip(s, i)
        if s[i] == "}":
            return result, i + 1
        if s[i] != ",":
            raise _Invalid
        i = _skip(s, i + 1)


def _array(s: str, i: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    if s[i] == "]":
        return result, i + 1
    while True:
        item, i = _value(s, i)
        result.append(item)
        i = _skip(s, i)
        if s[i] == "]":
            return result, i + 1
        if s[i] != ",":
            raise _Invalid
        i = _skip(s, i + 1)


def _digits(s: str, i: int) -> int:
    start = i
    while i < len(s) and s[i] in _DIGITS:
        i += 1
    if i == start:
        raise _Invalid
    return i


def _number(s: str, start: int) -> tuple[int | float, int]:
    """``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``"""
    i = start + (s[start] == "-")
    i = i + 1 if s[i : i + 1] == "0" else _digits(s, i)
    integral = i
    if s[i : i + 1] == ".":
        i = _digits(s, i + 1)
    if s[i : i + 1] in ("e", "E"):
        i = _digits(s, i + 1 + (s[i + 1 : i + 2] in ("+", "-")))
    text = s[start:i]
    return (int(text) if i == integral else float(text)), i


def _string(s: str, i: int) -> tuple[str, int]:
    """The string whose opening quote is before ``i``, and the index after its closing quote."""
    end = s.find('"', i)
    if end < 0:
        raise _Invalid
    chunk = s[i:end]
    if "\\" not in chunk:
        _check_raw(chunk)
        return chunk, end + 1
    parts: list[str] = []
    while True:
        end = s.find('"', i)
        slash = s.find("\\", i, end)
        if end < 0:
            raise _Invalid
        if slash < 0:
            parts.append(_check_raw(s[i:end]))
            return "".join(parts), end + 1
        parts.append(_check_raw(s[i:slash]))
        char, i = _escape(s, slash + 1)
        parts.append(char)


def _check_raw(chunk: str) -> str:
    if not chunk.isprintable() and any(ord(c) < 0x20 for c in chunk):
        raise _Invalid  # a control character must be escaped
    return chunk


def _escape(s: str, i: int) -> tuple[str, int]:
    """The character of the escape sequence after the backslash at ``i - 1``, and where the text goes on."""
    kind = s[i]
    if kind != "u":
        return _ESCAPED[kind], i + 1
    code = _hex4(s, i + 1)
    if 0xD800 <= code < 0xDC00 and s[i + 5 : i + 7] == "\\u":
        low = _hex4(s, i + 7)
        if 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 11
    return chr(code), i + 5


def _hex4(s: str, i: int) -> int:
    digits = s[i : i + 4]
    if len(digits) != 4 or not set(digits) <= _HEX:
        raise _Invalid
    return int(digits, 16)


_QUOTE = {ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_QUOTE.update({ord("\b"): "\\b", ord("\f"): "\\f"})
_QUOTE.update({c: f"\\u{c:04x}" for c in range(0x20) if c not in _QUOTE})


def quote(text: str) -> str:
    """A JSON string literal (non-ASCII characters as they are, as ``ensure_ascii=False`` writes them)."""
    return '"' + text.translate(_QUOTE) + '"'


def dumps(value: Any) -> str:
    """Compact JSON: dict, list, tuple, str, int, float, bool, None (``TypeError`` for anything else)."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: Any, out: list[str]) -> None:
    if value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        text = float.__repr__(value)
        out.append({"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text, text))
    elif isinstance(value, dict):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            out.append(("," if n else "") + quote(key) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

"""JSON on the hot path without importing :mod:`json` (it pulls in :mod:`re` and :mod:`enum`: several times
what ``ptpipctl get iso`` costs itself) and without CPython's private ``_json``.

:func:`loads` reads plainly valid JSON itself — what the daemon writes: strings without escapes are sliced
out with ``str.find`` — and hands anything else (escapes, errors) to :func:`json.loads`, which parses it or
words the error as Python does. :func:`dumps` writes ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class JSONError(ValueError):
    """The text is not one JSON value."""


class _Unsure(Exception):
    """Not plainly valid: the json module decides."""


_SPACE = " \t\n\r"
_DIGITS = frozenset("0123456789")
_CONTROL = tuple(map(chr, range(0x20)))
_WORDS: tuple[tuple[str, object], ...] = (("true", True), ("false", False), ("null", None))
_WORDS += (("NaN", float("nan")), ("Infinity", float("inf")), ("-Infinity", float("-inf")))


def loads(text: str) -> Any:
    """The value of one JSON document (surrounding whitespace allowed); :class:`JSONError` otherwise."""
    try:
        value, end = _value(text, _skip(text, 0))
        if _skip(text, end) == len(text):
            return value
    except (_Unsure, LookupError, ValueError, RecursionError):
        pass
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise JSONError(str(exc)) from None


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SPACE:
        i += 1
    return i


def _value(s: str, i: int) -> tuple[Any, int]:
    c = s[i]
    if c == '"':
        end = s.find('"', i + 1)
        text = s[i + 1 : end]
        if end < 0 or "\\" in text or _controls(text):
            raise _Unsure  # escapes and control characters: json's work
        return text, end + 1
    if c in "{[":
        return _container(s, _skip(s, i + 1), c == "{")
    if c in _DIGITS or (c == "-" and s[i + 1 : i + 2] in _DIGITS):
        return _number(s, i)
    for word, constant in _WORDS:
        if s.startswith(word, i):
            return constant, i + len(word)
    raise _Unsure


def _controls(text: str) -> bool:
    """Whether ``text`` may hold a control character (U+0000-U+001F), which JSON allows only escaped."""
    if len(text) < 256:
        return not text.isprintable()  # quick for short strings; other unprintables go to json too
    return any(c in text for c in _CONTROL)  # a C scan per character: quick for long ones (images)


def _container(s: str, i: int, is_object: bool) -> tuple[Any, int]:
    close = "}" if is_object else "]"
    items: list[Any] = []
    if s[i] == close:
        return ({} if is_object else items), i + 1
    while True:
        if is_object:
            key, i = _value(s, i)
            i = _skip(s, i)
            if not isinstance(key, str) or s[i] != ":":
                raise _Unsure
            i = _skip(s, i + 1)
        item, i = _value(s, i)
        items.append((key, item) if is_object else item)
        i = _skip(s, i)
        if s[i] == close:
            return (dict(items) if is_object else items), i + 1
        if s[i] != ",":
            raise _Unsure
        i = _skip(s, i + 1)


def _digits(s: str, i: int) -> int:
    start = i
    while i < len(s) and s[i] in _DIGITS:
        i += 1
    if i == start:
        raise _Unsure
    return i


def _number(s: str, start: int) -> tuple[int | float, int]:
    """``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``"""
    i = start + (s[start] == "-")
    i = integral = i + 1 if s[i] == "0" else _digits(s, i)
    if s[i : i + 1] == ".":
        i = _digits(s, i + 1)
    if s[i : i + 1] in ("e", "E"):
        i = _digits(s, i + 1 + (s[i + 1 : i + 2] in ("+", "-")))
    return (int(s[start:i]) if i == integral else float(s[start:i])), i


_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({ord(c): f"\\{e}" for c, e in zip('"\\\n\r\t\b\f', '"\\nrtbf', strict=True)})
_FLOATS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def dumps(value: Any) -> str:
    """Compact JSON: dict, list, tuple, str, int, float, bool, None (``TypeError`` for anything else)."""
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, int | float):
        text = (int if isinstance(value, int) else float).__repr__(value)
        return _FLOATS.get(text, text)
    if isinstance(value, list | tuple):
        return "[" + ",".join(map(dumps, value)) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
        return "{" + ",".join(dumps(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")

"""File names of ingested pictures (DESIGN.md §10): ``[ingest] pattern``, always a safe relative path.

A pattern is strftime fields of the capture time (``%Y``, ``%m``, ``%d``, ``%H``, ``%M``, ``%S``, … as in
``date``) and these placeholders (``str.format`` syntax, so ``{n:05d}`` pads)::

    {filename}  the camera's file name (IMG_0042.JPG)      {stem}  IMG_0042      {ext}  JPG (no dot)
    {serial}    the camera's serial number                  {n}     how many files ingest has stored, plus one

``/`` in a pattern makes folders (``%Y/%m-%d/{filename}``). Whatever the camera sends, the result stays
inside the ingest directory: path separators, NUL and control characters in the values become ``_``, a
component that would be empty, ``.``, ``..`` or hidden (a leading ``.``, the daemon's temporary files) is
renamed, and each component is cut to 255 bytes keeping its extension. Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath

DEFAULT_PATTERN = "{filename}"
FIELDS = ("filename", "stem", "ext", "serial", "n")
#: The longest file name component most file systems take (bytes).
NAME_MAX = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


class PatternError(ValueError):
    """The pattern cannot name files (the message says why)."""


def _clean(value: str) -> str:
    """A camera-supplied value that cannot add or leave a folder."""
    return _UNSAFE.sub("_", value)


def _component(part: str) -> str:
    """One path component made safe: never empty, ``.``, ``..`` or hidden; at most :data:`NAME_MAX` bytes."""
    part = _UNSAFE.sub("_", part).strip()
    if not part or set(part) == {"."}:
        return "_" * max(1, len(part))
    if part.startswith("."):
        part = "_" + part[1:]
    if len(part.encode()) > NAME_MAX:
        stem, dot, ext = part.rpartition(".")
        keep = f"{dot}{ext}" if dot and len(ext.encode()) < 16 else ""
        room = NAME_MAX - len(keep.encode())
        head = (stem if keep else part).encode()[:room].decode(errors="ignore")
        part = head + keep
    return part


def split_name(filename: str) -> tuple[str, str]:
    """``IMG_0042.JPG`` → (``IMG_0042``, ``JPG``); a name without a dot has no extension."""
    stem, dot, ext = filename.rpartition(".")
    return (stem, ext) if dot and stem else (filename, "")


def render(pattern: str, *, captured: datetime, filename: str, serial: str, n: int) -> PurePosixPath:
    """The relative path ``pattern`` gives for one picture (see the module docstring)."""
    name = _clean(filename) or "unnamed"
    stem, ext = split_name(name)
    values = {"filename": name, "stem": stem, "ext": ext, "serial": _clean(serial), "n": n}
    try:
        text = captured.strftime(pattern).format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise PatternError(_why(pattern, exc)) from None
    parts = [_component(p) for p in text.split("/") if p.strip()]
    return PurePosixPath(*parts) if parts else PurePosixPath(_component(name))


def _why(pattern: str, exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"pattern {pattern!r}: unknown field {{{exc.args[0]}}}; fields: " + ", ".join(
            f"{{{f}}}" for f in FIELDS
        )
    return f"pattern {pattern!r}: {exc} (fields: {', '.join(FIELDS)}, and strftime's %Y, %m, %d …)"


def check_pattern(pattern: str) -> str:
    """``pattern`` when it can name files; :class:`PatternError` otherwise (unknown field, bad format, an
    absolute path or ``..``, nothing at all)."""
    if not pattern.strip():
        raise PatternError("pattern is empty: use at least {filename}")
    if pattern.startswith("/"):
        raise PatternError(
            f"pattern {pattern!r} is an absolute path: it names files inside the ingest directory"
        )
    if ".." in pattern.split("/"):
        raise PatternError(f"pattern {pattern!r} leaves the ingest directory ('..')")
    render(pattern, captured=datetime(2024, 6, 1, 10, 15), filename="IMG_0001.JPG", serial="S", n=1)
    return pattern

"""``ptpipctl capture``, ``files`` and ``download``: pictures from the camera, written here.

The daemon returns the image base64-encoded inside its one response line (``inline: true``); the line is
read with a progress bar on a terminal (the total is the size ``files`` lists, for ``download``), decoded and
written atomically: a temporary file in the destination's directory, then a rename. ``-`` writes the image
to stdout. Without a path the file gets the camera's name (or ``capture-DATE-TIME.EXT``) in the current
directory, never replacing an existing file (``-1``, ``-2``… are added); an explicit path is replaced.
"""

from __future__ import annotations

import binascii
import os
import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.output import Progress, json_text, size_text, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.commands import Globals

FILES_HEADER = ("Handle", "Filename", "Folder", "Size", "Format", "Captured")
EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}


def files(g: Globals, *, as_json: bool = False) -> None:
    """Prints the objects on the camera's storage."""
    with g.target().connect() as conn:
        result = conn.call("files")
    sys.stdout.write(json_text(result) if as_json else files_text(result))


def files_text(entries: list[dict[str, Any]]) -> str:
    """The ``files`` result as a table."""
    rows = [
        (
            str(f.get("handle")),
            str(f.get("filename")),
            str(f.get("folder") or "-"),
            str(f.get("size")),
            str(f.get("format")),
            str(f.get("captured") or "-"),
        )
        for f in entries
    ]
    return table(rows, FILES_HEADER)


def capture(
    g: Globals, path: str | None = None, *, as_json: bool = False, progress: bool | None = None
) -> None:
    """Takes a picture and writes the image (or the camera's preview) to ``path``."""
    _check_json(path, as_json)
    bar = _progress("capture", None, progress)
    try:
        with g.target().connect() as conn:
            result = conn.call("capture", {"inline": True}, progress=bar)
    finally:
        bar.finish()
    _save(result, path, as_json, "capture")


def download(
    g: Globals, handle: int, path: str | None = None, *, as_json: bool = False, progress: bool | None = None
) -> None:
    """Copies one object from the camera (a handle from ``files``) to ``path``."""
    _check_json(path, as_json)
    if not 0 <= handle <= 0xFFFF_FFFF:
        raise UsageError(f"invalid handle {handle}: handles are 0..4294967295 (see 'ptpipctl files')")
    with g.target().connect() as conn:
        entry: dict[str, Any] = {}
        if progress is not False:
            entry = next((f for f in conn.call("files") if f.get("handle") == handle), {})
        bar = _progress(str(entry.get("filename") or f"object {handle}"), entry.get("size"), progress)
        try:
            result = conn.call("download", {"handle": handle, "inline": True}, progress=bar)
        finally:
            bar.finish()
    _save(result, path, as_json, f"object-{handle}")


def _check_json(path: str | None, as_json: bool) -> None:
    if as_json and path == "-":
        raise UsageError("--json cannot be combined with writing the image to stdout ('-')")


def _progress(label: str, total: object, enabled: bool | None) -> Progress:
    on = sys.stderr.isatty() if enabled is None else enabled
    return Progress(label, total if isinstance(total, int) else None, enabled=on)


def _save(result: dict[str, Any], path: str | None, as_json: bool, stem: str) -> None:
    encoded = result.pop("data", None)
    if not isinstance(encoded, str):
        raise CtlError("the daemon's answer has no image data")
    try:
        data = binascii.a2b_base64(encoded)
    except binascii.Error as exc:
        raise CtlError(f"the image data from the daemon is not base64: {exc}") from None
    if path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    written = write_image(data, path, default_name(result, stem))
    result["path"] = os.path.abspath(written)
    if as_json:
        sys.stdout.write(json_text(result))
        return
    about = ", ".join(
        part
        for part in (
            f"{len(data)} bytes" if len(data) < 1024 else f"{size_text(len(data))}",
            str(result.get("format") or ""),
            f"camera handle {result['handle']}" if result.get("handle") is not None else "",
        )
        if part
    )
    sys.stdout.write(f"saved {written} ({about})\n")


def default_name(result: dict[str, Any], stem: str) -> str:
    """The camera's file name, else ``STEM-YYYYmmdd-HHMMSS.EXT`` from the format."""
    name = os.path.basename(str(result.get("filename") or "")).strip()
    if name and name not in (".", ".."):
        return name
    fmt = str(result.get("format") or "bin").lower()
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{EXTENSIONS.get(fmt, fmt)}"


def write_image(data: bytes, path: str | None, name: str) -> str:
    """Writes ``data`` atomically; returns the path written.

    ``path`` None: ``name`` in the current directory, made unique; a directory: ``name`` in it, made unique;
    anything else: that file, replaced if it exists.
    """
    if path is None:
        dest, unique = name, True
    elif os.path.isdir(path):
        dest, unique = os.path.join(path, name), True
    else:
        dest, unique = path, False
    directory = os.path.dirname(dest) or "."
    tmp = os.path.join(directory, f".{os.path.basename(dest)}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if not unique:
            os.replace(tmp, dest)
            return dest
        return _link_unique(tmp, dest)
    except OSError as exc:
        raise CtlError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _link_unique(tmp: str, dest: str) -> str:
    """Gives ``tmp`` the name ``dest`` or ``dest`` with ``-1``, ``-2``… without ever replacing a file."""
    root, ext = os.path.splitext(dest)
    n = 0
    while True:
        candidate = dest if n == 0 else f"{root}-{n}{ext}"
        try:
            os.link(tmp, candidate)  # fails when the name exists: no race with another writer
        except FileExistsError:
            n += 1
            continue
        except OSError:  # a file system without hard links (FAT, some network mounts): check, then rename
            if os.path.lexists(candidate):
                n += 1
                continue
            os.replace(tmp, candidate)
        return candidate

"""``ptpipctl capture``, ``files`` and ``download``: pictures from the camera, written here.

The destination is opened before the camera is asked (a temporary file in the destination's directory), so
a path that cannot be written is refused before the shutter fires or the transfer starts; the image then
goes into that file, which is renamed into place (never a half-written file). If writing fails after a shot,
the message names the handle that holds the picture. ``-`` writes the image to stdout. Without a path the
file gets the camera's name (or ``capture-DATE-TIME.EXT``) in the current directory, never replacing an
existing file (``-1``, ``-2``… are added); an explicit path is replaced.

The daemon returns the image base64-encoded inside its one response line (``inline: true``); the line is
read with a progress bar on a terminal (the total is the size ``files`` lists, for ``download``).
"""

from __future__ import annotations

import os
import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.declare import JSON, PROGRESS, Param, command
from ptpipctl.output import Progress, json_text, size_text, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Connection, Globals

FILES_HEADER = ("Handle", "Filename", "Folder", "Size", "Format", "Captured")
EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
PATH_HELP = "Where to write {what} ('-': stdout; a directory: the camera's file name in it)."


@command(JSON)
def files(g: Globals, *, as_json: bool) -> None:
    """The images and files on the camera."""
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


@command(
    Param(
        "PATH",
        "path",
        PATH_HELP.format(what="the image") + " Default: the camera's file name here.",
        required=False,
    ),
    JSON,
    PROGRESS,
    aliases=("shoot", "shutter", "snap"),
)
def capture(g: Globals, path: str | None, *, as_json: bool, progress: bool | None) -> None:
    """Takes a picture and writes it here (the image, or the camera's preview)."""
    with Destination(path, as_json) as dest:
        bar = _progress("capture", None, progress)
        try:
            with g.target().connect() as conn:
                result = conn.call("capture", {"inline": True}, progress=bar)
        finally:
            bar.finish()
        dest.save(result, "capture")


@command(
    Param("HANDLE", "handle", "The object's handle (see 'files').", kind=int, bounds=(0, 0xFFFF_FFFF)),
    Param("PATH", "path", PATH_HELP.format(what="it"), required=False),
    JSON,
    PROGRESS,
)
def download(g: Globals, handle: int, path: str | None, *, as_json: bool, progress: bool | None) -> None:
    """Copies one object from the camera."""
    with Destination(path, as_json) as dest, g.target().connect() as conn:
        bar = _progress_for(conn, handle, progress)
        try:
            result = conn.call("download", {"handle": handle, "inline": True}, progress=bar)
        finally:
            bar.finish()
        dest.save(result, f"object-{handle}")


def _progress(label: str, total: object, enabled: bool | None) -> Progress:
    on = sys.stderr.isatty() if enabled is None else enabled
    return Progress(label, total if isinstance(total, int) else None, enabled=on)


def _progress_for(conn: Connection, handle: int, enabled: bool | None) -> Progress:
    """A bar named after the object, with its size from ``files`` as the total (asked only for a bar)."""
    entry: dict[str, Any] = {}
    if sys.stderr.isatty() if enabled is None else enabled:
        entry = next((f for f in conn.call("files") if f.get("handle") == handle), {})
    return _progress(str(entry.get("filename") or f"object {handle}"), entry.get("size"), enabled)


class Destination:
    """Where an image goes: stdout (``-``), or a temporary file created up front beside its final name."""

    def __init__(self, path: str | None, as_json: bool) -> None:
        if as_json and path == "-":
            raise UsageError("--json cannot be combined with writing the image to stdout ('-')")
        self.path = path
        self.as_json = as_json
        self.unique = path is None or os.path.isdir(path)
        self.directory = (path if self.unique else os.path.dirname(path)) if path else ""
        self.tmp = ""
        self.fd = -1
        if path != "-":
            self.tmp = os.path.join(self.directory or ".", f".ptpipctl-{os.getpid()}.tmp")
            try:
                self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except OSError as exc:
                where = path or "the current directory"
                raise CtlError(f"cannot write to {where}: {exc.strerror or exc}") from None

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        if self.tmp and os.path.lexists(self.tmp):
            os.unlink(self.tmp)

    def save(self, result: dict[str, Any], stem: str) -> None:
        """Writes the image of a ``capture``/``download`` result and prints what was saved."""
        data = _image(result)
        if self.path == "-":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        final = os.path.join(self.directory, default_name(result, stem)) if self.unique else str(self.path)
        try:
            written = self._commit(data, final)
        except OSError as exc:
            raise CtlError(_lost_text(final, exc, result)) from None
        result["path"] = os.path.abspath(written)
        sys.stdout.write(json_text(result) if self.as_json else saved_text(written, len(data), result))

    def _commit(self, data: bytes, final: str) -> str:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        if not self.unique:
            os.replace(self.tmp, final)
            return final
        return _link_unique(self.tmp, final)


def _image(result: dict[str, Any]) -> bytes:
    import binascii  # here: only images need it

    encoded = result.pop("data", None)
    if not isinstance(encoded, str):
        raise CtlError("the daemon's answer has no image data")
    try:
        return binascii.a2b_base64(encoded)
    except binascii.Error as exc:
        raise CtlError(f"the image data from the daemon is not base64: {exc}") from None


def _lost_text(dest: str, exc: OSError, result: dict[str, Any]) -> str:
    handle = result.get("handle")
    where = (
        f"the picture is on the camera as handle {handle} (ptpipctl download {handle} PATH)"
        if handle is not None
        else "the camera keeps no copy to download (it was a preview)"
    )
    return f"cannot write {dest}: {exc.strerror or exc}; {where}"


def saved_text(written: str, size: int, result: dict[str, Any]) -> str:
    """``saved PATH (SIZE, FORMAT, camera handle N)``."""
    about = ", ".join(
        part
        for part in (
            f"{size} bytes" if size < 1024 else size_text(size),
            str(result.get("format") or ""),
            f"camera handle {result['handle']}" if result.get("handle") is not None else "",
        )
        if part
    )
    return f"saved {written} ({about})\n"


def default_name(result: dict[str, Any], stem: str) -> str:
    """The camera's file name, else ``STEM-YYYYmmdd-HHMMSS.EXT`` from the format."""
    name = os.path.basename(str(result.get("filename") or "")).strip()
    if name and name not in (".", ".."):
        return name
    fmt = str(result.get("format") or "bin").lower()
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{EXTENSIONS.get(fmt, fmt)}"


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

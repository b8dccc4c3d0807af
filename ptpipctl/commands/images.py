"""``ptpipctl capture``, ``files`` and ``download``: pictures from the camera, written here.

The destination is opened first (a temporary file in its directory), so a path that cannot be written is
refused before the shutter fires or a transfer starts; the image goes into that file, which is then renamed
into place. If writing fails after a shot, the message names the handle that holds the picture. ``-`` is
stdout. Without a path the file gets the camera's name (or ``capture-DATE-TIME.EXT``) here, never replacing
a file (``-1``, ``-2``… are added); an explicit path is replaced. The daemon sends the image base64-encoded
in its one response line (``inline``), read with a progress bar on a terminal.
"""

from __future__ import annotations

import os
import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.commands import show
from ptpipctl.declare import JSON, PROGRESS, Param, command
from ptpipctl.output import Progress, fields, json_text, size_text, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals

EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
WHERE = "Where to write {} ('-': stdout; a directory: the camera's file name in it)."


@command(JSON)
def files(g: Globals, *, as_json: bool) -> None:
    """The images and files on the camera."""
    show(g, "files", None, files_text, as_json)


def files_text(entries: list[dict[str, Any]]) -> str:
    """The ``files`` result as a table."""
    rows = [
        [
            *fields(f, "handle", "filename"),
            f.get("folder") or "-",
            *fields(f, "size", "format"),
            f.get("captured") or "-",
        ]
        for f in entries
    ]
    return table(rows, ("Handle", "Filename", "Folder", "Size", "Format", "Captured"))


@command(
    Param(
        "PATH", "path", WHERE.format("the image") + " Default: the camera's file name here.", required=False
    ),
    JSON,
    PROGRESS,
    aliases=("shoot", "shutter", "snap"),
)
def capture(g: Globals, path: str | None, *, as_json: bool, progress: bool | None) -> None:
    """Takes a picture and writes it here (the image, or the camera's preview)."""
    with Destination(path, as_json) as dest, g.target().connect() as conn:
        with _bar("capture", None, progress) as bar:
            result = conn.call("capture", {"inline": True}, progress=bar)
        dest.save(result, "capture")


@command(
    Param("HANDLE", "handle", "The object's handle (see 'files').", kind=int, bounds=(0, 0xFFFF_FFFF)),
    Param("PATH", "path", WHERE.format("it"), required=False),
    JSON,
    PROGRESS,
)
def download(g: Globals, handle: int, path: str | None, *, as_json: bool, progress: bool | None) -> None:
    """Copies one object from the camera."""
    with Destination(path, as_json) as dest, g.target().connect() as conn:
        bar = _bar(f"object {handle}", None, progress)
        if bar.enabled:  # the file name and the size, for the bar
            entry: dict[str, Any] = next((f for f in conn.call("files") if f.get("handle") == handle), {})
            bar = _bar(entry.get("filename") or bar.label, entry.get("size"), progress)
        with bar:
            result = conn.call("download", {"handle": handle, "inline": True}, progress=bar)
        dest.save(result, f"object-{handle}")


def _bar(label: str, total: object, enabled: bool | None) -> Progress:
    on = sys.stderr.isatty() if enabled is None else enabled
    return Progress(label, total if isinstance(total, int) else None, enabled=on)


class Destination:
    """Where an image goes: stdout (``-``), or a temporary file created up front beside its final name."""

    def __init__(self, path: str | None, as_json: bool) -> None:
        if as_json and path == "-":
            raise UsageError("--json cannot be combined with writing the image to stdout ('-')")
        self.path, self.as_json, self.fd, self.tmp = path, as_json, -1, ""
        self.unique = path is None or os.path.isdir(path)
        self.directory = (path if self.unique else os.path.dirname(path)) if path else ""
        if path != "-":
            self.tmp = os.path.join(self.directory or ".", f".ptpipctl-{os.getpid()}.tmp")
            try:
                self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except OSError as exc:
                raise CtlError(
                    f"cannot write to {path or 'the current directory'}: {exc.strerror or exc}"
                ) from None

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
            return
        final = os.path.join(self.directory, default_name(result, stem)) if self.unique else str(self.path)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
            written = _link_unique(self.tmp, final) if self.unique else final
            if not self.unique:
                os.replace(self.tmp, final)
        except OSError as exc:
            handle = result.get("handle")
            kept = f"is on the camera as handle {handle} (ptpipctl download {handle} PATH)"
            where = kept if handle is not None else "was a preview: the camera keeps no copy to download"
            raise CtlError(f"cannot write {final}: {exc.strerror or exc}; the picture {where}") from None
        result["path"] = os.path.abspath(written)
        size = f"{len(data)} bytes" if len(data) < 1024 else size_text(len(data))
        handle = result.get("handle")
        about = [size, result.get("format"), f"camera handle {handle}" if handle is not None else ""]
        text = f"saved {written} ({', '.join(str(a) for a in about if a)})\n"
        sys.stdout.write(json_text(result) if self.as_json else text)


def _image(result: dict[str, Any]) -> bytes:
    import binascii  # here: only images need it

    encoded = result.pop("data", None)
    if not isinstance(encoded, str):
        raise CtlError("the daemon's answer has no image data")
    try:
        return binascii.a2b_base64(encoded)
    except binascii.Error as exc:
        raise CtlError(f"the image data from the daemon is not base64: {exc}") from None


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
            return candidate
        except FileExistsError:
            n += 1
        except OSError:  # a file system without hard links (FAT, some network mounts): check, then rename
            if not os.path.lexists(candidate):
                os.replace(tmp, candidate)
                return candidate
            n += 1

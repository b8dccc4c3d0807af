"""``ptpipctl capture``, ``files`` and ``download``: pictures from the camera, written here.

Pictures come over the daemon's HTTP data plane (:mod:`ptpipctl.httpclient`), streamed into a file that is
renamed into place once complete (:mod:`ptpipctl.transfer`), with a progress bar on a terminal. The
destination is opened first, so a path that cannot be written is refused before the shutter fires or a
transfer starts. ``capture`` is ``POST /capture``, then the copy the daemon kept (``GET /captures/NAME``, no
second transfer from the camera), which it is then told to delete (``DELETE``) once the picture is safe
here — unless the camera keeps no copy of its own and writing here failed. If writing fails after a shot,
the message says where the picture is.
"""

from __future__ import annotations

import os
import sys

from ptpipctl.client import CtlError
from ptpipctl.commands import show
from ptpipctl.declare import JSON, PROGRESS, Param, command
from ptpipctl.httpclient import locate
from ptpipctl.output import Progress, fields, size_text, table
from ptpipctl.transfer import (
    Destination,
    Interrupted,
    WriteFailed,
    amended,
    attachment_name,
    default_name,
    receive,
    report,
    saved_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Globals
    from ptpipctl.httpclient import HttpTarget, Response

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
    with Destination(path, as_json) as dest:
        http = locate(g)
        with http.request("POST", "/capture") as answer:
            shot: dict[str, Any] = answer.check().json()
        kept = os.path.basename(str(shot.get("path") or ""))
        source = f"/captures/{kept}" if kept else str(shot.get("url"))
        name = default_name(shot, "capture")
        try:
            with http.request("GET", source) as response, _bar(name, response.length, progress) as bar:
                response.check()
                size = receive(response, dest, bar, 0)
            written = dest.commit(name, response.length)
        except (CtlError, KeyboardInterrupt) as exc:
            raise _after_shot(exc, dest.final(name), shot, http, kept) from None
        if kept:
            _forget(http, kept)
    if not dest.to_stdout:
        shot["path"] = os.path.abspath(written)
        handle = shot.get("handle")
        camera = f"camera handle {handle}" if handle is not None else ""
        report(dest, shot, saved_text(written, size, shot.get("format"), camera))


def _after_shot(
    exc: BaseException, final: str, shot: dict[str, Any], http: HttpTarget, kept: str
) -> CtlError:
    """The error of a capture whose picture could not be written here, saying where the picture is."""
    handle = shot.get("handle")
    if handle is not None:
        where = f"is on the camera as handle {handle} (ptpipctl download {handle} PATH)"
        if kept:
            _forget(http, kept)
    elif kept:
        where = f"was a preview, which the camera does not keep; the daemon keeps it: GET /captures/{kept}"
        where += f" (its file {shot.get('path')})"
    else:
        where = "was a preview: the camera keeps no copy to download"
    if isinstance(exc, WriteFailed):
        return CtlError(f"cannot write {final}: {exc.reason}; the picture {where}")
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted(f"interrupted; the picture {where}")
    assert isinstance(exc, CtlError)
    return amended(exc, f"; the picture {where}")


def _forget(http: HttpTarget, name: str) -> None:
    """Asks the daemon to delete its copy of a capture (the picture is safe elsewhere); quietly."""
    try:
        with http.request("DELETE", f"/captures/{name}"):
            pass
    except CtlError:
        pass


@command(
    Param("HANDLE", "handle", "The object's handle (see 'files').", kind=int, bounds=(0, 0xFFFF_FFFF)),
    Param("PATH", "path", WHERE.format("it"), required=False),
    JSON,
    PROGRESS,
    Param("--resume", "resume", "Continue the partial file an interrupted download of HANDLE left there."),
)
def download(
    g: Globals, handle: int, path: str | None, *, as_json: bool, progress: bool | None, resume: bool
) -> None:
    """Copies one object from the camera (streamed; --resume continues an interrupted copy)."""
    with Destination(path, as_json, handle=handle, resume=resume) as dest:
        again = ("ptpipctl", "download", str(handle), *([path] if path else []), "--resume")
        try:
            result, written = fetch(locate(g), handle, dest, progress, again)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted{dest.kept_note(again)}") from None
    if not dest.to_stdout:
        start, size = result["resumed_from"], result["size"]
        resumed = f"resumed at {size_text(start)}" if start else ""
        report(dest, result, saved_text(written, size, result["type"], f"camera handle {handle}", resumed))


def fetch(
    http: HttpTarget,
    handle: int,
    dest: Destination,
    progress: bool | None,
    again: tuple[str, ...],
    label: str = "{}",
    where: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The object into ``dest``, renamed into place: the download's result, and the path written.
    ``label`` is the progress bar's, ``{}`` standing for the file's name. A failure says what cannot be
    written (``where``, else the file) and the command that continues a partial file kept (``again``, whole)."""
    try:
        with _object(http, handle, dest) as response:
            dest.name = attachment_name(response.headers) or f"object-{handle}"
            start, total = dest.adopt(response)
            with _bar(label.format(dest.name), total, progress, start) as bar:
                size = receive(response, dest, bar, start)
        written = dest.commit(dest.name, total)
    except WriteFailed as exc:
        where = where or dest.final(dest.name)
        raise CtlError(f"cannot write {where}: {exc.reason}{dest.kept_note(again)}") from None
    except CtlError as exc:
        raise amended(exc, dest.kept_note(again)) from None
    result = {
        "handle": handle,
        "filename": dest.name,
        "size": size,
        "type": response.headers.get("content-type"),
        "path": os.path.abspath(written),
        "url": f"/files/{handle}",
        "resumed_from": start,
    }
    return result, written


def _object(http: HttpTarget, handle: int, dest: Destination) -> Response:
    """``GET /files/HANDLE``, from where the partial file ends when there is one."""
    if dest.offset:
        headers = {"Range": f"bytes={dest.offset}-", "If-Range": dest.etag}
        response = http.request("GET", f"/files/{handle}", headers)
        if response.status != 416:
            return response.check()
        response.close()  # the partial file is not shorter than the object: it comes again, whole
        dest.restart()
    return http.request("GET", f"/files/{handle}").check()


def _bar(label: str, total: object, enabled: bool | None, start: int = 0) -> Progress:
    on = sys.stderr.isatty() if enabled is None else enabled
    return Progress(label, total if isinstance(total, int) else None, enabled=on, start=start)

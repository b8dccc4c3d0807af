"""Pictures from the data plane into a file here: streamed in pieces (never whole in memory), renamed into
place only once complete and checked against the announced length.

A :class:`Destination` is opened before anything is asked of the camera, so a path that cannot be written
is refused before the shutter fires or a transfer starts: a temporary file in the destination's directory
(``.ptpipctl-PID.tmp``), or with ``resume`` the partial file of an earlier download of the same handle.
``-`` is stdout. Without a path the file gets the camera's name here, never replacing a file (``-1``,
``-2``… are added); an explicit path is replaced.

Partial downloads: once the daemon's answer names the object's ``ETag``, a download's temporary file is
renamed ``.ptpipctl-HANDLE-TAG.part`` (TAG: the ETag's bytes in hex) in the destination's directory, and it
stays there when the transfer breaks. ``--resume`` finds it and asks for the rest (``Range: bytes=SIZE-``)
with ``If-Range: ETAG``: a changed object comes whole (200) and the file starts again, so bytes of two
objects are never mixed. The destination path itself never holds a partial file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import time

from ptpipctl.client import CtlError, UsageError
from ptpipctl.commands import EXIT_INTERRUPTED
from ptpipctl.output import Progress, json_text, size_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.httpclient import Response

#: Bytes read from the connection and written to the file at a time: the client's whole buffer.
CHUNK = 1 << 20
#: Body bytes left from which a download is spliced connection → pipe → file (Linux; no copy through here).
SPLICE_MIN = 64 << 10
_F_SETPIPE_SZ = 1031
EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
STDOUT = 1


class WriteFailed(CtlError):
    """Writing here failed (after the camera may have taken the picture): ``reason`` is the system's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Interrupted(CtlError):
    """Ctrl-C during a transfer (exit 130, as an interrupted command)."""

    exit_code = EXIT_INTERRUPTED


def amended(exc: CtlError, text: str) -> CtlError:
    """``exc`` with ``text`` added to its message, and its exit code."""
    if not text:
        return exc
    failure = CtlError(f"{exc}{text}")
    failure.exit_code = exc.exit_code
    return failure


def part_name(handle: int, etag: str) -> str:
    """The partial file of object ``handle`` as ``etag`` describes it."""
    return f".ptpipctl-{handle}-{etag.encode().hex()}.part"


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


class Destination:
    """Where a picture goes: stdout (``-``), or a temporary file created up front in its directory."""

    def __init__(
        self, path: str | None, as_json: bool, *, handle: int | None = None, resume: bool = False
    ) -> None:
        if as_json and path == "-":
            raise UsageError("--json cannot be combined with writing the image to stdout ('-')")
        if resume and path == "-":
            raise UsageError("--resume continues a file: it cannot be combined with stdout ('-')")
        self.path, self.as_json, self.handle = path, as_json, handle
        self.fd, self.tmp, self.offset, self.etag = -1, "", 0, ""
        self.keep = False  # a partial download worth keeping for --resume
        self.done = False
        self.unique = path is None or os.path.isdir(path)
        self.directory = (path if self.unique else os.path.dirname(path)) if path else ""
        self.to_stdout = path == "-"
        self.name = ""  # the file's name, once the daemon has said it
        if self.to_stdout:
            self.fd = STDOUT
            return
        try:
            self._open(resume)
        except OSError as exc:
            raise CtlError(f"cannot write to {path or 'the current directory'}: {_os_reason(exc)}") from None

    def _open(self, resume: bool) -> None:
        """The partial file to continue (``resume``), else a new temporary file."""
        found = self._partial() if resume and self.handle is not None else None
        if found is not None:
            self.tmp, self.etag = found
            self.fd = os.open(self.tmp, os.O_WRONLY)
            self.offset = os.lseek(self.fd, 0, os.SEEK_END)
            self.keep = True
        else:
            self.tmp = self._in_directory(f".ptpipctl-{os.getpid()}.tmp")
            self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)

    def _in_directory(self, name: str) -> str:
        return os.path.join(self.directory or ".", name)

    def _partial(self) -> tuple[str, str] | None:
        """The largest partial file of this handle in the directory, and its ETag; None when there is none."""
        prefix = f".ptpipctl-{self.handle}-"
        best: tuple[int, str, str] | None = None
        try:
            entries = list(os.scandir(self.directory or "."))
        except OSError:
            return None  # then creating the temporary file says why the directory cannot be used
        for entry in entries:
            name = entry.name
            if not (
                name.startswith(prefix) and name.endswith(".part") and entry.is_file(follow_symlinks=False)
            ):
                continue
            try:
                etag = bytes.fromhex(name[len(prefix) : -len(".part")]).decode()
                size = entry.stat(follow_symlinks=False).st_size
            except (ValueError, OSError):
                continue
            if best is None or size > best[0]:
                best = (size, entry.path, etag)
        return None if best is None else (best[1], best[2])

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0 and not self.to_stdout:
            os.close(self.fd)
        self.fd = -1
        if (
            self.tmp
            and not self.done
            and not (self.keep and self.written() > 0)
            and os.path.lexists(self.tmp)
        ):
            os.unlink(self.tmp)

    def written(self) -> int:
        """Bytes in the temporary file."""
        try:
            return os.stat(self.tmp).st_size if self.tmp else 0
        except OSError:
            return 0

    def restart(self) -> None:
        """Empties the file: the object is coming again from its first byte."""
        self.offset = 0
        if not self.to_stdout:
            try:
                os.ftruncate(self.fd, 0)
                os.lseek(self.fd, 0, os.SEEK_SET)
            except OSError as exc:
                raise WriteFailed(_os_reason(exc)) from None

    def adopt(self, response: Response) -> tuple[int, int | None]:
        """Takes a download's answer: where its bytes start in the object and the object's size. Gives the
        temporary file its partial name when the answer has an ETag."""
        total = response.length
        if response.status == 206:
            start, total = content_range(response.headers.get("content-range", ""))
            if start != self.offset:
                raise CtlError(f"the daemon sent bytes from {start}, not from {self.offset} as asked")
        elif self.offset:  # the object changed since the partial copy (If-Range): all of it again
            sys.stderr.write(
                f"ptpipctl: object {self.handle} changed since the partial download: starting over\n"
            )
            self.restart()
        etag = response.headers.get("etag")
        if etag and self.handle is not None and not self.to_stdout:
            partial = self._in_directory(part_name(self.handle, etag))
            if partial != self.tmp:
                try:
                    os.replace(self.tmp, partial)
                except OSError as exc:
                    raise WriteFailed(_os_reason(exc)) from None
                self.tmp, self.etag = partial, etag
            self.keep = True
        return self.offset, total

    def final(self, name: str) -> str:
        """The path the picture gets (before ``-1``, ``-2``… for a name taken): the given one, or ``name`` in
        the destination directory."""
        return os.path.join(self.directory, name) if self.unique else str(self.path)

    def commit(self, name: str, size: int | None) -> str:
        """Checks the file holds ``size`` bytes, then renames it into place; the path written."""
        if self.to_stdout:
            return "-"
        try:
            held = os.fstat(self.fd).st_size
            if size is not None and held != size:
                raise CtlError(f"the file holds {held} bytes, the daemon announced {size}")
            os.fsync(self.fd)
            final = self.final(name)
            if self.unique:
                written = link_unique(self.tmp, final)
            else:
                os.replace(self.tmp, final)
                written = final
        except OSError as exc:
            raise WriteFailed(_os_reason(exc)) from None
        self.done = True
        return written

    def kept_note(self, command: tuple[str, ...]) -> str:
        """What the user can do with a partial file left behind (empty when none is kept): run ``command``,
        given whole by the caller (``download`` continues with ``--resume``, ``sync`` by itself)."""
        held = self.written()
        if not (self.keep and held and not self.done):
            return ""
        import shlex  # here, not at the top: the fast path's commands never import re

        return f"; {size_text(held)} kept in {self.tmp}: '{shlex.join(command)}' continues it"


def write_all(fd: int, data: memoryview) -> None:
    """Writes all of ``data`` to ``fd``; :class:`WriteFailed` with the system's reason (``BrokenPipeError``
    as it is: the reader went away)."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteFailed(_os_reason(exc)) from None


def content_range(value: str) -> tuple[int, int]:
    """``bytes START-END/SIZE`` → (START, SIZE)."""
    unit, _, spec = value.strip().partition(" ")
    span, _, size = spec.partition("/")
    first, _, _ = span.partition("-")
    if unit != "bytes" or not first.isdigit() or not size.isdigit():
        raise CtlError(f"the daemon sent a malformed Content-Range {value[:80]!r}")
    return int(first), int(size)


class FileSplice:
    """Moves a body from the connection into a regular file through a pipe (splice(2)): the bytes never enter
    this process, one copy less than reading and writing them. :meth:`open` says None where it cannot work."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.works = True  # False once the file refused a splice (its file system has none)
        self.read_end, self.write_end = os.pipe2(os.O_CLOEXEC)
        try:
            self.size = fcntl.fcntl(self.write_end, _F_SETPIPE_SZ, CHUNK)
        except OSError:  # over the user's pipe quota: the default pipe works, in more steps
            self.size = fcntl.fcntl(self.write_end, _F_SETPIPE_SZ + 1)  # F_GETPIPE_SZ

    @classmethod
    def open(cls, fd: int) -> FileSplice | None:
        """A splicer into ``fd`` when it is a regular file opened without O_APPEND, on Linux; else None."""
        try:
            if not hasattr(os, "splice") or not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
                return None
            return cls(fd)
        except OSError:
            return None

    def move(self, response: Response) -> int:
        """Moves the next piece of the body into the file; how many bytes."""
        n = response.splice_to(self.write_end, self.size)
        left = n
        try:
            while left:
                left -= os.splice(self.read_end, self.fd, left, flags=os.SPLICE_F_MOVE)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise WriteFailed(_os_reason(exc)) from None
            self.works = False  # the pipe's bytes are written the ordinary way, and the rest after them
            while left:
                piece = os.read(self.read_end, left)
                write_all(self.fd, memoryview(piece))
                left -= len(piece)
        return n

    def close(self) -> None:
        """Closes the pipe."""
        os.close(self.read_end)
        os.close(self.write_end)


def receive(response: Response, dest: Destination, bar: Progress, done: int) -> int:
    """Copies the body into ``dest`` piece by piece, telling ``bar``; the bytes of the object done. A large
    body goes into a regular file by splice (:class:`FileSplice`), the rest through one buffer."""
    big = not response.chunked and (response.length or 0) >= SPLICE_MIN
    splicer = FileSplice.open(dest.fd) if big else None
    buffer: memoryview | None = None
    try:
        while True:
            if splicer is not None and splicer.works and response.raw_left >= SPLICE_MIN:
                n = splicer.move(response)
            else:
                buffer = buffer or memoryview(bytearray(CHUNK))
                if not (n := response.readinto(buffer)):
                    break
                write_all(dest.fd, buffer[:n])
            done += n
            bar(done)
    finally:
        if splicer is not None:
            splicer.close()
    return done


def attachment_name(headers: dict[str, str]) -> str:
    """The file name of ``Content-Disposition`` (``filename*`` in UTF-8 first), without any directory."""
    value = headers.get("content-disposition", "")
    name = ""
    for part in value.split(";"):
        key, _, text = part.strip().partition("=")
        key = key.strip().lower()
        if key == "filename*" and text.lower().startswith("utf-8''"):
            name = unquote(text[7:])
            break
        if key == "filename":
            name = text.strip().strip('"')
    return safe_name(name)


def unquote(text: str) -> str:
    """Percent-decoding (RFC 3986) of UTF-8 text; malformed escapes are kept as they are."""
    out = bytearray()
    i = 0
    while i < len(text):
        hexa = text[i + 1 : i + 3]
        if text[i] == "%" and len(hexa) == 2 and all(c in "0123456789abcdefABCDEF" for c in hexa):
            out.append(int(hexa, 16))
            i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode("utf-8", "replace")


def safe_name(name: str) -> str:
    """A camera's file name made safe (no directory part, no control character, not hidden nor read as an
    option, at most 200 bytes); empty when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 else c for c in name)
    return name.strip().lstrip(".-").strip().encode()[:200].decode(errors="ignore")


def default_name(result: dict[str, Any], stem: str) -> str:
    """The camera's file name made safe (:func:`safe_name`), else ``STEM-YYYYmmdd-HHMMSS.EXT`` from the
    format."""
    name = safe_name(str(result.get("filename") or ""))
    if name:
        return name
    fmt = str(result.get("format") or "bin").lower()
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{EXTENSIONS.get(fmt, fmt)}"


def link_unique(tmp: str, dest: str) -> str:
    """Renames ``tmp`` to ``dest`` or ``dest`` with ``-1``, ``-2``… without ever replacing a file."""
    root, ext = os.path.splitext(dest)
    n = 0
    while True:
        candidate = dest if n == 0 else f"{root}-{n}{ext}"
        try:
            os.link(tmp, candidate)  # fails when the name exists: no race with another writer
            os.unlink(tmp)
            return candidate
        except FileExistsError:
            n += 1
        except OSError:  # a file system without hard links (FAT, some network mounts): check, then rename
            if not os.path.lexists(candidate):
                os.replace(tmp, candidate)
                return candidate
            n += 1


def saved_text(written: str, size: int, *about: object) -> str:
    """``saved PATH (SIZE, …)``."""
    amount = f"{size} bytes" if size < 1024 else size_text(size)
    return f"saved {written} ({', '.join(str(a) for a in (amount, *about) if a)})\n"


def report(dest: Destination, result: dict[str, Any], text: str) -> None:
    """Prints what was saved: ``result`` as JSON (``--json``) or ``text``."""
    sys.stdout.write(json_text(result) if dest.as_json else text)

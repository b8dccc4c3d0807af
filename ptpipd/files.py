"""Writing received images to disk without ever leaving a half-written file behind, under a safe name, and
only where the daemon may write.

Bytes go to a hidden temporary file (``.ptpipd-XXXXXXXX.part``) in the target directory; only a complete
transfer gets its final name. Final names never replace a file: ``IMG_0004.JPG`` becomes ``IMG_0004-1.JPG``
when the first exists, and the name is taken with a hard link (which fails when the name exists, so no
other writer can slip in between the check and the rename). A failed or cancelled transfer removes the
temporary file; one left by a killed daemon is removed at the next start (:func:`remove_stale_temp_files`)
— never one another daemon is still writing (each is locked while open).

Names come from the camera, so :func:`safe_name` turns any of them into a plain local file name. A path a
legacy client asks for is followed inside the capture directory only (:func:`save_inside`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Self

Buffer = bytes | bytearray | memoryview

TEMP_PREFIX = ".ptpipd-"
TEMP_SUFFIX = ".part"
#: Exactly the names of our temporary files: 8 hex digits (older daemons: :func:`tempfile.mkstemp`'s alphabet).
TEMP_NAME = re.compile(r"\.ptpipd-[a-z0-9_]{8}\.part")
#: Longest final name in UTF-8 bytes (file systems allow 255; room is left for ``-N``).
NAME_BYTES = 200
#: Characters that reorder or hide text on a terminal (Unicode bidirectional controls).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_name(name: str, fallback: str = "") -> str:
    """A camera's (or anyone's) file name as a plain local name: no directory part, no control or
    bidirectional characters (each becomes ``_``), not hidden nor read as an option (leading ``.``/``-``
    go), at most :data:`NAME_BYTES` bytes (the extension kept). ``fallback`` when nothing is left
    (``..``, ``.``, an empty name)."""
    text = "".join(
        "_" if unicodedata.category(c) == "Cc" or c in _BIDI or c in "/\\" else c for c in name
    ).strip()
    text = text.lstrip(".-").strip()
    if len(text.encode()) > NAME_BYTES:
        stem, ext = os.path.splitext(text)
        ext = ext if len(ext.encode()) <= 16 else ""
        stem = stem.encode()[: NAME_BYTES - len(ext.encode())].decode(errors="ignore")
        text = stem + ext
    return text or fallback


def _numbered(name: str, n: int) -> str:
    stem, suffix = os.path.splitext(name)
    return name if n == 0 else f"{stem}-{n}{suffix}"


def link_unique(temp: str | Path, directory: Path, name: str, dir_fd: int | None = None) -> Path:
    """Gives the file ``temp`` the name ``name`` in ``directory``, or ``name`` with ``-1``, ``-2``… before the
    suffix, never replacing a file; the temporary name is removed. With ``dir_fd``, both names are
    relative to that open directory (``directory`` is then only used to report the path)."""
    n = 0
    while True:
        candidate = _numbered(name, n)
        target = candidate if dir_fd is not None else directory / candidate
        try:
            os.link(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileExistsError:
            n += 1
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise
            # a file system without hard links (FAT, some network mounts): check, then rename
            if os.path.lexists(directory / candidate):
                n += 1
                continue
            os.rename(temp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            return directory / candidate
        os.unlink(temp, dir_fd=dir_fd)
        return directory / candidate


class AtomicFile:
    """A data sink that becomes a file only on :meth:`commit`: created in ``directory`` (made when missing),
    or with ``dir_fd`` in that open directory (``directory`` then only names it in the paths returned)."""

    def __init__(self, directory: Path | str, dir_fd: int | None = None) -> None:
        self.directory = Path(directory)
        self._dir_fd = dir_fd
        if dir_fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            temp = f"{TEMP_PREFIX}{os.urandom(6).hex()[:8]}{TEMP_SUFFIX}"
            where = temp if dir_fd is not None else self.directory / temp
            with contextlib.suppress(FileExistsError):
                # the usual mode (0666 less the umask: with the service's UMask=0027, readable by the
                # ptpipd group that clients belong to)
                fd = os.open(
                    where, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=dir_fd
                )
                break
        else:  # pragma: no cover - 100 collisions of 32 random bits
            raise FileExistsError(errno.EEXIST, "no free temporary name", str(self.directory))
        self._file = os.fdopen(fd, "wb")
        self._temp = where  # relative to dir_fd when there is one
        self.size = 0
        self.path: Path | None = None
        try:
            # held while the file is open: a daemon starting beside this one (same directory) leaves it alone
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            self.abort()
            raise

    def write(self, data: Buffer) -> None:
        """Appends a chunk."""
        self._file.write(data)
        self.size += len(data)

    def commit(self, name: str, *, fallback: str = "file") -> Path:
        """Flushes to disk and gives the file its final name: ``name`` made safe (:func:`safe_name`), made
        unique (``-1``, ``-2``…: an existing file is never replaced)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self.path = link_unique(self._temp, self.directory, safe_name(name, fallback), self._dir_fd)
        self._file.close()
        return self.path

    def abort(self) -> None:
        """Drops the temporary file (nothing to do once committed)."""
        if self.path is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp, dir_fd=self._dir_fd)
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Removes the temporary files a killed daemon left in ``directory`` (only :data:`TEMP_NAME` files, only
    at the top of ``directory``, never one that another process still holds locked); returns them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer is alive
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


class OutsideCaptureDir(ValueError):
    """A path that leads outside the capture directory (or through a symbolic link)."""


def inside_parts(base: Path, path: str) -> list[str]:
    """The components of ``path`` below ``base``; :class:`OutsideCaptureDir` for an absolute path elsewhere
    or any ``..``."""
    base = Path(os.path.abspath(base))
    if os.path.isabs(path):
        for root in dict.fromkeys((str(base), os.path.realpath(base))):
            if os.path.commonpath([root, os.path.normpath(path)]) == root:
                path = os.path.relpath(os.path.normpath(path), root)
                break
        else:
            raise OutsideCaptureDir(f"{path} is outside the capture directory {base}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OutsideCaptureDir(f"'..' is not allowed in a path (the capture directory is {base})")
    return parts


def _open_dir(name: str, dir_fd: int, shown: Path) -> int:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(shown):
            raise OutsideCaptureDir(f"{shown} is a symbolic link; links are not followed") from None
        raise


def save_inside(base: Path, path: str, default_name: str, data: Buffer | Path) -> Path:
    """Writes ``data`` (bytes, or the content of a file, copied in 1 MiB pieces) at ``path`` inside the
    directory ``base``, or into ``path`` under ``default_name`` when ``path`` is a directory; returns where
    it went.

    ``path`` is relative to ``base``, or absolute within it; ``..`` and symbolic links are refused
    (:class:`OutsideCaptureDir`: each directory is opened relative to the one before, without following a
    link, so nothing can be swapped in between); no directory is created (``FileNotFoundError``, ``base``
    included); an
    existing file is never replaced (``-1``, ``-2``… are added, as the seed tool did). The file is written
    under a temporary name first and appears complete or not at all.
    """
    base = Path(os.path.abspath(base))
    parts = inside_parts(base, path)
    fds = [os.open(base, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        where = base
        for i, part in enumerate(parts):
            where = where / part
            try:
                fds.append(_open_dir(part, fds[-1], where))
            except (FileNotFoundError, NotADirectoryError) as exc:
                if i < len(parts) - 1:
                    raise FileNotFoundError(exc.errno, "no such directory", str(where)) from None
                # a new file, or an existing one (never replaced: a numbered name beside it)
                return _write_at(fds[-1], where.parent, safe_name(part, default_name), data)
        return _write_at(fds[-1], where, safe_name(default_name, "capture"), data)
    finally:
        for fd in fds:
            os.close(fd)


def _write_at(dir_fd: int, directory: Path, name: str, data: Buffer | Path) -> Path:
    """``data`` as a new file ``name`` (made unique) in the open directory ``dir_fd``."""
    with AtomicFile(directory, dir_fd) as file:
        if isinstance(data, Path):
            with data.open("rb") as source:
                shutil.copyfileobj(source, file, 1 << 20)
        else:
            file.write(data)
        return file.commit(name)

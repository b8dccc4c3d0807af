"""Writing received images to disk without ever leaving a half-written file behind.

Bytes go to a hidden temporary file in the target directory; only a complete transfer is renamed to its
final name (a rename within one directory is atomic). A failed or cancelled transfer removes the temporary
file. Final names never overwrite: ``IMG_0004.JPG`` becomes ``IMG_0004-1.JPG`` when the first exists.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

Buffer = bytes | bytearray | memoryview


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unique_path(directory: Path, name: str) -> Path:
    """``directory/name``, or with ``-1``, ``-2``… before the suffix when that already exists."""
    candidate = directory / name
    stem, suffix = os.path.splitext(name)
    n = 0
    while candidate.exists():
        n += 1
        candidate = directory / f"{stem}-{n}{suffix}"
    return candidate


class AtomicFile:
    """A data sink that becomes a file only on :meth:`commit`."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".ptpipd-", suffix=".part")
        # mkstemp makes the file 0600 whatever the umask; a picture should get the usual mode (with the
        # service's UMask=0027, readable by the ptpipd group that clients belong to).
        os.fchmod(fd, 0o666 & ~_umask())
        self._file = os.fdopen(fd, "wb")
        self.temp_path = Path(name)
        self.size = 0
        self.path: Path | None = None

    def write(self, data: Buffer) -> None:
        """Appends a chunk."""
        self._file.write(data)
        self.size += len(data)

    def commit(self, name: str, *, overwrite: bool = False) -> Path:
        """Flushes to disk and gives the file its final name (a unique one unless ``overwrite``)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target = self.directory / name if overwrite else unique_path(self.directory, name)
        os.replace(self.temp_path, target)
        self.path = target
        return target

    def abort(self) -> None:
        """Drops the temporary file."""
        if not self._file.closed:
            self._file.close()
        if self.path is None:
            self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.path is None:
            self.abort()

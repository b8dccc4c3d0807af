"""The ingest folder: part files, the pattern's names reserved in the journal, and each picture put into
place exactly once.

A name is reserved in the journal (:mod:`ptpipd.ingest_index`) before the rename and the result recorded
after it, so a crash between the two keeps the name and nothing is stored twice. Only the result waits for
the journal's ``fsync``, after the rename: a power cut that loses the name's record finds the file at the
pattern's name with the object's bytes, and that counts as stored (byte for byte: a file of someone else's
keeps its name, ours takes the next). Every sync runs on one thread of its own
(:meth:`IngestFolder.journal`), as do the journal's records but one: the event loop never waits on the
disk's syncs, and the records keep their order. A new object's first piece (:class:`PartWriter`) is synced
on that thread while the event loop asks the camera for the object's name; then the event loop writes the
name's record, and the file is linked at once where it is synced already, else on the thread right after
its sync (:meth:`IngestFolder.store`); the folder's sync and the result follow on the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ptpipd.ingest_index import IngestIndex, Key, Stored, parse_time, sync_directory
from ptpipd.ingest_names import render

log = logging.getLogger("ptpipd.ingest")

#: Temporary files of downloads in progress, in the ingest directory.
PART_PREFIX, PART_SUFFIX = ".ptpipd-ingest-", ".part"


class IngestFolder:
    """The folder ingest stores into (``directory``, names from ``pattern``) and its journal ``index``."""

    def __init__(self, directory: Path, pattern: str, index: IngestIndex) -> None:
        self.directory = directory
        self.pattern = pattern
        self.index = index
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ingest-journal")

    async def close(self) -> None:
        """Waits for the journal steps in flight, then closes the journal."""
        await asyncio.get_running_loop().run_in_executor(None, self._writer.shutdown)
        self.index.close()

    def journal(self, write: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """A journal step (a record, or a file into place and its record) on the journal's own thread: the
        event loop never waits on the disk, and the records keep their order."""
        return asyncio.get_running_loop().run_in_executor(self._writer, write, *args)

    # ---------------------------------------------------------------- part files

    def part(self, key: Key) -> Path:
        """The part file of ``key``'s download (its name the same across restarts: a download resumes)."""
        digest = hashlib.sha256(repr(key.as_json()).encode()).hexdigest()[:24]
        return self.directory / f"{PART_PREFIX}{digest}{PART_SUFFIX}"

    def fresh_part(self, handle: int) -> Path:
        """The part file of an announced object read before its key is known (:class:`PartWriter`). Left
        by a crash, it is an orphan: the next scan removes it and downloads the object under its key."""
        return self.directory / f"{PART_PREFIX}new-{handle:08x}{PART_SUFFIX}"

    def remove_orphans(self, keep: set[str]) -> None:
        """Part files of objects no longer on the camera (deleted meanwhile) go."""
        for part in self.directory.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
            if part.name not in keep:
                log.info("ingest: removing %s (its object is no longer on the camera)", part.name)
                part.unlink(missing_ok=True)

    def recover(self) -> None:
        """After a crash: a rename that happened before its journal record counts as done."""
        for key, (path, _) in list(self.index.targets.items()):
            final = self.directory / path
            if not self.part(key).exists() and final.is_file() and final.stat().st_size == key.size:
                sha = prefix_digest(final, key.size).hexdigest()
                self.index.record_done(key, Stored(path, key.size, sha))
                log.info("ingest: %s was renamed before the daemon stopped: recorded", path)

    # ---------------------------------------------------------------- names

    def _free_name(self, rel: PurePosixPath) -> str:
        """``rel``, or with -1, -2 … before the suffix, taken neither on disk nor by a pending download."""
        reserved, n = self.index.reserved_paths(), 0
        candidate = rel
        while (self.directory / candidate).exists() or str(candidate) in reserved:
            n += 1
            candidate = rel.with_name(f"{rel.stem}-{n}{rel.suffix}")
        return str(candidate)

    def _twin(self, rel: PurePosixPath, size: int) -> str | None:
        """``rel`` when a file of ``size`` bytes holds that name, unreserved: perhaps this object's own copy,
        renamed before a power cut lost its journal record (:meth:`_settle` compares the bytes)."""
        name = str(rel)
        with contextlib.suppress(OSError):
            if (self.directory / rel).stat().st_size == size and name not in self.index.reserved_paths():
                return name
        return None

    async def reserve(self, key: Key, captured: str | None, *, again: bool = False) -> tuple[str, str | None]:
        """The name of ``key`` in the folder (:meth:`name`), reserved in the journal (kept across a crash)
        unless it was before; and the pattern's name when a file of the object's size holds it."""
        path, twin, new = self.name(key, captured, again=again)
        if new:
            await self.journal(self.index.reserve, key, path)
        return path, twin

    def name(self, key: Key, captured: str | None, *, again: bool = False) -> tuple[str, str | None, bool]:
        """The name of ``key`` in the folder: the one reserved before (a download that did not finish), else
        the pattern's, made free (then True: it is to be reserved); and the pattern's name when a file of the
        object's size holds it (:meth:`_twin`)."""
        reserved = None if again else self.index.target(key)
        if reserved is not None:
            return reserved[0], None, False
        when = parse_time(captured) or datetime.now()
        n = self.index.count + 1
        rel = render(self.pattern, captured=when, filename=key.filename, serial=key.serial, n=n)
        path = self._free_name(rel)
        return path, None if path == str(rel) or again else self._twin(rel, key.size), True

    # ---------------------------------------------------------------- into place

    async def commit(self, key: Key, part: Path, sha256: str, path: str, twin: str | None = None) -> Stored:
        """Syncs the part file, links it to its reserved name (another, should a file have taken that) and
        records it, all on the journal's thread (one hop: the records before it are written by then)."""
        return await self._into_place(key, part, Stored(path, key.size, sha256), twin, _Step())

    async def store(self, key: Key, writer: PartWriter, captured: str | None) -> Stored:
        """A whole part file, its sync handed to the journal's thread (:meth:`PartWriter.finish`), into
        place under the pattern's name. The name's record is written here, on the event loop (a line
        written, the page cache's business, as the part files' writes are), before the link as on the
        thread, so a daemon killed in between finds its name reserved (:meth:`recover`). The file is linked
        by whichever side is last: here when it is synced already, else by the thread right after its sync
        (:meth:`PartWriter.link_when_synced`: no thread or event loop to wake before the picture has its
        name). Then, on the thread, the folder's sync, the SHA-256 read back from the file and the result.
        A name taken meanwhile, or a folder without hard links, goes the thread's way (:meth:`_settle`)."""
        path, twin, new = self.name(key, captured)
        if twin is None and new:
            self.index.reserve(key, path)
            new = False
        if twin is None:
            with contextlib.suppress(OSError):  # taken, or no hard links here: the thread's way
                writer.link_when_synced(self.directory / path)
        return await self._into_place(key, writer.path, Stored(path, key.size, ""), twin, _Step(new, writer))

    async def _into_place(
        self, key: Key, part: Path, stored: Stored, twin: str | None, step: _Step
    ) -> Stored:
        for _ in range(3):
            done: Stored | None = await self.journal(self._settle, key, part, stored, twin, step)
            if done is not None:
                return done
            path, twin = (await self.reserve(key, key.captured, again=True))[0], None
            stored, step = Stored(path, stored.size, stored.sha256), _Step(written=step.written)
        raise OSError(f"no free name for {key.filename} in {self.directory}")

    def _settle(self, key: Key, part: Path, stored: Stored, twin: str | None, step: _Step) -> Stored | None:
        """(On the journal's thread.) ``part`` into place and recorded ``done``; None when its name is taken."""
        written, final = step.written, self.directory / stored.path
        if written is not None and not written.durable:
            raise OSError(f"{part.name} could not be synced: {written.error}")  # never put into place
        if written is not None and written.linked == final:
            _unlink_part(part, final)
            return self._record(key, stored)
        if step.reserve:
            self.index.reserve(key, stored.path)
        if twin is not None and filecmp.cmp(part, self.directory / twin, shallow=False):
            log.info("ingest: %s holds %s already (named before its record was lost)", twin, key.filename)
            part.unlink()
            stored = Stored(twin, stored.size, stored.sha256)
        elif not _place(part, final, written is not None):
            return None
        return self._record(key, stored)

    def _record(self, key: Key, stored: Stored) -> Stored:
        """(On the journal's thread.) ``done``, with the file's SHA-256 read back when not known yet."""
        if not stored.sha256:
            digest = prefix_digest(self.directory / stored.path, stored.size).hexdigest()
            stored = Stored(stored.path, stored.size, digest)
        self.index.record_done(key, stored)
        return stored


@dataclass(frozen=True, slots=True)
class _Step:
    """How :meth:`IngestFolder._settle` goes: the name still to be reserved; the writer that synced the part
    file before (the step checks it did), else None (the step syncs it)."""

    reserve: bool = False
    written: PartWriter | None = None


class PartWriter:
    """A data sink writing a new part file: each piece as it comes, straight from the receive buffer (the
    page cache's business, as the part files' writes of a listed download are); :meth:`finish` syncs and
    closes the file on the journal's thread while the event loop goes on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        #: set on the journal's thread once the file is synced (or why it could not be)
        self.durable = False
        self.error: OSError | None = None
        self.finished = False  # the sync handed to the journal's thread
        #: where the file was linked once synced (:meth:`link_when_synced`)
        self.linked: Path | None = None
        self._link_to: Path | None = None
        self._fd = -1
        self._lock = threading.Lock()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        view = memoryview(data).cast("B")
        offset = self.size
        self.size += len(view)
        while view:
            view = view[os.write(self._fd, view) :]
        _start_writeback(self._fd, offset, self.size - offset)

    def finish(self, folder: IngestFolder) -> asyncio.Future[Any]:
        """The bytes synced (fdatasync) and the file closed, on ``folder``'s journal thread: once that ran,
        :attr:`durable` says whether it worked (:attr:`error` why not), and so does the future."""
        if self._fd < 0:  # nothing came: an empty file
            self.write(b"")
        fd, self._fd, self.finished = self._fd, -1, True
        done = folder.journal(self._sync, fd)
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        return done

    def discard(self) -> None:
        """The file closed (unless :meth:`finish` has it) and removed."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)

    def link_when_synced(self, final: Path) -> None:
        """Links the file to ``final`` now when it is synced, else has the journal's thread link it right
        after a sync that worked; :attr:`linked` says when it was (OSError: it could not be, now)."""
        with self._lock:
            if not self.durable:
                self._link_to = final
                return
        _link(self.path, final)
        self.linked = final

    def _sync(self, fd: int) -> None:
        try:
            _datasync(fd)
        except OSError as exc:
            self.error = exc
            raise
        finally:
            os.close(fd)
        with self._lock:
            self.durable, final = True, self._link_to
        if final is not None:
            with contextlib.suppress(OSError):  # taken, or no hard links: the next step's way
                _link(self.path, final)
                self.linked = final


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Starts writing bytes just written to the disk without waiting (Linux, as PostgreSQL's
    ``pg_flush_data`` does where sync_file_range is missing): the fdatasync that follows on the journal's
    thread then waits for less. Where the system has no such hint, the fdatasync does it all."""
    with contextlib.suppress(AttributeError, OSError):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _place(part: Path, final: Path, synced: bool = False) -> bool:
    """Syncs ``part``'s bytes (unless ``synced``), then links it to ``final`` unless a file is there (True),
    removes the part name, fsyncs the folders. False when ``final`` holds another file (its name must
    change). The folders' fsync follows the link: a power cut before it may lose the name, and then the
    journal, synced after it (``done``), has no record either: the object is downloaded again, never
    stored twice, never stored half."""
    if not synced:
        with part.open("rb") as f:
            _datasync(f.fileno())  # the bytes and the size; not the times (a new file: nothing else to wait)
    try:
        _link(part, final)
    except FileExistsError:
        if not filecmp.cmp(part, final, shallow=False):  # the sizes first, then the bytes
            return False  # someone else's file
    except OSError:  # no hard links (FAT, some network mounts): check, then rename
        if final.exists():
            return False
        os.replace(part, final)
    _unlink_part(part, final)
    return True


def _link(part: Path, final: Path) -> None:
    """``final`` made a name of ``part`` (never over a file: FileExistsError), its folder made if need be."""
    try:
        os.link(part, final)
    except FileNotFoundError:
        if not part.exists():
            raise
        final.parent.mkdir(parents=True, exist_ok=True)
        os.link(part, final)


def _unlink_part(part: Path, final: Path) -> None:
    """The part name removed once ``final`` names the file, and the folders synced."""
    part.unlink(missing_ok=True)
    sync_directory(final.parent)
    if final.parent != part.parent:
        sync_directory(part.parent)


#: fdatasync where the system has it (Linux), else fsync (macOS).
_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def prefix_digest(path: Path, length: int) -> Any:
    """The SHA-256 object of the first ``length`` bytes of ``path`` (a resumed download's part file keeps
    them; a file put into place is read back whole)."""
    digest = hashlib.sha256()
    if length > 0:
        with path.open("rb") as f:
            while length > 0 and (chunk := f.read(min(length, 1 << 20))):
                digest.update(chunk)
                length -= len(chunk)
    return digest

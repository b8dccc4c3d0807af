"""How ingest gets one object from the camera into the folder (:mod:`ptpipd.ingest_folder`).

Three ways, by what is known of the object:

* **announced** (an event gave its handle, the camera reads pieces): the first piece is read *before* the
  ObjectInfo, and written and synced on the journal's thread (:class:`~ptpipd.ingest_folder.PartWriter`)
  while the ObjectInfo's round trip runs; a picture of one piece is whole when its name is known and goes
  straight into place, a bigger one goes on from there as a listed one;
* **listed** (the scan listed it, or the camera reads no pieces): ObjectInfo (unless listed), then the object
  into its part file named by its key, a GetPartialObject piece per request (other clients' calls run in
  between), resumed from that file's length after a reconnect or a restart;
* **offered** (no handle): the bytes a client's capture received, or what the camera hands over.

Exactly-once is decided by the key (camera serial, file name, size, capture time) before anything is
placed: an object stored already is skipped; an announced one costs, at worst, one piece read for nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ptpipd.camera import Camera
from ptpipd.errors import CameraError, WriteFailed
from ptpipd.ingest_folder import PART_PREFIX, PART_SUFFIX, IngestFolder, PartWriter, prefix_digest
from ptpipd.ingest_index import IngestIndex, Key, Stored
from ptpipd.service import CameraService
from ptpipd.vendors.base import FileEntry, NewObject

log = logging.getLogger("ptpipd.ingest")


class Stopping(Exception):
    """The daemon stops: the download ends after its current piece (the part file stays for next time)."""


class Progress(Protocol):
    """The counts the downloads keep up to date (``status.ingest``)."""

    current: dict[str, Any] | None
    skipped: int


@dataclass(frozen=True, slots=True)
class Fetched:
    """An object stored: its key, where, its handle (None when offered) and capture time."""

    key: Key
    stored: Stored
    handle: int | None
    captured: str | None


class _Sink:
    """Writes an object's bytes to its part file and hashes them on the way (unless ``digest`` is None:
    a :class:`PartWriter`'s file is hashed once in place)."""

    def __init__(self, file: Any, digest: Any, progress: Progress) -> None:
        self.file, self.digest, self.progress, self.size = file, digest, progress, 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.file.write(data)
        if self.digest is not None:
            self.digest.update(data)
        self.size += len(data)
        if self.progress.current is not None:
            self.progress.current["offset"] += len(data)


class Fetcher:
    """Downloads from ``service`` into ``folder`` in pieces of ``piece`` bytes; ``stopping`` ends one after
    its current piece (:class:`Stopping`)."""

    def __init__(self, service: CameraService, folder: IngestFolder, piece: int, progress: Progress) -> None:
        self.service = service
        self.folder = folder
        self.index: IngestIndex = folder.index
        self.piece = piece
        self.progress = progress
        self.stopping = False

    def serial(self) -> str:
        """The connected camera's serial number (its make and model when it has none)."""
        summary = self.service.session.summary
        if summary is None:
            return ""
        return summary.serial or f"{summary.manufacturer} {summary.model}".strip()

    # ---------------------------------------------------------------- announced

    async def announced(self, handle: int) -> Fetched | None:
        """An object an event announced (the camera reads pieces): its first piece, then its ObjectInfo, in
        one turn with the camera (the piece's sync starts between the two)."""
        writer = PartWriter(self.folder.fresh_part(handle))
        self.progress.current = {"filename": None, "handle": handle, "offset": 0, "size": None}
        sink = _Sink(writer, None, self.progress)

        async def first(camera: Camera) -> FileEntry:
            await camera.download_part(handle, 0, self.piece, sink)
            writer.finish(self.folder)  # the sync runs on the journal's thread during the round trip
            return await camera.file_entry(handle)

        try:
            entry = await self.service.request(first)
        except BaseException as exc:
            writer.discard()  # unlinked at once; the thread closes its descriptor once synced
            if writer.finished or not isinstance(exc, CameraError) or isinstance(exc, WriteFailed):
                raise
            return await self.listed(handle, None)  # a folder, say: the usual way
        return await self._place_announced(handle, entry, writer)

    async def _place_announced(self, handle: int, entry: FileEntry, writer: PartWriter) -> Fetched | None:
        key = Key.of(self.serial(), entry.filename, entry.size, entry.captured)
        if entry.format == "folder" or self.index.stored(key) is not None:
            self.progress.skipped += int(entry.format != "folder")
            writer.discard()
            return None
        if writer.size == entry.size:
            stored = await self.folder.store(key, writer, entry.captured)
            return Fetched(key, stored, handle, entry.captured)
        os.replace(writer.path, self.folder.part(key))  # more to come: on from there, under the key's name
        return await self._download(handle, entry, key, resuming=False)

    # ---------------------------------------------------------------- listed

    async def listed(self, handle: int, entry: FileEntry | None) -> Fetched | None:
        """An object on the card: its entry (GetObjectInfo) unless the scan listed it, then unless it is
        stored, its download."""
        entry = entry or await self.service.file_entry(handle)
        if entry.format == "folder":
            return None
        key = Key.of(self.serial(), entry.filename, entry.size, entry.captured)
        if self.index.stored(key) is not None:
            self.progress.skipped += 1
            return None
        return await self._download(handle, entry, key)

    async def _download(self, handle: int, entry: FileEntry, key: Key, *, resuming: bool = True) -> Fetched:
        """The object into its part file (resumed from its length), then into place."""
        partial = self.service.capabilities.partial_objects
        part = self.folder.part(key)
        offset = part.stat().st_size if partial and part.exists() else 0
        offset = offset if offset <= entry.size else 0
        digest = hashlib.sha256()
        if offset:  # the bytes already there count
            how = "resuming %s at byte %d of %d" if resuming else "%s goes on from byte %d of %d"
            level = logging.INFO if resuming else logging.DEBUG
            log.log(level, "ingest: " + how, entry.filename, offset, entry.size)
            digest = await asyncio.to_thread(prefix_digest, part, offset)
        # the name: its journal write runs meanwhile
        naming = asyncio.ensure_future(self.folder.reserve(key, entry.captured))
        try:
            with part.open("r+b" if part.exists() else "wb") as file:
                size = offset + await self._into_part(handle, entry, file, offset, digest)
        finally:
            path = await naming
        if size != entry.size:
            part.unlink(missing_ok=True)
            raise ValueError(f"{entry.filename}: {size} bytes came, the camera announced {entry.size}")
        stored = await self.folder.commit(key, part, digest.hexdigest(), *path)
        return Fetched(key, stored, handle, entry.captured)

    async def _into_part(self, handle: int, entry: FileEntry, file: Any, offset: int, digest: Any) -> int:
        """The object from ``offset`` on written to its part ``file`` from there; how many bytes came."""
        file.truncate(offset)
        file.seek(offset)
        self.progress.current = {"filename": entry.filename, "offset": offset, "size": entry.size}
        sink = _Sink(file, digest, self.progress)
        if self.service.capabilities.partial_objects:
            await self._pieces(handle, offset, entry.size, sink)
        else:
            await self.service.download(handle, sink)
        file.flush()
        return sink.size

    async def _pieces(self, handle: int, offset: int, size: int, sink: _Sink) -> None:
        while offset < size:
            if self.stopping:
                raise Stopping
            want = min(self.piece, size - offset)
            got = await self.service.download_part(handle, offset, want, sink)
            if got <= 0:
                raise ValueError(f"the camera sent nothing of object {handle} at byte {offset} of {size}")
            offset += got

    # ---------------------------------------------------------------- offered

    async def offered(self, new: NewObject, data: bytes | None) -> Fetched:
        """An object without a handle: the bytes a client's capture received, or what the camera offers."""
        when = datetime.now()
        name = new.filename or f"capture-{when:%Y%m%d-%H%M%S}-{when.microsecond // 1000:03d}.jpg"
        tmp = self.folder.directory / f"{PART_PREFIX}offered-{os.getpid()}{PART_SUFFIX}"
        digest = hashlib.sha256()
        try:
            with tmp.open("wb") as file:
                sink = _Sink(file, digest, self.progress)
                if data is not None:
                    sink.write(data)
                else:
                    await self.service.request(lambda cam: cam.on_driver(lambda d: d.fetch_new(new, sink)))
            key = Key.of(self.serial(), name, sink.size, when.isoformat(timespec="seconds"))
            part = self.folder.part(key)
            os.replace(tmp, part)
        finally:
            tmp.unlink(missing_ok=True)
        path = await self.folder.reserve(key, key.captured)
        return Fetched(
            key, await self.folder.commit(key, part, digest.hexdigest(), *path), None, key.captured
        )

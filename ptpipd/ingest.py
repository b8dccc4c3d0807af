"""Tethered ingest (DESIGN.md §10): every new picture the camera announces lands in a folder, exactly once.

:class:`Ingest` listens to the camera service for new objects (ObjectAdded and the vendors' equivalents,
whoever pressed the shutter: a client's ``capture`` or the button on the body) and, on every connection, lists
the camera's files to catch up with pictures taken while the daemon or the link was down. Each object is:

1. downloaded through the service's queue (:mod:`ptpipd.ingest_fetch`), a GetPartialObject piece per request
   (other clients' calls run in between), into ``.ptpipd-ingest-<key>.part`` in the ingest directory; an
   interrupted download resumes from that file's length after a reconnect or a restart. An object an event
   announced has its first piece read before its ObjectInfo, written and synced while that round trip runs;
2. synced and renamed (never over an existing file) to the name ``pattern`` gives
   (:mod:`ptpipd.ingest_names`) in the folder (:mod:`ptpipd.ingest_folder`); the journal
   (:mod:`ptpipd.ingest_index`) records the name before the rename
   and the result after it, so a crash between the two keeps the name and nothing is stored twice. Only the
   result waits for the journal's ``fsync``, after the rename, so the picture waits for one disk sync, its
   own: a power cut that loses the name's record finds the file at the pattern's name with the object's
   bytes, and that counts as stored (byte for byte: a file of someone else's keeps its name, ours the next);
3. announced as ``notify.ingest {path, handle, size, sha256, filename, captured}``, handed to the hook
   (:mod:`ptpipd.ingest_hook`, run one at a time by a task of its own: a slow hook never delays a
   download), and deleted from the camera with ``delete_after``.

The first time ingest sees a camera (by serial number), the files already on it are recorded and left alone;
``ptpipctl sync`` copies those. A camera that hands over only a preview (a Fujifilm X-T1 in remote mode) has
that preview stored: ingest stores what the camera offers, asking the vendor's capabilities, never its name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ptpipd.errors import CameraError
from ptpipd.ingest_fetch import Fetched, Fetcher, Stopping
from ptpipd.ingest_folder import PART_PREFIX, PART_SUFFIX, IngestFolder
from ptpipd.ingest_hook import HookResult, HookRunner, hook_command
from ptpipd.ingest_index import IngestIndex, Key, Stored
from ptpipd.ingest_names import DEFAULT_PATTERN
from ptpipd.service import CameraService, ConnectionState, Notification
from ptpipd.vendors.base import FileEntry, NewObject

log = logging.getLogger("ptpipd.ingest")

__all__ = ["PART_PREFIX", "PART_SUFFIX", "Ingest", "IngestOptions"]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """``[ingest]``: where, how files are named, what happens after, and the bounds."""

    directory: Path
    index_path: Path
    pattern: str = DEFAULT_PATTERN
    delete_after: bool = False
    hook: str | None = None
    hook_timeout: float = 60.0
    piece: int = 1 << 20
    max_queue: int = 10_000
    stop_grace: float = 3.0


@dataclass(slots=True)
class _Job:
    """One thing for the worker: a scan of the card (``scan``), an object on it (``handle``), or an object
    without a handle, fetched (``new``) or already received by a client's capture (``data``)."""

    session: int
    handle: int | None = None
    entry: FileEntry | None = None
    new: NewObject | None = None
    data: bytes | None = None
    scan: bool = False


@dataclass(slots=True)
class _Counters:
    """What ingest has done since the daemon started (``status.ingest``)."""

    files: int = 0
    bytes: int = 0
    scans: int = 0
    skipped: int = 0
    errors: int = 0
    dropped: int = 0
    deleted: int = 0
    delete_failures: int = 0
    hook_runs: int = 0
    hook_failures: int = 0
    hook_timeouts: int = 0
    last: dict[str, Any] | None = None
    last_error: str | None = None
    current: dict[str, Any] | None = None

    def hook_ran(self, path: str, result: HookResult) -> None:
        """Counts the hook run for ``path`` (and logs it)."""
        self.hook_runs += 1
        if result.ok:
            log.debug("ingest: hook for %s done%s", path, f": {result.output}" if result.output else "")
            return
        self.hook_failures += 1
        self.hook_timeouts += int(result.timed_out)
        self.last_error = f"hook for {path}: {result.describe()}"
        log.warning(
            "ingest: hook for %s %s%s", path, result.describe(), f": {result.output}" if result.output else ""
        )

    def report(self, queue: int, hooks_pending: int) -> dict[str, Any]:
        """The counts of ``status.ingest`` (every field but the hooks', which go under ``hooks``), with the
        jobs and the hooks waiting."""
        counts = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("hook_")}
        hooks = {"runs": self.hook_runs, "failures": self.hook_failures, "timeouts": self.hook_timeouts}
        return counts | {"queue": queue, "hooks": hooks | {"pending": hooks_pending}}


class Ingest:
    """Tethered ingest on one camera service (an async context manager: ``async with Ingest(...)``)."""

    def __init__(
        self, service: CameraService, options: IngestOptions, env: Mapping[str, str] = os.environ
    ) -> None:
        self.service = service
        self.options = options
        self.env = env
        self.index = IngestIndex(options.index_path)
        self.folder = IngestFolder(options.directory, options.pattern, self.index)
        self.hooks: HookRunner[Key] | None = None
        if options.hook:
            argv = hook_command(options.hook)
            self.hooks = HookRunner(argv, options.directory, env, options.hook_timeout, self._hook_finished)
        self.counters = _Counters()
        self.fetcher = Fetcher(service, self.folder, options.piece, self.counters)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(options.max_queue)
        self._session = 0
        self._queued: set[int] = set()  # handles waiting in this session
        self._announced: set[int] = set()  # handles events announced in this session
        self._busy = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Ingest:
        self.options.directory.mkdir(parents=True, exist_ok=True)
        self.index.open()
        self.folder.recover()
        if self.hooks is not None:  # after a crash: hooks that did not run
            for key, stored in self.index.unhooked():
                self._queue_hook(key, stored, None, key.captured)
        self.service.add_object_listener(self._on_object)
        self.service.add_state_listener(self._on_state)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(), name="ingest")]
        if self.hooks is not None:
            self._tasks.append(loop.create_task(self.hooks.run(), name="ingest-hooks"))
        if self.service.state is ConnectionState.CONNECTED:
            self._on_state(ConnectionState.CONNECTED, None)
        log.info("ingest into %s (pattern %r)", self.options.directory, self.options.pattern)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Ends the worker after its current piece (bounded by ``stop_grace``) and the hook in flight."""
        if self._stopping:
            return
        self._stopping = self.fetcher.stopping = True
        if self._tasks and self._busy:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._tasks[0]), self.options.stop_grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.folder.close()  # the journal's writes in flight end

    # ---------------------------------------------------------------- what the service tells

    def _on_state(self, state: ConnectionState, reason: str | None) -> None:
        """Handles are good for one connection: the jobs queued in another are skipped (the scan of the
        next connection finds their objects again)."""
        if state is ConnectionState.CONNECTED or state is ConnectionState.DISCONNECTED:
            self._session += 1
            self._queued.clear()
            self._announced.clear()
        if state is ConnectionState.CONNECTED:
            self._put(_Job(self._session, scan=True))

    def _on_object(self, new: NewObject, data: bytes | None) -> None:
        if data is None and new.handle is not None:
            self._announced.add(new.handle)
            if new.handle in self._queued:
                return
            self._queued.add(new.handle)
        self._put(_Job(self._session, new.handle if data is None else None, new=new, data=data))

    def _put(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.counters.dropped += 1
            log.warning("ingest queue full (%d): an object waits for the next scan", self._queue.maxsize)

    # ---------------------------------------------------------------- the worker

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._busy = True
            try:
                await self._do(job)
            except Stopping:
                return
            except (CameraError, OSError, ValueError) as exc:
                self._failed(job, exc)
            finally:
                self._busy = False
                self.counters.current = None
                if job.handle is not None and job.session == self._session:
                    self._queued.discard(job.handle)

    def _failed(self, job: _Job, exc: Exception) -> None:
        self.counters.errors += 1
        what = "the scan of the camera's files" if job.scan else f"object {job.handle or '(preview)'}"
        self.counters.last_error = f"{what}: {exc}"
        log.warning("ingest: %s failed: %s (a card object is tried again on the next connection)", what, exc)

    async def _do(self, job: _Job) -> None:
        if job.scan:
            if job.session == self._session:
                await self._scan()
            return
        if job.session != self._session and job.data is None:
            return  # the handle belonged to an earlier connection: the scan of this one finds the object
        fetched: Fetched | None
        if job.handle is None:
            assert job.new is not None
            fetched = await self.fetcher.offered(job.new, job.data)
        elif job.entry is None and self.service.capabilities.partial_objects:
            fetched = await self.fetcher.announced(job.handle)
        else:
            fetched = await self.fetcher.listed(job.handle, job.entry)
        if fetched is not None:
            self._finished(fetched.key, fetched.stored, fetched.handle, fetched.captured)
            if fetched.handle is not None and self.options.delete_after:
                await self._delete(fetched.handle, fetched.key.filename)

    async def _scan(self) -> None:
        """Every file on the camera that ingest has neither stored nor found there at first: queued."""
        if not self.service.capabilities.files:
            self.counters.scans += 1
            return
        entries = [e for e in await self.service.files() if e.format != "folder"]
        self.counters.scans += 1
        serial = self.fetcher.serial()
        keys = [(e, Key.of(serial, e.filename, e.size, e.captured)) for e in entries]
        if not self.index.has_baseline(serial):
            kept = [k for e, k in keys if e.handle not in self._announced]
            await self.folder.journal(self.index.record_baseline, serial, kept)
            log.info(
                "ingest: first time on camera %r: its %d files stay on it (ptpipctl sync)", serial, len(kept)
            )
            return
        if self.options.delete_after:  # stored, but the daemon stopped before deleting it
            for entry, _ in [(e, k) for e, k in keys if self.index.stored(k) is not None]:
                await self._delete(entry.handle, entry.filename)
        wanted = [(e, k) for e, k in keys if self.index.stored(k) is None and not self.index.skipped(k)]
        for entry, _ in wanted:
            if entry.handle not in self._queued:
                self._queued.add(entry.handle)
                self._put(_Job(self._session, entry.handle, entry=entry))
        self.folder.remove_orphans({self.folder.part(k).name for _, k in wanted})
        if wanted:
            log.info("ingest: %d files on the camera not stored yet", len(wanted))

    # ---------------------------------------------------------------- stored

    def _finished(self, key: Key, stored: Stored, handle: int | None, captured: str | None) -> None:
        path = str(self.options.directory / stored.path)
        c = self.counters
        c.files += 1
        c.bytes += stored.size
        c.last = {"path": path, "size": stored.size, "sha256": stored.sha256, "time": time.time()}
        log.info("ingest: stored %s (%d bytes, sha256 %s)", path, stored.size, stored.sha256)
        params = {"path": path, "handle": handle, "size": stored.size, "sha256": stored.sha256}
        params |= {"filename": key.filename, "captured": captured}
        self.service.fanout.publish(Notification("ingest", "notify.ingest", params))
        self._queue_hook(self.index.find(key) or key, stored, handle, captured)

    async def _delete(self, handle: int, filename: str) -> None:
        try:
            await self.service.delete(handle)
            self.counters.deleted += 1
        except CameraError as exc:
            self.counters.delete_failures += 1
            log.warning("ingest: %s is stored but stays on the camera: %s", filename, exc)

    # ---------------------------------------------------------------- hooks

    def _queue_hook(self, key: Key, stored: Stored, handle: int | None, captured: str | None) -> None:
        if self.hooks is None:
            return
        details = {"filename": key.filename, "handle": "" if handle is None else str(handle)}
        details |= {"size": str(stored.size), "sha256": stored.sha256, "serial": key.serial}
        self.hooks.put(key, stored.path, details | {"captured": captured or ""})

    async def _hook_finished(self, key: Key, path: str, result: HookResult) -> None:
        self.counters.hook_ran(path, result)
        await self.folder.journal(self.index.record_hooked, key)

    # ---------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        """``status.ingest``: what ingest has done since the daemon started, and what waits."""
        queue = self._queue.qsize() + int(self._busy)
        hooks = 0 if self.hooks is None else self.hooks.pending
        report = {"dir": str(self.options.directory), "pattern": self.options.pattern}
        return report | self.counters.report(queue, hooks) | {"stored_total": len(self.index.done)}

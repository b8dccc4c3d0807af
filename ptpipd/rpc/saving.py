"""Keeping what the camera sends as a file in the daemon's capture directory, the one way JSON-RPC ``capture``
and ``download`` and the data plane's ``POST /capture`` save.

The bytes go to an :class:`~ptpipd.files.AtomicFile` as they arrive (never a half-written file), and the
file is named by the camera's file name, or ``STEM-YYYYmmdd-HHMMSS.FORMAT`` when the camera gives none. The
commit (fsync and rename, seconds after a 1 GiB download) runs in a worker thread, so the event loop keeps
serving the other clients meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ptpipd.camera import Capture
from ptpipd.errors import WriteFailed
from ptpipd.files import AtomicFile
from ptpipd.ip.transport import BytesSink, DataSink
from ptpipd.service.core import Tee
from ptpipd.vendors.base import Transfer


@dataclass(frozen=True, slots=True)
class Saved:
    """What :func:`save` kept: the file's ``path``, or (``inline``, small enough) the bytes in ``data``."""

    transfer: Transfer
    path: Path | None
    data: bytes | None


def fallback_name(transfer: Transfer, stem: str) -> str:
    """The name of a file the camera gives no name: ``STEM-YYYYmmdd-HHMMSS.FORMAT``."""
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.{transfer.format}"


async def save(
    directory: Path,
    stem: str,
    fetch: Callable[[DataSink], Awaitable[Capture]],
    *,
    inline: int | None = None,
    copy_kept: bool = True,
) -> Saved:
    """Runs ``fetch`` into a new file in ``directory`` and keeps it.

    With ``inline`` (a byte count), an object of at most that size is returned in ``data`` and no file is
    kept; a larger one is kept as a file as without it (the caller says where it is). With ``copy_kept``
    false, nothing is kept of an object the camera keeps itself (one with a handle: ``/files/HANDLE`` serves
    it); what the camera keeps nothing of (a preview, a picture sent to the host) is kept all the same.
    """
    memory = BytesSink(inline) if inline is not None else None
    with AtomicFile(directory) as file:
        capture = await fetch(file if memory is None else Tee(file, memory))
        if memory is not None and not memory.overflow:
            file.abort()
            return Saved(capture.transfer, None, bytes(memory.buffer))
        if not copy_kept and capture.transfer.handle is not None:
            file.abort()
            return Saved(capture.transfer, None, None)
        name = Path(capture.transfer.filename or "").name  # made safe by the commit
        try:
            path = await _commit(file, name, fallback_name(capture.transfer, stem))
        except OSError as exc:  # flushing the last bytes or naming the file: the disk, not the camera
            raise WriteFailed(exc, "the file") from exc
    return Saved(capture.transfer, path, None)


async def _commit(file: AtomicFile, name: str, fallback: str) -> Path:
    """``file.commit(name)`` in a worker thread. A caller cancelled meanwhile still waits for the thread (so
    the AtomicFile's exit never races the rename): the picture then stays, complete, under its name (what
    the camera sent is never lost), and the cancellation goes on."""
    job = asyncio.ensure_future(asyncio.to_thread(file.commit, name, fallback=fallback))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        while not job.done():  # bounded by the fsync and rename
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({job})
        raise

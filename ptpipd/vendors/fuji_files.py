"""Full-size files of a Fujifilm body that hands them out in remote mode (tests/data/fuji/BODIES.md §5).

The X-T1 does not (its captures give a preview only, FUJI.md §8); the later bodies do, with two quirks:
ObjectInfo's size is a placeholder unless 0xD227 EnableCorrectFileSize is 1, and leaving it at 1 slows the
camera's thumbnails down, so Fuji's app sets it around each download (libfuji ``fuji_begin_file_download``,
``fuji_end_file_download``; fudge ``lib/note.txt``)::

    files      0xD227 := 1; GetStorageIDs; GetObjectHandles(storage, 0, 0) of each storage, or handles
               1 .. 0xD222 ObjectCount (the events list) when the body reports none (the X-T2);
               GetObjectInfo of each, other clients' requests running between two (with 0xD227 still 1:
               a download or info among them leaves it so); 0xD227 := 0
    download   0xD227 := 1; GetObjectInfo (the real size); GetPartialObject(handle, offset, ≤ 1 MiB) until
               the size is reached or a piece comes back empty; 0xD227 := 0, also after a failure
    part       GetPartialObject in ≤ 1 MiB pieces from ``offset``, ``length`` bytes at most
    info       0xD227 := 1; GetObjectInfo; 0xD227 := 0
    thumb      GetObjectInfo first on a body whose remote version is above 2.6 (GetThumb "blocks forever"
               otherwise, libfuji ``fuji_get_thumb``); GetThumb

A body that refuses 0xD227 keeps its sizes as they are (and the download reads until a piece is empty).
Another client's GetThumb in a listing's turn runs with 0xD227 = 1, slower on a real body (as in Fuji's
own download sequence, fudge ``lib/note.txt``), but it no longer waits for the whole listing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from ptpipd.errors import CameraRefused
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import DataType, ObjectInfo, OperationCode, decode_uint32_array, encode_value
from ptpipd.vendors.base import FileEntry, Transfer
from ptpipd.vendors.fuji_body_codes import (
    MAX_PARTIAL_OBJECT,
    THUMB_NEEDS_OBJECT_INFO_ABOVE,
    BodyProperty,
    partial_requests,
    synthetic_handles,
)
from ptpipd.vendors.fuji_setup import FujiSession
from ptpipd.vendors.generic import format_name, object_entry

log = logging.getLogger("ptpipd.vendors.fuji")


class FujiFiles(FujiSession):
    """The Fuji driver's files: lists and downloads the full-size files of the session's body;
    :class:`~ptpipd.vendors.fuji.FujiDriver` adds the properties, capture and live view."""

    _sizes_users = 0  # the blocks inside _real_sizes: a listing, and the requests run in its turns
    _sizes_real = False  # whether the camera took 0xD227 = 1 for them

    @contextlib.asynccontextmanager
    async def _real_sizes(self) -> AsyncIterator[bool]:
        """0xD227 = 1 while the block runs (ObjectInfo gives real sizes), 0 after; yields whether the
        camera took it. Blocks nest: another client's download run in a listing's turn finds the flag set
        and leaves it set (it must not put 0 back under the listing); the last block out puts 0 back."""
        self._sizes_users += 1
        try:
            if self._sizes_users == 1:
                self._sizes_real = False
                self._sizes_real = await self._correct_sizes(1)
            yield self._sizes_real
        finally:
            self._sizes_users -= 1
            if not self._sizes_users and self._sizes_real:
                await self._correct_sizes(0)

    async def _correct_sizes(self, value: int) -> bool:
        """0xD227 EnableCorrectFileSize := ``value``; False when the camera refuses it."""
        data = encode_value(DataType.UINT16, value)
        try:
            await self.call(
                OperationCode.SetDevicePropValue, (BodyProperty.EnableCorrectFileSize,), data_out=data
            )
        except CameraRefused as exc:
            log.debug("0xD227 := %d refused (%s): sizes as the camera gives them", value, exc)
            return False
        return True

    async def _info(self, handle: int) -> ObjectInfo:
        return await super().object_info(handle)  # the size as the camera gives it now

    async def object_info(self, handle: int) -> ObjectInfo:
        """One file's ObjectInfo, with its real size."""
        async with self._real_sizes():
            return await self._info(handle)

    async def thumb(self, handle: int) -> bytes:
        """GetThumb; after GetObjectInfo of the same file on a body that answers it only then."""
        if self.body.remote_version > THUMB_NEEDS_OBJECT_INFO_ABOVE:
            await self._info(handle)
        return (await self.call(OperationCode.GetThumb, (handle,))).data or b""

    async def _handles(self) -> list[int]:
        reply = await self.call(OperationCode.GetStorageIDs)
        storages, _ = decode_uint32_array(reply.data or b"\0\0\0\0")
        if not storages:  # the X-T2: no storage over Wi-Fi, its files are 1 .. ObjectCount
            await self.read_list()  # so that 0xD222 is current
            return list(synthetic_handles(self.events.object_count or 0))
        handles: list[int] = []
        for storage in storages:
            listed = await self.call(OperationCode.GetObjectHandles, (storage, 0, 0))
            handles += decode_uint32_array(listed.data or b"\0\0\0\0")[0]
        return handles

    async def files(self) -> list[FileEntry]:
        """Every file on the body, with its real size."""
        async with self._real_sizes():  # other clients' requests run between two GetObjectInfo, inside
            infos = await self.object_infos(await self._handles())
        return [_entry(handle, info) for handle, info in infos.items()]

    async def file_entry(self, handle: int) -> FileEntry:
        """One file as :meth:`files` lists it (a new photo the events list announced)."""
        return _entry(handle, await self.object_info(handle))

    async def download(self, handle: int, sink: DataSink) -> Transfer:
        """One whole file, in ≤ 1 MiB GetPartialObject pieces straight into ``sink``."""
        async with self._real_sizes() as real:
            info = await self._info(handle)
            received = 0
            for offset, length in partial_requests(info.compressed_size):
                got = await self.download_part(handle, offset, length, sink)
                received += got
                if got < length:
                    break
            else:
                while not real:  # a placeholder size: read on until a piece comes back short
                    got = await self.download_part(handle, received, MAX_PARTIAL_OBJECT, sink)
                    received += got
                    if got < MAX_PARTIAL_OBJECT:
                        break
        return Transfer(format_name(info.object_format), received, handle, info.filename)

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """Up to ``length`` bytes from ``offset``, in pieces of at most 1 MiB; returns how many came."""
        received = 0
        for start, size in partial_requests(length):
            params = (handle, offset + start, size)
            reply = await self.call(OperationCode.GetPartialObject, params, sink=sink, max_data=size)
            received += reply.data_length
            if reply.data_length < size:
                break
        return received


def _entry(handle: int, info: ObjectInfo) -> FileEntry:
    return object_entry(handle, info.storage_id, info, format_name(info.object_format))

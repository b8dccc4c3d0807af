"""The simulated memory card: one storage holding folders and files, and the GetObjectHandles filters.

Pure (no I/O). Object handles are never reused once deleted, as on real cameras, so an initiator holding
a stale handle gets InvalidObjectHandle rather than someone else's file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ptpipd.ptp import (
    AccessCapability,
    AssociationType,
    FilesystemType,
    ObjectFormat,
    ObjectInfo,
    ResponseCode,
    StorageInfo,
    StorageType,
    encode_uint32_array,
)
from ptpipd.ptp.types import Buffer
from ptpipd.sim.responder import Outcome, param

RC = ResponseCode

#: StorageID / handle / format parameter meaning "all" (PTP.md §5.1, §5.5).
ALL = 0xFFFF_FFFF
#: GetObjectHandles parent parameter meaning "objects at the root of the storage".
ROOT_ONLY = 0xFFFF_FFFF
#: Bytes of new pictures a simulated card keeps in memory before it reports itself full.
PHOTO_MEMORY = 512 << 20


def is_image_format(code: int) -> bool:
    """Image formats are 0x38xx (standard) and 0xB8xx (vendor) in PTP's code layout."""
    return (code & 0x7F00) == 0x3800


@dataclass(slots=True)
class SimObject:
    """One object on the card: its ObjectInfo, its bytes and its thumbnail (None when it has none)."""

    handle: int
    info: ObjectInfo
    content: Buffer
    thumb: bytes | None = None

    @property
    def is_folder(self) -> bool:
        """Associations are the folders of PTP."""
        return self.info.object_format == ObjectFormat.Association

    @property
    def protected(self) -> bool:
        """ProtectionStatus 1: read-only, cannot be deleted."""
        return self.info.protection_status != 0


#: The numeric fields of an ObjectInfo besides StorageID and ParentObject.
_ZERO = dict.fromkeys((
    "object_format", "protection_status", "compressed_size", "thumb_format", "thumb_compressed_size",
    "thumb_width", "thumb_height", "image_width", "image_height", "image_bit_depth", "association_type",
    "association_desc", "sequence_number",
), 0)  # fmt: skip


def object_info(storage_id: int, name: str, parent: int, date: str, **fields: int) -> ObjectInfo:
    """The ObjectInfo of ``name`` in folder ``parent``, dated ``date``; every other field 0 unless given."""
    return ObjectInfo(
        storage_id=storage_id,
        parent_object=parent,
        filename=name,
        capture_date=date,
        modification_date=date,
        keywords="",
        **(_ZERO | fields),
    )


def folder_info(storage_id: int, name: str, parent: int, date: str) -> ObjectInfo:
    """The ObjectInfo of a folder (an Association of type Generic folder, PTP.md §3.4)."""
    return object_info(
        storage_id, name, parent, date, object_format=ObjectFormat.Association,
        association_type=AssociationType.GenericFolder,
    )  # fmt: skip


class Storage:
    """One removable card (StorageID ``storage_id``) and the objects on it, in handle order."""

    def __init__(self, storage_id: int, capacity: int, description: str, label: str) -> None:
        self.storage_id = storage_id
        self.capacity = capacity
        self.description = description
        self.label = label
        self.objects: dict[int, SimObject] = {}
        self._next_handle = 1

    def add(self, info: ObjectInfo, content: Buffer, thumb: bytes | None = None) -> SimObject:
        """Stores a new object under the next handle."""
        obj = SimObject(self._next_handle, info, content, thumb)
        self.objects[obj.handle] = obj
        self._next_handle += 1
        return obj

    def get(self, handle: int) -> SimObject | None:
        """The object with ``handle``, if any."""
        return self.objects.get(handle)

    def remove(self, handle: int) -> None:
        """Deletes one object (the caller checked it may)."""
        del self.objects[handle]

    def info(self) -> StorageInfo:
        """The StorageInfo dataset: a removable, read-write DCF card, less the bytes its objects take."""
        used = sum(obj.info.compressed_size for obj in self.objects.values())
        free = max(0, self.capacity - used)
        return StorageInfo(
            storage_type=StorageType.RemovableRAM,
            filesystem_type=FilesystemType.DCF,
            access_capability=AccessCapability.ReadWrite,
            max_capacity=self.capacity,
            free_space_bytes=free,
            free_space_images=min(free // 1_000_000, ALL - 1),  # about 1 MB per photo at the default size
            description=self.description,
            volume_label=self.label,
        )

    def select(self, storage_id: int, object_format: int, parent: int) -> list[int] | ResponseCode:
        """The handles GetObjectHandles / GetNumObjects return, or the error response code.

        ``storage_id``: this storage's ID or 0xFFFFFFFF (all). ``object_format``: 0 any, 0xFFFFFFFF images
        only, else that format. ``parent``: 0 any parent, 0xFFFFFFFF root level only, else the children
        of that folder (PTP.md §5.1).
        """
        if storage_id not in (self.storage_id, ALL):
            return ResponseCode.InvalidStorageID
        if parent not in (0, ROOT_ONLY):
            folder = self.objects.get(parent)
            if folder is None:
                return ResponseCode.InvalidObjectHandle
            if not folder.is_folder:
                return ResponseCode.InvalidParentObject
        wanted_parent = 0 if parent == ROOT_ONLY else parent  # the root's objects have ParentObject 0
        out = []
        for obj in self.objects.values():
            fmt = obj.info.object_format
            fmt_ok = object_format == 0 or (
                is_image_format(fmt) if object_format == ALL else fmt == object_format
            )
            if fmt_ok and (parent == 0 or obj.info.parent_object == wanted_parent):
                out.append(obj.handle)
        return out


def partial(content: Buffer, offset: int, most: int) -> Outcome:
    """GetPartialObject's answer (PTP.md §5.3): at most ``most`` bytes of ``content`` from ``offset``, their
    count as Param1; an offset past the end is InvalidParameter."""
    view = memoryview(content)
    if offset > len(view):
        return Outcome(RC.InvalidParameter)
    piece = view[offset : offset + most]  # 0xFFFFFFFF ("to the end") needs no special case
    return Outcome(RC.OK, (len(piece),), data=piece)


class CardAnswers:
    """The standard storage and object operations (PTP.md §5.1, §5.3) of a body with one card, ``storage``:
    what every simulated body with a card answers alike, each from the operation's parameters. :meth:`find`
    may see objects that are not on the card (a picture in the camera's RAM)."""

    storage: Storage

    def find(self, handle: int) -> SimObject | None:
        """The object ``handle`` names, if any."""
        return self.storage.get(handle)

    def storage_ids(self, params: Sequence[int]) -> Outcome:
        """GetStorageIDs 0x1004."""
        return Outcome(RC.OK, data=encode_uint32_array([self.storage.storage_id]))

    def storage_info(self, params: Sequence[int]) -> Outcome:
        """GetStorageInfo 0x1005."""
        if param(params, 0) != self.storage.storage_id:
            return Outcome(RC.InvalidStorageID)
        return Outcome(RC.OK, data=self.storage.info().encode())

    def num_objects(self, params: Sequence[int]) -> Outcome:
        """GetNumObjects 0x1006."""
        handles = self.storage.select(param(params, 0), param(params, 1), param(params, 2))
        return Outcome(handles) if isinstance(handles, ResponseCode) else Outcome(RC.OK, (len(handles),))

    def object_handles(self, params: Sequence[int]) -> Outcome:
        """GetObjectHandles 0x1007."""
        handles = self.storage.select(param(params, 0), param(params, 1), param(params, 2))
        if isinstance(handles, ResponseCode):
            return Outcome(handles)
        return Outcome(RC.OK, data=encode_uint32_array(handles))

    def object_info(self, params: Sequence[int]) -> Outcome:
        """GetObjectInfo 0x1008."""
        obj = self.find(param(params, 0))
        return Outcome(RC.InvalidObjectHandle) if obj is None else Outcome(RC.OK, data=obj.info.encode())

    def object_data(self, params: Sequence[int]) -> Outcome:
        """GetObject 0x1009."""
        obj = self.find(param(params, 0))
        return Outcome(RC.InvalidObjectHandle) if obj is None else Outcome(RC.OK, data=obj.content)

    def thumb(self, params: Sequence[int]) -> Outcome:
        """GetThumb 0x100A."""
        obj = self.find(param(params, 0))
        if obj is None:
            return Outcome(RC.InvalidObjectHandle)
        return Outcome(RC.NoThumbnailPresent) if obj.thumb is None else Outcome(RC.OK, data=obj.thumb)

    def partial_object(self, params: Sequence[int]) -> Outcome:
        """GetPartialObject 0x101B: handle, offset, at most N bytes (0xFFFFFFFF: to the end)."""
        obj = self.find(param(params, 0))
        return (
            Outcome(RC.InvalidObjectHandle)
            if obj is None
            else partial(obj.content, param(params, 1), param(params, 2))
        )

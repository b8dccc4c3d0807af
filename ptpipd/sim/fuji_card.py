"""The memory card of a simulated Fuji body that hands out full-size files (tests/data/fuji/BODIES.md §5).

Pure, no I/O. What the sources say, and the choices where they are silent (BODIES.md §9):

* **Handles** 1..N, all at the root of storage 0x10000001 (libfuji's Wi-Fi view; the X-T4's ObjectInfo).
  GetStorageIDs lists the profile's storages: none on the X-T2 (its log), whose files are still there by
  handle; such a body answers GetObjectHandles with an empty list, whatever storage it is asked about. N starts as the profile's 0xD222 ObjectCount (44 on the X-T4, 158 on the X-T5).
* **ObjectInfo** in the X-T4's layout: StorageID, ParentObject 0, EXIF/JPEG, ``DSCFnnnn.JPG``, a capture
  date, an empty modification date, keywords ``Orientation:1``. On a body with the 0xD227 quirk its size is
  the placeholder ``PLACEHOLDER_SIZE`` (100 KiB) unless 0xD227 EnableCorrectFileSize is 1.
* **GetObject** (a choice: libfuji never sends it over Wi-Fi, every body has it over USB) and
  **GetPartialObject** (handle, offset, at most N bytes) with Param1 = the bytes sent, as the X-T4 answers.
* **GetThumb**: a body whose remote version is above 0x00020006 answers it only after GetObjectInfo of the
  same object in this session ("blocks forever" otherwise, libfuji): the answer is held for
  :data:`NEVER` seconds, then refused.
* **Photos** are test cards (:func:`ptpipd.sim.pictures.photo`) of :data:`PHOTO_SIZE` pixels and an exact
  size between 1.2 and 3.6 MB chosen from the seed and the number, so every download takes several 1 MiB
  pieces. A photo is drawn when its bytes are first asked for and the last :data:`KEPT_PHOTOS` are kept:
  158 files cost nothing until they are read.
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Sequence

from ptpipd.ptp import (
    AccessCapability,
    FilesystemType,
    ObjectFormat,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    StorageInfo,
    StorageType,
    encode_uint32_array,
)
from ptpipd.sim.pictures import THUMB_SIZE, Caption, photo, thumbnail
from ptpipd.sim.responder import Hold, Outcome, param
from ptpipd.sim.storage import ALL, partial
from ptpipd.vendors.fuji_body_codes import BodyProfile, orientation_keywords, reported_size

OK = ResponseCode.OK
OC = OperationCode
#: The X-T4 ObjectInfo's StorageID (log-xt4 line 229), also the storage of bodies that report none.
STORAGE_ID = 0x1000_0001
CARD_CAPACITY = 64_000_000_000
PHOTO_SIZE = (1536, 1024)
PHOTO_BYTES = (1_200_000, 3_600_000)
#: The X-T4 log's first capture date (line 229); photo n was taken 3 minutes after photo n-1.
FIRST_DATE = datetime.datetime(2024, 8, 9, 14, 1, 14)
KEPT_PHOTOS = 4
KEPT_THUMBS = 1024  # about 6 kB each
#: How long a GetThumb that "blocks forever" holds the command connection (then: GeneralError).
NEVER = 3600.0

CardAnswer = Outcome | Hold


@functools.lru_cache(maxsize=KEPT_PHOTOS)
def _drawn_photo(seed: int, caption: Caption, size: int) -> bytes:
    """A full-size photo, drawn once: the most recently used are kept for the whole process (every card)."""
    return photo(seed, caption, *PHOTO_SIZE, size)


@functools.lru_cache(maxsize=KEPT_THUMBS)
def _drawn_thumb(seed: int, caption: Caption) -> bytes:
    """A thumbnail, drawn once: the most recently used are kept for the whole process (every card)."""
    return thumbnail(seed, caption)


class FujiCard:
    """The files of one body with full-size downloads (see the module docstring)."""

    def __init__(self, profile: BodyProfile, seed: int = 0) -> None:
        self.storage_ids = profile.storage_ids
        self.storage_id = profile.storage_ids[0] if profile.storage_ids else STORAGE_ID
        self.placeholder_sizes = profile.size_needs_correct_flag
        self.thumb_needs_object_info = profile.thumb_needs_object_info
        self.seed = seed
        self.count = profile.object_count
        self._described: set[int] = set()

    # -------------------------------------------------------------- the photos

    def name(self, handle: int) -> str:
        """The file name of photo ``handle``."""
        return f"DSCF{handle % 10_000:04d}.JPG"

    def date(self, handle: int) -> str:
        """The capture date of photo ``handle`` in PTP's form (20240809T140114)."""
        return (FIRST_DATE + datetime.timedelta(minutes=3 * (handle - 1))).strftime("%Y%m%dT%H%M%S")

    def size(self, handle: int) -> int:
        """The exact size of photo ``handle`` in bytes."""
        return random.Random(f"ptpipd-fuji-card:{self.seed}:{handle}").randint(*PHOTO_BYTES)

    def _caption(self, handle: int) -> Caption:
        return Caption(handle, self.name(handle), self.date(handle))

    def content(self, handle: int) -> bytes:
        """The JPEG of photo ``handle`` (drawn once, the last few kept)."""
        return _drawn_photo(self.seed, self._caption(handle), self.size(handle))

    def thumb(self, handle: int) -> bytes:
        """The 160×120 thumbnail of photo ``handle`` (every ObjectInfo gives its size: many are kept)."""
        return _drawn_thumb(self.seed, self._caption(handle))

    def add(self) -> int:
        """A new photo on the card (a capture, the shutter on the body); returns its handle."""
        self.count += 1
        return self.count

    def end_session(self) -> None:
        """The client went away: the objects it described are forgotten."""
        self._described.clear()

    def object_info(self, handle: int, correct_size: bool) -> ObjectInfo:
        """The ObjectInfo of photo ``handle``; a placeholder size unless ``correct_size`` (0xD227 = 1)."""
        size = self.size(handle)
        if self.placeholder_sizes:
            size = reported_size(size, correct_size)
        return ObjectInfo(
            storage_id=self.storage_id, object_format=ObjectFormat.EXIF_JPEG, protection_status=0,
            compressed_size=size, thumb_format=ObjectFormat.JFIF, thumb_compressed_size=len(self.thumb(handle)),
            thumb_width=THUMB_SIZE[0], thumb_height=THUMB_SIZE[1], image_width=PHOTO_SIZE[0],
            image_height=PHOTO_SIZE[1], image_bit_depth=24, parent_object=0, association_type=0,
            association_desc=0, sequence_number=0, filename=self.name(handle), capture_date=self.date(handle),
            modification_date="", keywords=orientation_keywords(1),
        )  # fmt: skip

    # -------------------------------------------------------------- operations

    def handle(self, code: int, params: Sequence[int], correct_size: bool) -> CardAnswer:
        """One storage or object operation (:data:`OPERATIONS`)."""
        if code == OC.GetStorageIDs:
            return Outcome(OK, data=encode_uint32_array(self.storage_ids))
        if code == OC.GetStorageInfo:
            return self._storage_info(param(params, 0))
        if code == OC.GetObjectHandles:
            return self._handles(param(params, 0), param(params, 1), param(params, 2))
        handle = param(params, 0)
        if not 1 <= handle <= self.count:
            return Outcome(ResponseCode.InvalidObjectHandle)
        if code == OC.GetObjectInfo:
            self._described.add(handle)
            return Outcome(OK, data=self.object_info(handle, correct_size).encode())
        if code == OC.GetThumb:
            return self._thumb(handle)
        if code == OC.GetObject:
            return Outcome(OK, data=self.content(handle))
        return partial(self.content(handle), param(params, 1), param(params, 2))

    def _storage_info(self, storage_id: int) -> Outcome:
        if storage_id not in self.storage_ids:
            return Outcome(ResponseCode.InvalidStorageID)
        used = sum(self.size(handle) for handle in range(1, self.count + 1))
        free = max(0, CARD_CAPACITY - used)
        info = StorageInfo(
            storage_type=StorageType.RemovableRAM, filesystem_type=FilesystemType.DCF,
            access_capability=AccessCapability.ReadOnlyDeletionAllowed, max_capacity=CARD_CAPACITY,
            free_space_bytes=free, free_space_images=free // PHOTO_BYTES[1], description="", volume_label="",
        )  # fmt: skip
        return Outcome(OK, data=info.encode())

    def _handles(self, storage_id: int, object_format: int, parent: int) -> Outcome:
        if not self.storage_ids:  # a body that reports no storage lists nothing, whatever it is asked
            return Outcome(OK, data=encode_uint32_array(()))
        if storage_id != ALL and storage_id not in self.storage_ids:
            return Outcome(ResponseCode.InvalidStorageID)
        if parent not in (0, ALL):  # the photos are no folders
            known = 1 <= parent <= self.count
            return Outcome(ResponseCode.InvalidParentObject if known else ResponseCode.InvalidObjectHandle)
        listed = object_format in (0, ALL, ObjectFormat.EXIF_JPEG)
        return Outcome(OK, data=encode_uint32_array(range(1, self.count + 1) if listed else ()))

    def _thumb(self, handle: int) -> CardAnswer:
        if self.thumb_needs_object_info and handle not in self._described:
            return Hold(NEVER, lambda: Outcome(ResponseCode.GeneralError))
        return Outcome(OK, data=self.thumb(handle))


#: The operations the card answers.
OPERATIONS = frozenset({OC.GetStorageIDs, OC.GetStorageInfo, OC.GetObjectHandles, OC.GetObjectInfo,
                        OC.GetObject, OC.GetThumb, OC.GetPartialObject})  # fmt: skip

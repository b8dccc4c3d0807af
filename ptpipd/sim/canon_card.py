"""The simulated EOS 6D's files: the SD card, the pictures waiting in RAM for the host, and the object operations.

Pure (no I/O). The card is StorageID 0x00020001 (the SD slot; libgphoto2's 6D dump and CANON.md §6.1),
labelled ``EOS_DIGITAL`` as Canon formats its cards, with ``DCIM/100CANON`` holding ``IMG_0001.JPG`` and
``IMG_0002.CR2`` + ``IMG_0002.JPG`` at start-up. A shot writes one file per part of the image format setting
(0xD120): ``IMG_nnnn.JPG`` for the JPEG, ``IMG_nnnn.CR2`` for the RAW, each announced by its own record.

Where a shot goes follows CaptureDestination 0xD11C (CANON.md §3, §4.5, §6.3): on the card (2), announced by
ObjectAddedEx 0xC181; or, with 4 (the host, gphoto2's default "sdram"), kept in the camera's RAM under a
handle of its own, announced by RequestObjectTransfer 0xC186 and dropped once the host sends
TransferComplete 0x9117 — it never reaches the card, as with a real body.

The pictures: JPEGs are the test card of :mod:`ptpipd.sim.pictures`, drawn at 1/``scale`` of the 6D's
pixel sizes (L 5472×3648, M 3648×2432, S1 2736×1824, S2 1920×1280, S3 720×480; the full L takes most of a
second to draw), each with its 160×120 thumbnail. A CR2 is a stand-in: the CR2 header (TIFF ``II*\\0``,
IFD0 at 0x10, ``CR`` version 2.0), an IFD0 naming Canon EOS 6D with the picture as its JPEG strip, then the
JPEG; it is not sensor data.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from datetime import UTC, datetime

from ptpipd.ptp import ObjectFormat, ResponseCode
from ptpipd.sim.pictures import THUMB_SIZE, Caption, photo, thumbnail
from ptpipd.sim.responder import Outcome
from ptpipd.sim.storage import PHOTO_MEMORY, CardAnswers, SimObject, Storage, folder_info, object_info
from ptpipd.vendors.canon_codes import (
    FolderEntry,
    ImageFile,
    ImageFormat,
    ObjectAdded,
    ObjectTransfer,
    encode_folder,
)

log = logging.getLogger("ptpipd.sim")

RC = ResponseCode
STORAGE_ID = 0x0002_0001
CARD_CAPACITY = 32_000_000_000
DCIM_HANDLE, FOLDER_HANDLE = 1, 2
FOLDER_NAME = "100CANON"
#: ObjectFormat of a CR2 (libgphoto2 ptp.h ``PTP_OFC_CANON_CRW2``).
CR2 = 0xB103
#: GetObjectInfoEx's "parent" meaning the root of the card (CANON.md §4.10).
ROOT = 0xFFFF_FFFF
#: Handles of pictures in RAM start here (far from the card's small numbers).
RAM_HANDLES = 0x8000_0001
#: The 6D's pixel sizes per JPEG size code (0 L, 1 M, 0xE S1, 0xF S2, 0x10 S3) and per RAW size (0 RAW,
#: 1 mRAW, 2 sRAW).
JPEG_PIXELS = {0: (5472, 3648), 1: (3648, 2432), 0xE: (2736, 1824), 0xF: (1920, 1280), 0x10: (720, 480)}
RAW_PIXELS = {0: (5472, 3648), 1: (4104, 2736), 2: (2736, 1824)}
MODEL = "Canon EOS 6D"
INITIAL_TIMES = (1_717_236_900, 1_717_237_000)  # 2024-06-01 10:15 and 10:16:40 UTC


def ptp_date(unix: int) -> str:
    """A PTP DateTime string (``YYYYMMDDThhmmss``) of a Unix time."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y%m%dT%H%M%S")


def cr2_bytes(jpeg: bytes, width: int, height: int) -> bytes:
    """A CR2 stand-in around ``jpeg``::

    0    8   TIFF header: 49 49 2A 00, IFD0 offset u32 = 0x10
    8    8   CR2 header: 43 52 02 00 (``CR`` 2.0), RAW IFD offset u32 = 0 (none)
    16   …   IFD0: entry count u16, 12-byte entries (tag, type, count, value/offset), next IFD u32 = 0
    …        Make and Model strings, then the JPEG (StripOffsets / StripByteCounts point at it)
    """
    make, model = b"Canon\0", MODEL.encode() + b"\0"
    tags = 8
    strings_at = 16 + 2 + 12 * tags + 4
    jpeg_at = strings_at + len(make) + len(model)
    entries = [
        (0x0100, 4, 1, width),  # ImageWidth
        (0x0101, 4, 1, height),  # ImageLength
        (0x0103, 3, 1, 6),  # Compression: JPEG
        (0x010F, 2, len(make), strings_at),  # Make
        (0x0110, 2, len(model), strings_at + len(make)),  # Model
        (0x0111, 4, 1, jpeg_at),  # StripOffsets
        (0x0112, 3, 1, 1),  # Orientation
        (0x0117, 4, 1, len(jpeg)),  # StripByteCounts
    ]
    ifd = struct.pack("<H", tags) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 0x10) + b"CR\x02\0" + b"\0\0\0\0" + ifd + make + model + jpeg


class EosCard(CardAnswers):
    """The card and the RAM of the body, with the object operations both share."""

    def __init__(self, seed: int = 0, scale: int = 4) -> None:
        self.seed = seed
        self.scale = scale
        self.storage = Storage(STORAGE_ID, CARD_CAPACITY, "SD", "EOS_DIGITAL")
        self.ram: dict[int, SimObject] = {}
        self.memory = 0
        self.last_number = 0
        self._next_ram = RAM_HANDLES
        first = ptp_date(INITIAL_TIMES[0])
        self.storage.add(folder_info(STORAGE_ID, "DCIM", 0, first), b"")
        self.storage.add(folder_info(STORAGE_ID, FOLDER_NAME, DCIM_HANDLE, first), b"")
        fine_l = ImageFile(1, 0, 3)
        self.shoot(ImageFormat((fine_l,)), INITIAL_TIMES[0], to_card=True)
        self.shoot(ImageFormat((ImageFile(6, 0, 4), fine_l)), INITIAL_TIMES[1], to_card=True)

    @property
    def full(self) -> bool:
        """True once the new pictures (card and RAM) fill :data:`~ptpipd.sim.storage.PHOTO_MEMORY`."""
        return self.memory >= PHOTO_MEMORY

    def find(self, handle: int) -> SimObject | None:
        """An object on the card or in RAM."""
        return self.storage.get(handle) or self.ram.get(handle)

    # ------------------------------------------------------------------ shooting

    def shoot(self, quality: ImageFormat, unix: int, *, to_card: bool) -> list[ObjectAdded | ObjectTransfer]:
        """One shot at ``quality`` taken at ``unix``: its files on the card or in RAM; the records that
        announce them."""
        self.last_number += 1
        records = []
        for part in quality.files:
            obj = self._picture(part, self.last_number, unix, to_card)
            records.append(self._record(obj, to_card))
            self.memory += len(obj.content)
            log.info(
                "new picture %s (%s): %d bytes, sha256 %s",
                obj.info.filename,
                "card" if to_card else "RAM, for the host",
                len(obj.content),
                hashlib.sha256(obj.content).hexdigest(),
            )
        return records

    def _picture(self, part: ImageFile, number: int, unix: int, to_card: bool) -> SimObject:
        raw = part.kind == 6
        width, height = (RAW_PIXELS if raw else JPEG_PIXELS).get(part.size, JPEG_PIXELS[0])
        width, height = max(16, width // self.scale), max(16, height // self.scale)
        name = f"IMG_{number:04d}.{'CR2' if raw else 'JPG'}"
        date = ptp_date(unix)
        shown = datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S")
        caption = Caption(number, name, shown)
        jpeg = photo(self.seed, caption, width, height)
        content = cr2_bytes(jpeg, width, height) if raw else jpeg
        thumb = thumbnail(self.seed, caption)
        info = object_info(
            STORAGE_ID, name, FOLDER_HANDLE, date, object_format=CR2 if raw else ObjectFormat.EXIF_JPEG,
            compressed_size=len(content), thumb_format=ObjectFormat.EXIF_JPEG, thumb_compressed_size=len(thumb),
            thumb_width=THUMB_SIZE[0], thumb_height=THUMB_SIZE[1], image_width=width, image_height=height,
            image_bit_depth=24,
        )  # fmt: skip
        if to_card:
            return self.storage.add(info, content, thumb)
        obj = SimObject(self._next_ram, info, content, thumb)
        self._next_ram += 1
        self.ram[obj.handle] = obj
        return obj

    @staticmethod
    def _record(obj: SimObject, to_card: bool) -> ObjectAdded | ObjectTransfer:
        info = obj.info
        if to_card:
            return ObjectAdded(
                obj.handle, STORAGE_ID, info.object_format, len(obj.content), FOLDER_HANDLE, info.filename
            )
        return ObjectTransfer(obj.handle, info.object_format, len(obj.content), info.filename)

    def transfer_complete(self, handle: int) -> ResponseCode:
        """TransferComplete 0x9117: the host has the picture; the RAM copy goes."""
        obj = self.ram.pop(handle, None)
        if obj is None:
            return RC.InvalidObjectHandle
        self.memory -= len(obj.content)
        return RC.OK

    # ------------------------------------------------------------------ object operations (and CardAnswers')

    def delete(self, handle: int) -> Outcome:
        """DeleteObject 0x100B / 0x9105 of one file on the card (the DCF folders stay)."""
        obj = self.storage.get(handle)
        if obj is None:
            return Outcome(RC.InvalidObjectHandle)
        if obj.is_folder or obj.protected:
            return Outcome(RC.ObjectWriteProtected)
        self.storage.remove(handle)
        return Outcome(RC.OK)

    def listing(self, storage_id: int, parent: int) -> Outcome:
        """GetObjectInfoEx 0x9109: the entries of a folder, or of the root for parent 0xFFFFFFFF."""
        if storage_id != STORAGE_ID:
            return Outcome(RC.InvalidStorageID)
        wanted = 0 if parent == ROOT else parent
        if wanted and (self.storage.get(wanted) is None or not self.storage.objects[wanted].is_folder):
            return Outcome(RC.InvalidParentObject)
        children = [o for o in self.storage.objects.values() if o.info.parent_object == wanted]
        return Outcome(RC.OK, data=encode_folder([_entry(o) for o in children]))


def _entry(obj: SimObject) -> FolderEntry:
    info = obj.info
    when = _unix(info.capture_date)
    return FolderEntry.make(
        obj.handle, STORAGE_ID, info.object_format, len(obj.content), info.parent_object, info.filename, when
    )


def _unix(date: str) -> int:
    return int(datetime.strptime(date, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).timestamp())

"""A deterministic standard PTP camera, as pure state: operations in, responses, data and events out.

No I/O and no clock: the responder feeds it operations and the server calls :meth:`GenericCamera.finish_capture`,
:meth:`GenericCamera.drain_battery`, :meth:`GenericCamera.press_shutter` and :meth:`GenericCamera.turn_dial`
when their time comes.
Everything it serves is reproducible from its ``seed`` (and ``object_size``):

* DeviceInfo: Manufacturer "ptpipd", Model "Simulated PTP/IP camera", DeviceVersion the package version,
  SerialNumber "SIM-0001", no vendor extension; the operations, events and properties it implements.
* One card, StorageID 0x00010001, with ``DCIM`` (handle 1) → ``100TEST`` (handle 2) → ``IMG_0001.JPG`` ..
  ``IMG_0003.JPG`` (handles 3..5), and with ``object_size`` a ``BIG00001.BIN`` (handle 6, format 0x3000,
  content in :mod:`ptpipd.sim.bigobject`). ``IMG_0001.JPG`` is write-protected, as a photo locked on the
  camera would be.
* Photo number ``n`` is :func:`photo_bytes`: the test card of :func:`ptpipd.sim.pictures.photo` captioned
  ``IMG_nnnn.JPG`` and its date; its thumbnail the same card at 160×120.
* A capture makes the next ``IMG_nnnn.JPG`` at the current ImageSize, dated with the DateTime property
  (the camera clock does not tick), or BurstNumber of them in burst mode. The shutter pressed on the body
  makes one, announced by ObjectAdded alone (TransactionID 0xFFFFFFFF: no transaction asked for it), which
  is what libgphoto2's event loop (and so ``gphoto2 --capture-tethered``) turns into "file added".
* The card holds at most :data:`PHOTO_MEMORY` bytes of new photos (they live in memory): then it is full,
  and captures are refused with StoreFull.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from ptpipd import __version__
from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import (
    DeviceInfo,
    DevicePropCode,
    EventCode,
    ObjectFormat,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    StillCaptureMode,
    Value,
)
from ptpipd.ptp.types import Buffer
from ptpipd.sim import bigobject
from ptpipd.sim.card_dir import CardDir
from ptpipd.sim.generic_props import DEFAULT_DATETIME, EXPOSURE_TIMES, GENERIC_PROPERTIES
from ptpipd.sim.pictures import THUMB_SIZE, Caption, photo, thumbnail
from ptpipd.sim.properties import PropertyStore
from ptpipd.sim.responder import Outcome, param
from ptpipd.sim.storage import ALL, PHOTO_MEMORY, CardAnswers, SimObject, Storage, folder_info, object_info

log = logging.getLogger("ptpipd.sim")
OC = OperationCode
RC = ResponseCode

STORAGE_ID = 0x0001_0001
DCIM_HANDLE = 1
FOLDER_HANDLE = 2
FOLDER_NAME = "100TEST"
CARD_CAPACITY = 32_000_000_000
#: Sizes of the three photos on the card at start-up (bytes, exactly).
INITIAL_PHOTO_SIZES = (110_000, 150_000, 190_000)
INITIAL_DATES = ("20240601T101500", "20240601T101623", "20240601T102041")

SUPPORTED_EVENTS = (
    EventCode.ObjectAdded,
    EventCode.ObjectRemoved,
    EventCode.DevicePropChanged,
    EventCode.CaptureComplete,
)


def photo_bytes(
    seed: int, number: int, width: int, height: int, target_size: int | None = None, date: str | None = None
) -> bytes:
    """The JPEG of photo ``number`` (IMG_nnnn.JPG, dated ``date``: by default as on the card at start-up)."""
    return photo(seed, _caption(number, date), width, height, target_size)


def _caption(number: int, date: str | None) -> Caption:
    if date is None:
        date = INITIAL_DATES[number - 1] if 0 < number <= len(INITIAL_DATES) else DEFAULT_DATETIME
    # PTP's 20240601T101500 as a photographer reads it: 2024-06-01 10:15:00
    shown = f"{date[0:4]}-{date[4:6]}-{date[6:8]} {date[9:11]}:{date[11:13]}:{date[13:15]}"
    return Caption(number, photo_name(number), shown)


def photo_name(number: int) -> str:
    """DCF file name of photo ``number``."""
    return f"IMG_{number:04d}.JPG"


def _photo_info(
    number: int, size: int, thumb: bytes, width: int, height: int, date: str, protected: bool
) -> ObjectInfo:
    return object_info(
        STORAGE_ID, photo_name(number), FOLDER_HANDLE, date, object_format=ObjectFormat.EXIF_JPEG,
        protection_status=int(protected), compressed_size=size, thumb_format=ObjectFormat.JFIF,
        thumb_compressed_size=len(thumb), thumb_width=THUMB_SIZE[0], thumb_height=THUMB_SIZE[1],
        image_width=width, image_height=height, image_bit_depth=24,
    )  # fmt: skip


def _big_info(size: int, date: str) -> ObjectInfo:
    # No thumbnail (size 0), but not ThumbFormat 0 either: libgphoto2 refuses to download an object whose
    # ObjectFormat is Undefined and whose ThumbFormat is Undefined or 0 ("special files like firmware"),
    # and gphoto2 --get-file of this object is the benchmark's baseline.
    return object_info(
        STORAGE_ID, bigobject.FILENAME, FOLDER_HANDLE, date, object_format=ObjectFormat.Undefined,
        compressed_size=size, thumb_format=ObjectFormat.UndefinedImage,
    )  # fmt: skip


class GenericCamera(CardAnswers):
    """The camera: DeviceInfo, one card, the standard properties, session state and capture state."""

    #: The property the main dial steps and its values in the dial's order: ExposureTime, shortest first.
    dial: tuple[int, tuple[Value, ...]] = (DevicePropCode.ExposureTime, EXPOSURE_TIMES)

    def __init__(
        self,
        *,
        seed: int = 0,
        object_size: int | None = None,
        card: CardDir | None = None,
        image_size: str | None = None,
    ) -> None:
        self.seed = seed
        self.properties = PropertyStore(GENERIC_PROPERTIES)
        self.storage = Storage(STORAGE_ID, CARD_CAPACITY, "SD card", "PTPIPD_SIM")
        self.session_id: int | None = None
        self.capturing: int | None = None  # TransactionID of the capture in progress
        self.photo_memory = 0
        self._last_photo = 0
        self.card: CardDir | None = None
        #: the exact size of every picture taken (``--photo-size``), None: as encoded
        self.photo_size: int | None = None
        self._build_card(object_size)
        if card is not None:
            self._replay(card)
        self.card = card
        if image_size is not None:
            self.properties.store(DevicePropCode.ImageSize, image_size)

    def _replay(self, card: CardDir) -> None:
        """The photos and deletions a previous run kept in ``card``, in their order."""
        for record in card.records():
            if record.get("op") == "photo":
                content = card.photo(str(record["name"]))
                width, height, date = int(record["width"]), int(record["height"]), str(record["date"])
                self._add_photo(width, height, date, content=content)
            elif record.get("op") == "delete" and self.storage.get(int(record["handle"])) is not None:
                self.storage.remove(int(record["handle"]))

    def _build_card(self, object_size: int | None) -> None:
        first, last = INITIAL_DATES[0], INITIAL_DATES[-1]
        self.storage.add(folder_info(STORAGE_ID, "DCIM", 0, first), b"")
        self.storage.add(folder_info(STORAGE_ID, FOLDER_NAME, DCIM_HANDLE, first), b"")
        for index, (size, date) in enumerate(zip(INITIAL_PHOTO_SIZES, INITIAL_DATES, strict=True)):
            self._add_photo(640, 480, date, target_size=size, protected=index == 0)
        if object_size is not None:
            self.storage.add(_big_info(object_size, last), bigobject.build(object_size))

    def _add_photo(
        self,
        width: int,
        height: int,
        date: str,
        *,
        target_size: int | None = None,
        protected: bool = False,
        content: bytes | None = None,
    ) -> SimObject:
        self._last_photo += 1
        number = self._last_photo
        data = content or photo_bytes(self.seed, number, width, height, target_size, date)
        thumb = thumbnail(self.seed, _caption(number, date))  # the same card at 160×120
        self.photo_memory += len(data) + len(thumb)
        info = _photo_info(number, len(data), thumb, width, height, date, protected)
        if self.card is not None:
            self.card.add_photo(info.filename, data, width=width, height=height, date=date)
        if content is None:
            sha = hashlib.sha256(data).hexdigest()
            log.info("new picture %s (card): %d bytes, sha256 %s", info.filename, len(data), sha)
        return self.storage.add(info, data, thumb)

    def _new_photos(self, count: int) -> list[int]:
        """``count`` photos at the current ImageSize and DateTime (fewer when the card fills up)."""
        size, date = self.properties[DevicePropCode.ImageSize], self.properties[DevicePropCode.DateTime]
        assert isinstance(size, str) and isinstance(date, str)
        width, height = (int(n) for n in size.split("x"))
        exact = self.photo_size
        return [
            self._add_photo(width, height, date, target_size=exact).handle
            for _ in range(count)
            if not self.card_full
        ]

    @property
    def card_full(self) -> bool:
        """True once the new photos fill :data:`PHOTO_MEMORY`."""
        return self.photo_memory >= PHOTO_MEMORY

    # ------------------------------------------------------------------ public API

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo dataset."""
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=0,
            vendor_extension_version=0,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=tuple(int(c) for c in _HANDLERS),
            events_supported=tuple(int(c) for c in SUPPORTED_EVENTS),
            device_properties_supported=self.properties.codes,
            capture_formats=(int(ObjectFormat.EXIF_JPEG),),
            image_formats=(int(ObjectFormat.EXIF_JPEG),),
            manufacturer="ptpipd",
            model="Simulated PTP/IP camera",
            device_version=__version__,
            serial_number="SIM-0001",
        )

    def operation(self, code: int, tid: int, params: tuple[int, ...], data: Buffer | None = None) -> Outcome:
        """Runs one operation. ``data`` is the data-out phase, if the initiator sent one."""
        handler = _HANDLERS.get(code)
        if handler is None:
            return Outcome(RC.OperationNotSupported)
        if self.session_id is None and code not in (OC.GetDeviceInfo, OC.OpenSession):
            return Outcome(RC.SessionNotOpen)
        return handler(self, tid, params, data)

    def end_session(self) -> None:
        """The PTP/IP connection is gone, and the session with it; a capture in progress completes now."""
        self.session_id = None
        self.finish_capture()

    def finish_capture(self) -> list[Event]:
        """Completes the capture in progress: stores the new photo(s); returns ObjectAdded… CaptureComplete."""
        tid = self.capturing
        if tid is None:
            return []
        self.capturing = None
        count = 1
        if self.properties[DevicePropCode.StillCaptureMode] == StillCaptureMode.Burst:
            count = self.properties.number(DevicePropCode.BurstNumber)
        events = [Event(EventCode.ObjectAdded, tid, (handle,)) for handle in self._new_photos(count)]
        return [*events, Event(EventCode.CaptureComplete, tid)]

    def press_shutter(self) -> list[Event]:
        """The shutter pressed on the body: one new photo and its ObjectAdded (nothing when the card is full)."""
        handles = self._new_photos(1)
        return [Event(EventCode.ObjectAdded, NO_TRANSACTION, (handle,)) for handle in handles]

    def turn_dial(self) -> list[Event]:
        """The main dial turned one click: :attr:`dial`'s property moves to the next of its values (after
        the last, back to the first), announced by DevicePropChanged with those that move with it."""
        code, values = self.dial
        current = self.properties[code]
        at = values.index(current) if current in values else -1
        self.properties.store(code, values[(at + 1) % len(values)])
        return [Event(EventCode.DevicePropChanged, NO_TRANSACTION, (c,)) for c in (code, *self._linked(code))]

    def _linked(self, code: int) -> list[int]:
        """After ``code`` changed: the codes of the properties that changed with it (none here)."""
        return []

    def drain_battery(self) -> list[Event]:
        """One step of battery drain (1 %); an empty battery stays empty (and says nothing more)."""
        level = self.properties.number(DevicePropCode.BatteryLevel)
        if level <= 0:
            return []
        self.properties.store(DevicePropCode.BatteryLevel, level - 1)
        return [Event(EventCode.DevicePropChanged, NO_TRANSACTION, (DevicePropCode.BatteryLevel,))]

    # ------------------------------------------------------------------ session

    def _get_device_info(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        return Outcome(RC.OK, data=self.device_info().encode())

    def _open_session(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        session_id = param(params, 0)
        if self.session_id is not None:
            return Outcome(RC.SessionAlreadyOpen, (self.session_id,))
        if session_id == 0:
            return Outcome(RC.InvalidParameter)
        self.session_id = session_id
        return Outcome(RC.OK)

    def _close_session(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        self.session_id = None
        return Outcome(RC.OK)

    # ------------------------------------------------------------------ objects

    def _delete_object(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        handle, object_format = param(params, 0), param(params, 1)
        if handle != ALL:  # the format parameter only applies to "delete all" (PTP.md §5.1)
            obj = self.storage.get(handle)
            if obj is None:
                return Outcome(RC.InvalidObjectHandle)
            if obj.protected or obj.is_folder:  # the camera keeps its DCF folders
                return Outcome(RC.ObjectWriteProtected)
            self._remove(obj)
            return Outcome(RC.OK, events=(Event(EventCode.ObjectRemoved, tid, (handle,)),))
        return self._delete_all(object_format, tid)

    def _delete_all(self, object_format: int, tid: int) -> Outcome:
        """DeleteObject(0xFFFFFFFF): every object of ``object_format`` (0: any) but the folders; protected
        ones stay, and the answer is then PartialDeletion."""
        targets = self.storage.select(ALL, object_format, 0)
        assert isinstance(targets, list)
        removed: list[Event] = []
        kept = 0
        for target in targets:
            obj = self.storage.objects[target]
            if obj.is_folder:
                continue
            if obj.protected:
                kept += 1
                continue
            self._remove(obj)
            removed.append(Event(EventCode.ObjectRemoved, tid, (target,)))
        return Outcome(RC.PartialDeletion if kept else RC.OK, events=tuple(removed))

    def _remove(self, obj: SimObject) -> None:
        self.storage.remove(obj.handle)
        if self.card is not None:
            self.card.delete(obj.handle, obj.info.filename)

    # ------------------------------------------------------------------ capture

    def _initiate_capture(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        storage_id, object_format = param(params, 0), param(params, 1)
        if storage_id not in (0, STORAGE_ID):
            return Outcome(RC.InvalidStorageID)
        if object_format not in (0, ObjectFormat.EXIF_JPEG):
            return Outcome(RC.InvalidObjectFormatCode)
        if self.capturing is not None:
            return Outcome(RC.DeviceBusy)
        if self.card_full:
            return Outcome(RC.StoreFull)
        self.capturing = tid
        delay = self.properties.number(DevicePropCode.CaptureDelay)
        return Outcome(RC.OK, capture=delay / 1000)

    # ------------------------------------------------------------------ properties

    def _set_prop_value(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        code = param(params, 0)
        result, changed = self.properties.set_from_initiator(code, data if data is not None else b"")
        moved = (code, *self._linked(code)) if changed else ()
        return Outcome(result, events=tuple(Event(EventCode.DevicePropChanged, tid, (c,)) for c in moved))

    def _reset_prop_value(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        result, changed = self.properties.reset(param(params, 0))
        return Outcome(result, events=tuple(Event(EventCode.DevicePropChanged, tid, (c,)) for c in changed))


_Handler = Callable[[GenericCamera, int, tuple[int, ...], Buffer | None], Outcome]
#: The operations, in DeviceInfo's order.
_HANDLERS: dict[int, _Handler] = {
    OC.GetDeviceInfo: GenericCamera._get_device_info,
    OC.OpenSession: GenericCamera._open_session,
    OC.CloseSession: GenericCamera._close_session,
    OC.GetStorageIDs: lambda camera, tid, params, data: camera.storage_ids(params),
    OC.GetStorageInfo: lambda camera, tid, params, data: camera.storage_info(params),
    OC.GetNumObjects: lambda camera, tid, params, data: camera.num_objects(params),
    OC.GetObjectHandles: lambda camera, tid, params, data: camera.object_handles(params),
    OC.GetObjectInfo: lambda camera, tid, params, data: camera.object_info(params),
    OC.GetObject: lambda camera, tid, params, data: camera.object_data(params),
    OC.GetThumb: lambda camera, tid, params, data: camera.thumb(params),
    OC.DeleteObject: GenericCamera._delete_object,
    OC.InitiateCapture: GenericCamera._initiate_capture,
    OC.GetDevicePropDesc: lambda camera, tid, params, data: camera.properties.get_desc(params),
    OC.GetDevicePropValue: lambda camera, tid, params, data: camera.properties.get_value(params),
    OC.SetDevicePropValue: GenericCamera._set_prop_value,
    OC.ResetDevicePropValue: GenericCamera._reset_prop_value,
    OC.GetPartialObject: lambda camera, tid, params, data: camera.partial_object(params),
}

"""A simulated Nikon body, D750-like DSLR or Z 6-like mirrorless: a pure state machine, no I/O.

The standard half (card, objects, properties) is :class:`~ptpipd.sim.generic_model.GenericCamera`'s; this
module adds what NIKON.md (§2, §5, §8.2) says a Nikon answers, each fact with its source there:

* **Events are polled**: everything the body has to say (ObjectAdded, DevicePropChanged, CaptureComplete,
  ObjectAddedInSDRAM …) waits in a queue that GetEvent 0x90C7 empties (§3.1 list; at most
  :data:`MAX_QUEUED_EVENTS`, the oldest dropped first). Nothing is sent on the PTP/IP event channel.
* **DeviceReady 0x90C8** answers DeviceBusy while a capture runs and for :data:`BUSY_POLLS` polls after
  StartLiveView, else OK (libgphoto2 ``nikon_wait_busy`` polls it after every capture).
* **Capture**: InitiateCaptureRecInSdram 0x90C0 (the D750), InitiateCaptureRecInMedia 0x9207 [AF, target]
  (the Z 6) and the standard InitiateCapture 0x100E (to the card). A picture in SDRAM is handle
  0xFFFF0001 (StorageID 0, no parent), announced by ObjectAddedInSDRAM + CaptureCompleteRecInSdram; one
  on the card by ObjectAdded + CaptureComplete. A new SDRAM picture replaces one nobody fetched. The
  shutter pressed on the body shoots to where RecordingMedia 0xD10B points; every shot lowers
  ExposureRemaining 0xD1F1 (a DevicePropChanged a host sees without asking). The main dial turned on the
  body steps the shutter speed 0xD100 (0x500D follows).
* **Live view**: StartLiveView 0x9201, GetLiveViewImg 0x9203 (a 384-byte big-endian header, §3.3, then a
  JPEG whose big digits count the frames served), EndLiveView 0x9202 (OK even when live view is off: the
  real answer is unknown, NIKON.md §8.4). 0x9203 outside live view answers NotLiveView 0xA00B.
* **The Z 6** reports VendorExtensionID 0xFFFFFFFF with "Microsoft.com/DeviceServices: 1.0" unless told
  otherwise (the Z 8 of libgphoto2#1135; libgphoto2 and ptpipd read the Manufacturer then), lists
  GetObjectSize 0x9421 and GetPartialObjectEx 0x9431, and registers computers (N-link): in its
  connect-to-computer wizard the session is restricted to 0x1001–0x1003, PrepareHost 0x952B and
  ConfirmHost 0x935A [0x2001], and ConfirmHost adds the computer's GUID to those the body admits in STA
  mode. Outside the wizard PrepareHost answers TransactionCancelled 0x201F (N-link: "not in the wizard").
  With ``file_lock`` (libgphoto2#976) card files answer AccessDenied to GetObjectInfo, GetObject and
  GetPartialObject; GetPartialObjectEx and GetObjectSize still work.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import (
    DataType,
    DeviceInfo,
    EventCode,
    ObjectFormat,
    OperationCode,
    ResponseCode,
    encode_value,
)
from ptpipd.ptp.types import Buffer
from ptpipd.sim.generic_model import FOLDER_HANDLE, STORAGE_ID, GenericCamera
from ptpipd.sim.generic_props import DEFAULT_DATETIME
from ptpipd.sim.nikon_props import SHUTTER_SPEEDS, follow, nikon_properties
from ptpipd.sim.pictures import THUMB_SIZE, Caption, live_jpeg, photo, thumbnail
from ptpipd.sim.properties import PropertyStore
from ptpipd.sim.responder import Outcome, param
from ptpipd.sim.storage import SimObject, folder_info, object_info
from ptpipd.vendors.nikon_codes import (
    CONFIRM_HOST_PARAM,
    SDRAM_HANDLE,
    SHUTTER_SPECIAL,
    TARGET_CARD,
    TARGET_SDRAM,
    VENDOR_MTP,
    VENDOR_NIKON,
    LiveViewHeader,
    NikonEvent,
    NikonOperation,
    NikonProperty,
    NikonResponse,
    encode_event_list,
    partial_object_ex_request,
    split_u64,
)

OC, RC, NO, NP = OperationCode, ResponseCode, NikonOperation, NikonProperty

#: Events waiting for GetEvent; the oldest go first when a host stops polling.
MAX_QUEUED_EVENTS = 256
#: DeviceReady answers DeviceBusy this many times after StartLiveView.
BUSY_POLLS = 2
FOLDER_NAME = "100NIKON"
#: Size of a picture taken by the simulated body (the sensor's 3:2, scaled down to stay cheap).
PHOTO_SIZE = (1200, 800)
LIVE_SIZE = (640, 480)
CAPTURE_DATE = DEFAULT_DATETIME

_STANDARD_OPS = (
    OC.GetDeviceInfo, OC.OpenSession, OC.CloseSession, OC.GetStorageIDs, OC.GetStorageInfo, OC.GetNumObjects,
    OC.GetObjectHandles, OC.GetObjectInfo, OC.GetObject, OC.GetThumb, OC.DeleteObject, OC.InitiateCapture,
    OC.GetDevicePropDesc, OC.GetDevicePropValue, OC.SetDevicePropValue, OC.GetPartialObject,
)  # fmt: skip
_NIKON_OPS = (NO.AfDrive, NO.ChangeCameraMode, NO.DelImageSDRAM, NO.GetEvent, NO.DeviceReady,
              NO.GetVendorPropCodes, NO.StartLiveView, NO.EndLiveView, NO.GetLiveViewImg)  # fmt: skip
#: What the body lists in the connect-to-computer wizard (N-link; the Z 8 of libgphoto2#1135 alike).
RESTRICTED_OPS = (OC.GetDeviceInfo, OC.OpenSession, OC.CloseSession, NO.PrepareHost, NO.ConfirmHost)
#: What libgphoto2#976's lock refuses (AccessDenied) on card files.
LOCKED_OPS = frozenset({OC.GetObjectInfo, OC.GetObject, OC.GetPartialObject})
EVENTS = (EventCode.ObjectAdded, EventCode.ObjectRemoved, EventCode.DevicePropChanged,
          EventCode.CaptureComplete, NikonEvent.ObjectAddedInSDRAM, NikonEvent.CaptureCompleteRecInSdram)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BodySpec:
    """What differs between the simulated bodies (the key of :data:`BODIES` names the body)."""

    name: str
    serial: str
    sensor: tuple[int, int]
    operations: tuple[int, ...]
    vendor_id: int
    registers_hosts: bool


BODIES = {
    "d750": BodySpec("D750", "3001750", (6016, 4016),
                     (*_STANDARD_OPS, NO.InitiateCaptureRecInSdram, *_NIKON_OPS), VENDOR_NIKON, False),
    "z6": BodySpec("Z 6", "6001006", (6048, 4024),
                   (*_STANDARD_OPS, NO.InitiateCaptureRecInMedia, *_NIKON_OPS, NO.GetObjectSize,
                    NO.GetPartialObjectEx, NO.PrepareHost, NO.ConfirmHost), VENDOR_MTP, True),
}  # fmt: skip
_VENDOR_DESC = {VENDOR_NIKON: "microsoft.com: 1.0", VENDOR_MTP: "Microsoft.com/DeviceServices: 1.0"}


def photo_name(number: int) -> str:
    """A Nikon's DCF file name of picture ``number``."""
    return f"DSC_{number:04d}.JPG"


def _caption(number: int) -> Caption:
    return Caption(number, photo_name(number), "2024-06-01 12:00:00")


def photo_bytes(seed: int, number: int) -> bytes:
    """The JPEG of picture ``number`` the body takes (on the card or in SDRAM)."""
    return photo(seed, _caption(number), *PHOTO_SIZE)


class NikonCamera(GenericCamera):
    """A simulated Nikon (see the module docstring). ``model`` is a key of :data:`BODIES`.

    ``vendor_id`` overrides the body's VendorExtensionID; ``registered`` are the GUIDs the body admits in
    STA mode (``sta``); ``wizard``: the body waits in its connect-to-computer wizard.
    """

    #: The main dial steps the shutter speed 0xD100 (bulb, x 200 and time left out: after 30 s, 1/8000 s
    #: again); 0x500D follows it.
    dial = (NP.ShutterSpeed, tuple(s for s in SHUTTER_SPEEDS if s not in SHUTTER_SPECIAL))

    def __init__(
        self, model: str = "d750", *, seed: int = 0, vendor_id: int | None = None, sta: bool = False,
        registered: Iterable[bytes] = (), wizard: bool = False, file_lock: bool = False,
    ) -> None:  # fmt: skip
        if model not in BODIES:
            raise ValueError(f"unknown Nikon model {model!r}; known: {', '.join(BODIES)}")
        self.spec = BODIES[model]
        super().__init__(seed=seed)
        self.properties = PropertyStore(nikon_properties(model))
        self.vendor_id = self.spec.vendor_id if vendor_id is None else vendor_id
        gate = self.spec.registers_hosts
        self.sta, self.wizard, self.file_lock = sta and gate, wizard and gate, file_lock and gate
        self.registered = set(registered)
        #: the GUID of the computer in session, and whether that session is the wizard's
        self.host: bytes | None = None
        self.restricted = False
        self.prepared = False
        self.events: deque[tuple[int, int]] = deque(maxlen=MAX_QUEUED_EVENTS)
        self.sdram: SimObject | None = None
        self.target = TARGET_CARD  # where the capture in progress goes
        self.live = False
        self.frames = 0
        self.busy_polls = 0
        header = LiveViewHeader.build(LIVE_SIZE, self.spec.sensor, af_width=600, af_height=400,
                                      af_x=self.spec.sensor[0] // 2, af_y=self.spec.sensor[1] // 2)  # fmt: skip
        self.live_header = header.encode()

    def _build_card(self, object_size: int | None) -> None:
        self.storage.description, self.storage.label = "SD card", f"NIKON {self.spec.name}"
        self.storage.add(folder_info(STORAGE_ID, "DCIM", 0, CAPTURE_DATE), b"")
        self.storage.add(folder_info(STORAGE_ID, FOLDER_NAME, 1, CAPTURE_DATE), b"")
        for _ in range(2):
            self._take_picture(TARGET_CARD)

    # ------------------------------------------------------------------ pictures

    def _take_picture(self, target: int) -> SimObject:
        """A new picture, on the card or in SDRAM (where it replaces one nobody fetched)."""
        self._last_photo += 1
        number = self._last_photo
        data, thumb = photo_bytes(self.seed, number), thumbnail(self.seed, _caption(number))
        in_sdram = target == TARGET_SDRAM
        info = object_info(
            0 if in_sdram else STORAGE_ID, photo_name(number), 0 if in_sdram else FOLDER_HANDLE,
            CAPTURE_DATE, object_format=ObjectFormat.EXIF_JPEG, compressed_size=len(data),
            thumb_format=ObjectFormat.JFIF, thumb_compressed_size=len(thumb), thumb_width=THUMB_SIZE[0],
            thumb_height=THUMB_SIZE[1], image_width=PHOTO_SIZE[0], image_height=PHOTO_SIZE[1],
            image_bit_depth=24,
        )  # fmt: skip
        if not in_sdram:
            self.photo_memory += len(data) + len(thumb)
            return self.storage.add(info, data, thumb)
        self.sdram = SimObject(SDRAM_HANDLE, info, data, thumb)
        return self.sdram

    def _shot_events(self, target: int, tid: int, *, complete: bool) -> list[Event]:
        """Takes a picture and returns the events that announce it (and the shots left)."""
        obj = self._take_picture(target)
        left = self.properties.number(NP.ExposureRemaining)
        self.properties.store(NP.ExposureRemaining, max(0, left - 1))
        if target == TARGET_SDRAM:
            events = [Event(NikonEvent.ObjectAddedInSDRAM, tid, (SDRAM_HANDLE,))]
            done = Event(NikonEvent.CaptureCompleteRecInSdram, tid)
        else:
            events = [Event(EventCode.ObjectAdded, tid, (obj.handle,))]
            done = Event(EventCode.CaptureComplete, tid)
        changed = Event(EventCode.DevicePropChanged, tid, (NP.ExposureRemaining,))
        return [*events, *([done] if complete else []), changed]

    def finish_capture(self) -> list[Event]:
        """Completes the capture in progress: the picture and its events (for the 0x90C7 queue)."""
        tid, self.capturing = self.capturing, None
        if tid is None:
            return []
        return self._shot_events(self.target, tid, complete=True)

    def _linked(self, code: int) -> list[int]:
        """0x500D and 0xD100, 0x500F and 0xD0B4 move together (:func:`~ptpipd.sim.nikon_props.follow`)."""
        return follow(self.properties, code)

    def press_shutter(self) -> list[Event]:
        """The shutter pressed on the body: a picture where RecordingMedia 0xD10B points."""
        if self.card_full or self.capturing is not None:
            return []
        target = self.properties.number(NP.RecordingMedia)
        return self._shot_events(target, NO_TRANSACTION, complete=False)

    # ------------------------------------------------------------------ session and events

    def admits(self, guid: bytes) -> bool:
        """Whether a computer may connect: always, except a Z in STA mode outside its wizard, which admits
        the registered GUIDs only (N-link: InitFail for the others)."""
        return not self.sta or self.wizard or guid in self.registered

    def host_connected(self, guid: bytes) -> None:
        """A computer has its session: in the wizard, a restricted one."""
        self.host, self.restricted, self.prepared = guid, self.wizard, False

    def queue_events(self, events: Iterable[Event]) -> None:
        """Events wait for GetEvent while a session is open; with no session they are lost."""
        if self.session_id is not None:
            self.events.extend((e.code, e.params[0] if e.params else 0) for e in events)

    def end_session(self) -> None:
        """The computer went away: live view ends, the queue and the host go with the session."""
        super().end_session()
        self.live, self.host, self.restricted = False, None, False
        self.properties.store(NP.LiveViewStatus, 0)
        self.events.clear()

    def device_info(self) -> DeviceInfo:
        """The body's DeviceInfo: standard properties only (the Nikon ones come from 0x90CA)."""
        restricted = self.restricted
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=self.vendor_id,
            vendor_extension_version=110 if self.vendor_id == VENDOR_MTP else 100,
            vendor_extension_desc=_VENDOR_DESC.get(self.vendor_id, ""),
            functional_mode=0,
            operations_supported=tuple(int(c) for c in self.operations),
            events_supported=() if restricted else tuple(int(c) for c in EVENTS),
            device_properties_supported=() if restricted else self._codes(standard=True),
            capture_formats=(int(ObjectFormat.EXIF_JPEG),),
            image_formats=(int(ObjectFormat.EXIF_JPEG), int(ObjectFormat.JFIF)),
            manufacturer="Nikon Corporation",
            model=self.spec.name,
            device_version="V1.10",
            serial_number=self.spec.serial,
        )

    def _codes(self, *, standard: bool) -> tuple[int, ...]:
        """The standard property codes (DeviceInfo) or the Nikon ones (0x90CA)."""
        return tuple(c for c in self.properties.codes if (c < 0xD000) == standard)

    def vendor_codes(self) -> bytes:
        """GetVendorPropCodes 0x90CA's data: the Nikon property codes."""
        return encode_value(DataType.AUINT16, self._codes(standard=False))

    @property
    def operations(self) -> tuple[int, ...]:
        """OperationsSupported now: the wizard's few, or the body's."""
        return RESTRICTED_OPS if self.restricted else self.spec.operations

    def operation(self, code: int, tid: int, params: tuple[int, ...], data: Buffer | None = None) -> Outcome:
        """Runs one operation: Nikon ones here, standard ones by :class:`GenericCamera`."""
        if code not in self.operations:
            return Outcome(RC.OperationNotSupported)
        if self.file_lock and code in LOCKED_OPS and param(params, 0) != SDRAM_HANDLE:
            return Outcome(RC.AccessDenied)
        handler = _HANDLERS.get(code)
        if handler is None:
            return super().operation(code, tid, params, data)
        if self.session_id is None:
            return Outcome(RC.SessionNotOpen)
        return handler(self, tid, params, data)

    def find(self, handle: int) -> SimObject | None:
        """An object on the card, or the picture waiting in SDRAM."""
        return self.sdram if handle == SDRAM_HANDLE else self.storage.get(handle)

    # ------------------------------------------------------------------ operations

    def _get_event(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        events, self.events = list(self.events), deque(maxlen=MAX_QUEUED_EVENTS)
        return Outcome(RC.OK, data=encode_event_list(events))

    def _device_ready(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if self.capturing is not None:
            return Outcome(RC.DeviceBusy)
        if self.busy_polls:
            self.busy_polls -= 1
            return Outcome(RC.DeviceBusy)
        return Outcome(RC.OK)

    def _start_capture(self, tid: int, target: int) -> Outcome:
        if self.capturing is not None:
            return Outcome(RC.DeviceBusy)
        if target == TARGET_CARD and self.card_full:
            return Outcome(RC.StoreFull)
        self.capturing, self.target = tid, target
        return Outcome(RC.OK, capture=0.0)

    def _initiate_capture(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if param(params, 0) not in (0, STORAGE_ID) or param(params, 1) not in (0, ObjectFormat.EXIF_JPEG):
            return Outcome(RC.InvalidParameter)
        return self._start_capture(tid, TARGET_CARD)

    def _capture_in_media(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        target = param(params, 1)
        if param(params, 0) not in (0xFFFF_FFFF, 0xFFFF_FFFE) or target not in (TARGET_CARD, TARGET_SDRAM):
            return Outcome(RC.InvalidParameter)
        return self._start_capture(tid, target)

    def _change_mode(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if param(params, 0) not in (0, 1):
            return Outcome(RC.InvalidParameter)
        return Outcome(RC.OK)

    def _delete_sdram(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        self.sdram = None
        return Outcome(RC.OK)

    def _delete_object(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if param(params, 0) != SDRAM_HANDLE:
            return super()._delete_object(tid, params, data)
        if self.sdram is None:
            return Outcome(RC.InvalidObjectHandle)
        return self._delete_sdram(tid, params, data)

    def _live_status(self, on: bool, tid: int) -> tuple[Event, ...]:
        self.live = on
        changed = self.properties.store(NP.LiveViewStatus, int(on))
        return (Event(EventCode.DevicePropChanged, tid, (NP.LiveViewStatus,)),) if changed else ()

    def _start_live_view(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if self.capturing is not None:
            return Outcome(RC.DeviceBusy)
        if not self.live:
            self.busy_polls = BUSY_POLLS
        return Outcome(RC.OK, events=self._live_status(True, tid))

    def _live_view_image(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if not self.live:
            return Outcome(NikonResponse.NotLiveView)
        if self.busy_polls:
            return Outcome(RC.DeviceBusy)
        self.frames += 1
        return Outcome(RC.OK, data=self.live_header + live_jpeg(self.frames, *LIVE_SIZE))

    def _object_size(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        obj = self.find(param(params, 0))
        if obj is None:
            return Outcome(RC.InvalidObjectHandle)
        return Outcome(RC.OK, data=len(obj.content).to_bytes(8, "little"))

    def _partial_object_ex(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        """GetPartialObjectEx: GetPartialObject with 64-bit offset and size, the count sent as (low, high)."""
        handle, offset, most = partial_object_ex_request(params or (0,))
        if offset > 0xFFFF_FFFF:  # nothing the simulated card holds is that big
            return Outcome(RC.InvalidParameter)
        outcome = self.partial_object((handle, offset, min(most, 0xFFFF_FFFF)))
        if outcome.code != RC.OK:
            return outcome
        return Outcome(RC.OK, split_u64(outcome.params[0]), data=outcome.data)

    def _prepare_host(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if not self.restricted:
            return Outcome(RC.TransactionCancelled)  # not in the connect-to-computer wizard (N-link)
        self.prepared = True
        return Outcome(RC.OK)

    def _confirm_host(self, tid: int, params: tuple[int, ...], data: Buffer | None) -> Outcome:
        if not (self.restricted and self.prepared) or self.host is None:
            return Outcome(RC.TransactionCancelled)
        if param(params, 0) != CONFIRM_HOST_PARAM:
            return Outcome(RC.InvalidParameter)
        self.registered.add(self.host)
        self.wizard = False  # the body leaves its wizard; the computer reconnects as a registered one
        return Outcome(RC.OK)


_Handler = Callable[[NikonCamera, int, tuple[int, ...], Buffer | None], Outcome]
#: Nikon operations and the standard ones the Nikon answers its own way.
_HANDLERS: dict[int, _Handler] = {
    OC.InitiateCapture: NikonCamera._initiate_capture,
    OC.DeleteObject: NikonCamera._delete_object,
    NO.InitiateCaptureRecInSdram: lambda camera, tid, params, data: camera._start_capture(tid, TARGET_SDRAM),
    NO.InitiateCaptureRecInMedia: NikonCamera._capture_in_media,
    NO.AfDrive: lambda camera, tid, params, data: Outcome(RC.OK),
    NO.ChangeCameraMode: NikonCamera._change_mode,
    NO.DelImageSDRAM: NikonCamera._delete_sdram,
    NO.GetEvent: NikonCamera._get_event,
    NO.DeviceReady: NikonCamera._device_ready,
    NO.GetVendorPropCodes: lambda camera, tid, params, data: Outcome(RC.OK, data=camera.vendor_codes()),
    NO.StartLiveView: NikonCamera._start_live_view,
    NO.EndLiveView: lambda camera, tid, params, data: Outcome(RC.OK, events=camera._live_status(False, tid)),
    NO.GetLiveViewImg: NikonCamera._live_view_image,
    NO.GetObjectSize: NikonCamera._object_size,
    NO.GetPartialObjectEx: NikonCamera._partial_object_ex,
    NO.PrepareHost: NikonCamera._prepare_host,
    NO.ConfirmHost: NikonCamera._confirm_host,
}

"""A simulated Canon EOS 6D over Wi-Fi, as libgphoto2's "Canon EOS (WLAN)" driver expects it: pure state.

Operations in, :class:`~ptpipd.sim.responder.Outcome` out; no I/O and no clock (the server calls
:meth:`EOS6D.finish_capture`, :meth:`EOS6D.drain_battery`, :meth:`EOS6D.press_shutter` and
:meth:`EOS6D.turn_dial` when their time comes). The facts are in ``tests/data/canon/CANON.md``:

* **DeviceInfo** (§6.1): VendorExtensionID 6 with "microsoft.com: 1.0" and Manufacturer "Canon Inc." (what
  EOS bodies report; libgphoto2 shows it as Canon's 0xB), Model "Canon EOS 6D", version "3-1.1.2"; the
  operations below; the standard properties the 6D lists (0xD402, 0xD407, 0xD406, 0xD303, 0x5001).
* **Events** (§4): nothing goes on the PTP/IP event channel; records wait in a queue the host empties with
  GetEvent 0x9116 (the terminator alone when there is nothing). SetEventMode(1) queues every property value,
  then every allowed-value list (libgphoto2 builds its whole configuration from them); RequestDevicePropValue
  0x9127 queues one value. The queue belongs to the session and holds at most :data:`MAX_EVENTS` records
  (the oldest go first).
* **Remote mode**: SetRemoteMode 0x9114 (1 over PTP/IP). Writes, releases and live view are refused with
  0xA005 OperationRefused outside remote mode (no source shows a body's refusal; a choice that catches an
  initiator that forgot it).
* **Capture** (§6.3): RemoteReleaseOn(1) (half press) focuses and reports FocusInfoEx 0xD1D3;
  RemoteReleaseOn(2) (full press) exposes for the shutter speed (plus the self-timer of drive 0x10/0x11),
  then writes the shot where CaptureDestination 0xD11C says (:mod:`ptpipd.sim.canon_card`). With the shutter
  at bulb the exposure lasts until RemoteReleaseOff(2) (or BulbStart 0x9125 … BulbEnd 0x9126). RemoteRelease
  0x910F does the whole press at once and answers parameter 0. Each shot counts down AvailableShots 0xD11B and
  up ShutterCounter 0xD1AC.
* **Live view** (§4.9): with the PC bit of EVFOutputDevice 0xD1B0 set, GetViewFinderData 0x9153 returns one
  JPEG record (type 1) with a visible frame counter, one new frame per call; the first call after the PC
  bit is set, and every call without it, answers 0xA102 ObjectNotReady (gphoto2 and libpict retry).
* **On the body**: the shutter button takes a picture as a remote release does; the main dial steps the
  shutter speed (the aperture in Av), the battery drains 1 % a step, reported in the 6D's five levels. Each
  change is queued as a PropValueChanged record.
* The session's end puts the destination back on the card and live view off.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from ptpipd.ip.packets import Event
from ptpipd.ptp import DataType, DeviceInfo, EnumForm, NoForm, ObjectFormat, ResponseCode
from ptpipd.ptp.types import Buffer
from ptpipd.sim.canon_card import CR2, EosCard
from ptpipd.sim.canon_props import EosProperties
from ptpipd.sim.pictures import live_jpeg
from ptpipd.sim.properties import PropertyStore, PropSpec
from ptpipd.sim.responder import Outcome, param
from ptpipd.vendors.canon_codes import (
    CAPTURE_TO_CARD,
    CAPTURE_TO_PC,
    EVF_PC,
    RELEASE_FULL,
    RELEASE_HALF,
    VIEWFINDER_JPEG,
    CanonEvent,
    CanonOperation,
    CanonProperty,
    CanonResponse,
    DeviceInfoEx,
    ImageFormat,
    PropValueChanged,
    Record,
    ViewfinderRecord,
    encode_events,
    encode_focus_info,
    exposure_seconds,
)

log = logging.getLogger("ptpipd.sim")

OC, P, RC = CanonOperation, CanonProperty, ResponseCode
MAX_EVENTS = 4096
BULB = 0x0C
AV = 0x02
LIVE_SIZE = (960, 640)
#: The 6D's battery levels from full to low (0xD111 values) and the percentage each starts at.
BATTERY_STEPS = ((2, 88), (4, 63), (1, 38), (5, 13), (0, 0))
#: The 6D's 11 AF points (width, height, x, y) on a 5472 × 3648 frame: a diamond around the centre.
AF_POINTS = tuple(
    (200, 200, x, y)
    for x, y in ((0, 0), (0, -800), (0, 800), (-1100, 0), (1100, 0), (-700, -450), (700, -450),
                 (-700, 450), (700, 450), (-1600, 0), (1600, 0))
)  # fmt: skip
# The standard properties the 6D lists in DeviceInfo, with its values (CANON.md §6.1, canon-eos6d.txt).
STANDARD = (
    PropSpec(0xD402, DataType.STR, False, "Canon EOS 6D", NoForm()),
    PropSpec(0xD407, DataType.UINT32, False, 1, NoForm()),
    PropSpec(0xD406, DataType.STR, True, "Unknown Initiator", NoForm()),
    PropSpec(0xD303, DataType.UINT8, False, 1, NoForm()),
    PropSpec(0x5001, DataType.UINT8, False, 100, EnumForm((100, 0, 75, 0, 50))),
)
EVENTS = (0x4001, 0x4002, 0x4003, 0x4004, 0x4005, *range(0xC181, 0xC18C), 0xC18D, 0xC18E, 0xC18F)


class EOS6D:
    """The body: properties, card, event queue, session, release and live-view state."""

    def __init__(self, *, seed: int = 0, scale: int = 4) -> None:
        self.props = EosProperties()
        self.standard = PropertyStore(STANDARD)
        self.card = EosCard(seed, scale)
        self.session_id: int | None = None
        self.remote = False
        self.events: deque[Record] = deque(maxlen=MAX_EVENTS)
        self.exposing = False  # a full press is being exposed (the server calls finish_capture)
        self.bulb_open = False
        self.battery = 100
        self.frames = 0
        self._evf_ready = False

    # ------------------------------------------------------------------ the server's entry points

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo dataset."""
        return DeviceInfo(
            standard_version=100, vendor_extension_id=6, vendor_extension_version=100,
            vendor_extension_desc="microsoft.com: 1.0; ", functional_mode=0,
            operations_supported=tuple(int(c) for c in HANDLERS), events_supported=EVENTS,
            device_properties_supported=self.standard.codes, capture_formats=(int(ObjectFormat.EXIF_JPEG),),
            image_formats=(int(ObjectFormat.Association), int(ObjectFormat.EXIF_JPEG), CR2),
            manufacturer="Canon Inc.", model="Canon EOS 6D", device_version="3-1.1.2",
            serial_number="0123456789abcdef0123456789abcdef",
        )  # fmt: skip

    def operation(self, code: int, tid: int, params: tuple[int, ...], data: Buffer | None = None) -> Outcome:
        """Runs one operation; ``data`` is the data-out phase, if the host sent one."""
        handler = HANDLERS.get(code)
        if handler is None:
            return Outcome(RC.OperationNotSupported)
        if self.session_id is None and code not in (0x1001, 0x1002):  # GetDeviceInfo, OpenSession
            return Outcome(RC.SessionNotOpen)
        if code in NEEDS_REMOTE and not self.remote:
            return Outcome(CanonResponse.OperationRefused)
        return handler(self, params, bytes(data) if data is not None else b"")

    def end_session(self) -> None:
        """The session is over: an exposure completes onto the card; live view and remote mode end."""
        self.props.store(P.CaptureDestination, CAPTURE_TO_CARD)
        if self.exposing or self.bulb_open:
            self.exposing, self.bulb_open = True, False
            self.finish_capture()
        self.props.store(P.EVFOutputDevice, 0)
        self.session_id, self.remote = None, False
        self.events.clear()

    def finish_capture(self) -> list[Event]:
        """The exposure is over: the shot is written and announced in the queue (no PTP events)."""
        if not self.exposing:
            return []
        self.exposing = False
        self._shoot()
        return []

    def press_shutter(self) -> list[Event]:
        """The shutter button on the body: a picture, announced in the queue."""
        if not self.card.full:
            self._shoot()
        return []

    def turn_dial(self) -> list[Event]:
        """The main dial one click: the next shutter speed (the next aperture in Av), queued."""
        code = P.Aperture if self.props[P.AutoExposureMode] == AV else P.ShutterSpeed
        allowed = [v for v in self.props.specs[code].allowed or () if v != BULB]
        current = self.props.number(code)
        after = [v for v in allowed if v > current]
        self._change(code, after[0] if after else allowed[0])
        return []

    def drain_battery(self) -> list[Event]:
        """1 % less; the 6D tells only when its level (full, 75 %, 50 %, 25 %, low) changes."""
        self.battery = max(0, self.battery - 1)
        level = next(level for level, start in BATTERY_STEPS if self.battery >= start)
        if self.props.number(P.BatteryPower) != level:
            self._change(P.BatteryPower, level)
            self.standard.store(0x5001, {2: 100, 4: 75, 1: 50}.get(level, 0))
        return []

    # ------------------------------------------------------------------ helpers

    def _queue(self, *records: Record) -> None:
        if self.session_id is not None:
            self.events.extend(records)

    def _change(self, code: int, value: int | str) -> None:
        if self.props.store(code, value):
            self._queue(self.props.value_record(code))

    def _shoot(self) -> None:
        quality = ImageFormat.from_code(self.props.number(P.ImageFormat))
        to_card = self.props[P.CaptureDestination] != CAPTURE_TO_PC or self.session_id is None
        self._queue(*self.card.shoot(quality, self.props.number(P.CameraTime), to_card=to_card))
        self._change(P.AvailableShots, max(0, self.props.number(P.AvailableShots) - 1))
        self._change(P.ShutterCounter, self.props.number(P.ShutterCounter) + 1)

    # ------------------------------------------------------------------ session and events

    def _get_device_info(self, params: tuple[int, ...], data: bytes) -> Outcome:
        return Outcome(RC.OK, data=self.device_info().encode())

    def _open_session(self, params: tuple[int, ...], data: bytes) -> Outcome:
        if self.session_id is not None:
            return Outcome(RC.SessionAlreadyOpen, (self.session_id,))
        if param(params, 0) == 0:
            return Outcome(RC.InvalidParameter)
        self.session_id = param(params, 0)
        self.events.clear()
        return Outcome(RC.OK)

    def _close_session(self, params: tuple[int, ...], data: bytes) -> Outcome:
        self.end_session()
        return Outcome(RC.OK)

    def _set_remote_mode(self, params: tuple[int, ...], data: bytes) -> Outcome:
        self.remote = param(params, 0) != 0
        return Outcome(RC.OK)

    def _set_event_mode(self, params: tuple[int, ...], data: bytes) -> Outcome:
        if param(params, 0):
            self._queue(*self.props.dump())
        return Outcome(RC.OK)

    def _get_event(self, params: tuple[int, ...], data: bytes) -> Outcome:
        records = list(self.events)
        self.events.clear()
        return Outcome(RC.OK, data=encode_events(records))

    def _request_value(self, params: tuple[int, ...], data: bytes) -> Outcome:
        code = param(params, 0)
        if code not in self.props.specs:
            return Outcome(RC.DevicePropNotSupported)
        self._queue(self.props.value_record(code))
        return Outcome(RC.OK)

    def _device_info_ex(self, params: tuple[int, ...], data: bytes) -> Outcome:
        info = DeviceInfoEx(
            tuple(e for e in EVENTS if e >= CanonEvent.ObjectAddedEx), tuple(self.props.specs)
        )
        return Outcome(RC.OK, data=info.encode())

    def _ok(self, params: tuple[int, ...], data: bytes) -> Outcome:
        return Outcome(RC.OK)

    # ------------------------------------------------------------------ properties

    def _set_prop_ex(self, params: tuple[int, ...], data: bytes) -> Outcome:
        was_pc = self.props.number(P.EVFOutputDevice) & EVF_PC
        result, changed = self.props.set_from_host(data)
        if changed is not None:
            self._queue(self.props.value_record(changed))
        if self.props.number(P.EVFOutputDevice) & EVF_PC and not was_pc:
            self._evf_ready = False  # the first frame takes a moment
        return Outcome(result)

    def _set_prop_value(self, params: tuple[int, ...], data: bytes) -> Outcome:
        return Outcome(self.standard.set_from_initiator(param(params, 0), data)[0])

    # ------------------------------------------------------------------ release

    def _release_on(self, params: tuple[int, ...], data: bytes) -> Outcome:
        stage = param(params, 0)
        if stage not in (RELEASE_HALF, RELEASE_FULL):
            return Outcome(RC.InvalidParameter)
        if stage == RELEASE_HALF:  # focuses (DoAf too): FocusInfoEx tells where
            self._queue(PropValueChanged(P.FocusInfoEx, encode_focus_info(5472, 3648, AF_POINTS)))
            return Outcome(RC.OK)
        return self._full_press()

    def _full_press(self) -> Outcome:
        if self.exposing or self.bulb_open:
            return Outcome(RC.DeviceBusy)
        if self.card.full:
            return Outcome(CanonResponse.CannotMakeObject)
        if self.props[P.ShutterSpeed] == BULB:
            self.bulb_open = True
            return Outcome(RC.OK)
        self.exposing = True
        return Outcome(RC.OK, capture=exposure_seconds(self.props[P.ShutterSpeed], self.props[P.DriveMode]))

    def _release_off(self, params: tuple[int, ...], data: bytes) -> Outcome:
        stage = param(params, 0)
        if stage not in (RELEASE_HALF, RELEASE_FULL):
            return Outcome(RC.InvalidParameter)
        if stage == RELEASE_FULL and self.bulb_open:
            self.bulb_open, self.exposing = False, True
            return Outcome(RC.OK, capture=0.0)
        return Outcome(RC.OK)

    def _remote_release(self, params: tuple[int, ...], data: bytes) -> Outcome:
        if self.props[P.ShutterSpeed] == BULB:
            return Outcome(CanonResponse.OperationRefused)
        outcome = self._full_press()
        return outcome if outcome.code != RC.OK else Outcome(RC.OK, (0,), capture=outcome.capture)

    def _bulb_start(self, params: tuple[int, ...], data: bytes) -> Outcome:
        if self.props[P.ShutterSpeed] != BULB:
            return Outcome(CanonResponse.OperationRefused)
        return self._full_press()

    # ------------------------------------------------------------------ live view

    def _viewfinder(self, params: tuple[int, ...], data: bytes) -> Outcome:
        if not self.props.number(P.EVFOutputDevice) & EVF_PC or not self._evf_ready:
            self._evf_ready = bool(self.props.number(P.EVFOutputDevice) & EVF_PC)
            return Outcome(CanonResponse.ObjectNotReady)
        frame = live_jpeg(self.frames, *LIVE_SIZE)
        self.frames += 1
        return Outcome(RC.OK, data=ViewfinderRecord(VIEWFINDER_JPEG, frame).encode())

    # ------------------------------------------------------------------ storage


_Handler = Callable[[EOS6D, tuple[int, ...], bytes], Outcome]
_p = param
#: The operations, in DeviceInfo's order (standard first, then EOS; CANON.md §2, §6.1).
# fmt: off
HANDLERS: dict[int, _Handler] = {
    0x1001: EOS6D._get_device_info, 0x1002: EOS6D._open_session, 0x1003: EOS6D._close_session,
    0x1004: lambda m, p, d: m.card.storage_ids(p), 0x1005: lambda m, p, d: m.card.storage_info(p),
    0x1006: lambda m, p, d: m.card.num_objects(p), 0x1007: lambda m, p, d: m.card.object_handles(p),
    0x1008: lambda m, p, d: m.card.object_info(p),
    0x1009: lambda m, p, d: m.card.object_data(p),
    0x100A: lambda m, p, d: m.card.thumb(p),
    0x100B: lambda m, p, d: m.card.delete(_p(p, 0)),
    0x1014: lambda m, p, d: m.standard.get_desc(p), 0x1015: lambda m, p, d: m.standard.get_value(p),
    0x1016: EOS6D._set_prop_value,
    0x101B: lambda m, p, d: m.card.partial_object(p),
    OC.GetStorageIDs: lambda m, p, d: m.card.storage_ids(p),
    OC.GetStorageInfo: lambda m, p, d: m.card.storage_info(p),
    OC.GetObject: lambda m, p, d: m.card.object_data(p),
    OC.DeleteObject: lambda m, p, d: m.card.delete(_p(p, 0)),
    OC.GetPartialObject: lambda m, p, d: m.card.partial_object(p),
    OC.GetDeviceInfoEx: EOS6D._device_info_ex,
    OC.GetObjectInfoEx: lambda m, p, d: m.card.listing(_p(p, 0), _p(p, 1)),
    OC.RemoteRelease: EOS6D._remote_release, OC.SetDevicePropValueEx: EOS6D._set_prop_ex,
    OC.GetRemoteMode: lambda m, p, d: Outcome(RC.OK, (int(m.remote),)),
    OC.SetRemoteMode: EOS6D._set_remote_mode,
    OC.SetEventMode: EOS6D._set_event_mode, OC.GetEvent: EOS6D._get_event,
    OC.TransferComplete: lambda m, p, d: Outcome(m.card.transfer_complete(_p(p, 0))),
    OC.PCHDDCapacity: EOS6D._ok, OC.SetUILock: EOS6D._ok,
    OC.ResetUILock: EOS6D._ok, OC.KeepDeviceOn: EOS6D._ok, OC.BulbStart: EOS6D._bulb_start,
    OC.BulbEnd: lambda m, p, d: m._release_off((RELEASE_FULL,), d),
    OC.RequestDevicePropValue: EOS6D._request_value,
    OC.RemoteReleaseOn: EOS6D._release_on, OC.RemoteReleaseOff: EOS6D._release_off,
    OC.InitiateViewfinder: EOS6D._ok, OC.TerminateViewfinder: EOS6D._ok,
    OC.GetViewFinderData: EOS6D._viewfinder, OC.DriveLens: EOS6D._ok,
    OC.DoAf: lambda m, p, d: m._release_on((RELEASE_HALF,), d),
    OC.Zoom: EOS6D._ok, OC.ZoomPosition: EOS6D._ok, OC.AfCancel: EOS6D._ok,
}
# fmt: on
#: Operations refused outside remote mode.
NEEDS_REMOTE = frozenset(
    {
        OC.SetDevicePropValueEx,
        OC.RemoteRelease,
        OC.RemoteReleaseOn,
        OC.RemoteReleaseOff,
        OC.BulbStart,
        OC.BulbEnd,
        OC.GetViewFinderData,
        OC.DoAf,
        OC.DriveLens,
    }
)  # fmt: skip

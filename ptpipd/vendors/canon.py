"""Canon EOS bodies over Wi-Fi: standard PTP/IP framing, the EOS operations inside (CANON.md §1, §6, §9).

The session, as libgphoto2's "Canon EOS (WLAN)" driver runs it (CANON.md §6.2)::

    InitCommand, InitEvent, OpenSession(1), GetDeviceInfo   the standard start (the event channel stays silent)
    SetRemoteMode 0x9114(1)                                 retried while the body answers DeviceBusy
    SetEventMode 0x9115(1)                                  the body then lists every value and every list
    GetEvent 0x9116 until a poll brings nothing             the dump: values first, then allowed values
    GetDeviceInfoEx 0x9108                                  logged; a failure does not matter
    RequestDevicePropValue 0x9127 (owner, artist, copyright, serial), GetEvent until nothing

Properties never go through GetDevicePropDesc: :class:`~ptpipd.vendors.canon_state.EosState` keeps what the
GetEvent records said, a read polls GetEvent once first, a write is SetDevicePropValueEx 0x9110 followed by
GetEvent until the body reports the new value. Events are polled (``poll_events``, every
:data:`POLL_INTERVAL` s by the service); KeepDeviceOn 0x911D goes out every :data:`KEEP_ON_EVERY` s.

Capture (CANON.md §6.3): RemoteReleaseOn(1) (half press), GetEvent until FocusInfoEx (at most
:data:`FOCUS_WAIT` s, as gphoto2), RemoteReleaseOn(2), RemoteReleaseOff(2), RemoteReleaseOff(1); without
0x9128, RemoteRelease 0x910F. Then GetEvent until the new file is announced: ObjectAddedEx (on the card:
downloaded with GetObject, it stays there) or RequestObjectTransfer (in the body's RAM: GetPartialObject,
then TransferComplete 0x9117). The JPEG is returned when a shot made a RAW and a JPEG.

Live view: EVFOutputDevice 0xD1B0 gets the PC bit, each frame is GetViewFinderData 0x9153(0x200000, 0, 0),
0xA102 (not ready yet) is retried; closing puts the output back. Files: GetObjectInfoEx 0x9109 from the root
folder down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ptpipd.errors import CameraRefused, CameraTimeout, NotSupported
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    OperationCode,
    ResponseCode,
    Value,
    decode_uint32_array,
)
from ptpipd.vendors.base import (
    CameraConfig,
    Capabilities,
    DeviceSummary,
    EventDelivery,
    FileEntry,
    LiveViewSource,
    PropertySpec,
    PropertyTable,
    Transfer,
    no_property,
)
from ptpipd.vendors.canon_codes import (
    APERTURE,
    ASSOCIATION,
    BATTERY,
    CAPTURE_DESTINATION,
    COLOR_SPACE,
    DRIVE_MODE,
    EVF_OUTPUT,
    EVF_PC,
    EXPOSURE_COMP,
    FOCUS_MODE,
    IMAGE_FORMAT,
    ISO,
    METERING_MODE,
    MODE_ON,
    PICTURE_STYLE,
    RELEASE_FULL,
    RELEASE_HALF,
    SHOOTING_MODE,
    SHUTTER,
    VIEWFINDER_PARAMS,
    WHITE_BALANCE,
    CanonOperation,
    CanonProperty,
    CanonResponse,
    FolderEntry,
    ImageFormat,
    Kind,
    ObjectAdded,
    ObjectTransfer,
    PropValueChanged,
    Record,
    SetPropValue,
    decode_folder,
    exposure_seconds,
    property_kind,
    viewfinder_jpeg,
)
from ptpipd.vendors.canon_state import EVENT_NAMES, EosState
from ptpipd.vendors.generic import GenericDriver
from ptpipd.vendors.labels import PLAIN, Labels
from ptpipd.vendors.legacy_labels import LegacyLabels
from ptpipd.vendors.liveview import LiveView, PolledLiveView

log = logging.getLogger(__name__)

OC, P = CanonOperation, CanonProperty
#: How often the service polls GetEvent: gphoto2's idle rate (CANON.md §4.7).
POLL_INTERVAL = 0.2
#: Between two GetEvent polls while waiting for something (gphoto2's busy rate).
POLL_STEP = 0.05
#: At most this many polls drain the dump at the start.
DRAIN_POLLS = 40
#: How long a half press waits for FocusInfoEx (gphoto2 2.5.30: 2 s, then "no focus info?").
FOCUS_WAIT = 2.0
#: How long a write waits for the body to report the new value.
SET_WAIT = 1.0
#: KeepDeviceOn at least this often, so the body's auto power-off does not end the session.
KEEP_ON_EVERY = 10.0
#: GetViewFinderData answers 0xA102 until the first frame is ready: retried this often, this long.
FRAME_RETRIES, FRAME_RETRY_WAIT = 40, 0.025
#: DeviceBusy at the start (the 2000D rejects commands sent too early, CANON.md §7): retries, wait.
BUSY_RETRIES, BUSY_WAIT = 10, 0.2
#: Folders deeper than this, or more entries than that, are not listed.
MAX_DEPTH, MAX_ENTRIES = 8, 100_000
RESPONSE_NAMES = {int(c): c.name for c in CanonResponse}
PAIRING = (
    "on the camera: Wi-Fi function, Remote control (EOS Utility), choose {name!r} in the list of computers "
    "and press SET (the computer must answer the camera's UPnP search: python -m ptpipd.vendors.canon_upnp, "
    "see the README)",
    "if the camera asks to allow the connection, confirm it within a few seconds",
)
INIT_FAIL = (
    "the camera refused {name!r} (InitFail 0x{reason:04X}): pair this computer on the camera first (Remote "
    "control, with python -m ptpipd.vendors.canon_upnp answering its search) and confirm the connection on "
    "the camera if it asks"
)


def _spec(code: int, name: str, labels: Labels = PLAIN, *aliases: str) -> PropertySpec:
    return PropertySpec(code, name, CanonProperty(code).name, labels, aliases)


#: EOS properties under the unified names (CANON.md §9.1), with gphoto2's config names as aliases.
CANON_PROPERTIES = (
    _spec(P.ISOSpeed, "iso", ISO, "isospeed", "iso-speed"),
    _spec(P.ShutterSpeed, "exposure", SHUTTER, "shutterspeed", "shutter-speed", "shutter", "tv"),
    _spec(P.Aperture, "fnumber", APERTURE, "aperture", "f-number", "av"),
    _spec(P.ExpCompensation, "exp-bias", EXPOSURE_COMP, "exposurecompensation", "exposure-bias", "ev"),
    _spec(P.WhiteBalance, "whitebalance", WHITE_BALANCE, "wb", "white-balance"),
    _spec(P.AutoExposureMode, "program", SHOOTING_MODE, "autoexposuremode", "mode", "shooting-mode"),
    _spec(P.DriveMode, "drive", DRIVE_MODE, "drivemode", "drive-mode"),
    _spec(P.FocusMode, "focusmode", FOCUS_MODE, "focus-mode", "af-operation"),
    _spec(P.MeteringMode, "metering", METERING_MODE, "meteringmode", "metering-mode"),
    _spec(P.ImageFormat, "imageformat", IMAGE_FORMAT, "image-format", "quality"),
    _spec(P.BatteryPower, "battery", BATTERY, "batterylevel", "battery-level"),
    _spec(P.PictureStyle, "picturestyle", PICTURE_STYLE, "picture-style"),
    _spec(P.ColorSpace, "colorspace", COLOR_SPACE, "color-space"),
    _spec(P.AvailableShots, "shots", PLAIN, "availableshots", "shots-left"),
    _spec(P.ShutterCounter, "shutter-count", PLAIN, "shuttercounter"),
    _spec(P.LensName, "lens", PLAIN, "lensname"),
    _spec(P.SerialNumber, "serial", PLAIN, "eosserialnumber"),
    _spec(P.Owner, "owner", PLAIN, "ownername"),
    _spec(P.Artist, "artist"),
    _spec(P.Copyright, "copyright"),
    _spec(P.CaptureDestination, "capturetarget", CAPTURE_DESTINATION, "capture-destination"),
    _spec(P.EVFOutputDevice, "output", EVF_OUTPUT, "evf-output"),
    _spec(P.EVFMode, "evfmode", PLAIN, "evf-mode"),
    _spec(P.CameraTime, "camera-time", PLAIN, "cameratime"),
    _spec(P.ModelID, "model-id"),
)
#: EOS words for the legacy text view. The seed tool had no Canon tables, so there are no seed words to
#: honour: the names are libgphoto2's ``ptp.h`` property names (as :class:`CanonProperty` has them) and the
#: labels those of the table above, the ones the JSON-RPC API shows (``1/250``, ``f/5.6``, ``+1/3``,
#: ``RAW+L``), so ``get iso`` over ``nc`` prints ``800 (0x60)`` rather than a bare number.
LEGACY_LABELS = LegacyLabels(
    names={int(code): code.name for code in P},
    labels={spec.code: spec.labels.label for spec in CANON_PROPERTIES if spec.labels is not PLAIN},
)
#: Object formats of EOS files (libgphoto2 ptp.h ``PTP_OFC_CANON_*``).
CANON_FORMATS = {0xB101: "crw", 0xB103: "cr2", 0xB108: "cr3", 0xB104: "mov", 0xB982: "mp4"}


class CanonDriver(GenericDriver):
    """A Canon EOS body over Wi-Fi (reference: the EOS 6D, the one ``ptpipd-sim --vendor canon`` imitates)."""

    name = "canon"
    properties = PropertyTable(CANON_PROPERTIES)
    capabilities = Capabilities(
        events=EventDelivery.POLL,
        poll_interval=POLL_INTERVAL,
        liveview=LiveViewSource.POLL,
        files=True,
        partial_objects=True,
        pairing=PAIRING,
        delete=True,
    )
    operation_names = {int(c): c.name for c in CanonOperation}
    event_names = EVENT_NAMES
    response_names = RESPONSE_NAMES
    object_formats = CANON_FORMATS
    legacy_labels = LEGACY_LABELS

    eos: EosState
    _kept_on = 0.0

    @classmethod
    def explain_init_failure(cls, reason: int, config: CameraConfig) -> str | None:
        """A Canon refuses the PTP/IP handshake of a computer it has not paired with (CANON.md §8)."""
        return INIT_FAIL.format(name=config.friendly_name, reason=reason)

    # -------------------------------------------------------------- session

    async def open(self) -> DeviceSummary:
        self.eos = EosState()
        summary = await super().open()
        assert self.device is not None
        check_eos(self.device)
        await self._until_not_busy(OC.SetRemoteMode, (MODE_ON,))
        await self._until_not_busy(OC.SetEventMode, (MODE_ON,))
        await self._drain()
        if OC.GetDeviceInfoEx in self.ops:
            with contextlib.suppress(CameraRefused, DecodeError):
                await self.call(OC.GetDeviceInfoEx)
        if OC.RequestDevicePropValue in self.ops:
            for code in (P.Owner, P.Artist, P.Copyright, P.SerialNumber):
                await self.link.transaction(OC.RequestDevicePropValue, (code,))
        await self._drain()
        self.eos.take_events()  # the dump is the starting state, not news
        self._kept_on = time.monotonic()
        serial = self.eos.value(P.SerialNumber)
        return replace(summary, serial=str(serial or summary.serial))

    async def _until_not_busy(self, code: int, params: tuple[int, ...]) -> None:
        for _ in range(BUSY_RETRIES):
            reply = await self.link.transaction(code, params)
            if reply.code != ResponseCode.DeviceBusy:
                break
            await asyncio.sleep(BUSY_WAIT)
        if reply.code != ResponseCode.OK:
            raise self.refused(reply.code, code)

    async def close(self) -> None:
        """gphoto2's order (CANON.md §9.1): remote mode off and on, event mode off, CloseSession."""
        for code, params in (
            (OC.SetRemoteMode, (0,)),
            (OC.SetRemoteMode, (MODE_ON,)),
            (OC.SetEventMode, (0,)),
        ):
            await self.link.transaction(code, params, timeout=1.0)
        await super().close()

    async def keepalive(self) -> None:
        """KeepDeviceOn 0x911D (the body's auto power-off timer starts again)."""
        await self.call(OC.KeepDeviceOn if OC.KeepDeviceOn in self.ops else OC.GetEvent)
        self._kept_on = time.monotonic()

    async def device_info(self) -> dict[str, Any]:
        info = await super().device_info()
        info["body_serial"] = self.eos.value(P.SerialNumber)
        info["lens"] = self.eos.value(P.LensName)
        return info

    # -------------------------------------------------------------- events

    async def _poll(self) -> list[Record]:
        """One GetEvent; its records (their events wait in ``eos.pending`` for :meth:`poll_events`)."""
        reply = await self.call(OC.GetEvent)
        return self.eos.feed(reply.data or b"")

    async def _drain(self) -> None:
        for _ in range(DRAIN_POLLS):
            if not await self._poll():
                return
        log.warning("the body was still sending records after %d GetEvent polls", DRAIN_POLLS)

    async def _until(self, done: Callable[[list[Record]], bool], limit: float) -> bool:
        """Polls GetEvent every :data:`POLL_STEP` s until ``done(records of a poll)`` (True) or ``limit``."""
        deadline = time.monotonic() + limit
        while True:
            if done(await self._poll()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_STEP)

    async def poll_events(self) -> list[Event]:
        """What happened since the last poll, as PTP events (KeepDeviceOn every :data:`KEEP_ON_EVERY` s)."""
        if time.monotonic() - self._kept_on >= KEEP_ON_EVERY:
            await self.keepalive()
        await self._poll()
        return self.eos.take_events()

    # -------------------------------------------------------------- properties

    def supported_properties(self) -> set[int] | None:
        standard = set(self.device.device_properties_supported) if self.device is not None else set()
        return self.eos.known() | standard

    def _is_eos(self, code: int) -> bool:
        return code in self.eos.known()

    async def describe_all(self) -> list[DevicePropDesc]:
        await self._poll()
        descs = [self.eos.describe(code) for code in sorted(self.eos.known())]
        others = sorted(c for c in self.supported_properties() or () if not self._is_eos(c))
        out = [d for d in descs if d is not None]
        for code in others:  # the standard properties the body lists (0x5001, 0xD402 …)
            out.append(await super().describe(code))
        return out

    async def describe(self, code: int) -> DevicePropDesc:
        if not self._is_eos(code) and code not in self.eos.values:
            return await super().describe(code)
        await self._poll()
        desc = self.eos.describe(code)
        if desc is None:
            raise no_property(OC.GetEvent, f"the body has not reported property 0x{code:04X}")
        return desc

    async def get_value(self, code: int, datatype: DataType) -> Value:
        if not self._is_eos(code):
            return await super().get_value(code, datatype)
        await self._poll()
        value = self.eos.value(code)
        if value is None:
            raise no_property(OC.GetEvent, f"the body has not reported property 0x{code:04X}")
        return value

    async def set_value(self, code: int, datatype: DataType, value: Value) -> None:
        if not self._is_eos(code):
            await super().set_value(code, datatype, value)
            return
        await self._write(code, value)

    async def _write(self, code: int, value: Value) -> None:
        """SetDevicePropValueEx, then GetEvent until the body reports the property (when it changes)."""
        if not isinstance(value, (int, str)):
            raise TypeError(f"property 0x{code:04X}: {value!r} is not an EOS value")
        changes = self.eos.value(code) != value
        eos_value: int | str | ImageFormat = value
        if property_kind(code) is Kind.IMAGE_FORMAT and isinstance(value, int):
            eos_value = ImageFormat.from_code(value)
        await self.call(OC.SetDevicePropValueEx, data_out=SetPropValue.of(code, eos_value).encode())
        reported = await self._until(
            lambda records: any(isinstance(r, PropValueChanged) and r.code == code for r in records),
            SET_WAIT if changes else 0.0,
        )
        if changes and not reported:
            log.info("the body did not report property 0x%04X within %g s of the write", code, SET_WAIT)

    # -------------------------------------------------------------- capture

    async def capture(self, sink: DataSink) -> Transfer:
        before = set(self.eos.objects) | set(self.eos.transfers)
        if OC.RemoteReleaseOn in self.ops:
            await self._press()
        else:
            reply = await self.call(OC.RemoteRelease)
            if reply.params and reply.params[0]:
                raise CameraRefused(
                    ResponseCode.GeneralError, "ReleaseFailed", OC.RemoteRelease,
                    f"the body did not release the shutter (result {reply.params[0]}; 1: no focus, 7: card full)",
                )  # fmt: skip

        def fresh() -> list[ObjectAdded | ObjectTransfer]:
            added: list[ObjectAdded | ObjectTransfer] = [
                r for h, r in self.eos.objects.items() if h not in before
            ]
            return added + [r for h, r in self.eos.transfers.items() if h not in before]

        limit = self.config.capture_timeout + exposure_seconds(
            self.eos.value(P.ShutterSpeed), self.eos.value(P.DriveMode)
        )
        if not await self._until(lambda _: bool(fresh()), limit):
            raise CameraTimeout(
                f"the body announced no new picture within {limit:g} s of the release",
                timeout_s=limit,
                opcode=OC.RemoteReleaseOn,
            )
        await self._poll()  # the other half of a RAW + JPEG shot
        return await self._fetch_shot(fresh(), sink)

    async def _press(self) -> None:
        focused = self.eos.focus_reports
        await self.call(OC.RemoteReleaseOn, (RELEASE_HALF, 0))
        try:
            if not await self._until(lambda _: self.eos.focus_reports > focused, FOCUS_WAIT):
                log.info("no FocusInfoEx within %g s of the half press; releasing anyway", FOCUS_WAIT)
            await self.call(OC.RemoteReleaseOn, (RELEASE_FULL, 0))
            await self.link.transaction(OC.RemoteReleaseOff, (RELEASE_FULL,))
        finally:
            await self.link.transaction(OC.RemoteReleaseOff, (RELEASE_HALF,))

    async def _fetch_shot(self, shot: list[ObjectAdded | ObjectTransfer], sink: DataSink) -> Transfer:
        """Downloads the JPEG of the shot (else its first file); frees every file it left in the body's RAM."""
        chosen = next((r for r in shot if self.format_name(r.object_format) == "jpeg"), shot[0])
        fmt = self.format_name(chosen.object_format)
        try:
            if isinstance(chosen, ObjectAdded):
                reply = await self.call(OperationCode.GetObject, (chosen.handle,), sink=sink)
                return Transfer(fmt, reply.data_length, chosen.handle, chosen.name)
            reply = await self.call(
                OperationCode.GetPartialObject,
                (chosen.handle, 0, chosen.size),
                sink=sink,
                max_data=chosen.size,
            )
            return Transfer(fmt, reply.data_length, None, chosen.name)
        finally:
            for record in shot:
                if isinstance(record, ObjectTransfer):
                    await self.link.transaction(OC.TransferComplete, (record.handle,))
                    self.eos.transfers.pop(record.handle, None)

    # -------------------------------------------------------------- live view

    async def open_liveview(self) -> LiveView:
        """The PC bit of EVFOutputDevice on; frames from GetViewFinderData; the old output back at the end."""
        old = self.eos.value(P.EVFOutputDevice)
        old = old if isinstance(old, int) else 0
        if not old & EVF_PC:
            await self._write(P.EVFOutputDevice, old | EVF_PC)

        async def stop() -> None:
            if not old & EVF_PC:
                await self._write(P.EVFOutputDevice, old)

        return PolledLiveView(self._frame, stop)

    async def _frame(self) -> bytes:
        for _ in range(FRAME_RETRIES):
            reply = await self.link.transaction(OC.GetViewFinderData, VIEWFINDER_PARAMS)
            if reply.code == CanonResponse.ObjectNotReady:
                await asyncio.sleep(FRAME_RETRY_WAIT)
                continue
            if reply.code != ResponseCode.OK:
                raise self.refused(reply.code, OC.GetViewFinderData)
            jpeg = viewfinder_jpeg(reply.data or b"")
            if jpeg is None:
                raise DecodeError("GetViewFinderData: no JPEG record in the data")
            return jpeg
        wait = FRAME_RETRIES * FRAME_RETRY_WAIT
        raise CameraTimeout(
            f"the body had no live-view frame ready within {wait:g} s",
            timeout_s=wait,
            opcode=OC.GetViewFinderData,
        )

    # -------------------------------------------------------------- files

    async def files(self) -> list[FileEntry]:
        """Every file, folder by folder with GetObjectInfoEx 0x9109 (the standard listing without it)."""
        if OC.GetObjectInfoEx not in self.ops:
            return await super().files()
        data = self._data(await self.call(OperationCode.GetStorageIDs), "GetStorageIDs")
        entries: list[FileEntry] = []
        for storage in decode_uint32_array(data)[0]:
            if storage & 0xFFFF:
                await self._walk(storage, 0xFFFF_FFFF, "", 0, entries)
        return entries

    async def _walk(self, storage: int, parent: int, path: str, depth: int, out: list[FileEntry]) -> None:
        await self.let_others_run()  # between two folders: the walk leaves the body in no state of its own
        reply = await self.call(OC.GetObjectInfoEx, (storage, parent, 0x0010_0000))
        for entry in decode_folder(self._data(reply, "GetObjectInfoEx")):
            if len(out) >= MAX_ENTRIES:
                return
            if entry.object_format != ASSOCIATION:
                out.append(file_entry(storage, entry, path, self.format_name(entry.object_format)))
            elif depth < MAX_DEPTH:
                await self._walk(storage, entry.handle, f"{path}/{entry.name}".lstrip("/"), depth + 1, out)


def check_eos(d: DeviceInfo) -> None:
    """NotSupported unless the DeviceInfo is an EOS body's: Canon's extension (0xB, or 6 with Manufacturer
    Canon, CANON.md §1) and GetEvent 0x9116."""
    canon = d.vendor_extension_id == 0xB or (d.vendor_extension_id == 6 and "canon" in d.manufacturer.lower())
    polls = OC.GetEvent in d.operations_supported
    if not canon or not polls:
        raise NotSupported(
            f"{d.manufacturer} {d.model} is not a Canon EOS body (VendorExtensionID 0x{d.vendor_extension_id:X}, "
            f"GetEvent 0x9116 {'listed' if polls else 'missing'}); try --vendor generic",
            vendor=CanonDriver.name,
        )


def file_entry(storage: int, entry: FolderEntry, folder: str, fmt: str) -> FileEntry:
    """A file of a GetObjectInfoEx listing as ``files`` shows it (its Unix time as ISO 8601, UTC)."""
    when = datetime.fromtimestamp(entry.time, UTC).strftime("%Y-%m-%dT%H:%M:%S") if entry.time else None
    return FileEntry(entry.handle, storage, entry.name, fmt, entry.size, when, folder)


DRIVER = CanonDriver

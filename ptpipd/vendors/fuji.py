"""Fujifilm X-series cameras over Wi-Fi (remote mode): property names and labels, and the session.

The transport already sent the 82-byte init request and read the ack (:data:`ptpipd.ip.fuji.FUJI`); the
session set-up (:mod:`ptpipd.vendors.fuji_setup`) negotiates by body: the X-T1 as the seed tool does, a later
body (X-T2 … X-T5, X-S10) with its versions, its Yes/No dialog and its events list, without reading any model
name. What the set-up learnt (:class:`~ptpipd.vendors.fuji_setup.BodyFacts`) decides the rest:

* **values** come from the 0xD212 list when the property is in it on the X-T1 (which answers
  GetDevicePropValue with 0 for some of them, FUJI.md §6.3), otherwise from GetDevicePropValue at the
  type's size; an answer with no data falls back to the last value an events list gave (issue 13);
* **descriptions** come from GetDevicePropDesc; a refusal or an answer with no data falls back to the
  0x902B entry, then to a read-only description of the value;
* **events**: a body whose events list tells changes is polled (``Capabilities.events = poll``): every
  change becomes DevicePropChanged (the service sends notify.property), a grown 0xD222 ObjectCount
  ObjectAdded (:mod:`ptpipd.vendors.fuji_events`); the X-T1 pushes its capture events only;
* **capture** is InitiateCapture, the events 0xC004 and 0xC001 (preview size at byte 20), GetCapturePreview
  0x9022 (the JPEG) and, shortly after, CaptureComplete 0x400D: the preview, on every body;
* **files**: a body with full-size files lists and downloads them (:mod:`ptpipd.vendors.fuji_files`); the
  X-T1's full image stays on the card.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, replace
from typing import Any

from ptpipd.errors import CameraRefused, CameraTimeout, NotSupported
from ptpipd.ip.fuji import FUJI, FujiInitFail
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropDesc,
    EventCode,
    NoForm,
    OperationCode,
    Value,
    decode_value,
    encode_value,
)
from ptpipd.vendors.base import (
    CameraConfig,
    Capabilities,
    LiveViewSource,
    NewObject,
    Ports,
    PropertySpec,
    PropertyTable,
    StateEntry,
    Transfer,
    labelled,
    no_property,
)
from ptpipd.vendors.fuji_codes import (
    BLOB_PROPERTIES,
    EVENT_NAMES,
    PROPERTY_LABELS,
    PROPERTY_TYPES,
    FujiEvent,
    FujiOperation,
    preview_size,
    state_value,
)
from ptpipd.vendors.fuji_files import FujiFiles
from ptpipd.vendors.fuji_legacy_labels import LABELS
from ptpipd.vendors.labels import PLAIN
from ptpipd.vendors.liveview import LiveView, StreamLiveView

log = logging.getLogger(__name__)

#: How long CaptureComplete may take after the preview has been read.
CAPTURE_COMPLETE_WAIT = 2.0


def _spec(code: int, name: str, title: str, *aliases: str) -> PropertySpec:
    return PropertySpec(code, name, title, PROPERTY_LABELS.get(code, PLAIN), aliases)


#: Fuji properties under the seed tool's unified names (FUJI.md §14) first, then the rest of §11.1.
FUJI_PROPERTIES = (
    _spec(0x5012, "delay", "CaptureDelay", "self-timer", "selftimer", "capture-delay"),
    _spec(0xD001, "effect", "FilmSimulation", "film", "film-simulation", "filmsimulation"),
    _spec(0x500D, "exposure", "ExposureTime", "shutterspeed", "shutter", "shutter-speed", "exposure-time"),
    _spec(0x5010, "exp-bias", "ExposureBiasCompensation", "exposure-bias", "ev", "exposure-compensation"),
    _spec(0x500C, "flashmode", "FlashMode", "flash", "flash-mode"),
    _spec(0xD17C, "focusmtr", "FocusPoint", "focus-point", "focuspoint", "focus-metering"),
    _spec(0xD02A, "iso", "ExposureIndex", "exposure-index", "sensitivity"),
    _spec(0x5005, "whitebalance", "WhiteBalance", "wb", "white-balance"),
    _spec(0xD019, "recmode", "RecMode", "rec-mode", "movie-mode"),
    _spec(0x5001, "battery", "BatteryLevel", "battery-level", "batterylevel"),
    _spec(0xD241, "imagesize", "ImageAspectRatio", "image-size", "aspect", "image-aspect"),
    _spec(0xD018, "quality", "ImageQuality", "image-quality", "image-format"),
    _spec(0x5007, "fnumber", "FNumber", "aperture", "f-number"),
    _spec(0x500A, "focusmode", "FocusMode", "focus-mode"),
    _spec(0x500E, "program", "ExposureProgramMode", "exposure-program", "mode", "shooting-mode"),
    _spec(0xD028, "commanddial", "CommandDialMode", "command-dial", "f-ss-control"),
    _spec(0xD240, "shutterspeed-fuji", "FujiShutterSpeed", "fuji-shutterspeed"),  # read-only: what hkr reads
    _spec(0xD229, "remaining", "CapturesRemaining", "captures-remaining", "shots-left"),
    _spec(0xD22A, "movie-remaining", "MovieRemainingTime", "movie-remaining-time"),
    _spec(0xD209, "focuslock", "FocusLock", "focus-lock"),
    _spec(0xD21B, "device-error", "DeviceError", "deviceerror"),
    _spec(0xD02B, "movie-iso", "MovieISO", "movieiso"),
    _spec(0xD242, "battery-fuji", "FujiBatteryLevel", "battery2"),
    _spec(0x5003, "ptp-imagesize", "ImageSize"),
    _spec(0xD174, "liveview-size", "LiveViewImageSize", "liveview-image-size"),
    _spec(0xD01D, "macro", "MacroMode"),
    _spec(0xD170, "zoom-position", "LensZoomPos", "lens-zoom"),
    _spec(0xD212, "state-list", "CurrentState"),
    _spec(0xD220, "d220", "Unknown_D220"),
    _spec(0xD222, "sensitivity-fine-tune", "SensitivityFineTune1"),
    _spec(0xD226, "d226", "Unknown_D226"),
    _spec(0xD227, "d227", "Unknown_D227"),
    _spec(0xD228, "version-blob", "DeviceVersionBlob"),
    _spec(0xD400, "d400", "Unknown_D400"),
    _spec(0xD401, "d401", "Unknown_D401"),
    _spec(0xD500, "geotag", "GeoTag", "geo"),
    _spec(0xD52F, "d52f", "Unknown_D52F"),
    _spec(0xDF00, "df00", "Unknown_DF00"),
    _spec(0xDF01, "init-sequence", "InitSequence", "app-mode"),
    _spec(0xDF21, "app-version-receive", "AppVersionReceive"),
    _spec(0xDF22, "app-version-browse", "AppVersionBrowse"),
    _spec(0xDF23, "df23", "Unknown_DF23"),
    _spec(0xDF24, "app-version", "AppVersion"),
    _spec(0xDF25, "df25", "Unknown_DF25"),
    _spec(0xDF31, "app-version-geo", "AppVersionGeo"),
)

INIT_FAIL_MESSAGES: dict[int, str] = {
    FujiInitFail.DeviceBusy: (
        "the camera refused this client name: choose 'change' on the camera, or use the name it knows "
        "(this client connected as {name!r}). If the camera shows 'not found', choose 'retry' and connect "
        "again (InitFail 0x2019)"
    ),
    FujiInitFail.InvalidParameter: (
        "the camera rejected the protocol version: it does not accept the Fuji Wi-Fi init request "
        "(InitFail 0x201D)"
    ),
}


class _CaptureWait:
    """The events of one capture: 0xC004, then 0xC001 with the preview size, later 0x400D."""

    def __init__(self, transaction_id: int) -> None:
        loop = asyncio.get_running_loop()
        self.transaction_id = transaction_id
        self.object_added = False
        self.preview: asyncio.Future[int] = loop.create_future()
        self.complete: asyncio.Future[None] = loop.create_future()

    def feed(self, event: Event) -> None:
        if (
            event.params
            and event.params[0] != self.transaction_id
            and event.code != EventCode.CaptureComplete
        ):
            log.debug(
                "event 0x%04X names transaction %d, the capture is %d",
                event.code,
                event.params[0],
                self.transaction_id,
            )
        if event.code == FujiEvent.ObjectAdded:
            self.object_added = True
        elif event.code == FujiEvent.PreviewAvailable and not self.preview.done():
            if not self.object_added:
                log.warning("PreviewAvailable arrived without ObjectAdded before it")
            self.preview.set_result(preview_size(event.params) or 0)
        elif event.code == EventCode.CaptureComplete and not self.complete.done():
            self.complete.set_result(None)


class FujiDriver(FujiFiles):
    """A Fujifilm camera in Wi-Fi remote mode: the X-T1 (firmware 5.51) and the bodies after it."""

    name = "fuji"
    dialect = FUJI
    default_ports = Ports(command=55740, event=55741, stream=55742)
    properties = PropertyTable(FUJI_PROPERTIES)
    capabilities = Capabilities(
        liveview=LiveViewSource.STREAM,
        state_list=True,
        pairing=("press OK on the camera to let {name!r} connect (first connection only)",),
    )
    event_names = EVENT_NAMES
    legacy_labels = LABELS

    _capture: _CaptureWait | None = None

    @classmethod
    def explain_init_failure(cls, reason: int, config: CameraConfig) -> str | None:
        """What to tell the user when the camera answers the init request with InitFail ``reason``."""
        template = INIT_FAIL_MESSAGES.get(reason)
        return None if template is None else template.format(name=config.friendly_name)

    def _datatype(self, code: int) -> DataType:
        desc = self._descs.get(code)
        if desc is not None:
            return desc.datatype
        return PROPERTY_TYPES.get(code, DataType.UINT32)

    # -------------------------------------------------------------- session

    async def keepalive(self) -> None:
        """GetDevicePropValue of the battery level: one small answer, whatever its response code."""
        await self.link.transaction(OperationCode.GetDevicePropValue, (0x5001,))

    async def poll_events(self) -> list[Event]:
        """Reads the events list (a body whose list tells changes); returns what changed since."""
        if self._changes:
            await self.read_list()
        return self.events.take()

    def supported_properties(self) -> set[int] | None:
        """The codes this camera has: the Fuji table's, those its DeviceInfo lists (when it fills one; the
        X-T4 does not), and those of the 0x902B and 0xD212 lists it answered. Anything else is unknown
        rather than sent to the camera."""
        codes = {spec.code for spec in self.properties.specs}
        if self.device is not None:
            codes.update(self.device.device_properties_supported)
        codes.update(desc.code for desc in self._list)
        codes.update(self.events.values)
        return codes

    async def device_info(self) -> dict[str, Any]:
        summary = self.summary or await self._summary()
        info: dict[str, Any] = {
            **asdict(summary),
            "vendor": self.name,
            "device_info": "camera" if self.device is not None else "empty (synthesised)",
            "properties": [f"0x{d.code:04x}" for d in self._list],
            "body": self.body.describe(),
        }
        d = self.device
        if d is not None:
            info.update(
                vendor_extension_id=d.vendor_extension_id,
                vendor_extension_desc=d.vendor_extension_desc,
                operations=[f"0x{c:04x}" for c in d.operations_supported],
                events=[self.event_name(c) for c in d.events_supported],
                supported_properties=[f"0x{c:04x}" for c in d.device_properties_supported],
            )
        return info

    # -------------------------------------------------------------- descriptions

    async def describe_all(self) -> list[DevicePropDesc]:
        return list(await self._load_list())

    async def describe(self, code: int) -> DevicePropDesc:
        """GetDevicePropDesc; when the camera refuses it or answers without data (FUJI.md §6.3) the cached
        0x902B entry, else a read-only description of the property's value (GetDevicePropValue, or the
        events list), whose refusal is then the camera's answer."""
        try:
            data = (await self.call(OperationCode.GetDevicePropDesc, (code,))).data
        except CameraRefused as exc:
            log.debug("0x%04X: %s; describing it from what else the camera says", code, exc)
            data = None
        if data:
            desc = DevicePropDesc.decode(data)
            self._descs[code] = desc
            return desc
        cached = self._descs.get(code)
        if cached is not None:
            return cached
        if code in BLOB_PROPERTIES:  # opaque bytes (FUJI.md §11.4): no value to describe either
            raise no_property(
                OperationCode.GetDevicePropDesc, f"the camera cannot describe property 0x{code:04X}"
            )
        datatype = PROPERTY_TYPES.get(code, DataType.UINT32)
        value = await self.get_value(code, datatype)
        return DevicePropDesc(code, datatype, 0, value, value, NoForm())

    # -------------------------------------------------------------- values

    async def get_value(self, code: int, datatype: DataType) -> Value:
        if not self._changes and (not self._listed or code in self.events.values):
            listed = await self.read_list()
            word = listed.value(code)
            if word is not None:
                return state_value(datatype, word)
        data = (await self.call(OperationCode.GetDevicePropValue, (code,))).data or b""
        if not data:
            return await self._listed_value(code, datatype)
        size = datatype.size
        if size is not None and len(data) > size:
            log.debug(
                "0x%04X: %d bytes for a %s value, using the first %d", code, len(data), datatype.label, size
            )
            data = data[:size]
        value, end = decode_value(datatype, data)
        if end != len(data):
            raise DecodeError(f"GetDevicePropValue 0x{code:04X}: {len(data) - end} bytes after the value")
        return value

    async def _listed_value(self, code: int, datatype: DataType) -> Value:
        """The value the events lists gave, for a camera that answers GetDevicePropValue with no data."""
        if self._changes:
            await self.read_list()  # what changed since the last poll
        word = self.events.values.get(code)
        if word is None:
            raise no_property(
                OperationCode.GetDevicePropValue,
                f"the camera answered property 0x{code:04X} with no value, and its events list has none",
            )
        return state_value(datatype, word)

    async def set_value(self, code: int, datatype: DataType, value: Value) -> None:
        await self.call(OperationCode.SetDevicePropValue, (code,), data_out=encode_value(datatype, value))
        cached = self._descs.get(code)
        if cached is not None:
            self._descs[code] = replace(cached, current=value)

    async def state(self) -> list[StateEntry]:
        """The 0xD212 list with names and labels (INT16 values sign-extended from the low half); on a body
        whose list tells changes, the state the lists have told so far, brought up to date."""
        listed = await self.read_list()
        items = self.events.values.items() if self._changes else listed.latest().items()
        out = []
        for code, word in items:
            spec = self.properties.spec_for(code)
            datatype = self._datatype(code)
            value = state_value(datatype, word)
            label = labelled(datatype, value, spec.labels).label
            out.append(StateEntry(code, spec.title, spec.name, value, label))
        return out

    # -------------------------------------------------------------- capture and live view

    def handle_event(self, event: Event) -> None:
        if self._capture is not None:
            self._capture.feed(event)

    def new_object(self, event: Event) -> NewObject | None:
        """The shutter pressed on the body in remote mode: a preview waits for 0x9022 (and the body takes no
        other picture until it is read); during our own capture it is the capture's. A later body's events
        list tells a new photo on the card as ObjectAdded with its handle: the full-size file."""
        if event.code != FujiEvent.PreviewAvailable:
            return super().new_object(event)
        if self._capture is not None:
            return None
        return NewObject(None, preview_size(event.params))

    async def fetch_new(self, obj: NewObject, sink: DataSink) -> Transfer:
        """The waiting preview (GetCapturePreview 0x9022): what the X-T1 hands over in remote mode."""
        reply = await self.call(FujiOperation.GetCapturePreview, sink=sink)
        return Transfer("jpeg", reply.data_length, None, None)

    async def capture(self, sink: DataSink) -> Transfer:
        wait = _CaptureWait(self.link.next_transaction_id)
        self._capture = wait
        limit = self.config.capture_timeout
        try:
            await self.call(OperationCode.InitiateCapture, (0, 0))
            try:
                expected = await asyncio.wait_for(asyncio.shield(wait.preview), limit)
            except TimeoutError:
                raise CameraTimeout(
                    f"no PreviewAvailable event within {limit:g} s after InitiateCapture (a camera whose last "
                    "preview was never read ignores new captures)",
                    timeout_s=limit,
                    opcode=OperationCode.InitiateCapture,
                ) from None
            reply = await self.call(FujiOperation.GetCapturePreview, sink=sink)
            if reply.data_length != expected:
                log.warning("preview of %d bytes, the camera announced %d", reply.data_length, expected)
            try:
                await asyncio.wait_for(asyncio.shield(wait.complete), CAPTURE_COMPLETE_WAIT)
            except TimeoutError:
                log.info("no CaptureComplete within %g s after the preview", CAPTURE_COMPLETE_WAIT)
        finally:
            self._capture = None
        return Transfer("jpeg", reply.data_length, None, None)

    async def open_liveview(self) -> LiveView:
        """Frames from the live-view port (FUJI.md §13); the camera streams as soon as it is connected."""
        if self.ports.stream is None:
            raise NotSupported("no live-view port is configured", vendor=self.name)
        return await StreamLiveView.open(self.link, self.ports.stream)


DRIVER = FujiDriver

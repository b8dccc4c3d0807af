"""Fujifilm X-series cameras over Wi-Fi (remote mode): property names and labels, and the session.

The transport already sent the 82-byte init request and read the ack (:data:`ptpipd.ip.fuji.FUJI`). The
session set-up then follows FUJI.md §4::

    OpenSession(1)                          0x201E SessionAlreadyOpen counts as success
    SetDevicePropValue 0xDF01 = u16 5       answered only when the user has pressed OK (first pairing)
    GetDevicePropValue 0xDF24 -> u32 v      the camera's minimum app version (X-T1: 0x00020001)
    SetDevicePropValue 0xDF24 = v           echoed back, or the camera asks to "upgrade the app"
    0x902B                                  the DevicePropDesc list: info, and describes are complete after it
    InitiateOpenCapture(0, 0)               hands control to us; the camera opens its event port
    connect the event port                  nothing is sent on it
    GetDeviceInfo                           may be empty (X-T4); then FUJIFILM and the ack's name are used

Values come from the 0xD212 state list when the property is in it (the X-T1 answers GetDevicePropValue
with 0 for some of them, FUJI.md §6.3), otherwise from GetDevicePropValue at the type's size. A capture is
InitiateCapture, the events 0xC004 and 0xC001 (preview size at byte 20), GetCapturePreview 0x9022 (the
JPEG) and, shortly after, CaptureComplete 0x400D; the full image stays on the card.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from ptpipd.errors import CameraRefused, CameraTimeout, NotSupported, PairingFailed
from ptpipd.ip.fuji import FUJI
from ptpipd.ip.liveview import LiveViewReader
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import DataSink, Initiator
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    EventCode,
    NoForm,
    OperationCode,
    ResponseCode,
    Value,
    code_name,
    decode_value,
    encode_value,
)
from ptpipd.vendors.base import (
    CameraConfig,
    Capabilities,
    DeviceSummary,
    LiveViewSource,
    Ports,
    PropertySpec,
    PropertyTable,
    StateEntry,
    Transfer,
    VendorDriver,
    labelled,
)
from ptpipd.vendors.fuji_codes import (
    EVENT_NAMES,
    INIT_SEQUENCE_REMOTE,
    PROPERTY_LABELS,
    PROPERTY_TYPES,
    FujiEvent,
    FujiOperation,
    FujiProperty,
    StateItem,
    decode_state_list,
    preview_size,
    split_desc_list,
    state_value,
)
from ptpipd.vendors.labels import PLAIN
from ptpipd.vendors.liveview import LiveView, StreamLiveView

log = logging.getLogger(__name__)

SESSION_ID = 1
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
    ResponseCode.DeviceBusy: (
        "the camera refused this client name: choose 'change' on the camera, or use the name it knows "
        "(this client connected as {name!r}). If the camera shows 'not found', choose 'retry' and connect "
        "again (InitFail 0x2019)"
    ),
    ResponseCode.InvalidParameter: (
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


class FujiDriver(VendorDriver):
    """A Fujifilm camera in Wi-Fi remote mode (reference: X-T1 firmware 5.51)."""

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
    #: After this long without an answer to 0xDF01 the camera is taken to show its pairing prompt.
    pairing_hint_delay: ClassVar[float] = 0.5

    device: DeviceInfo | None = None
    summary: DeviceSummary | None = None
    _capture: _CaptureWait | None = None

    def __init__(
        self,
        link: Initiator,
        config: CameraConfig,
        ports: Ports,
        on_pairing: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(link, config, ports, on_pairing)
        self._descs: dict[int, DevicePropDesc] = {}
        self._list: list[DevicePropDesc] = []
        self._state_codes: set[int] | None = None

    @classmethod
    def explain_init_failure(cls, reason: int, config: CameraConfig) -> str | None:
        """What to tell the user when the camera answers the init request with InitFail ``reason``."""
        template = INIT_FAIL_MESSAGES.get(reason)
        return None if template is None else template.format(name=config.friendly_name)

    # -------------------------------------------------------------- helpers

    def _datatype(self, code: int) -> DataType:
        desc = self._descs.get(code)
        if desc is not None:
            return desc.datatype
        return PROPERTY_TYPES.get(code, DataType.UINT32)

    # -------------------------------------------------------------- session

    async def open(self) -> DeviceSummary:
        reply = await self.link.transaction(OperationCode.OpenSession, (SESSION_ID,))
        if reply.code not in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
            raise CameraRefused(reply.code, code_name(ResponseCode, reply.code), OperationCode.OpenSession)
        await self._enter_remote_mode()
        version = await self._read_u32(FujiProperty.AppVersion)
        await self.call(
            OperationCode.SetDevicePropValue,
            (FujiProperty.AppVersion,),
            data_out=encode_value(DataType.UINT32, version),
        )
        await self._load_list()
        await self.call(OperationCode.InitiateOpenCapture, (0, 0))
        await self.link.open_events(self.ports.event)
        self.summary = await self._summary()
        return self.summary

    async def _enter_remote_mode(self) -> None:
        """0xDF01 = 5. A new client name makes the camera hold the answer until the user presses OK."""
        transaction = asyncio.ensure_future(
            self.link.transaction(
                OperationCode.SetDevicePropValue,
                (FujiProperty.InitSequence,),
                data_out=encode_value(DataType.UINT16, INIT_SEQUENCE_REMOTE),
                timeout=self.config.pairing_timeout,
            )
        )
        try:
            done, _ = await asyncio.wait({transaction}, timeout=self.pairing_hint_delay)
            if not done:
                log.info("waiting for the pairing to be confirmed on the camera")
                self.pairing()
            reply = await transaction
        except asyncio.CancelledError:
            transaction.cancel()
            raise
        if reply.code != ResponseCode.OK:
            raise PairingFailed(
                f"the camera did not enter remote mode for {self.config.friendly_name!r}: "
                f"{code_name(ResponseCode, reply.code)} (0x{reply.code:04X}); confirm the connection on the camera"
            )

    async def _read_u32(self, code: int) -> int:
        reply = await self.call(OperationCode.GetDevicePropValue, (code,))
        data = reply.data or b""
        if len(data) < 4:
            raise DecodeError(f"GetDevicePropValue 0x{code:04X}: {len(data)} bytes, expected a UINT32")
        value, _ = decode_value(DataType.UINT32, data[:4])
        assert isinstance(value, int)
        return value

    async def _summary(self) -> DeviceSummary:
        """GetDeviceInfo when the camera fills it; else FUJIFILM and the name from its InitCommandAck."""
        reply = await self.link.transaction(OperationCode.GetDeviceInfo)
        if reply.code == ResponseCode.OK and reply.data:
            try:
                self.device = DeviceInfo.decode(reply.data)
            except DecodeError as exc:
                log.info("the camera's DeviceInfo is not standard, ignoring it: %s", exc)
        d = self.device
        if d is not None:
            return DeviceSummary(d.manufacturer or "FUJIFILM", d.model, d.serial_number, d.device_version)
        ack = self.link.ack
        model = ack.name if ack is not None and ack.name else "unknown"
        return DeviceSummary("FUJIFILM", model, "", "")

    async def close(self) -> None:
        await self.link.transaction(OperationCode.CloseSession, timeout=2.0)

    async def keepalive(self) -> None:
        """GetDevicePropValue of the battery level: one small answer, whatever its response code."""
        await self.link.transaction(OperationCode.GetDevicePropValue, (0x5001,))

    def supported_properties(self) -> set[int] | None:
        """The codes this camera has: the Fuji table's, those its DeviceInfo lists (when it fills one; the
        X-T4 does not), and those of the 0x902B and 0xD212 lists it answered. Anything else is unknown
        rather than sent to the camera."""
        codes = {spec.code for spec in self.properties.specs}
        if self.device is not None:
            codes.update(self.device.device_properties_supported)
        codes.update(desc.code for desc in self._list)
        if self._state_codes is not None:
            codes.update(self._state_codes)
        return codes

    # -------------------------------------------------------------- descriptions

    async def _load_list(self) -> list[DevicePropDesc]:
        """Runs 0x902B and refreshes the description cache from it (undecodable entries are skipped)."""
        reply = await self.call(FujiOperation.GetDeviceInfo)
        descs = []
        for index, raw in enumerate(split_desc_list(reply.data or b"")):
            try:
                descs.append(DevicePropDesc.decode(raw))
            except DecodeError as exc:
                log.info("0x902B entry %d is not a standard DevicePropDesc: %s", index, exc)
        self._list = descs
        self._descs.update((d.code, d) for d in descs)
        return descs

    async def device_info(self) -> dict[str, Any]:
        summary = self.summary or await self._summary()
        info: dict[str, Any] = {
            "manufacturer": summary.manufacturer,
            "model": summary.model,
            "version": summary.version,
            "serial": summary.serial,
            "vendor": self.name,
            "device_info": "camera" if self.device is not None else "empty (synthesised)",
            "properties": [f"0x{d.code:04x}" for d in self._list],
        }
        d = self.device
        if d is not None:
            info.update(
                vendor_extension_id=d.vendor_extension_id,
                vendor_extension_desc=d.vendor_extension_desc,
                operations=[f"0x{c:04x}" for c in d.operations_supported],
                events=[self.event_names.get(c, code_name(EventCode, c)) for c in d.events_supported],
                supported_properties=[f"0x{c:04x}" for c in d.device_properties_supported],
            )
        return info

    async def describe_all(self) -> list[DevicePropDesc]:
        return list(await self._load_list())

    async def describe(self, code: int) -> DevicePropDesc:
        """GetDevicePropDesc; when the camera answers without data (FUJI.md §6.3) the cached 0x902B entry,
        else, for a property of the 0xD212 list or of known type, a read-only description of its value."""
        reply = await self.call(OperationCode.GetDevicePropDesc, (code,))
        if reply.data:
            desc = DevicePropDesc.decode(reply.data)
            self._descs[code] = desc
            return desc
        cached = self._descs.get(code)
        if cached is not None:
            return cached
        if code in PROPERTY_TYPES or (self._state_codes is not None and code in self._state_codes):
            datatype = PROPERTY_TYPES.get(code, DataType.UINT32)
            value = await self.get_value(code, datatype)
            return DevicePropDesc(code, datatype, 0, value, value, NoForm())
        raise CameraRefused(
            ResponseCode.DevicePropNotSupported,
            "DevicePropNotSupported",
            OperationCode.GetDevicePropDesc,
            f"the camera cannot describe property 0x{code:04X}",
        )

    # -------------------------------------------------------------- values

    async def _read_state(self) -> list[StateItem]:
        reply = await self.call(OperationCode.GetDevicePropValue, (FujiProperty.CurrentState,))
        items = decode_state_list(reply.data or b"")
        self._state_codes = {item.code for item in items}
        return items

    async def get_value(self, code: int, datatype: DataType) -> Value:
        if self._state_codes is None or code in self._state_codes:
            for item in await self._read_state():
                if item.code == code:
                    return state_value(datatype, item.value)
        reply = await self.call(OperationCode.GetDevicePropValue, (code,))
        data = reply.data or b""
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

    async def set_value(self, code: int, datatype: DataType, value: Value) -> None:
        await self.call(OperationCode.SetDevicePropValue, (code,), data_out=encode_value(datatype, value))
        cached = self._descs.get(code)
        if cached is not None:
            self._descs[code] = DevicePropDesc(
                cached.code, cached.datatype, cached.get_set, cached.factory_default, value, cached.form
            )

    async def state(self) -> list[StateEntry]:
        """The 0xD212 list with names and labels (INT16 values sign-extended from the low half)."""
        out = []
        for item in await self._read_state():
            spec = self.properties.spec_for(item.code)
            datatype = self._datatype(item.code)
            value = state_value(datatype, item.value)
            label = labelled(datatype, value, spec.labels).label
            out.append(StateEntry(item.code, spec.title, spec.name, value, label))
        return out

    # -------------------------------------------------------------- capture and live view

    def handle_event(self, event: Event) -> None:
        if self._capture is not None:
            self._capture.feed(event)

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
        return await StreamLiveView.open(self.link, self.ports.stream, LiveViewReader())


DRIVER = FujiDriver

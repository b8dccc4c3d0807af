"""Standard PTP/IP cameras (CIPA DC-X005): names and labels for the standard properties, and the session.

The session follows the standard: InitCommand, InitEvent, OpenSession (TID 0), GetDeviceInfo. Capture is
InitiateCapture, then ObjectAdded and CaptureComplete on the event connection, then GetObjectInfo and
GetObject of the new image (PTP.md §5.1). Events may arrive before the InitiateCapture response, so the
wait is registered before the request goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from ptpipd.errors import CameraRefused, CameraTimeout, NotSupported
from ptpipd.ip.generic import GENERIC
from ptpipd.ip.packets import Event
from ptpipd.ip.transport import DataSink, Reply
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    EventCode,
    ObjectFormat,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    Value,
    code_name,
    decode_uint32_array,
    decode_value,
    encode_value,
)
from ptpipd.vendors.base import (
    Capabilities,
    DeviceSummary,
    FileEntry,
    Ports,
    PropertySpec,
    PropertyTable,
    Transfer,
    VendorDriver,
)
from ptpipd.vendors.labels import (
    DateTime,
    Enum,
    ExposureBias,
    ExposureTime,
    FNumber,
    Iso,
    Milliseconds,
    Plain,
    Scaled,
)

log = logging.getLogger(__name__)

SESSION_ID = 1
ALL = 0xFFFF_FFFF

WHITE_BALANCE = Enum(
    {1: "manual", 2: "auto", 3: "one-push", 4: "daylight", 5: "fluorescent", 6: "tungsten", 7: "flash"},
    {"automatic": 2, "one-push-automatic": 3, "incandescent": 6},
)
METERING = Enum({1: "average", 2: "center-weighted", 3: "multi-spot", 4: "center-spot"})
FLASH = Enum({1: "auto", 2: "off", 3: "fill", 4: "red-eye-auto", 5: "red-eye-fill", 6: "external-sync"})
PROGRAM = Enum(
    {
        1: "manual",
        2: "auto",
        3: "aperture-priority",
        4: "shutter-priority",
        5: "creative",
        6: "action",
        7: "portrait",
    },
    {"m": 1, "p": 2, "a": 3, "av": 3, "s": 4, "tv": 4},
)
EFFECT = Enum({1: "standard", 2: "b&w", 3: "sepia"}, {"bw": 2, "black-white": 2, "monochrome": 2})

#: The standard properties (PTP.md §5.4, §5.6) under the seed tool's unified names and a few more.
STANDARD_PROPERTIES = (
    PropertySpec(0x5001, "battery", "BatteryLevel", Plain("%"), ("batterylevel", "battery-level")),
    PropertySpec(0x5002, "functional-mode", "FunctionalMode", Enum({0: "standard", 1: "sleep"})),
    PropertySpec(0x5003, "imagesize", "ImageSize", aliases=("image-size",)),
    PropertySpec(0x5004, "compression", "CompressionSetting"),
    PropertySpec(0x5005, "whitebalance", "WhiteBalance", WHITE_BALANCE, ("wb", "white-balance")),
    PropertySpec(0x5006, "rgbgain", "RGBGain"),
    PropertySpec(0x5007, "fnumber", "FNumber", FNumber(), ("aperture", "f-number")),
    PropertySpec(0x5008, "focallength", "FocalLength", Scaled(100, "mm"), ("focal-length",)),
    PropertySpec(
        0x5009, "focusdistance", "FocusDistance", Scaled(1, "mm", {0xFFFF: "infinity"}), ("focus-distance",)
    ),
    PropertySpec(
        0x500A, "focusmode", "FocusMode", Enum({1: "manual", 2: "auto", 3: "macro"}), ("focus-mode",)
    ),
    PropertySpec(0x500B, "metering", "ExposureMeteringMode", METERING, ("metering-mode",)),
    PropertySpec(0x500C, "flashmode", "FlashMode", FLASH, ("flash", "flash-mode")),
    PropertySpec(
        0x500D,
        "exposure",
        "ExposureTime",
        ExposureTime(),
        ("shutterspeed", "shutter", "shutter-speed", "exposure-time"),
    ),
    PropertySpec(0x500E, "program", "ExposureProgramMode", PROGRAM, ("exposure-program", "mode")),
    PropertySpec(0x500F, "iso", "ExposureIndex", Iso({0xFFFF: "auto"}), ("exposure-index",)),
    PropertySpec(0x5010, "exp-bias", "ExposureBiasCompensation", ExposureBias(), ("exposure-bias", "ev")),
    PropertySpec(0x5011, "datetime", "DateTime", DateTime(), ("date-time",)),
    PropertySpec(0x5012, "delay", "CaptureDelay", Milliseconds(), ("capture-delay", "self-timer")),
    PropertySpec(
        0x5013,
        "capturemode",
        "StillCaptureMode",
        Enum({1: "normal", 2: "burst", 3: "timelapse"}),
        ("still-capture-mode", "drive"),
    ),
    PropertySpec(0x5014, "contrast", "Contrast"),
    PropertySpec(0x5015, "sharpness", "Sharpness"),
    PropertySpec(0x5016, "zoom", "DigitalZoom", Scaled(10, "x"), ("digital-zoom",)),
    PropertySpec(0x5017, "effect", "EffectMode", EFFECT, ("effect-mode",)),
    PropertySpec(0x5018, "burst-number", "BurstNumber"),
    PropertySpec(0x5019, "burst-interval", "BurstInterval", Plain("ms")),
    PropertySpec(0x501A, "timelapse-number", "TimelapseNumber"),
    PropertySpec(0x501B, "timelapse-interval", "TimelapseInterval", Plain("ms")),
    PropertySpec(
        0x501C,
        "focusmtr",
        "FocusMeteringMode",
        Enum({1: "center-spot", 2: "multi-spot"}),
        ("focus-metering",),
    ),
    PropertySpec(0x501D, "upload-url", "UploadURL"),
    PropertySpec(0x501E, "artist", "Artist"),
    PropertySpec(0x501F, "copyright", "CopyrightInfo"),
)

FORMAT_NAMES = {
    ObjectFormat.EXIF_JPEG: "jpeg",
    ObjectFormat.JFIF: "jpeg",
    ObjectFormat.PNG: "png",
    ObjectFormat.TIFF: "tiff",
    ObjectFormat.TIFF_EP: "tiff",
    ObjectFormat.DNG: "dng",
    ObjectFormat.BMP: "bmp",
    ObjectFormat.GIF: "gif",
    ObjectFormat.Association: "folder",
    ObjectFormat.Undefined: "data",
    0xB103: "raf",
}


def format_name(code: int) -> str:
    """A short lowercase name of an object format (``jpeg``, ``raf``, ``folder``, …)."""
    return FORMAT_NAMES.get(code) or code_name(ObjectFormat, code).lower()


def ptp_date(text: str) -> str | None:
    """A PTP DateTime (``20160102T150136``) as ISO 8601 (``2016-01-02T15:01:36``); None when empty."""
    if len(text) < 15 or text[8] != "T":
        return text or None
    d, t = text[:8], text[9:15]
    return f"{d[:4]}-{d[4:6]}-{d[6:]}T{t[:2]}:{t[2:4]}:{t[4:6]}{text[15:]}"


def object_entry(handle: int, storage: int, info: ObjectInfo, fmt: str, folder: str = "") -> FileEntry:
    """An object of ``storage`` as ``files`` lists it, from its ObjectInfo (``fmt``: its format's name)."""
    when = ptp_date(info.capture_date)
    return FileEntry(handle, storage, info.filename, fmt, info.compressed_size, when, folder)


class _CaptureWait:
    """Collects the events of one InitiateCapture."""

    def __init__(self) -> None:
        self.added: list[int] = []
        self.complete = asyncio.get_running_loop().create_future()

    def feed(self, event: Event) -> None:
        if event.code == EventCode.ObjectAdded and event.params:
            self.added.append(event.params[0])
        elif event.code == EventCode.CaptureComplete and not self.complete.done():
            self.complete.set_result(None)


class GenericDriver(VendorDriver):
    """A standard PTP/IP camera."""

    name = "generic"
    dialect = GENERIC
    default_ports = Ports(command=15740, event=15740)
    properties = PropertyTable(STANDARD_PROPERTIES)
    capabilities = Capabilities(files=True, partial_objects=True, delete=True)

    #: Names of object formats a vendor's bodies use beyond :data:`FORMAT_NAMES` (0xB103 is a Canon CR2)
    object_formats: ClassVar[Mapping[int, str]] = {}

    device: DeviceInfo | None = None
    _capture: _CaptureWait | None = None

    # -------------------------------------------------------------- helpers

    def format_name(self, code: int) -> str:
        """The short name of an object format on this vendor's bodies."""
        return self.object_formats.get(code) or format_name(code)

    @staticmethod
    def _data(reply: Reply, what: str) -> bytes:
        if reply.data is None:
            raise DecodeError(f"{what}: the camera sent no data")
        return reply.data

    # -------------------------------------------------------------- session

    async def open(self) -> DeviceSummary:
        await self.link.open_events(self.ports.event)
        reply = await self.link.transaction(OperationCode.OpenSession, (SESSION_ID,))
        if reply.code not in (ResponseCode.OK, ResponseCode.SessionAlreadyOpen):
            raise self.refused(reply.code, OperationCode.OpenSession)
        self.device = DeviceInfo.decode(
            self._data(await self.call(OperationCode.GetDeviceInfo), "GetDeviceInfo")
        )
        d = self.device
        return DeviceSummary(d.manufacturer, d.model, d.serial_number, d.device_version)

    @property
    def ops(self) -> frozenset[int]:
        """The body's OperationsSupported (none before GetDeviceInfo)."""
        return frozenset(self.device.operations_supported if self.device is not None else ())

    def supported_properties(self) -> set[int] | None:
        return set(self.device.device_properties_supported) if self.device is not None else None

    def body_capabilities(self) -> Capabilities:
        """The declared capabilities; ``delete`` and ``partial_objects`` only where the body lists
        DeleteObject and GetPartialObject (a body without the latter is read whole, with GetObject)."""
        caps = self.capabilities
        if self.device is None:
            return caps
        listed = self.device.operations_supported
        return replace(
            caps,
            delete=caps.delete and OperationCode.DeleteObject in listed,
            partial_objects=caps.partial_objects and OperationCode.GetPartialObject in listed,
        )

    async def device_info(self) -> dict[str, Any]:
        data = self._data(await self.call(OperationCode.GetDeviceInfo), "GetDeviceInfo")
        self.device = d = DeviceInfo.decode(data)
        return {
            "manufacturer": d.manufacturer,
            "model": d.model,
            "version": d.device_version,
            "serial": d.serial_number,
            "standard_version": d.standard_version,
            "vendor_extension_id": d.vendor_extension_id,
            "vendor_extension_version": d.vendor_extension_version,
            "vendor_extension_desc": d.vendor_extension_desc,
            "functional_mode": d.functional_mode,
            "operations": [self.operation_name(c) for c in d.operations_supported],
            "events": [self.event_name(c) for c in d.events_supported],
            "properties": [f"0x{c:04x}" for c in d.device_properties_supported],
            "capture_formats": [self.format_name(c) for c in d.capture_formats],
            "image_formats": [self.format_name(c) for c in d.image_formats],
        }

    async def describe_all(self) -> list[DevicePropDesc]:
        codes = self.supported_properties() or set()
        out = []
        for code in sorted(codes):
            try:
                out.append(await self.describe(code))
            except (CameraRefused, DecodeError) as exc:
                log.info("skipping property 0x%04X in info: %s", code, exc)
        return out

    async def describe(self, code: int) -> DevicePropDesc:
        reply = await self.call(OperationCode.GetDevicePropDesc, (code,))
        return DevicePropDesc.decode(self._data(reply, f"GetDevicePropDesc 0x{code:04X}"))

    async def get_value(self, code: int, datatype: DataType) -> Value:
        reply = await self.call(OperationCode.GetDevicePropValue, (code,))
        data = self._data(reply, f"GetDevicePropValue 0x{code:04X}")
        value, end = decode_value(datatype, data)
        if end != len(data):
            raise DecodeError(
                f"GetDevicePropValue 0x{code:04X}: {len(data) - end} bytes after the {datatype.label} value"
            )
        return value

    async def set_value(self, code: int, datatype: DataType, value: Value) -> None:
        await self.call(OperationCode.SetDevicePropValue, (code,), data_out=encode_value(datatype, value))

    async def keepalive(self) -> None:
        await self.link.probe()

    # -------------------------------------------------------------- capture and files

    def handle_event(self, event: Event) -> None:
        if self._capture is not None:
            self._capture.feed(event)

    async def capture(self, sink: DataSink) -> Transfer:
        wait = _CaptureWait()
        self._capture = wait
        try:
            await self.call(OperationCode.InitiateCapture, (0, 0))
            limit = self.config.capture_timeout
            try:
                await self.wait_event(wait.complete, limit)
            except TimeoutError:
                if not wait.added:
                    raise CameraTimeout(
                        f"no CaptureComplete within {limit:g} s after InitiateCapture",
                        timeout_s=limit,
                        opcode=OperationCode.InitiateCapture,
                    ) from None
                log.warning("no CaptureComplete within %g s; using the objects already added", limit)
        finally:
            self._capture = None
        if not wait.added:
            raise CameraRefused(
                ResponseCode.GeneralError,
                "NoObjectAdded",
                OperationCode.InitiateCapture,
                "the camera completed the capture but added no object",
            )
        infos = [(h, await self.object_info(h)) for h in wait.added]
        images = [(h, i) for h, i in infos if i.object_format in (ObjectFormat.EXIF_JPEG, ObjectFormat.JFIF)]
        handle, info = (images or infos)[0]
        return await self._fetch(handle, info, sink)

    async def _fetch(self, handle: int, info: ObjectInfo, sink: DataSink) -> Transfer:
        reply = await self.call(OperationCode.GetObject, (handle,), sink=sink)
        listed, sent = info.compressed_size, reply.data_length
        # GetObject has no length to hold the camera to (a listed size may be stale or a placeholder, and
        # 0xFFFFFFFF stands for 4 GiB or more): what it sent is kept, and a difference is said
        if sent != listed and listed != ALL:
            log.warning(
                "object %d (%s): the camera listed %d bytes but sent %d (kept as sent; an HTTP download "
                "serves the listed size)",
                handle,
                info.filename,
                listed,
                sent,
            )
        return Transfer(self.format_name(info.object_format), sent, handle, info.filename)

    async def download(self, handle: int, sink: DataSink) -> Transfer:
        info = await self.object_info(handle)
        if info.object_format == ObjectFormat.Association:
            raise NotSupported(
                f"object {handle} ({info.filename}) is a folder; download the files in it", vendor=self.name
            )
        return await self._fetch(handle, info, sink)

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """GetPartialObject (PTP.md §5.3): at most ``length`` bytes from ``offset``. The camera layer asks only
        where the body lists it (``partial_objects`` of :meth:`body_capabilities`)."""
        reply = await self.call(
            OperationCode.GetPartialObject, (handle, offset, length), sink=sink, max_data=length
        )
        return reply.data_length

    async def file_entry(self, handle: int) -> FileEntry:
        """GetObjectInfo of one object, as ``files`` lists it (without its folder)."""
        info = await self.object_info(handle)
        return object_entry(handle, info.storage_id, info, self.format_name(info.object_format))

    async def delete_object(self, handle: int) -> None:
        """DeleteObject (PTP.md §5.1) of one object, where the camera lists the operation."""
        if self.device is not None and OperationCode.DeleteObject not in self.device.operations_supported:
            raise self.unsupported("DeleteObject on this camera")
        await self.call(OperationCode.DeleteObject, (handle, 0))

    async def files(self) -> list[FileEntry]:
        storages, _ = decode_uint32_array(
            self._data(await self.call(OperationCode.GetStorageIDs), "GetStorageIDs")
        )
        entries: list[FileEntry] = []
        for storage in storages:
            if storage & 0xFFFF == 0:
                continue  # an empty slot: physical store without logical store (PTP.md §3.3)
            reply = await self.call(OperationCode.GetObjectHandles, (storage, 0, 0))
            handles, _ = decode_uint32_array(self._data(reply, "GetObjectHandles"))
            infos = await self.object_infos(handles)  # other clients' requests run between two
            for handle, info in infos.items():
                if info.object_format == ObjectFormat.Association:
                    continue
                fmt, folder = self.format_name(info.object_format), _folder_path(info.parent_object, infos)
                entries.append(object_entry(handle, storage, info, fmt, folder))
        return entries


def _folder_path(parent: int, infos: dict[int, ObjectInfo]) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    while parent not in (0, ALL) and parent in infos and parent not in seen:
        seen.add(parent)
        parts.append(infos[parent].filename)
        parent = infos[parent].parent_object
    return "/".join(reversed(parts))


DRIVER = GenericDriver

"""Nikon DSLR and Z bodies over Wi-Fi: standard PTP/IP plus Nikon's polled events, capture, live view and
host registration (facts and sources: ``tests/data/nikon/NIKON.md``; codes and records:
:mod:`ptpipd.vendors.nikon_codes`).

Session (NIKON.md §8.1): the standard handshake with our GUID (a Z registers computers by GUID), the event
connection, OpenSession, GetDeviceInfo. A Z that reports Microsoft or MTP as its VendorExtensionID is a
Nikon when its Manufacturer says so (libgphoto2's fix-up, #605/#1135). GetVendorPropCodes 0x90CA adds the
Nikon property codes, DeviceReady 0x90C8 is polled until the body is ready (N-link sends it right after
OpenSession "so the camera does not drop the connection").

Host registration (N-link ``StaHostRegistrar``): a Z in Wi-Fi STA mode answers an unregistered computer's
init request with InitFail; :meth:`NikonDriver.explain_init_failure` tells the user to open the camera's
connect-to-computer wizard. While the camera waits there, it offers a restricted session (0x952B and
0x935A, no GetDevicePropDesc): ptpipd registers itself (PrepareHost, then ConfirmHost [0x2001], repeated
while the camera answers DeviceBusy — CamCon: "waiting for the user" — within ``pairing_timeout``), and
reconnects once the camera has left its wizard. N-link waits a fixed 8.5 s between the two steps; we let
the camera's answers pace us instead.

Events are polled (GetEvent 0x90C7, every ``poll_interval``): the service turns them into notifications
and re-reads changed properties. The polls keep an idle session alive too (a D5300 drops a silent client
after about 30 s, gphoto/gphoto2#66), and :meth:`NikonDriver.keepalive` is DeviceReady, as in N-link.

Capture (libgphoto2's order): InitiateCaptureRecInMedia 0x9207 [no AF, target], else
InitiateCaptureRecInSdram 0x90C0, else AfCaptureSDRAM 0x90CB, else InitiateCapture 0x100E; the target
follows RecordingMedia 0xD10B (``capturetarget``: card or SDRAM; 0x90C0 always shoots to SDRAM).
DeviceBusy and InvalidStatus are retried briefly, DeviceReady is polled until the picture is taken, then
GetEvent until ObjectAddedInSDRAM (SDRAM: handle 0xFFFF0001, downloaded and deleted there) or ObjectAdded
(card: downloaded, kept). Events seen meanwhile reach the listeners with the next poll.

Files: the standard operations, except on a Z that refuses GetObjectInfo/GetObject/GetPartialObject with
AccessDenied (libgphoto2#976): then sizes come from GetObjectSize 0x9421, bytes from GetPartialObjectEx
0x9431, and names from the handle (the body gives no other metadata to a locked session).

Live view, polled frame by frame with GetLiveViewImg 0x9203: :mod:`ptpipd.vendors.nikon_live`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import replace
from typing import Any

from ptpipd.errors import CameraRefused, CameraTimeout, NotConnected, NotSupported, PairingFailed
from ptpipd.ip.packets import NO_TRANSACTION, Event, InitFailReason
from ptpipd.ip.transport import DataSink
from ptpipd.ptp import (
    DataType,
    DecodeError,
    EventCode,
    ObjectFormat,
    ObjectInfo,
    OperationCode,
    ResponseCode,
    decode_value,
)
from ptpipd.vendors.base import (
    CameraConfig,
    Capabilities,
    DeviceSummary,
    EventDelivery,
    LiveViewSource,
    Ports,
    PropertyTable,
    Transfer,
)
from ptpipd.vendors.generic import GenericDriver, format_name
from ptpipd.vendors.liveview import LiveView
from ptpipd.vendors.nikon_codes import (
    CAPTURE_NO_AF,
    CONFIRM_HOST_PARAM,
    DEVICE_READY_AGAIN,
    DEVICE_READY_DONE,
    MAX_EVENTS,
    SDRAM_CAPTURE_PARAM,
    SDRAM_HANDLE,
    TARGET_CARD,
    TARGET_SDRAM,
    VENDOR_NIKON,
    CaptureMethod,
    NikonEvent,
    NikonOperation,
    NikonProperty,
    NikonResponse,
    capture_method,
    decode_event_list,
    effective_vendor_id,
    partial_object_ex_params,
)
from ptpipd.vendors.nikon_live import READY_TIMEOUT, NikonLive
from ptpipd.vendors.nikon_table import nikon_table

log = logging.getLogger(__name__)

OC, RC, NO, NP = OperationCode, ResponseCode, NikonOperation, NikonProperty
#: How often the service asks for events (libgphoto2 polls every 50–200 ms, digiCamControl every 100 ms).
POLL_INTERVAL = 0.25
#: DeviceReady is asked this often while the body says it is busy.
READY_STEP = 0.05
#: A capture request is retried this often while the body answers DeviceBusy or InvalidStatus.
CAPTURE_TRIES, CAPTURE_RETRY = 50, 0.02
#: Back-off of the event polls that wait for a capture's picture (libgphoto2: 50, 100, 150, 200 … ms).
CAPTURE_POLLS = (0.05, 0.1, 0.15, 0.2)
#: ConfirmHost is repeated this often while the camera answers DeviceBusy (waiting for the user).
CONFIRM_RETRY = 0.5
#: The piece size of GetPartialObjectEx downloads.
CHUNK = 4 << 20

REGISTRATION_STEPS = (
    "on the camera, open the network menu's Wi-Fi connection to a computer and wait on its "
    "'waiting for computer' screen",
    "ptpipd registers itself as '{name}' and reconnects once the camera has left its wizard",
)
REFUSED_TEXT = (
    "the Nikon refused this computer (PTP/IP InitFail: rejected initiator). A Z camera in Wi-Fi STA mode "
    "admits only the computers registered with it: on the camera, open the network menu's Wi-Fi connection "
    "to a computer (the connect-to-computer wizard) and wait on its 'waiting for computer' screen; ptpipd "
    "then registers itself as {name!r} (GUID {guid}) on its next attempt and reconnects. Keep the GUID "
    "fixed (the 'guid' setting) or the camera will not know this computer again."
)
NOT_REGISTERED_TEXT = (
    "the Nikon offers this computer a restricted session only: it is not registered. On the camera, open "
    "the network menu's Wi-Fi connection to a computer and wait on its 'waiting for computer' screen; "
    "ptpipd registers itself as {name!r} there"
)
NOT_IN_WIZARD_TEXT = (
    "the Nikon refused to register this computer (PrepareHost: TransactionCancelled): it is not in its "
    "connect-to-computer wizard. Open the network menu's Wi-Fi connection to a computer on the camera and "
    "wait on its 'waiting for computer' screen"
)


def _locked_info(handle: int, size: int) -> ObjectInfo:
    """What a locked Z lets us know about an object: its size. Empty objects are taken for folders."""
    return ObjectInfo(
        storage_id=0, object_format=ObjectFormat.Undefined if size else ObjectFormat.Association,
        protection_status=0, compressed_size=min(size, 0xFFFF_FFFF), thumb_format=0, thumb_compressed_size=0,
        thumb_width=0, thumb_height=0, image_width=0, image_height=0, image_bit_depth=0, parent_object=0,
        association_type=0, association_desc=0, sequence_number=0, filename=f"object-{handle:08x}",
        capture_date="", modification_date="", keywords="",
    )  # fmt: skip


class NikonDriver(GenericDriver):
    """A Nikon DSLR or Z body (see the module docstring)."""

    name = "nikon"
    default_ports = Ports(command=15740, event=15740)
    properties = nikon_table()
    capabilities = Capabilities(
        events=EventDelivery.POLL,
        poll_interval=POLL_INTERVAL,
        liveview=LiveViewSource.POLL,
        files=True,
        partial_objects=True,
        pairing=REGISTRATION_STEPS,
        delete=True,
    )
    operation_names = {int(o): o.name for o in NikonOperation}
    event_names = {int(e): e.name for e in NikonEvent}
    response_names = {int(r): r.name for r in NikonResponse}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = "d750"
        self.vendor_props: tuple[int, ...] = ()
        self._table = self.properties
        self._backlog: deque[Event] = deque(maxlen=MAX_EVENTS)
        self._pc_mode = False
        self.live = NikonLive(self)
        self._locked = False

    @classmethod
    def explain_init_failure(cls, reason: int, config: CameraConfig) -> str | None:
        """InitFail "rejected initiator" from a Z in STA mode: the computer must register (N-link)."""
        if reason != InitFailReason.RejectedInitiator:
            return None
        return REFUSED_TEXT.format(name=config.friendly_name, guid=config.guid.hex())

    # -------------------------------------------------------------- session

    async def open(self) -> DeviceSummary:
        summary = await super().open()
        assert self.device is not None
        device, ops = self.device, self.ops
        if effective_vendor_id(device.vendor_extension_id, device.manufacturer) != VENDOR_NIKON:
            raise NotSupported(
                f"the camera at {self.config.host} is not a Nikon ({device.manufacturer!r}, "
                f"VendorExtensionID 0x{device.vendor_extension_id:X}): use the generic vendor",
                vendor=self.name,
            )
        if OC.GetDevicePropDesc not in ops:
            if NO.PrepareHost in ops and NO.ConfirmHost in ops:
                await self._register(summary)
            raise PairingFailed(NOT_REGISTERED_TEXT.format(name=self.config.friendly_name))
        self.model = "z6" if summary.model.upper().startswith("Z") else "d750"
        if NO.GetVendorPropCodes in ops:
            data = self._data(await self.call(NO.GetVendorPropCodes), "GetVendorPropCodes")
            codes, _ = decode_value(DataType.AUINT16, data)  # ptp.c reads it as any AUINT16
            assert isinstance(codes, tuple)
            self.vendor_props = codes
        self._table = nikon_table(self.model, self.supported_properties())
        await self.wait_ready(READY_TIMEOUT)
        return summary

    async def _register(self, summary: DeviceSummary) -> None:
        """PrepareHost and ConfirmHost in the camera's wizard; always ends by raising (reconnect, or why not)."""
        self.pairing()
        name = self.config.friendly_name
        reply = await self.link.transaction(NO.PrepareHost)
        if reply.code == RC.TransactionCancelled:
            raise PairingFailed(NOT_IN_WIZARD_TEXT)
        if reply.code != RC.OK:
            raise self.refused(reply.code, NO.PrepareHost)
        deadline = asyncio.get_running_loop().time() + self.config.pairing_timeout
        while (reply := await self.link.transaction(NO.ConfirmHost, (CONFIRM_HOST_PARAM,))).code != RC.OK:
            if reply.code != RC.DeviceBusy or asyncio.get_running_loop().time() > deadline:
                raise PairingFailed(
                    f"the Nikon did not confirm the registration: {self.refused(reply.code, NO.ConfirmHost).response_name} "
                    f"(0x{reply.code:04X}); open its connect-to-computer wizard again and retry"
                )
            await asyncio.sleep(CONFIRM_RETRY)
        log.info("registered with the %s as %r (GUID %s)", summary.model, name, self.config.guid.hex())
        raise NotConnected(
            f"registered with the {summary.model} as {name!r}; the camera leaves its wizard and rejoins the "
            "network: reconnecting",
            state="connecting",
        )

    async def close(self) -> None:
        if self.live.on:
            await self.link.transaction(NO.EndLiveView, timeout=2.0)
        if self._pc_mode:
            await self.link.transaction(NO.ChangeCameraMode, (0,), timeout=2.0)
        await super().close()

    def supported_properties(self) -> set[int] | None:
        standard = super().supported_properties()
        return None if standard is None else standard | set(self.vendor_props)

    def body_properties(self) -> PropertyTable:
        return self._table

    def body_capabilities(self) -> Capabilities:
        ops = self.ops
        partial = bool({OC.GetPartialObject, NO.GetPartialObjectEx} & ops)
        pairing = self.capabilities.pairing if NO.PrepareHost in ops else ()
        live = LiveViewSource.POLL if NO.StartLiveView in ops else LiveViewSource.NONE
        delete = OC.DeleteObject in ops
        return Capabilities(EventDelivery.POLL, POLL_INTERVAL, live, True, partial, False, pairing, delete)

    async def device_info(self) -> dict[str, Any]:
        info = await super().device_info()
        assert self.device is not None
        d = self.device
        info["vendor_extension_id"] = effective_vendor_id(d.vendor_extension_id, d.manufacturer)
        info["reported_vendor_extension_id"] = d.vendor_extension_id
        info["properties"] += [f"0x{c:04x}" for c in self.vendor_props]
        return info

    async def keepalive(self) -> None:
        """DeviceReady, as N-link's keep-alive; busy counts as alive."""
        if NO.DeviceReady not in self.ops:
            await super().keepalive()
            return
        reply = await self.link.transaction(NO.DeviceReady)
        if reply.code not in DEVICE_READY_DONE | DEVICE_READY_AGAIN:
            raise self.refused(reply.code, NO.DeviceReady)

    async def wait_ready(self, limit: float) -> None:
        """DeviceReady until the body is ready (libgphoto2 ``nikon_wait_busy``), at most ``limit`` seconds."""
        if NO.DeviceReady not in self.ops:
            return
        deadline = asyncio.get_running_loop().time() + limit
        while (code := (await self.link.transaction(NO.DeviceReady)).code) not in DEVICE_READY_DONE:
            if code not in DEVICE_READY_AGAIN:
                raise self.refused(code, NO.DeviceReady)
            if asyncio.get_running_loop().time() > deadline:
                raise CameraTimeout(f"the camera stayed busy for {limit:g} s", timeout_s=limit,
                                    opcode=NO.DeviceReady)  # fmt: skip
            await asyncio.sleep(READY_STEP)

    async def pc_control(self) -> None:
        """ChangeCameraMode [1] once before the first capture or live view, as libgphoto2 does (a refusal
        0xA003 is ignored there too)."""
        if self._pc_mode or NO.ChangeCameraMode not in self.ops:
            return
        reply = await self.link.transaction(NO.ChangeCameraMode, (1,))
        self._pc_mode = reply.code == RC.OK

    # -------------------------------------------------------------- events

    async def _get_events(self) -> list[Event]:
        data = self._data(await self.call(NO.GetEvent), "GetEvent")
        return [Event(r.code, NO_TRANSACTION, r.params) for r in decode_event_list(data)]

    async def poll_events(self) -> list[Event]:
        """The events since the last poll, those seen while a capture waited first."""
        fresh = await self._get_events()
        events = [*self._backlog, *fresh]
        self._backlog.clear()
        return events

    # -------------------------------------------------------------- capture

    async def capture(self, sink: DataSink) -> Transfer:
        method = capture_method(self.ops)
        if method is None:
            raise self.unsupported("capture on this camera")
        await self.pc_control()
        target = TARGET_SDRAM
        if method is CaptureMethod.Generic:
            target = TARGET_CARD
        elif method is CaptureMethod.RecInMedia:
            target = await self._capture_target()
        params = {
            CaptureMethod.RecInMedia: (CAPTURE_NO_AF, target),
            CaptureMethod.RecInSdram: (SDRAM_CAPTURE_PARAM,),
            CaptureMethod.AfCaptureSdram: (),
            CaptureMethod.Generic: (0, 0),
        }[method]
        await self._start_capture(method.value, params)
        limit = self.config.capture_timeout
        await self.wait_ready(limit)
        handle = await self._wait_for_picture(target, limit)
        if target == TARGET_CARD:
            return await self.download(handle, sink)
        info = await self.object_info(SDRAM_HANDLE)
        transfer = await self._fetch(SDRAM_HANDLE, info, sink)
        await self._delete_sdram()
        return replace(transfer, handle=None)  # freed in the camera: no handle to download it again

    async def _capture_target(self) -> int:
        if NP.RecordingMedia not in self.vendor_props:
            return TARGET_SDRAM
        media = await self.get_value(NP.RecordingMedia, DataType.UINT8)
        return TARGET_CARD if media == TARGET_CARD else TARGET_SDRAM

    async def _start_capture(self, code: int, params: tuple[int, ...]) -> None:
        for _ in range(CAPTURE_TRIES):
            reply = await self.link.transaction(code, params)
            if reply.code == RC.OK:
                return
            if reply.code not in (RC.DeviceBusy, NikonResponse.InvalidStatus):
                raise self.refused(reply.code, code)
            await asyncio.sleep(CAPTURE_RETRY)
        busy = f"the camera stayed busy: {self.operation_name(code)} not accepted"
        raise self.refused(reply.code, code, busy)

    async def _wait_for_picture(self, target: int, limit: float) -> int:
        """Polls GetEvent until the picture is announced; returns its handle. Events go to the backlog."""
        wanted = NikonEvent.ObjectAddedInSDRAM if target == TARGET_SDRAM else EventCode.ObjectAdded
        deadline = asyncio.get_running_loop().time() + limit
        for step in range(1 << 30):
            events = await self._get_events()
            self._backlog.extend(events)
            for event in events:
                if event.code == wanted:
                    return event.params[0] if event.params else SDRAM_HANDLE
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(CAPTURE_POLLS[min(step, len(CAPTURE_POLLS) - 1)])
        raise CameraTimeout(
            f"no new picture announced within {limit:g} s after the capture",
            timeout_s=limit,
            opcode=NO.GetEvent,
        )

    async def _delete_sdram(self) -> None:
        """Frees the SDRAM picture: DeleteObject, else DelImageSDRAM (libgphoto2's order)."""
        reply = await self.link.transaction(OC.DeleteObject, (SDRAM_HANDLE, 0))
        gone = reply.code in (RC.OK, RC.InvalidObjectHandle, RC.ObjectWriteProtected)
        if not gone and NO.DelImageSDRAM in self.ops:
            await self.link.transaction(NO.DelImageSDRAM, (SDRAM_HANDLE,))

    # -------------------------------------------------------------- files (the Z's lock, libgphoto2#976)

    async def object_info(self, handle: int) -> ObjectInfo:
        try:
            return await super().object_info(handle)
        except CameraRefused as exc:
            if exc.response != RC.AccessDenied or NO.GetObjectSize not in self.ops:
                raise
        self._locked = True
        return _locked_info(handle, await self._object_size(handle))

    async def _object_size(self, handle: int) -> int:
        data = self._data(await self.call(NO.GetObjectSize, (handle,)), "GetObjectSize")
        if len(data) != 8:
            raise DecodeError(f"GetObjectSize: {len(data)} bytes, expected a u64 (8)")
        return int.from_bytes(data, "little")

    async def _fetch(self, handle: int, info: ObjectInfo, sink: DataSink) -> Transfer:
        ex = NO.GetPartialObjectEx in self.ops
        if not (self._locked and ex):
            try:
                return await super()._fetch(handle, info, sink)
            except CameraRefused as exc:
                if exc.response != RC.AccessDenied or not ex:
                    raise
                self._locked = True
        size = await self._object_size(handle) if NO.GetObjectSize in self.ops else info.compressed_size
        offset = 0
        while offset < size:
            got = await self._partial_ex(handle, offset, min(CHUNK, size - offset), sink)
            if got == 0:
                raise DecodeError(f"GetPartialObjectEx of {handle}: no data at offset {offset} of {size}")
            offset += got
        return Transfer(format_name(info.object_format), offset, handle, info.filename)

    async def _partial_ex(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        params = partial_object_ex_params(handle, offset, length)
        reply = await self.call(NO.GetPartialObjectEx, params, sink=sink, max_data=length)
        return reply.data_length

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        ex = NO.GetPartialObjectEx in self.ops
        if ex and (self._locked or OC.GetPartialObject not in self.ops):
            return await self._partial_ex(handle, offset, length, sink)
        try:
            return await super().download_part(handle, offset, length, sink)
        except CameraRefused as exc:
            if exc.response != RC.AccessDenied or not ex:
                raise
        self._locked = True
        return await self._partial_ex(handle, offset, length, sink)

    # -------------------------------------------------------------- live view

    async def open_liveview(self) -> LiveView:
        return await self.live.open()


DRIVER = NikonDriver

"""Nikon live view, polled on the command channel (NIKON.md §3.3, §5.3; libgphoto2 ``camera_capture_preview``).

LiveViewProhibitCondition 0xD1A4 is read first (a refusal names its reasons), then ChangeCameraMode [1],
StartLiveView 0x9201 (OK or DeviceBusy) and DeviceReady until the body is ready. Each frame is one
GetLiveViewImg 0x9203 whose header is cut off (384 bytes for the D750 and Z 6 classes; the other known
sizes are tried when the JPEG does not start there): DeviceBusy is asked again (libgphoto2: up to 20
times), NotLiveView 0xA00B restarts live view once (the body ended it, e.g. after a shot). EndLiveView
0x9202 ends it when the last viewer leaves (NotLiveView then means it already had).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ptpipd.ptp import DataType, ResponseCode
from ptpipd.vendors.liveview import LiveView, PolledLiveView
from ptpipd.vendors.nikon_codes import (
    LIVE_VIEW_HEADER_SIZES,
    NikonOperation,
    NikonProperty,
    NikonResponse,
    live_view_jpeg,
    prohibit_reasons,
)

if TYPE_CHECKING:
    from ptpipd.vendors.nikon import NikonDriver

NO, RC = NikonOperation, ResponseCode
#: GetLiveViewImg is asked again this often while the body is busy, this far apart (libgphoto2: 20 tries).
LIVE_TRIES, LIVE_RETRY = 20, 0.02
#: The wait for DeviceReady after StartLiveView.
READY_TIMEOUT = 5.0


class NikonLive:
    """The live view of one Nikon session; ``on`` while the body is in live view because of us."""

    def __init__(self, driver: NikonDriver) -> None:
        self.driver = driver
        self.on = False

    async def open(self) -> LiveView:
        """Starts live view after checking that nothing prohibits it."""
        driver = self.driver
        if NO.StartLiveView not in driver.ops:
            raise driver.unsupported("live view on this camera")
        if NikonProperty.LiveViewProhibitCondition in driver.vendor_props:
            condition = await driver.get_value(NikonProperty.LiveViewProhibitCondition, DataType.UINT32)
            if isinstance(condition, int) and condition:
                reasons = "; ".join(prohibit_reasons(condition))
                raise driver.refused(NikonResponse.NotLiveView, NO.StartLiveView,
                                     f"live view cannot start: {reasons} (0xD1A4 = 0x{condition:08X})")  # fmt: skip
        await driver.pc_control()
        await self.start()
        return PolledLiveView(self.frame, self.end)

    async def start(self) -> None:
        """StartLiveView, then DeviceReady until the body is ready."""
        reply = await self.driver.link.transaction(NO.StartLiveView)
        if reply.code not in (RC.OK, RC.DeviceBusy):
            raise self.driver.refused(reply.code, NO.StartLiveView)
        self.on = True
        await self.driver.wait_ready(READY_TIMEOUT)

    async def frame(self) -> bytes:
        """One frame's JPEG."""
        driver, restarted = self.driver, False
        for _ in range(LIVE_TRIES):
            reply = await driver.link.transaction(NO.GetLiveViewImg)
            if reply.code == RC.OK:
                data = driver._data(reply, "GetLiveViewImg")
                return live_view_jpeg(data, LIVE_VIEW_HEADER_SIZES[driver.model])
            if reply.code == NikonResponse.NotLiveView and not restarted:
                restarted = True
                await self.start()
            elif reply.code != RC.DeviceBusy:
                raise driver.refused(reply.code, NO.GetLiveViewImg)
            await asyncio.sleep(LIVE_RETRY)
        raise driver.refused(RC.DeviceBusy, NO.GetLiveViewImg, "the camera stayed busy: no live-view frame")

    async def end(self) -> None:
        """EndLiveView."""
        self.on = False
        reply = await self.driver.link.transaction(NO.EndLiveView)
        if reply.code not in (RC.OK, NikonResponse.NotLiveView):
            raise self.driver.refused(reply.code, NO.EndLiveView)

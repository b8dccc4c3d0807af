"""The images of an open camera session: captures, the storage's listing, downloads, thumbnails.

:class:`ImageAccess`, the part of :class:`ptpipd.camera.Camera` that handles them, checks each operation
against the body's capabilities, and collects an image in memory (up to :data:`MEMORY_CAP` bytes) when the
caller gives no sink.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ptpipd.camera_properties import SessionPart
from ptpipd.errors import NotSupported
from ptpipd.ip.transport import BytesSink, DataSink
from ptpipd.vendors.base import Capabilities, FileEntry, Transfer, VendorDriver, unsupported

#: The largest image :meth:`Images.capture` and :meth:`Images.download` collect in memory (without a sink).
MEMORY_CAP = 64 << 20


@dataclass(frozen=True, slots=True)
class Capture:
    """An image received from the camera; ``data`` is set when it was collected in memory."""

    transfer: Transfer
    data: bytes | None


class ImageAccess(SessionPart):
    """The image operations of a camera (a part of :class:`ptpipd.camera.Camera`) over the open session's
    driver; every call to the camera runs inside ``_errors()``, and one the body cannot do raises
    :class:`~ptpipd.errors.NotSupported` (without a session: one its vendor can do raises
    :class:`~ptpipd.errors.NotConnected`); :meth:`_require` checks the camera's other operations too."""

    @property
    def capabilities(self) -> Capabilities:
        """What the connected body can do (before the session: what its vendor declares)."""
        driver = self._driver
        return driver.body_capabilities() if driver is not None else self.driver_class.capabilities

    def _require(self, able: bool, what: str) -> VendorDriver:
        """The open session's driver, when the capabilities include ``what``
        (:class:`~ptpipd.errors.NotSupported` otherwise)."""
        if not able:
            raise unsupported(self.driver_class.name, what)
        return self.driver

    async def capture(self, sink: DataSink | None = None) -> Capture:
        """Takes a picture; what the camera hands over (the image, or a preview) goes to ``sink`` or is
        returned in memory (up to :data:`MEMORY_CAP` bytes)."""
        return await self._transfer(self.driver.capture, sink)

    async def files(self, between: Callable[[], Awaitable[None]] | None = None) -> list[FileEntry]:
        """The images and files on the camera's storage. Where the driver's listing allows it, ``between``
        is awaited between its steps (the service lets other requests run there)."""
        driver = self._require(self.capabilities.files, "'files'")
        with self._errors(), driver.taking_turns(between):
            return await driver.files()

    async def download(self, handle: int, sink: DataSink | None = None) -> Capture:
        """One object from the camera's storage, to ``sink`` or in memory (up to :data:`MEMORY_CAP` bytes)."""
        driver = self._require(self.capabilities.files, "'download'")
        return await self._transfer(lambda into: driver.download(handle, into), sink)

    async def file_entry(self, handle: int) -> FileEntry:
        """One object's entry as :meth:`files` lists it (name, format, size, capture time)."""
        driver = self._require(self.capabilities.files, "'files'")
        with self._errors():
            return await driver.file_entry(handle)

    async def thumb(self, handle: int) -> bytes:
        """An object's thumbnail (JPEG)."""
        driver = self._require(self.capabilities.files, "'files'")
        with self._errors():
            return await driver.thumb(handle)

    async def download_part(self, handle: int, offset: int, length: int, sink: DataSink) -> int:
        """Up to ``length`` bytes of an object from ``offset`` (GetPartialObject); returns how many came."""
        driver = self._require(self.capabilities.partial_objects, "partial downloads")
        with self._errors():
            return await driver.download_part(handle, offset, length, sink)

    async def _transfer(
        self, fetch: Callable[[DataSink], Awaitable[Transfer]], sink: DataSink | None
    ) -> Capture:
        collector = BytesSink(MEMORY_CAP)
        try:
            with self._errors():
                transfer = await fetch(sink or collector)
        except BaseException:
            collector.release()  # at once: the exception's traceback keeps this frame alive
            raise
        if sink is not None:
            return Capture(transfer, None)
        if collector.overflow:
            collector.release()
            raise NotSupported(
                f"the image is {collector.size} bytes, more than the {collector.cap}-byte in-memory limit",
                vendor=self.driver_class.name,
            )
        return Capture(transfer, bytes(collector.buffer))

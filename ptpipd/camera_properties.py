"""A camera's properties by name or code: :class:`PropertyAccess`, the part of :class:`ptpipd.camera.Camera`
that reads and writes them.

Names and labels come from the body's property table; every description read is kept until the camera
says it changed (DevicePropChanged, DeviceInfoChanged), and a value to set is checked against a fresh
description before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ptpipd.errors import NotConnected
from ptpipd.ip.packets import Event
from ptpipd.ptp import DevicePropDesc, EventCode
from ptpipd.vendors.base import PropertyDesc, PropertySpec, PropertyTable, PropertyValue, VendorDriver
from ptpipd.vendors.values import coerce_value, property_desc, property_value


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """The answer to ``info``: the device's self-description and every property's description."""

    device: dict[str, Any]
    properties: list[PropertyDesc]


class SessionPart:
    """What the parts of a :class:`ptpipd.camera.Camera` share: its vendor's driver class, the open session's
    driver, and the camera's context that turns transport errors into :mod:`ptpipd.errors` ones."""

    driver_class: type[VendorDriver]
    _driver: VendorDriver | None
    _errors: Callable[[], AbstractContextManager[None]]  # the camera's

    @property
    def driver(self) -> VendorDriver:
        """The vendor driver of the open session."""
        if self._driver is None:
            raise NotConnected("the camera is not open")
        return self._driver


class PropertyAccess(SessionPart):
    """A camera's properties (a part of :class:`ptpipd.camera.Camera`): names and codes resolved against the
    body's table, values and descriptions read and written through the open session's driver (each call to
    the camera inside ``_errors()``). Before a session names resolve against the vendor's table and reads
    raise :class:`~ptpipd.errors.NotConnected`."""

    #: every description read, until the camera says it changed
    _descs: dict[int, DevicePropDesc]

    @property
    def properties(self) -> PropertyTable:
        """The property names and labels of the connected body (before the session: its vendor's)."""
        driver = self._driver
        return driver.body_properties() if driver is not None else self.driver_class.properties

    def resolve(self, prop: str | int) -> PropertySpec:
        """The property a name or code refers to (see :meth:`~ptpipd.vendors.base.PropertyTable.resolve`):
        a name must be one the camera has, a code goes to the camera even when the camera did not list it."""
        supported = self._driver.supported_properties() if self._driver is not None else None
        return self.properties.resolve(prop, supported)

    def _forget_descs(self, event: Event) -> None:
        """Drops the descriptions ``event`` makes stale."""
        if event.code == EventCode.DeviceInfoChanged:
            self._descs.clear()  # a changed property may have a new form (an ISO list that depends on the mode)
        elif event.code == EventCode.DevicePropChanged and event.params:
            self._descs.pop(event.params[0], None)

    async def _desc(self, spec: PropertySpec, *, fresh: bool = False) -> DevicePropDesc:
        desc = None if fresh else self._descs.get(spec.code)
        if desc is None:
            driver = self.driver
            with self._errors():
                desc = await driver.describe(spec.code)
            self._descs[spec.code] = desc
        return desc

    async def get(self, prop: str | int) -> PropertyValue:
        """A property's current value, read from the camera."""
        spec = self.resolve(prop)
        desc = await self._desc(spec)
        with self._errors():
            value = await self.driver.get_value(spec.code, desc.datatype)
        return property_value(spec, desc, value)

    async def describe(self, prop: str | int) -> PropertyDesc:
        """A property's description, read afresh from the camera."""
        spec = self.resolve(prop)
        return property_desc(spec, await self._desc(spec, fresh=True))

    async def set(self, prop: str | int, value: str | int) -> PropertyValue:
        """Checks ``value`` against a fresh description, writes it, and returns the value read back.

        ``value`` is a label (case-insensitive, spaces ignored), an integer, or a hex string ``"0x320"``.
        An invalid value raises :class:`~ptpipd.errors.InvalidValue` and nothing is sent.
        """
        spec = self.resolve(prop)
        desc = await self._desc(spec, fresh=True)
        wire = coerce_value(spec, desc, value)
        driver = self.driver
        with self._errors():
            await driver.set_value(spec.code, desc.datatype, wire)
            current = await driver.get_value(spec.code, desc.datatype)
        return property_value(spec, desc, current)

    async def info(self) -> CameraInfo:
        """The device description and every property's description."""
        driver = self.driver
        with self._errors():
            device = await driver.device_info()
            descs = await driver.describe_all()
        table = self.properties
        self._descs.update((desc.code, desc) for desc in descs)
        return CameraInfo(device, [property_desc(table.spec_for(desc.code), desc) for desc in descs])

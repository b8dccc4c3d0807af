"""What an EOS body has told us through GetEvent 0x9116, kept for the driver: sans-I/O.

An EOS body never answers GetDevicePropDesc for its own properties: their values arrive as PropValueChanged
records and their allowed values as AvailListChanged records (CANON.md §1, §4). :class:`EosState` is fed
the data of every GetEvent the driver runs and keeps

* the current value and the allowed-value list of every property the body reported,
* the objects the body announced (ObjectAddedEx on the card, RequestObjectTransfer waiting in its RAM),
* how many FocusInfoEx records came (the end of a half press),

and turns what changed into ordinary PTP events for the service: DevicePropChanged (0x4006) for a new
value (the service reads it back and sends ``notify.property``), ObjectAdded (0x4002) for a new file on the
card, ObjectInfoChanged (0x4007) for ObjectInfoChangedEx, and the record's own type for the rest (named by
:data:`EVENT_NAMES`). A malformed record is logged and skipped; the rest of the data still counts.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import TypeVar

from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import DataType, DecodeError, DevicePropDesc, EnumForm, EventCode, NoForm
from ptpipd.vendors.canon_codes import (
    AvailListChanged,
    CameraStatusChanged,
    CanonEvent,
    CanonProperty,
    EosValue,
    ImageFormat,
    Kind,
    ObjectAdded,
    ObjectTransfer,
    PropValueChanged,
    Record,
    UnknownRecord,
    decode_record,
    property_kind,
    split_records,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Names of the record types, for ``notify.event``.
EVENT_NAMES = {int(e): e.name for e in CanonEvent}
#: Events kept for the service between two polls at most (the oldest go first).
MAX_PENDING = 1024
#: Objects remembered (card and RAM), the oldest forgotten first.
MAX_OBJECTS = 4096

#: How each value layout shows as a PTP type.
DATATYPES = {
    Kind.U8: DataType.UINT8,
    Kind.U16: DataType.UINT16,
    Kind.I16: DataType.INT16,
    Kind.U32: DataType.UINT32,
    Kind.STR: DataType.STR,
    Kind.IMAGE_FORMAT: DataType.UINT16,  # ImageFormat.code, libgphoto2's u16 of a format
}

P = CanonProperty
#: Properties no host writes (libgphoto2 ptp-pack.c marks them Get only; CANON.md §2). FocusMode, which it
#: also marks so, stays writable: gphoto2 2.5.30 offers it and the body decides.
READ_ONLY = frozenset({
    P.BatteryPower, P.BatterySelect, P.ModelID, P.PTPExtensionVersion, P.DPOFVersion, P.AvailableShots,
    P.CurrentStorage, P.CurrentFolder, P.MyMenu, P.BatteryInfo, P.AdapterInfo, P.LensStatus, P.CardExtension,
    P.TempStatus, P.ShutterCounter, P.SerialNumber, P.DepthOfFieldPreview, P.EVFRecordStatus, P.LvAfSystem,
    P.FocusInfoEx, P.DepthOfField, P.Brightness, P.EFComp, P.LensName, P.LensID,
})  # fmt: skip


def wire_value(code: int, value: EosValue) -> int | str | None:
    """A decoded value as the camera layer sees it: numbers, strings, an image format's u16 code; None for
    a layout nobody has described (kept as bytes)."""
    if isinstance(value, ImageFormat):
        return value.code
    if isinstance(value, (int, str)):
        return value
    return None


class EosState:
    """The body's properties, lists and objects as its GetEvent records told them."""

    def __init__(self) -> None:
        self.values: dict[int, EosValue] = {}
        self.lists: dict[int, tuple[int, ...]] = {}
        self.objects: dict[int, ObjectAdded] = {}
        self.transfers: dict[int, ObjectTransfer] = {}
        self.focus_reports = 0
        self.pending: deque[Event] = deque(maxlen=MAX_PENDING)

    def feed(self, data: bytes) -> list[Record]:
        """Takes the data of one GetEvent; returns its records (events for the service go to
        :attr:`pending`). Data whose framing is broken is logged and ignored as a whole."""
        try:
            raws = split_records(data)
        except DecodeError as exc:
            log.warning("GetEvent data ignored: %s", exc)
            return []
        records = []
        for raw in raws:
            try:
                record = decode_record(raw)
            except DecodeError as exc:
                log.warning("GetEvent record skipped: %s", exc)
                continue
            records.append(record)
            self.pending.extend(self._apply(record))
        return records

    def take_events(self) -> list[Event]:
        """The events since the last call."""
        events = list(self.pending)
        self.pending.clear()
        return events

    # ------------------------------------------------------------------ records

    def _apply(self, record: Record) -> Iterable[Event]:
        if isinstance(record, PropValueChanged):
            return self._value(record)
        if isinstance(record, AvailListChanged):
            return self._list(record)
        if isinstance(record, ObjectAdded):
            return self._object(record)
        if isinstance(record, ObjectTransfer):
            _remember(self.transfers, record.handle, record)
            return [Event(record.type, NO_TRANSACTION, (record.handle,))]
        if isinstance(record, CameraStatusChanged):
            return [Event(record.type, NO_TRANSACTION, (record.status,))]
        assert isinstance(record, UnknownRecord)
        return [Event(record.type, NO_TRANSACTION)]

    def _value(self, record: PropValueChanged) -> list[Event]:
        try:
            value = record.value
        except DecodeError as exc:
            log.warning("property 0x%04X: %s", record.code, exc)
            return []
        if record.code == P.FocusInfoEx:
            self.focus_reports += 1
        old = self.values.get(record.code)
        self.values[record.code] = value
        if old == value:
            return []
        return [Event(EventCode.DevicePropChanged, NO_TRANSACTION, (record.code,))]

    def _list(self, record: AvailListChanged) -> list[Event]:
        codes = tuple(v.code if isinstance(v, ImageFormat) else v for v in record.values)
        values = tuple(v for v in codes if v is not None)
        if self.lists.get(record.code) == values:
            return []
        self.lists[record.code] = values
        return [Event(CanonEvent.AvailListChanged, NO_TRANSACTION, (record.code,))]

    def _object(self, record: ObjectAdded) -> list[Event]:
        _remember(self.objects, record.handle, record)
        code = (
            EventCode.ObjectAdded if record.type == CanonEvent.ObjectAddedEx else EventCode.ObjectInfoChanged
        )
        return [Event(code, NO_TRANSACTION, (record.handle,))]

    # ------------------------------------------------------------------ properties

    def known(self) -> set[int]:
        """The properties whose value the body reported in a layout we can show."""
        return {code for code, value in self.values.items() if wire_value(code, value) is not None}

    def value(self, code: int) -> int | str | None:
        """The current value of ``code`` as the camera layer sees it, or None when unknown."""
        value = self.values.get(code)
        return None if value is None else wire_value(code, value)

    def describe(self, code: int) -> DevicePropDesc | None:
        """A DevicePropDesc built from what the body reported: its value, its list as an enumeration (an empty
        list: read-only for now), read-only when :data:`READ_ONLY` says so; None for an unknown property."""
        current = self.value(code)
        kind = property_kind(code)
        if current is None or kind not in DATATYPES:
            return None
        allowed = self.lists.get(code)
        writable = code not in READ_ONLY and allowed != ()
        form = EnumForm(allowed) if allowed else NoForm()
        return DevicePropDesc(code, DATATYPES[kind], int(writable), current, current, form)


def _remember(table: dict[int, _T], handle: int, record: _T) -> None:
    if len(table) >= MAX_OBJECTS and handle not in table:
        del table[next(iter(table))]
    table[handle] = record

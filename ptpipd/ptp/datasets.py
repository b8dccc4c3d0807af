"""PTP datasets (PTP.md §3): DeviceInfo, DevicePropDesc, StorageInfo, ObjectInfo.

Each dataset is a small frozen dataclass that mirrors the wire fields one to one, with:

- ``decode(data)``: the dataset must fill ``data`` exactly; trailing bytes are a DecodeError.
- ``encode()``: the wire bytes. ``decode(x.encode()) == x`` and, for bytes that decode,
  ``decode(b).encode() == b`` (the one exception is an empty string sent as ``01 00 00``, which
  is re-encoded as ``00``; see :mod:`ptpipd.ptp.types`).

Decoding is strict where libgphoto2 is lenient (a DevicePropDesc cut off before its FormFlag, a
DeviceInfo missing its trailing strings): anything short of the full layout is a DecodeError,
because accepting it would break the byte-exact round trip the simulator relies on. Field values
are not validated at construction; ``encode()`` checks every field and raises EncodeError.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, ClassVar, Self, TypeAlias, get_type_hints

from .errors import EncodeError
from .types import Buffer, DataType, Value, _Reader, check_value, encode_value

__all__ = [
    "DeviceInfo",
    "DevicePropDesc",
    "EnumForm",
    "Form",
    "NoForm",
    "ObjectInfo",
    "RangeForm",
    "StorageInfo",
]

# The wire types of the flat datasets' fields: each field's DataType rides on its annotation.
U16 = Annotated[int, DataType.UINT16]
U32 = Annotated[int, DataType.UINT32]
U64 = Annotated[int, DataType.UINT64]
A16 = Annotated[tuple[int, ...], DataType.AUINT16]
STR = Annotated[str, DataType.STR]


class _Dataset:
    """Shared decoding plumbing; subclasses provide ``_read`` and ``encode``."""

    __slots__ = ()

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a dataset that fills ``data`` exactly.

        Raises:
            DecodeError: truncated data, trailing bytes, or a malformed field.
        """
        reader = _Reader(data, 0, cls.__name__)
        obj = cls._read(reader)
        reader.expect_end()
        return obj

    @classmethod
    def _read(cls, reader: _Reader) -> Self:
        raise NotImplementedError


def _encode_fields(owner: str, fields: Iterable[tuple[str, DataType, Value]]) -> bytes:
    """The wire bytes of (name, type, value) fields in order; an EncodeError names ``owner.name``."""
    parts = []
    for name, datatype, value in fields:
        try:
            parts.append(encode_value(datatype, value))
        except EncodeError as exc:
            raise EncodeError(f"{owner}.{name}: {exc}") from None
    return b"".join(parts)


_LAYOUTS: dict[type, tuple[tuple[str, DataType], ...]] = {}


def _layout(cls: type) -> tuple[tuple[str, DataType], ...]:
    """(field, DataType) in wire order: the dataclass fields, typed by their annotations."""
    if cls not in _LAYOUTS:
        hints = get_type_hints(cls, include_extras=True)
        _LAYOUTS[cls] = tuple((f.name, hints[f.name].__metadata__[0]) for f in dataclasses.fields(cls))
    return _LAYOUTS[cls]


class _FlatDataset(_Dataset):
    """A dataset that is a fixed sequence of typed fields: its dataclass fields, in wire order, annotated with
    their wire types (``U16``, ``STR``, ...). The fields drive both directions, so the table in each class
    docstring, the decoder and the encoder cannot drift apart.
    """

    __slots__ = ()

    @classmethod
    def _read(cls, reader: _Reader) -> Self:
        return cls(*(reader.value(dt) for _, dt in _layout(cls)))

    def encode(self) -> bytes:
        """The dataset's wire bytes.

        Raises:
            EncodeError: a field does not fit its wire type; the message names the field.
        """
        fields = ((name, dt, getattr(self, name)) for name, dt in _layout(type(self)))
        return _encode_fields(type(self).__name__, fields)


@dataclass(frozen=True, slots=True)
class DeviceInfo(_FlatDataset):
    """The answer to GetDeviceInfo (0x1001), PTP.md §3.1.

    ======  ====  =======  ==========================================================
    offset  size  type     field
    ======  ====  =======  ==========================================================
    0       2     UINT16   standard_version (hundredths: 100 = 1.00)
    2       4     UINT32   vendor_extension_id (:class:`~.codes.VendorExtensionID`)
    6       2     UINT16   vendor_extension_version (hundredths)
    8       var   STR      vendor_extension_desc
    ...     2     UINT16   functional_mode (0 standard, 1 sleep)
    ...     var   AUINT16  operations_supported
    ...     var   AUINT16  events_supported
    ...     var   AUINT16  device_properties_supported
    ...     var   AUINT16  capture_formats (object format codes; default first)
    ...     var   AUINT16  image_formats
    ...     var   STR      manufacturer
    ...     var   STR      model
    ...     var   STR      device_version
    ...     var   STR      serial_number
    ======  ====  =======  ==========================================================
    """

    standard_version: U16
    vendor_extension_id: U32
    vendor_extension_version: U16
    vendor_extension_desc: STR
    functional_mode: U16
    operations_supported: A16
    events_supported: A16
    device_properties_supported: A16
    capture_formats: A16
    image_formats: A16
    manufacturer: STR
    model: STR
    device_version: STR
    serial_number: STR


@dataclass(frozen=True, slots=True)
class StorageInfo(_FlatDataset):
    """The answer to GetStorageInfo (0x1005), PTP.md §3.3.

    ======  ====  ======  ===================================================
    offset  size  type    field
    ======  ====  ======  ===================================================
    0       2     UINT16  storage_type (:class:`~.codes.StorageType`)
    2       2     UINT16  filesystem_type (:class:`~.codes.FilesystemType`)
    4       2     UINT16  access_capability (:class:`~.codes.AccessCapability`)
    6       8     UINT64  max_capacity (bytes)
    14      8     UINT64  free_space_bytes
    22      4     UINT32  free_space_images (0xFFFFFFFF = not supported)
    26      var   STR     description
    ...     var   STR     volume_label
    ======  ====  ======  ===================================================

    No StorageInfo bytes exist in the sources, so this layout is tested by round trips only.
    """

    storage_type: U16
    filesystem_type: U16
    access_capability: U16
    max_capacity: U64
    free_space_bytes: U64
    free_space_images: U32
    description: STR
    volume_label: STR


@dataclass(frozen=True, slots=True)
class ObjectInfo(_FlatDataset):
    """GetObjectInfo (0x1008) answer and SendObjectInfo (0x100C) data, PTP.md §3.4.

    ======  ====  ======  =====================================================
    offset  size  type    field
    ======  ====  ======  =====================================================
    0       4     UINT32  storage_id
    4       2     UINT16  object_format (:class:`~.codes.ObjectFormat`)
    6       2     UINT16  protection_status (0 none, 1 read-only)
    8       4     UINT32  compressed_size (bytes)
    12      2     UINT16  thumb_format
    14      4     UINT32  thumb_compressed_size
    18      4     UINT32  thumb_width
    22      4     UINT32  thumb_height
    26      4     UINT32  image_width
    30      4     UINT32  image_height
    34      4     UINT32  image_bit_depth
    38      4     UINT32  parent_object (0 = root)
    42      2     UINT16  association_type (:class:`~.codes.AssociationType`)
    44      4     UINT32  association_desc
    48      4     UINT32  sequence_number
    52      var   STR     filename
    ...     var   STR     capture_date (``YYYYMMDDThhmmss[.s][Z|±hhmm]``)
    ...     var   STR     modification_date
    ...     var   STR     keywords (space separated)
    ======  ====  ======  =====================================================

    AssociationDesc is 4 bytes (libgphoto2's offsets; malc0mn's uint16 is wrong). The Samsung
    quirk of a 64-bit compressed size is not supported.
    """

    storage_id: U32
    object_format: U16
    protection_status: U16
    compressed_size: U32
    thumb_format: U16
    thumb_compressed_size: U32
    thumb_width: U32
    thumb_height: U32
    image_width: U32
    image_height: U32
    image_bit_depth: U32
    parent_object: U32
    association_type: U16
    association_desc: U32
    sequence_number: U32
    filename: STR
    capture_date: STR
    modification_date: STR
    keywords: STR


# ---------------------------------------------------------------------------------------------
# DevicePropDesc and its forms


@dataclass(frozen=True, slots=True)
class NoForm:
    """FormFlag 0x00: the property declares no constraint on its values."""

    flag: ClassVar[int] = 0x00


@dataclass(frozen=True, slots=True)
class RangeForm:
    """FormFlag 0x01: valid values are ``minimum + N * step`` up to ``maximum``.

    Wire layout after the FormFlag: MinimumValue, MaximumValue, StepSize, each of the
    property's DataType. A step of 0 occurs in the wild (Fuji 0xD222: 0..30000 step 0) and is
    read as "any value in the range".
    """

    flag: ClassVar[int] = 0x01

    minimum: Value
    maximum: Value
    step: Value


@dataclass(frozen=True, slots=True)
class EnumForm:
    """FormFlag 0x02: the valid values are listed.

    Wire layout after the FormFlag: NumberOfValues (**UINT16**, not u32), then that many values
    of the property's DataType. An empty list occurs in the wild (X-T1 0xD01D).
    """

    flag: ClassVar[int] = 0x02

    values: tuple[Value, ...]


Form: TypeAlias = NoForm | RangeForm | EnumForm
"""The form part of a DevicePropDesc."""


@dataclass(frozen=True, slots=True)
class DevicePropDesc(_Dataset):
    """The answer to GetDevicePropDesc (0x1014), PTP.md §3.2.

    ======  ====  ========  ======================================================
    offset  size  type      field
    ======  ====  ========  ======================================================
    0       2     UINT16    code (DevicePropertyCode)
    2       2     UINT16    datatype (:class:`~.types.DataType`)
    4       1     UINT8     get_set (0x00 read-only, 0x01 read/write)
    5       DTS   datatype  factory_default
    ...     DTS   datatype  current
    ...     1     UINT8     FormFlag (0 none, 1 range, 2 enumeration; from ``form``)
    ...     var             form: nothing / min, max, step / u16 count + values
    ======  ====  ========  ======================================================

    DTS is the size of one value of ``datatype``: fixed for integers, variable for STR and
    arrays. ``datatype`` is normalised to a :class:`~.types.DataType` at construction (an
    unknown code raises EncodeError there, since such a descriptor could never be encoded).
    """

    code: int
    datatype: DataType
    get_set: int
    factory_default: Value
    current: Value
    form: Form

    def __post_init__(self) -> None:
        try:
            datatype = DataType(self.datatype)
        except ValueError:
            raise EncodeError(f"DevicePropDesc: unknown data type 0x{self.datatype:04X}") from None
        object.__setattr__(self, "datatype", datatype)

    @property
    def writable(self) -> bool:
        """True when GetSet is 0x01 (the initiator may SetDevicePropValue)."""
        return self.get_set == 1

    def allows(self, value: Value) -> bool:
        """Whether the descriptor admits ``value`` as a new current value.

        A value that does not fit ``datatype`` is never allowed. Then: NoForm allows anything,
        EnumForm allows the listed values, RangeForm allows ``minimum <= value <= maximum`` with
        ``(value - minimum) % step == 0`` when ``step > 0``. A range over STR or an array type
        has no defined meaning in PTP; it then admits only its two end points.
        """
        try:
            check_value(self.datatype, value)
        except EncodeError:
            return False
        if isinstance(value, list):
            value = tuple(value)
        form = self.form
        if isinstance(form, EnumForm):
            return value in form.values
        if isinstance(form, RangeForm):
            low, high, step = form.minimum, form.maximum, form.step
            if isinstance(value, int) and isinstance(low, int) and isinstance(high, int):
                if not low <= value <= high:
                    return False
                return not (isinstance(step, int) and step > 0) or (value - low) % step == 0
            return value in (low, high)
        return True

    @classmethod
    def _read(cls, reader: _Reader) -> Self:
        code = reader.scalar(DataType.UINT16)
        at = reader.offset
        datatype = reader.datatype(reader.scalar(DataType.UINT16), at)
        get_set = reader.scalar(DataType.UINT8)
        factory_default = reader.value(datatype)
        current = reader.value(datatype)
        at = reader.offset
        flag = reader.scalar(DataType.UINT8)
        form: Form
        if flag == NoForm.flag:
            form = NoForm()
        elif flag == RangeForm.flag:
            form = RangeForm(reader.value(datatype), reader.value(datatype), reader.value(datatype))
        elif flag == EnumForm.flag:
            # Each value takes at least one byte, so the count is bounded by the bytes left and
            # the loop below cannot run long on a hostile count: it fails at the first value
            # that does not fit.
            count = reader.scalar(DataType.UINT16)
            form = EnumForm(tuple(reader.value(datatype) for _ in range(count)))
        else:
            raise reader.fail(f"unknown FormFlag 0x{flag:02X} at offset {at}", at)
        return cls(code, datatype, get_set, factory_default, current, form)

    def encode(self) -> bytes:
        """The descriptor's wire bytes.

        Raises:
            EncodeError: a field does not fit its wire type (every value must fit ``datatype``;
                an enumeration holds at most 65535 values); the message names the field.
        """
        dt = self.datatype
        form = self.form
        fields: list[tuple[str, DataType, Value]] = [
            ("code", DataType.UINT16, self.code),
            ("datatype", DataType.UINT16, int(dt)),
            ("get_set", DataType.UINT8, self.get_set),
            ("factory_default", dt, self.factory_default),
            ("current", dt, self.current),
            ("form", DataType.UINT8, form.flag),
        ]
        if isinstance(form, RangeForm):
            fields += [("form.minimum", dt, form.minimum), ("form.maximum", dt, form.maximum)]
            fields.append(("form.step", dt, form.step))
        elif isinstance(form, EnumForm):
            if len(form.values) > 0xFFFF:
                raise EncodeError(f"DevicePropDesc.form: {len(form.values)} values exceed the u16 count")
            fields.append(("form.count", DataType.UINT16, len(form.values)))
            fields += [(f"form.values[{i}]", dt, v) for i, v in enumerate(form.values)]
        elif not isinstance(form, NoForm):
            raise EncodeError(f"DevicePropDesc.form: expected a form, got {type(form).__name__}")
        return _encode_fields("DevicePropDesc", fields)

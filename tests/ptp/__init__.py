"""Tests of ptpipd.ptp, and the Hypothesis strategies for PTP values and datasets they share.

The integer bounds come from PTP.md §2's size column, written out here independently of the
implementation's own tables.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ptpipd.ptp import (
    DataType,
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    NoForm,
    ObjectInfo,
    RangeForm,
    StorageInfo,
    Value,
)

# PTP.md §2: code -> (size in bytes, signed)
INT_TYPES: dict[DataType, tuple[int, bool]] = {
    DataType.INT8: (1, True),
    DataType.UINT8: (1, False),
    DataType.INT16: (2, True),
    DataType.UINT16: (2, False),
    DataType.INT32: (4, True),
    DataType.UINT32: (4, False),
    DataType.INT64: (8, True),
    DataType.UINT64: (8, False),
    DataType.INT128: (16, True),
    DataType.UINT128: (16, False),
}
ARRAY_TYPES: dict[DataType, DataType] = {DataType(0x4000 | dt): dt for dt in INT_TYPES}
ENCODABLE_TYPES: list[DataType] = [*INT_TYPES, *ARRAY_TYPES, DataType.STR]


def bounds(datatype: DataType) -> tuple[int, int]:
    size, signed = INT_TYPES[datatype]
    bits = 8 * size
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def ints(datatype: DataType) -> st.SearchStrategy[int]:
    low, high = bounds(datatype)
    return st.integers(low, high)


# Any BMP character except the surrogate range: one UTF-16 code unit each (NUL included; it
# survives a round trip because the decoder keeps every unit before the terminator).
bmp_chars = st.characters(max_codepoint=0xFFFF, codec="utf-16")  # utf-16 excludes lone surrogates
ptp_text = st.text(bmp_chars, max_size=254)
short_text = st.text(bmp_chars, max_size=24)


def values(datatype: DataType, *, max_array: int = 12) -> st.SearchStrategy[Value]:
    """Valid values of ``datatype``."""
    if datatype is DataType.STR:
        return short_text
    if datatype in ARRAY_TYPES:
        return st.lists(ints(ARRAY_TYPES[datatype]), max_size=max_array).map(tuple)
    return ints(datatype)


u16 = ints(DataType.UINT16)
u32 = ints(DataType.UINT32)
u64 = ints(DataType.UINT64)
code_list = st.lists(u16, max_size=40).map(tuple)

device_infos = st.builds(
    DeviceInfo,
    standard_version=u16,
    vendor_extension_id=u32,
    vendor_extension_version=u16,
    vendor_extension_desc=ptp_text,
    functional_mode=u16,
    operations_supported=code_list,
    events_supported=code_list,
    device_properties_supported=code_list,
    capture_formats=code_list,
    image_formats=code_list,
    manufacturer=short_text,
    model=short_text,
    device_version=short_text,
    serial_number=short_text,
)

storage_infos = st.builds(
    StorageInfo,
    storage_type=u16,
    filesystem_type=u16,
    access_capability=u16,
    max_capacity=u64,
    free_space_bytes=u64,
    free_space_images=u32,
    description=short_text,
    volume_label=short_text,
)

object_infos = st.builds(
    ObjectInfo,
    storage_id=u32,
    object_format=u16,
    protection_status=u16,
    compressed_size=u32,
    thumb_format=u16,
    thumb_compressed_size=u32,
    thumb_width=u32,
    thumb_height=u32,
    image_width=u32,
    image_height=u32,
    image_bit_depth=u32,
    parent_object=u32,
    association_type=u16,
    association_desc=u32,
    sequence_number=u32,
    filename=short_text,
    capture_date=short_text,
    modification_date=short_text,
    keywords=ptp_text,
)


@st.composite
def device_prop_descs(draw: st.DrawFn) -> DevicePropDesc:
    datatype = draw(st.sampled_from(ENCODABLE_TYPES))
    value = values(datatype, max_array=4)
    kind = draw(st.sampled_from(["none", "range", "enum"]))
    form: NoForm | RangeForm | EnumForm
    if kind == "none":
        form = NoForm()
    elif kind == "range":
        form = RangeForm(draw(value), draw(value), draw(value))
    else:
        form = EnumForm(tuple(draw(st.lists(value, max_size=8))))
    return DevicePropDesc(
        code=draw(u16),
        datatype=datatype,
        get_set=draw(ints(DataType.UINT8)),
        factory_default=draw(value),
        current=draw(value),
        form=form,
    )


DATASET_STRATEGIES = {
    DeviceInfo: device_infos,
    StorageInfo: storage_infos,
    ObjectInfo: object_infos,
    DevicePropDesc: device_prop_descs(),
}

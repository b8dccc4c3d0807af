"""Datasets (PTP.md §3): round trips, strictness, DevicePropDesc semantics."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    EncodeError,
    EnumForm,
    NoForm,
    ObjectInfo,
    RangeForm,
    StorageInfo,
    Value,
)
from tests.ptp import DATASET_STRATEGIES, device_prop_descs

DATASETS: list[Any] = [DeviceInfo, StorageInfo, ObjectInfo, DevicePropDesc]
ids = [cls.__name__ for cls in DATASETS]


# --------------------------------------------------------------------------------------------
# Property tests for every dataset


@pytest.mark.parametrize("cls", DATASETS, ids=ids)
@given(data=st.data())
def test_round_trip(cls: Any, data: st.DataObject) -> None:
    obj = data.draw(DATASET_STRATEGIES[cls])
    wire = obj.encode()
    decoded = cls.decode(wire)
    assert decoded == obj
    assert hash(decoded) == hash(obj)
    assert decoded.encode() == wire


@pytest.mark.parametrize("cls", DATASETS, ids=ids)
@given(data=st.data())
def test_truncated_or_extended_is_a_decode_error(cls: Any, data: st.DataObject) -> None:
    wire = data.draw(DATASET_STRATEGIES[cls]).encode()
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(DecodeError):
        cls.decode(wire[:cut])
    extra = data.draw(st.binary(min_size=1, max_size=8))
    with pytest.raises(DecodeError, match="trailing bytes"):
        cls.decode(wire + extra)


@pytest.mark.parametrize("cls", DATASETS, ids=ids)
@given(blob=st.binary(max_size=200))
def test_random_bytes_decode_or_raise_decode_error(cls: Any, blob: bytes) -> None:
    try:
        obj = cls.decode(blob)
    except DecodeError:
        return
    assert cls.decode(obj.encode()) == obj


@given(data=st.data())
def test_corrupted_device_prop_desc(data: st.DataObject) -> None:
    """Random single-byte corruption of a valid DPD never escapes as another exception type."""
    wire = bytearray(data.draw(device_prop_descs()).encode())
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] = data.draw(st.integers(0, 255))
    try:
        obj = DevicePropDesc.decode(bytes(wire))
    except DecodeError:
        return
    assert DevicePropDesc.decode(obj.encode()) == obj


def test_datasets_are_frozen_and_slotted() -> None:
    info = StorageInfo(4, 2, 0, 2**40, 2**39, 0xFFFFFFFF, "SD", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.max_capacity = 0  # type: ignore[misc]
    assert not hasattr(info, "__dict__")


# --------------------------------------------------------------------------------------------
# Error messages


def test_truncation_message_matches_documented_format() -> None:
    # code 0x5001, UINT16, get/set, default 0x0000 (offsets 5-6), then 1 byte of the current value.
    data = bytes.fromhex("01 50 04 00 01 00 00 00")
    with pytest.raises(DecodeError) as info:
        DevicePropDesc.decode(data)
    assert str(info.value) == "DevicePropDesc: truncated at offset 7: need 2 bytes for UINT16, have 1"
    assert info.value.offset == 7


def test_unknown_datatype_and_form_flag() -> None:
    with pytest.raises(DecodeError, match="unknown data type 0x0077 at offset 2"):
        DevicePropDesc.decode(bytes.fromhex("01 50 77 00 01 00 00"))
    with pytest.raises(DecodeError, match="UNDEF"):
        DevicePropDesc.decode(bytes.fromhex("01 50 00 00 01 00 00"))
    with pytest.raises(DecodeError, match="unknown FormFlag 0x03 at offset 7"):
        DevicePropDesc.decode(bytes.fromhex("01 50 02 00 01 00 00 03"))


def test_hostile_enum_count_fails_fast() -> None:
    # STR enumeration claiming 65535 values, followed by 3 empty strings only.
    data = bytes.fromhex("03 50 ff ff 01 00 00 02 ff ff 00 00 00")
    started = time.perf_counter()
    with pytest.raises(DecodeError, match="truncated at offset 13"):
        DevicePropDesc.decode(data)
    assert time.perf_counter() - started < 0.5


def test_device_info_error_is_prefixed_with_dataset_name() -> None:
    with pytest.raises(DecodeError, match=r"^DeviceInfo: truncated at offset 6"):
        DeviceInfo.decode(bytes.fromhex("64 00 0e 00 00 00"))


def test_encode_error_names_the_field() -> None:
    info = ObjectInfo(1, 0x3801, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "x" * 300, "", "", "")
    with pytest.raises(EncodeError, match=r"^ObjectInfo\.filename: "):
        info.encode()
    storage = StorageInfo(0x10000, 0, 0, 0, 0, 0, "", "")
    with pytest.raises(EncodeError, match=r"^StorageInfo\.storage_type: .*UINT16"):
        storage.encode()
    dpd = DevicePropDesc(0x5010, DataType.INT16, 1, 0, 0, EnumForm((0, 40000)))
    with pytest.raises(EncodeError, match=r"form\.values\[1\]"):
        dpd.encode()
    with pytest.raises(EncodeError, match="u16 count"):
        DevicePropDesc(0xD001, DataType.UINT8, 1, 0, 0, EnumForm((0,) * 65536)).encode()


# --------------------------------------------------------------------------------------------
# DevicePropDesc specifics


def test_datatype_is_normalised_to_the_enum() -> None:
    dpd = DevicePropDesc(0x5001, 2, 0, 0, 0, NoForm())  # type: ignore[arg-type]
    assert dpd.datatype is DataType.UINT8
    with pytest.raises(EncodeError, match="0x1234"):
        DevicePropDesc(0x5001, 0x1234, 0, 0, 0, NoForm())  # type: ignore[arg-type]


def test_writable() -> None:
    assert DevicePropDesc(0x5001, DataType.UINT8, 1, 0, 0, NoForm()).writable is True
    assert DevicePropDesc(0x5001, DataType.UINT8, 0, 0, 0, NoForm()).writable is False


def test_str_and_array_descriptors_encode_as_expected() -> None:
    dpd = DevicePropDesc(0x501E, DataType.STR, 1, "", "Bo", EnumForm(("", "Bo")))
    wire = bytes.fromhex("1e 50 ff ff 01 00 03 42 00 6f 00 00 00 02 02 00 00 03 42 00 6f 00 00 00")
    assert dpd.encode() == wire
    assert DevicePropDesc.decode(wire) == dpd
    arr = DevicePropDesc(0xD100, DataType.AUINT8, 0, (), (1, 2), RangeForm((), (9,), (1,)))
    wire = bytes.fromhex(
        "00 d1 02 40 00 00 00 00 00 02 00 00 00 01 02 01 00 00 00 00 01 00 00 00 09 01 00 00 00 01"
    )
    assert arr.encode() == wire
    assert DevicePropDesc.decode(wire) == arr


def allows(form: NoForm | RangeForm | EnumForm, datatype: DataType, value: Value) -> bool:
    return DevicePropDesc(
        0xD000, datatype, 1, 0 if datatype.size else "", 0 if datatype.size else "", form
    ).allows(value)


@pytest.mark.parametrize(
    ("form", "datatype", "value", "expected"),
    [
        # BatteryLevel on the X-T1: UINT8 range 0..3 step 1.
        (RangeForm(0, 3, 1), DataType.UINT8, 0, True),
        (RangeForm(0, 3, 1), DataType.UINT8, 3, True),
        (RangeForm(0, 3, 1), DataType.UINT8, 4, False),
        (RangeForm(0, 3, 1), DataType.UINT8, -1, False),
        (RangeForm(0, 100, 5), DataType.UINT16, 35, True),
        (RangeForm(0, 100, 5), DataType.UINT16, 37, False),
        (RangeForm(10, 100, 5), DataType.UINT16, 5, False),
        (RangeForm(1, 100, 5), DataType.UINT16, 96, True),
        (RangeForm(1, 100, 5), DataType.UINT16, 100, False),
        # Fuji 0xD222: step 0 means any value in range.
        (RangeForm(0, 30000, 0), DataType.UINT32, 12345, True),
        (RangeForm(0, 30000, 0), DataType.UINT32, 30001, False),
        (RangeForm(-3, 3, 3), DataType.INT8, -3, True),
        (RangeForm(-3, 3, 3), DataType.INT8, 0, True),
        (RangeForm(-3, 3, 3), DataType.INT8, 1, False),
        (RangeForm("a", "z", ""), DataType.STR, "z", True),
        (RangeForm("a", "z", ""), DataType.STR, "m", False),
        # Enumerations, including signed and empty ones.
        (EnumForm((-1000, 0, 1000)), DataType.INT16, -1000, True),
        (EnumForm((-1000, 0, 1000)), DataType.INT16, 500, False),
        (EnumForm(()), DataType.UINT16, 1, False),
        (EnumForm(("800x600", "640x480")), DataType.STR, "640x480", True),
        (EnumForm(("800x600", "640x480")), DataType.STR, "1x1", False),
        (EnumForm(((1, 2), (3,))), DataType.AUINT16, (3,), True),
        (EnumForm(((1, 2), (3,))), DataType.AUINT16, [1, 2], True),
        (EnumForm(((1, 2), (3,))), DataType.AUINT16, (2, 1), False),
        # No form: anything that fits the type.
        (NoForm(), DataType.UINT16, 65535, True),
        (NoForm(), DataType.UINT16, 65536, False),
        (NoForm(), DataType.UINT16, "1", False),
        (NoForm(), DataType.STR, "any text", True),
        (NoForm(), DataType.STR, 1, False),
    ],
)
def test_allows(
    form: NoForm | RangeForm | EnumForm, datatype: DataType, value: Value, expected: bool
) -> None:
    assert allows(form, datatype, value) is expected

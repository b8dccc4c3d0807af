"""Data types, scalar/array codecs and PTP strings (PTP.md §2)."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ptp import (
    DataType,
    DecodeError,
    EncodeError,
    check_value,
    decode_uint32_array,
    decode_value,
    encode_string,
    encode_uint32_array,
    encode_value,
)
from tests.ptp import ARRAY_TYPES, ENCODABLE_TYPES, INT_TYPES, bounds, ptp_text, values

# --------------------------------------------------------------------------------------------
# DataType


def test_datatype_codes_match_ptp_md() -> None:
    assert [DataType.UNDEF.value, DataType.UINT16.value, DataType.UINT128.value] == [0, 4, 0x0A]
    assert [DataType.AINT8.value, DataType.AUINT32.value, DataType.AUINT128.value] == [0x4001, 0x4006, 0x400A]
    assert DataType.STR.value == 0xFFFF
    assert len(DataType) == 22


@pytest.mark.parametrize("datatype", list(INT_TYPES))
def test_integer_type_properties(datatype: DataType) -> None:
    size, signed = INT_TYPES[datatype]
    assert datatype.size == size
    assert datatype.signed is signed
    assert datatype.is_array is False
    with pytest.raises(ValueError):
        _ = datatype.element


@pytest.mark.parametrize("array", list(ARRAY_TYPES))
def test_array_type_properties(array: DataType) -> None:
    element = ARRAY_TYPES[array]
    assert array.is_array is True
    assert array.element is element
    assert array.size is None
    assert array.signed is INT_TYPES[element][1]
    assert array.label == "a" + element.label


def test_str_and_undef_properties() -> None:
    # STR = 0xFFFF has the array bit set but is not an array.
    assert DataType.STR.is_array is False
    assert DataType.STR.size is None
    assert DataType.STR.signed is False
    assert DataType.UNDEF.size is None
    assert [DataType.UINT16.label, DataType.AUINT32.label, DataType.STR.label] == ["uint16", "auint32", "str"]


# --------------------------------------------------------------------------------------------
# Known encodings (worked out by hand from PTP.md §2)


@pytest.mark.parametrize(
    ("datatype", "value", "wire"),
    [
        (DataType.INT8, -1, "ff"),
        (DataType.UINT8, 200, "c8"),
        (DataType.INT16, -1000, "18 fc"),
        (DataType.UINT16, 0x1234, "34 12"),
        (DataType.INT32, -2, "fe ff ff ff"),
        (DataType.UINT32, 0x0000000E, "0e 00 00 00"),
        (DataType.INT64, -(2**63), "00 00 00 00 00 00 00 80"),
        (DataType.UINT64, 2**64 - 1, "ff ff ff ff ff ff ff ff"),
        (DataType.INT128, -1, "ff " * 15 + "ff"),
        (DataType.UINT128, 1 << 120, "00 " * 15 + "01"),
        (DataType.AUINT16, (0x1001, 0x9022), "02 00 00 00 01 10 22 90"),
        (DataType.AINT8, (), "00 00 00 00"),
        (DataType.AINT16, (-1, 1), "02 00 00 00 ff ff 01 00"),
        (DataType.AUINT128, (2,), "01 00 00 00 02" + " 00" * 15),
        (DataType.STR, "", "00"),
        (DataType.STR, "A", "02 41 00 00 00"),
        (DataType.STR, "é€", "03 e9 00 ac 20 00 00"),
    ],
)
def test_known_encoding(datatype: DataType, value: object, wire: str) -> None:
    data = bytes.fromhex(wire)
    assert encode_value(datatype, value) == data  # type: ignore[arg-type]
    assert decode_value(datatype, data) == (value, len(data))


def test_decode_value_at_offset_in_larger_buffer() -> None:
    buf = bytearray(b"\xaa\xbb" + bytes.fromhex("18 fc") + b"\xcc")
    assert decode_value(DataType.INT16, buf, 2) == (-1000, 4)
    assert decode_value(DataType.UINT8, memoryview(buf)[1:], 3) == (0xCC, 4)


@pytest.mark.parametrize("offset", [-1, 6])
def test_decode_value_offset_outside_buffer(offset: int) -> None:
    with pytest.raises(DecodeError, match="outside"):
        decode_value(DataType.UINT8, b"12345", offset)


def test_decode_value_error_message_names_offset_and_type() -> None:
    with pytest.raises(DecodeError) as info:
        decode_value(DataType.UINT32, b"\x00\x01\x02\x03\x04", 2)
    assert str(info.value) == "UINT32: truncated at offset 2: need 4 bytes for UINT32, have 3"
    assert info.value.offset == 2


@pytest.mark.parametrize("code", [0x0000, 0x000B, 0x4000, 0x400B, 0x1234])
def test_unknown_or_undef_type(code: int) -> None:
    with pytest.raises(DecodeError):
        decode_value(code, b"\x00" * 32)
    with pytest.raises(EncodeError):
        encode_value(code, 0)
    with pytest.raises(EncodeError):
        check_value(code, 0)


# --------------------------------------------------------------------------------------------
# Range and type checks


@pytest.mark.parametrize("datatype", list(INT_TYPES))
def test_integer_bounds(datatype: DataType) -> None:
    low, high = bounds(datatype)
    check_value(datatype, low)
    check_value(datatype, high)
    for bad in (low - 1, high + 1):
        with pytest.raises(EncodeError, match=datatype.name):
            encode_value(datatype, bad)
        with pytest.raises(EncodeError):
            check_value(datatype, bad)


@pytest.mark.parametrize("array", list(ARRAY_TYPES))
def test_array_element_bounds(array: DataType) -> None:
    low, high = bounds(ARRAY_TYPES[array])
    assert decode_value(array, encode_value(array, (low, high)))[0] == (low, high)
    with pytest.raises(EncodeError, match="element 1"):
        encode_value(array, (low, high + 1))


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.UINT8, True),
        (DataType.UINT16, "1"),
        (DataType.UINT16, 1.0),
        (DataType.UINT16, (1,)),
        (DataType.STR, 5),
        (DataType.STR, b"abc"),
        (DataType.AUINT16, 5),
        (DataType.AUINT16, "ab"),
        (DataType.AUINT16, (1, "2")),
        (DataType.AUINT8, (True,)),
    ],
)
def test_wrong_python_type(datatype: DataType, value: object) -> None:
    with pytest.raises(EncodeError):
        encode_value(datatype, value)  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        check_value(datatype, value)  # type: ignore[arg-type]


def test_array_accepts_a_list_and_decodes_to_a_tuple() -> None:
    data = encode_value(DataType.AUINT32, [1, 2])  # type: ignore[arg-type]
    assert decode_value(DataType.AUINT32, data) == ((1, 2), 12)


# --------------------------------------------------------------------------------------------
# PTP strings (PTP.md §2.1)


def test_both_empty_string_forms_decode() -> None:
    assert decode_value(DataType.STR, b"\x00") == ("", 1)
    assert decode_value(DataType.STR, b"\x01\x00\x00") == ("", 3)
    assert decode_value(DataType.STR, b"\xff\x00\x01\x00\x00", 2) == ("", 5)
    # The writer always uses the one-byte form.
    assert encode_string("") == b"\x00"


def test_string_length_limit() -> None:
    longest = "x" * 254
    data = encode_string(longest)
    assert data[0] == 255 and len(data) == 1 + 2 * 255
    assert decode_value(DataType.STR, data) == (longest, len(data))
    with pytest.raises(EncodeError, match="254"):
        encode_string("x" * 255)
    # A non-BMP character costs two code units, so 127 of them fit and 128 do not.
    assert decode_value(DataType.STR, encode_string("\U0001f600" * 127))[0] == "\U0001f600" * 127
    with pytest.raises(EncodeError):
        encode_string("\U0001f600" * 128)


def test_string_with_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(EncodeError):
        encode_string("a\ud800b")


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        ("", "truncated at offset 0"),
        ("02 41 00", "truncated at offset 0"),
        ("02 41 00 42 00", "not NUL-terminated"),
        ("03 00 d8 41 00 00 00", "UTF-16"),  # lone high surrogate
        ("01", "truncated"),
    ],
)
def test_bad_strings(wire: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_value(DataType.STR, bytes.fromhex(wire))


def test_string_keeps_embedded_nul_units() -> None:
    # e.g. a fixed-width field padded with NULs: every unit is kept so re-encoding is exact.
    data = bytes.fromhex("04 41 00 00 00 00 00 00 00")
    text, end = decode_value(DataType.STR, data)
    assert (text, end) == ("A\x00\x00", 9)
    assert encode_string(text) == data


@given(ptp_text)
def test_string_round_trip(text: str) -> None:
    data = encode_string(text)
    assert data[0] == (len(text) + 1 if text else 0)
    assert decode_value(DataType.STR, data) == (text, len(data))
    assert decode_value(DataType.STR, b"\x99" + data + b"\x77", 1) == (text, len(data) + 1)


# --------------------------------------------------------------------------------------------
# uint16 / uint32 arrays


def test_uint32_array_helpers() -> None:
    data = encode_uint32_array([0x10000001, 0x00020000])
    assert data == bytes.fromhex("02 00 00 00 01 00 00 10 00 00 02 00")
    assert decode_uint32_array(data) == ((0x10000001, 0x00020000), 12)
    assert decode_uint32_array(b"\x00" + data, 1) == ((0x10000001, 0x00020000), 13)
    with pytest.raises(EncodeError):
        encode_uint32_array([2**32])


# --------------------------------------------------------------------------------------------
# Hostile array counts


@pytest.mark.parametrize("array", [*ARRAY_TYPES, "uint32_helper"])
def test_huge_array_count_fails_fast_without_allocating(array: DataType | str) -> None:
    data = b"\xff\xff\xff\xff" + b"\x00" * 64
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DecodeError, match="4294967295"):
            if array == "uint32_helper":
                decode_uint32_array(data)
            else:
                assert isinstance(array, DataType)
                decode_value(array, data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 1_000_000


# --------------------------------------------------------------------------------------------
# Property tests


@pytest.mark.parametrize("datatype", ENCODABLE_TYPES, ids=lambda dt: dt.name)
@given(data=st.data())
def test_value_round_trip(datatype: DataType, data: st.DataObject) -> None:
    value = data.draw(values(datatype))
    wire = encode_value(datatype, value)
    size = INT_TYPES.get(datatype, (None,))[0]
    if size is not None:
        assert len(wire) == size
    decoded, end = decode_value(datatype, wire)
    assert decoded == value and type(decoded) is type(value)
    assert end == len(wire)
    assert encode_value(datatype, decoded) == wire
    # Followed by other bytes: the end offset stops at the value.
    assert decode_value(datatype, b"\x00" + wire + b"\x00\x01", 1) == (value, len(wire) + 1)


@pytest.mark.parametrize("datatype", ENCODABLE_TYPES, ids=lambda dt: dt.name)
@given(data=st.data())
def test_value_truncation_is_a_decode_error(datatype: DataType, data: st.DataObject) -> None:
    wire = encode_value(datatype, data.draw(values(datatype)))
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(DecodeError):
        decode_value(datatype, wire[:cut])


@pytest.mark.parametrize("datatype", ENCODABLE_TYPES, ids=lambda dt: dt.name)
@given(blob=st.binary(max_size=80))
def test_random_bytes_decode_or_raise_decode_error(datatype: DataType, blob: bytes) -> None:
    try:
        value, end = decode_value(datatype, blob)
    except DecodeError:
        return
    assert 0 < end <= len(blob)
    consumed = blob[:end]
    if datatype is DataType.STR and consumed == b"\x01\x00\x00":
        assert encode_value(datatype, value) == b"\x00"  # the documented non-canonical form
    else:
        assert encode_value(datatype, value) == consumed


@given(blob=st.binary(max_size=80), offset=st.integers(0, 80))
def test_random_bytes_string_decode(blob: bytes, offset: int) -> None:
    try:
        text, end = decode_value(DataType.STR, blob, offset)
    except DecodeError:
        return
    assert offset < end <= len(blob)
    assert isinstance(text, str)

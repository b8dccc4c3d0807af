"""Every PTP-layer byte vector decodes to its recorded ``meaning`` and re-encodes byte for byte."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from ptpipd.ptp import (
    DataType,
    DecodeError,
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    NoForm,
    ObjectInfo,
    RangeForm,
    decode_value,
    encode_string,
    encode_value,
)
from tests.vectors import Vector, load_vectors, parse_int, vector

# --------------------------------------------------------------------------------------------
# Helpers that read the meaning dicts


def meaning_value(entry: dict[str, Any]) -> int:
    """The integer a DPD value entry stands for: ``signed`` for signed types, else ``int``."""
    return int(entry["signed"]) if "signed" in entry else int(entry["int"])


def check_dpd(dpd: DevicePropDesc, meaning: dict[str, Any]) -> None:
    """Field-by-field comparison of a decoded DevicePropDesc with its meaning dict."""
    assert dpd.code == parse_int(meaning["DevicePropertyCode"])
    assert dpd.datatype == parse_int(meaning["DataType"])
    assert dpd.get_set == parse_int(meaning["GetSet"])
    assert dpd.writable is (parse_int(meaning["GetSet"]) == 1)
    assert dpd.factory_default == meaning_value(meaning["FactoryDefaultValue"])
    assert dpd.current == meaning_value(meaning["CurrentValue"])
    flag = parse_int(meaning["FormFlag"])
    if flag == 0:
        assert dpd.form == NoForm()
    elif flag == 1:
        rng = meaning["Range"]
        assert dpd.form == RangeForm(
            meaning_value(rng["min"]), meaning_value(rng["max"]), meaning_value(rng["step"])
        )
    else:
        assert flag == 2
        enum = meaning["Enumeration"]
        assert isinstance(dpd.form, EnumForm)
        assert len(dpd.form.values) == enum["NumberOfValues"]
        assert dpd.form.values == tuple(meaning_value(v) for v in enum["values"])
    # The raw hex strings must agree with the (possibly signed) values.
    size = DataType(dpd.datatype).size
    assert size is not None
    raw = meaning["CurrentValue"]["raw"]
    assert encode_value(dpd.datatype, dpd.current) == parse_int(raw).to_bytes(size, "little")


def dpd_meaning(v: Vector) -> dict[str, Any] | None:
    """The DevicePropDesc part of a fuji_properties vector's meaning, if it has one."""
    if "DevicePropDesc" in v.meaning:
        return dict(v.meaning["DevicePropDesc"])
    payload = v.meaning.get("Payload")
    if isinstance(payload, dict) and "DevicePropDesc" in payload:
        return dict(payload["DevicePropDesc"])
    return None


def is_opaque(v: Vector) -> bool:
    payload = v.meaning.get("Payload")
    if not isinstance(payload, dict) or "note" not in payload:
        return False
    note = str(payload["note"])
    return "opaque" in note or "non-standard" in note or "does not follow" in note


PROPS = load_vectors("fuji_properties.json")
DPD_VECTORS = [pytest.param(v, id=v.name) for v in PROPS if dpd_meaning(v) is not None]
OPAQUE_VECTORS = [pytest.param(v, id=v.name) for v in PROPS if is_opaque(v)]
VALUE_VECTORS = [
    pytest.param(v, id=v.name)
    for v in PROPS
    if isinstance(v.meaning.get("Value"), dict) and v.meaning["Value"].get("size_bytes") in (1, 2, 4)
]


def list_902b_entries() -> list[Any]:
    """One param per DevicePropDesc inside the 0x902B list payloads (parsed independently)."""
    params = []
    for v in load_vectors("fuji_902b.json"):
        payload_meaning = v.meaning if v.payload_only else v.meaning.get("Payload")
        if not isinstance(payload_meaning, dict) or "Entries" not in payload_meaning:
            continue
        payload = v.container_payload
        (count,) = struct.unpack_from("<I", payload, 0)
        assert count == payload_meaning["Count (u32)"] == len(payload_meaning["Entries"])
        offset = 4
        for index, entry in enumerate(payload_meaning["Entries"]):
            (size,) = struct.unpack_from("<I", payload, offset)
            assert size == entry["SizePrefix (u32, includes itself)"]
            body = payload[offset + 4 : offset + size]
            params.append(pytest.param(body, entry["DevicePropDesc"], id=f"{v.name}[{index}]"))
            offset += size
        assert offset == len(payload), v.name
    return params


ENTRIES_902B = list_902b_entries()

# --------------------------------------------------------------------------------------------
# The collections themselves are not empty (a silently empty parametrisation would pass).


def test_vector_selection_is_not_empty() -> None:
    # 21 X-T1 captures + malc0mn's test literal + 3 mock payloads.
    assert len(DPD_VECTORS) == 25
    # 0x5003 and 0xD174 (value and desc), 0xD228 and 0xD500 values.
    assert len(OPAQUE_VECTORS) == 6
    # 1 one-byte, 19 two-byte and 17 four-byte GetDevicePropValue answers.
    assert len(VALUE_VECTORS) == 37
    # 8 entries in the X-T1 capture + 8 in malc0mn's mock payload.
    assert len(ENTRIES_902B) == 16
    assert len(LISTS_902B) == 2


# --------------------------------------------------------------------------------------------
# datasets.json


def test_device_info_libgphoto2_fuji() -> None:
    v = vector("device_info_dataset_libgphoto2_fuji")
    m = v.meaning
    info = DeviceInfo.decode(v.data)
    assert info.standard_version == m["StandardVersion"]
    assert info.vendor_extension_id == parse_int(m["VendorExtensionID"])
    assert info.vendor_extension_version == m["VendorExtensionVersion"]
    assert info.vendor_extension_desc == m["VendorExtensionDesc"]
    assert info.functional_mode == parse_int(m["FunctionalMode"])
    assert info.operations_supported == tuple(parse_int(c) for c in m["OperationsSupported"])
    assert info.events_supported == tuple(parse_int(c) for c in m["EventsSupported"])
    assert len(info.device_properties_supported) == m["DevicePropertiesSupported_count"]
    assert info.device_properties_supported == tuple(parse_int(c) for c in m["DevicePropertiesSupported"])
    assert info.capture_formats == tuple(parse_int(c) for c in m["CaptureFormats"])
    assert info.image_formats == tuple(parse_int(c) for c in m["ImageFormats"])
    assert info.manufacturer == m["Manufacturer"]
    assert info.model == m["Model"]
    assert info.device_version == m["DeviceVersion"]
    assert info.serial_number == m["SerialNumber"]
    assert info.encode() == v.data


OBJECT_INFO_FIELDS = {
    "StorageID": "storage_id",
    "ObjectFormat": "object_format",
    "ProtectionStatus": "protection_status",
    "ObjectCompressedSize": "compressed_size",
    "ThumbFormat": "thumb_format",
    "ThumbCompressedSize": "thumb_compressed_size",
    "ThumbPixWidth": "thumb_width",
    "ThumbPixHeight": "thumb_height",
    "ImagePixWidth": "image_width",
    "ImagePixHeight": "image_height",
    "ImageBitDepth": "image_bit_depth",
    "ParentObject": "parent_object",
    "AssociationType": "association_type",
    "AssociationDesc": "association_desc",
    "SequenceNumber": "sequence_number",
    "Filename": "filename",
    "CaptureDate": "capture_date",
    "ModificationDate": "modification_date",
    "Keywords": "keywords",
}
STRING_FIELDS = {"Filename", "CaptureDate", "ModificationDate", "Keywords"}


@pytest.mark.parametrize(
    "v",
    [pytest.param(v, id=v.name) for v in load_vectors("datasets.json") if v.name.startswith("object_info")],
)
def test_object_info(v: Vector) -> None:
    m = v.meaning["Payload"]["ObjectInfo"]
    payload = v.container_payload
    assert len(payload) == v.meaning["DataPayloadLength"]
    info = ObjectInfo.decode(payload)
    assert set(m) == set(OBJECT_INFO_FIELDS)
    for key, attr in OBJECT_INFO_FIELDS.items():
        expected = m[key] if key in STRING_FIELDS else parse_int(m[key])
        assert getattr(info, attr) == expected, key
    assert info.encode() == payload


def test_ptp_string_vector() -> None:
    v = vector("set_prop_D500_data_ptp_string")
    m = v.meaning["Payload"]["PTPString"]
    payload = v.container_payload
    text, end = decode_value(DataType.STR, payload)
    assert text == m["text"]
    assert end == len(payload)
    assert payload[0] == m["length_byte (chars incl. NUL)"] == len(text) + 1
    assert encode_string(text) == payload
    assert decode_value(DataType.STR, payload) == (text, len(payload))


# --------------------------------------------------------------------------------------------
# fuji_properties.json and fuji_902b.json


@pytest.mark.parametrize("v", DPD_VECTORS)
def test_device_prop_desc_vector(v: Vector) -> None:
    meaning = dpd_meaning(v)
    assert meaning is not None
    payload = v.container_payload
    dpd = DevicePropDesc.decode(payload)
    check_dpd(dpd, meaning)
    assert dpd.encode() == payload


@pytest.mark.parametrize(("body", "meaning"), ENTRIES_902B)
def test_902b_entry(body: bytes, meaning: dict[str, Any]) -> None:
    dpd = DevicePropDesc.decode(body)
    check_dpd(dpd, meaning)
    assert dpd.encode() == body


LISTS_902B = [
    pytest.param(v, id=v.name)
    for v in load_vectors("fuji_902b.json")
    if "Entries" in (v.meaning if v.payload_only else v.meaning.get("Payload", {}))
]


@pytest.mark.parametrize("v", LISTS_902B)
def test_902b_list_entries_decode_whole(v: Vector) -> None:
    """Walking the list by its size prefixes: each DPD fills exactly the bytes its prefix gives it."""
    payload = v.container_payload
    (count,) = struct.unpack_from("<I", payload, 0)
    offset = 4
    for _ in range(count):
        (size,) = struct.unpack_from("<I", payload, offset)
        end = offset + size
        dpd = DevicePropDesc.decode(payload[offset + 4 : end])
        assert dpd.encode() == payload[offset + 4 : end]
        offset = end
    assert offset == len(payload)


@pytest.mark.parametrize("v", VALUE_VECTORS)
def test_device_prop_value_vector(v: Vector) -> None:
    value_meaning = v.meaning["Value"]
    payload = v.container_payload
    size = value_meaning["size_bytes"]
    assert len(payload) == size == v.meaning["DataPayloadLength"]
    datatype = {1: DataType.UINT8, 2: DataType.UINT16, 4: DataType.UINT32}[size]
    value, end = decode_value(datatype, payload)
    assert value == parse_int(value_meaning["raw"])
    assert end == size
    assert encode_value(datatype, value) == payload


@pytest.mark.parametrize("v", OPAQUE_VECTORS)
def test_opaque_blob_is_not_a_device_prop_desc(v: Vector) -> None:
    with pytest.raises(DecodeError):
        DevicePropDesc.decode(v.container_payload)

"""Fuji codes and encodings against the vectors: every 0x902B list, 0xD212 list, DPD and property value
decodes to its ``meaning`` (labels included) and re-encodes byte for byte; garbage is refused."""

from __future__ import annotations

import contextlib
import re
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ip.fuji import decode_container
from ptpipd.ptp import (
    DataType,
    DecodeError,
    DevicePropDesc,
    EnumForm,
    NoForm,
    RangeForm,
    decode_value,
    encode_value,
)
from ptpipd.vendors.fuji_codes import (
    BLOB_PROPERTIES,
    EVENT_FIRST_WORD,
    PROPERTY_LABELS,
    PROPERTY_TYPES,
    FocusPoint,
    FujiIso,
    ShutterSpeed,
    StateItem,
    capture_event_params,
    decode_desc_list,
    decode_focus_point,
    decode_state_list,
    encode_desc_list,
    encode_focus_point,
    encode_iso,
    encode_state_list,
    preview_size,
    shutter_seconds,
    split_desc_list,
    state_value,
    state_word,
)
from ptpipd.vendors.labels import normalize
from tests.vectors import Vector, load_vectors, parse_int, vector

FUJI_FILES = (
    "fuji_902b.json",
    "fuji_d212.json",
    "fuji_properties.json",
    "fuji_handshake.json",
    "fuji_transfer.json",
    "fuji_capture.json",
)
#: Meaning labels that only say "no label here": we leave those values unlabelled (shown in hex).
NO_LABEL = {"vendor-specific"}


def meaning_head(label: str) -> str:
    """The label part of a meaning label: ``"S6400 (auto, max sensitivity)"`` → ``"S6400"``."""
    return re.sub(r"\s*\(.*$", "", label).removesuffix(" EV").strip()


def check_label(code: int, value: int, meaning_label: str) -> None:
    """Our label of ``value`` agrees with the meaning's: same text, or our parser reads it back to ``value``."""
    labels = PROPERTY_LABELS.get(code)
    head = meaning_head(meaning_label)
    if labels is None or head in NO_LABEL:
        return
    mine = labels.label(value)
    if code == 0xD17C:  # the meaning spells it "x=4 y=4"; malc0mn's label (ours) is "4x4"
        x, y, _ = decode_focus_point(value)
        assert head == f"x={x} y={y}" and mine == f"{x}x{y}"
        return
    literal = re.fullmatch(r"0x[0-9A-Fa-f]+|\d+", head)
    agrees = (
        normalize(mine) == normalize(head)
        or labels.parse(head) == value
        or (literal is not None and int(head, 0) == value)
    )
    assert agrees, f"0x{code:04X} = 0x{value:X}: ours {mine!r}, the vector's {meaning_label!r}"


def meaning_int(entry: dict[str, Any]) -> int:
    return int(entry["signed"]) if "signed" in entry else int(entry["int"])


def check_dpd(desc: DevicePropDesc, meaning: dict[str, Any]) -> None:
    """A decoded DevicePropDesc equals its meaning dict, field by field, labels included."""
    code = parse_int(meaning["DevicePropertyCode"])
    assert desc.code == code
    assert desc.datatype == parse_int(meaning["DataType"])
    assert desc.get_set == parse_int(meaning["GetSet"])
    for field, value in (("FactoryDefaultValue", desc.factory_default), ("CurrentValue", desc.current)):
        assert value == meaning_int(meaning[field])
        if "label" in meaning[field]:
            assert isinstance(value, int)
            check_label(code, value, meaning[field]["label"])
    flag = parse_int(meaning["FormFlag"])
    if flag == 2:
        assert isinstance(desc.form, EnumForm)
        entries = meaning["Enumeration"]["values"]
        assert meaning["Enumeration"]["NumberOfValues"] == len(entries)
        assert desc.form.values == tuple(meaning_int(e) for e in entries)
        for entry in entries:
            if "label" in entry:
                check_label(code, meaning_int(entry), entry["label"])
    elif flag == 1:
        assert isinstance(desc.form, RangeForm)
        r = meaning["Range"]
        assert (desc.form.minimum, desc.form.maximum, desc.form.step) == tuple(
            meaning_int(r[k]) for k in ("min", "max", "step")
        )
    else:
        assert isinstance(desc.form, NoForm)


def check_state(items: list[StateItem], meaning: dict[str, Any]) -> None:
    entries = meaning["Entries (u16 code, u32 value)"]
    assert meaning["Count (u16)"] == len(items) == len(entries)
    for item, entry in zip(items, entries, strict=True):
        assert item.code == parse_int(entry["code"])
        assert item.value == parse_int(entry["value"])
        if "label" in entry:
            value = state_value(PROPERTY_TYPES[item.code], item.value)
            check_label(item.code, value, entry["label"])


def vectors_with(key: str) -> list[Vector]:
    return [v for v in load_vectors(*FUJI_FILES) if key in str(v.meaning)]


def list_payload(v: Vector) -> dict[str, Any]:
    meaning: dict[str, Any] = v.meaning.get("Payload", v.meaning)
    return meaning


# ------------------------------------------------------------------------------------------------ 0x902B

DESC_LISTS = [v for v in load_vectors(*FUJI_FILES) if "SizePrefix" in str(v.meaning)]


def test_every_902b_list_vector_is_covered() -> None:
    assert {v.name for v in DESC_LISTS} == {"xt1_902B_data", "mock_902B_payload_only"}


@pytest.mark.parametrize("v", DESC_LISTS, ids=lambda v: v.name)
def test_902b_list_decodes_to_meaning_and_reencodes(v: Vector) -> None:
    payload = v.container_payload
    descs = decode_desc_list(payload)
    meaning = list_payload(v)
    assert meaning["Count (u32)"] == len(descs) == len(meaning["Entries"])
    for desc, entry, raw in zip(descs, meaning["Entries"], split_desc_list(payload), strict=True):
        assert entry["SizePrefix (u32, includes itself)"] == 4 + len(raw)
        check_dpd(desc, entry["DevicePropDesc"])
    assert encode_desc_list(descs) == payload
    assert encode_desc_list(split_desc_list(payload)) == payload


def test_readme_902b_with_our_labels() -> None:
    descs = decode_desc_list(vector("xt1_902B_data").container_payload)
    shown = [(f"0x{d.code:04X}", PROPERTY_LABELS[d.code].label(d.current)) for d in descs]
    assert shown == [
        ("0x5012", "off"),
        ("0x500C", "disabled"),
        ("0x5005", "auto"),
        ("0x5010", "0"),
        ("0xD001", "Velvia"),
        ("0xD02A", "S6400"),
        ("0xD019", "available"),
        ("0xD17C", "4x4"),
    ]
    bias = next(d for d in descs if d.code == 0x5010)
    assert isinstance(bias.form, EnumForm)
    assert [PROPERTY_LABELS[0x5010].label(v) for v in bias.form.values] == [
        "-3", "-2 2/3", "-2 1/3", "-2", "-1 2/3", "-1 1/3", "-1", "-2/3", "-1/3", "0",
        "+1/3", "+2/3", "+1", "+1 1/3", "+1 2/3", "+2", "+2 1/3", "+2 2/3", "+3",
    ]  # fmt: skip
    iso = next(d for d in descs if d.code == 0xD02A)
    assert isinstance(iso.form, EnumForm)
    assert [PROPERTY_LABELS[0xD02A].label(v) for v in iso.form.values] == [
        "S400", "S800", "S1600", "S3200", "S6400", "L100", "200", "250", "320", "400", "500", "640", "800",
        "1000", "1250", "1600", "2000", "2500", "3200", "4000", "5000", "6400", "H12800", "H25600", "H51200",
    ]  # fmt: skip
    assert PROPERTY_LABELS[0xD02A].label(iso.factory_default) == "auto"


# ------------------------------------------------------------------------------------------------ 0xD212

STATE_LISTS = [v for v in load_vectors(*FUJI_FILES) if "Entries (u16 code, u32 value)" in str(v.meaning)]


def test_every_d212_vector_is_covered() -> None:
    assert {v.name for v in STATE_LISTS} == {
        "xt1_D212_data_readme",
        "xt1_D212_data_docs",
        "mock_D212_payload_only",
        "receive_mode_D212_data_hkr",
        "xt1_GetDevicePropValue_D212_data",
    }


@pytest.mark.parametrize("v", STATE_LISTS, ids=lambda v: v.name)
def test_d212_list_decodes_to_meaning_and_reencodes(v: Vector) -> None:
    items = decode_state_list(v.container_payload)
    check_state(items, list_payload(v))
    assert encode_state_list(items) == v.container_payload


def test_readme_d212_with_our_labels() -> None:
    items = decode_state_list(vector("xt1_D212_data_readme").container_payload)
    shown = [
        (f"0x{i.code:04X}", PROPERTY_LABELS[i.code].label(state_value(PROPERTY_TYPES[i.code], i.value)))
        for i in items
    ]
    assert shown == [
        ("0x5001", "3/3"),
        ("0xD241", "L 3:2"),
        ("0x5005", "auto"),
        ("0x500A", "AF-S"),
        ("0x500C", "enabled"),
        ("0x500E", "program"),
        ("0x5010", "0"),
        ("0x5012", "off"),
        ("0xD001", "Velvia"),
        ("0xD018", "RAW + JPEG fine"),
        ("0xD028", "both"),
        ("0xD02A", "S6400"),
        ("0xD17C", "4x4"),
        ("0xD209", "off"),
        ("0xD21B", "none"),
        ("0xD229", "1431"),
        ("0xD22A", "1679"),
    ]


def test_docs_d212_exposure_bias_is_sign_extended() -> None:
    items = {i.code: i.value for i in decode_state_list(vector("xt1_D212_data_docs").container_payload)}
    assert items[0x5010] == 0xFEB3
    assert state_value(DataType.INT16, items[0x5010]) == -333
    assert PROPERTY_LABELS[0x5010].label(-333) == "-1/3"
    assert state_word(DataType.INT16, -333) == 0xFEB3
    assert PROPERTY_LABELS[0xD17C].label(items[0xD17C]) == "7x2"


# ------------------------------------------------------------------------------------------------ DPDs

DESCS = [
    v
    for v in load_vectors("fuji_properties.json")
    if "GetDevicePropDesc" in v.name and v.name.endswith("data")
]
DESCS += [v for v in load_vectors("fuji_properties.json") if v.payload_only]


@pytest.mark.parametrize("v", DESCS, ids=lambda v: v.name)
def test_dpd_decodes_to_meaning_and_reencodes(v: Vector) -> None:
    payload = v.container_payload
    meaning = list_payload(v)
    code = parse_int(
        meaning["DevicePropertyCode"]
        if "DevicePropertyCode" in meaning
        else meaning["DevicePropDesc"]["DevicePropertyCode"]
    )
    if code in BLOB_PROPERTIES:
        with pytest.raises(DecodeError):
            DevicePropDesc.decode(payload)  # 0x5003 / 0xD174: opaque, served and kept as bytes
        return
    desc = DevicePropDesc.decode(payload)
    check_dpd(desc, meaning["DevicePropDesc"])
    assert desc.datatype == PROPERTY_TYPES[code]
    assert desc.encode() == payload


# ------------------------------------------------------------------------------------------------ values

VALUE_NAME = re.compile(r"xt1_(?:GetDevicePropValue|get_prop)_([0-9A-F]{4})_data")
VALUES = [v for v in load_vectors(*FUJI_FILES) if VALUE_NAME.fullmatch(v.name) and "D212" not in v.name]
SET_DATA = {
    "app_set_prop_DF01_data": 0xDF01,
    "app_set_prop_DF24_data": 0xDF24,
    "set_prop_D226_data_browse": 0xD226,
}


@pytest.mark.parametrize("v", VALUES, ids=lambda v: v.name)
def test_property_value_decodes_to_meaning_and_reencodes(v: Vector) -> None:
    match = VALUE_NAME.fullmatch(v.name)
    assert match is not None
    code = int(match.group(1), 16)
    payload = v.container_payload
    if code in BLOB_PROPERTIES:
        assert "opaque" in v.meaning["Payload"]["note"]
        return
    datatype = PROPERTY_TYPES[code]
    value, end = decode_value(datatype, payload)
    assert end == len(payload)
    meaning = v.meaning["Value"]
    assert isinstance(value, int)
    assert value & ((1 << (8 * len(payload))) - 1) == parse_int(meaning["raw"])
    assert len(payload) == meaning.get("size_bytes", datatype.size)
    if "label" in meaning:
        check_label(code, value, meaning["label"])
    assert encode_value(datatype, value) == payload


@pytest.mark.parametrize(("name", "code"), sorted(SET_DATA.items()))
def test_set_value_data_decodes_at_the_natural_size(name: str, code: int) -> None:
    payload = vector(name).container_payload
    value, end = decode_value(PROPERTY_TYPES[code], payload)
    assert end == len(payload)
    assert encode_value(PROPERTY_TYPES[code], value) == payload
    assert value == {0xDF01: 5, 0xDF24: 0x00020002, 0xD226: 1}[code]


def test_every_value_vector_is_covered() -> None:
    with_value = {v.name for v in load_vectors(*FUJI_FILES) if "Value" in v.meaning}
    blobs = {v.name for v in VALUES if "Value" not in v.meaning}
    assert with_value == {v.name for v in VALUES} - blobs
    assert blobs == {f"xt1_GetDevicePropValue_{c:04X}_data" for c in BLOB_PROPERTIES}
    assert len(VALUES) == 43


# ------------------------------------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0x80001900, "S6400"),
        (0x80000190, "S400"),
        (0x40000064, "L100"),
        (0x40003200, "H12800"),
        (0x4000C800, "H51200"),
        (0x00000320, "800"),
        (0xFFFFFFFF, "auto"),
    ],
)
def test_iso_labels_both_ways(value: int, label: str) -> None:
    iso = FujiIso()
    assert iso.label(value) == label
    assert iso.parse(label) == value
    assert iso.parse(label.lower()) == value


def test_iso_parse_spacing_and_rejects() -> None:
    iso = FujiIso()
    assert iso.parse("S 6400") == 0x80001900
    assert iso.parse("ISO 800") == 800
    assert iso.parse("h 12800") == 0x40003200
    assert iso.parse("X800") is None
    assert iso.parse("S99999") is None
    assert encode_iso(6400, 0x8000) == 0x80001900
    assert iso.label(0x12340064) == "0x12340064"


def test_focus_point() -> None:
    fp = FocusPoint()
    assert fp.label(0x03020404) == "4x4"
    assert fp.label(0x03020702) == "7x2"
    assert fp.parse("4x4") == 0x03020404
    assert fp.parse("x=7 y=2") == 0x03020702
    assert fp.parse("7 x 2") == 0x03020702
    assert fp.parse("400x1") is None
    assert decode_focus_point(0x10090707) == (7, 7, 0x1009)
    assert encode_focus_point(7, 2) == 0x03020702
    assert struct.pack("<I", encode_focus_point(4, 3))[:2] == bytes((3, 4))  # byte0 = y, byte1 = x


@pytest.mark.parametrize(
    ("value", "label", "seconds"),
    [
        (0x80000000 | 250_000, "1/250", 1 / 250),
        (0x80000000 | 4_000_000, "1/4000", 1 / 4000),
        (2000, "2s", 2.0),
        (500, "0.5s", 0.5),
        (30_000, "30s", 30.0),
    ],
)
def test_shutter_speed(value: int, label: str, seconds: float) -> None:
    labels = ShutterSpeed()
    assert labels.label(value) == label
    assert labels.parse(label) == value
    assert float(shutter_seconds(value) or 0) == pytest.approx(seconds)


def test_shutter_not_available() -> None:
    labels = ShutterSpeed()
    assert labels.label(0xFFFFFFFF) == "n/a"
    assert labels.parse("----") == 0xFFFFFFFF
    assert shutter_seconds(0xFFFFFFFF) is None
    assert labels.parse("1/x") is None


@pytest.mark.parametrize(
    ("datatype", "word", "value"),
    [
        (DataType.INT16, 0xFEB3, -333),
        (DataType.INT16, 0x014D, 333),
        (DataType.UINT16, 0x800A, 0x800A),
        (DataType.UINT8, 3, 3),
        (DataType.UINT32, 0x80001900, 0x80001900),
    ],
)
def test_state_words(datatype: DataType, word: int, value: int) -> None:
    assert state_value(datatype, word) == value
    assert state_word(datatype, value) == word


@pytest.mark.parametrize(
    "name", ["event_C004_object_added", "event_C001_preview_available", "event_400D_capture_complete"]
)
def test_event_layout_helpers(name: str) -> None:
    v = vector(name)
    container = decode_container(v.data)
    assert container.transaction_id == EVENT_FIRST_WORD
    tid = container.params[0]
    assert container.params == capture_event_params(tid, struct.unpack_from("<I", v.data, 20)[0])
    assert preview_size(container.params) == struct.unpack_from("<I", v.data, 20)[0]
    if name == "event_C001_preview_available":
        assert preview_size(container.params) == 61737


def test_every_table_value_round_trips_through_its_labels() -> None:
    from ptpipd.vendors.labels import Enum

    for code, labels in PROPERTY_LABELS.items():
        if isinstance(labels, Enum):
            for value, name in labels.names.items():
                assert labels.parse(name) == value, (hex(code), name)


# ------------------------------------------------------------------------------------------------ garbage


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x01\x00",  # one entry announced, none there
        b"\xff\xff" + bytes(12),  # 65535 entries in 14 bytes
        b"\x01\x00" + bytes(6) + b"\x00",  # a trailing byte
    ],
)
def test_state_list_rejects_garbage(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_state_list(data)


GOOD_DPD = bytes.fromhex("19d00400010100010002020000000100")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x00\x00",
        b"\xff\xff\xff\xff",  # four billion entries in no bytes
        struct.pack("<II", 1, 3) + GOOD_DPD,  # entry size smaller than its own field
        struct.pack("<II", 1, 4 + len(GOOD_DPD) + 1) + GOOD_DPD,  # entry past the end
        struct.pack("<II", 1, 4 + len(GOOD_DPD)) + GOOD_DPD + b"\x00",  # trailing byte
        struct.pack("<II", 2, 4 + len(GOOD_DPD)) + GOOD_DPD,  # second entry missing
    ],
)
def test_desc_list_rejects_garbage(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_desc_list(data)


def test_desc_list_entry_that_is_not_a_dpd() -> None:
    data = encode_desc_list([GOOD_DPD[:-1] + b"\x07" + GOOD_DPD[-1:]])
    split_desc_list(data)  # the sizes are fine
    with pytest.raises(DecodeError, match="entry 0"):
        decode_desc_list(data)


@given(st.binary(max_size=64))
def test_list_decoders_fail_only_with_decode_error(data: bytes) -> None:
    for decoder in (decode_state_list, decode_desc_list):
        with contextlib.suppress(DecodeError):
            decoder(data)


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF)), max_size=40))
def test_state_list_round_trip(entries: list[tuple[int, int]]) -> None:
    assert decode_state_list(encode_state_list(entries)) == entries

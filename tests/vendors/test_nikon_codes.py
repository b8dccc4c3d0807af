"""Nikon codes and records from literal bytes: every record decodes to what its source says and re-encodes
byte for byte; garbage is refused with a clear error. Sources are named at each literal (NIKON.md has the
worked examples and the public logs they come from)."""

from __future__ import annotations

import struct
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipd.ptp import DataType, DecodeError, EncodeError, decode_value
from ptpipd.vendors.labels import normalize
from ptpipd.vendors.nikon_codes import (
    LIVE_VIEW_HEADER_SIZES,
    SDRAM_HANDLE,
    SHUTTER_BULB,
    SHUTTER_FLASH_SYNC,
    SHUTTER_TIME,
    UNIFIED_NAMES,
    VENDOR_NIKON,
    CaptureMethod,
    LiveViewFrame,
    LiveViewHeader,
    NikonEvent,
    NikonEventRecord,
    NikonOperation,
    NikonProperty,
    NikonShutterSpeed,
    VersionedLiveViewHeader,
    capture_method,
    decode_event_list,
    decode_shutter,
    effective_vendor_id,
    encode_event_list,
    encode_shutter,
    live_view_jpeg,
    partial_object_ex_params,
    partial_object_ex_request,
    prohibit_reasons,
    property_labels,
    shutter_seconds,
    shutter_value,
    split_live_view,
    split_u64,
    split_versioned_live_view,
)

#: A USB data container is 12 bytes (u32 length, u16 type 2, u16 code, u32 tid); the payload follows.
USB_HEADER = 12


def usb_payload(container: bytes, code: int) -> bytes:
    """The payload of a logged USB data container, after checking its header names ``code``."""
    length, kind, op = struct.unpack_from("<IHH", container)
    assert (length, kind, op) == (len(container), 2, code)
    return container[USB_HEADER:]


# ------------------------------------------------------------------------------------------------ 0x90C7

# gphoto/gphoto2#635 (Nikon D3X over USB, --debug log, turn 11): "Reading PTP_OC 0x90c7 (GetEvent) data...
# Read 14 = 0xe ... 0000  0e 00 00 00 02 00 c7 90-0f 00 00 00 00 00".
D3X_EMPTY_GETEVENT = bytes.fromhex("0e000000 0200 c790 0f000000 0000")
# gphoto/gphoto2#454 (Nikon D5600, --debug log): the same answer to tid 0x13.
D5600_EMPTY_GETEVENT = bytes.fromhex("0e000000 0200 c790 13000000 0000")
# NIKON.md §3.1 worked example (layout of libgphoto2 ptp-pack.c ptp_unpack_Nikon_EC, offsets of
# digiCamControl NikonBase.GetEvent): ObjectAddedInSDRAM(0xFFFF0001), DevicePropChanged(0x500F).
WORKED_GETEVENT = bytes.fromhex("020001c10100ffff06400f500000")


@pytest.mark.parametrize("container", [D3X_EMPTY_GETEVENT, D5600_EMPTY_GETEVENT], ids=["d3x", "d5600"])
def test_logged_empty_event_list(container: bytes) -> None:
    payload = usb_payload(container, NikonOperation.GetEvent)
    assert payload == b"\x00\x00"
    assert decode_event_list(payload) == []
    assert encode_event_list([]) == payload


def test_worked_event_list_decodes_and_reencodes() -> None:
    events = decode_event_list(WORKED_GETEVENT)
    assert events == [
        NikonEventRecord(NikonEvent.ObjectAddedInSDRAM, (SDRAM_HANDLE,)),
        NikonEventRecord(0x4006, (0x500F,)),
    ]
    assert events[0].param1 == 0xFFFF0001
    assert encode_event_list(events) == WORKED_GETEVENT
    assert encode_event_list([(0xC101, SDRAM_HANDLE), (0x4006, 0x500F)]) == WORKED_GETEVENT


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "need 2 for the count"),
        (b"\x01", "need 2 for the count"),
        (bytes.fromhex("0100"), "count 1 needs 6 bytes"),
        (bytes.fromhex("ffff") + bytes(12), "count 65535 needs"),
        (WORKED_GETEVENT[:-1], "count 2 needs 12 bytes of entries, have 11"),
        (WORKED_GETEVENT + b"\x00", "1 trailing bytes after 2 events"),
    ],
)
def test_broken_event_lists_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_event_list(data)


def test_event_list_encoder_refuses_what_does_not_fit() -> None:
    with pytest.raises(EncodeError, match="u16 code"):
        encode_event_list([(0x10000, 0)])
    with pytest.raises(EncodeError, match="holds one"):
        encode_event_list([NikonEventRecord(0x4006, (1, 2))])
    with pytest.raises(EncodeError, match="bound"):
        encode_event_list([(0x4006, 0)] * 5000)


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF)), max_size=50))
def test_event_list_round_trip(pairs: list[tuple[int, int]]) -> None:
    data = encode_event_list(pairs)
    assert len(data) == 2 + 6 * len(pairs)
    assert [(e.code, e.param1) for e in decode_event_list(data)] == pairs


@given(st.binary(max_size=64))
def test_event_list_decoder_never_loops_on_garbage(data: bytes) -> None:
    try:
        events = decode_event_list(data)
    except DecodeError:
        return
    assert encode_event_list(events) == data


# ------------------------------------------------------------------------------------------------ 0x9203

# NIKON.md §3.3 worked example: a 384-byte D500-class header (offsets of digiCamControl NikonD500Base,
# big-endian like its BaseMTPCamera.ToInt16): 640x424 live view of a 6016x4016 image, AF frame 600x400
# centred at (3008, 2008), rotation 1, not in focus (1), recording 0.
WORKED_HEADER = bytearray(384)
WORKED_HEADER[8:16] = bytes.fromhex("0280 01a8 1780 0fb0")
WORKED_HEADER[24:32] = bytes.fromhex("0258 0190 0bc0 07d8")
WORKED_HEADER[37] = 1
WORKED_HEADER[48] = 1
WORKED_HEADER[100] = 0x5A  # a byte no field covers: kept as it came
WORKED_HEADER_BYTES = bytes(WORKED_HEADER)
#: The smallest JPEG the splitter accepts: SOI, EOI.
TINY_JPEG = bytes.fromhex("ffd8ffd9")


def test_worked_live_view_header() -> None:
    header = LiveViewHeader.decode(WORKED_HEADER_BYTES)
    assert (header.lv_width, header.lv_height) == (640, 424)
    assert (header.image_width, header.image_height) == (6016, 4016)
    assert (header.af_width, header.af_height, header.af_x, header.af_y) == (600, 400, 3008, 2008)
    assert (header.rotation, header.focus, header.recording) == (1, 1, 0)
    assert header.encode() == WORKED_HEADER_BYTES


def test_built_header_has_the_fields_at_their_offsets() -> None:
    header = LiveViewHeader.build((640, 424), (6016, 4016), af_width=600, af_height=400, af_x=3008,
                                  af_y=2008, rotation=1, focus=1)  # fmt: skip
    expected = bytearray(WORKED_HEADER_BYTES)
    expected[100] = 0
    assert header.encode() == bytes(expected)


def test_live_view_frame_split_and_join() -> None:
    data = WORKED_HEADER_BYTES + TINY_JPEG
    frame = split_live_view(data, LIVE_VIEW_HEADER_SIZES["d750"])
    assert frame == LiveViewFrame(WORKED_HEADER_BYTES, TINY_JPEG)
    assert frame.encode() == data
    assert LIVE_VIEW_HEADER_SIZES["z6"] == 384


@pytest.mark.parametrize(
    ("data", "size", "message"),
    [
        (bytes(380) + TINY_JPEG[:3], 384, "need 384 of header"),
        (bytes(384) + b"\x00\x00\xff\xd9", 384, "no JPEG start"),
        (bytes(64) + b"\xff\xd8\x00\x00", 64, "does not end with FF D9"),
    ],
)
def test_bad_live_view_data_is_refused(data: bytes, size: int, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        split_live_view(data, size)


def test_header_field_bounds() -> None:
    with pytest.raises(DecodeError, match="expected 384"):
        LiveViewHeader.decode(bytes(383))
    header = LiveViewHeader.decode(WORKED_HEADER_BYTES)
    with pytest.raises(EncodeError, match="lv_width"):
        LiveViewHeader(**{**_fields(header), "lv_width": 0x10000}).encode()
    with pytest.raises(EncodeError, match="rotation"):
        LiveViewHeader(**{**_fields(header), "rotation": 256}).encode()


def _fields(header: LiveViewHeader) -> dict[str, object]:
    return {name: getattr(header, name) for name in header.__dataclass_fields__}


# NIKON.md §3.3 worked example of the 1024-byte "LiveViewObject with version" (field offsets of
# jpglab/fuse nikon-live-view-dataset.ts, Nikon PTP Reference §9.7.1): version 1.0, display info 1024,
# a 4-byte JPEG of 640x424.
WORKED_VERSIONED = bytearray(1024)
WORKED_VERSIONED[0:16] = bytes.fromhex("0001 0000 00000000 00000400 00000004")
WORKED_VERSIONED[28:32] = bytes.fromhex("0280 01a8")


def test_worked_versioned_header() -> None:
    data = bytes(WORKED_VERSIONED) + TINY_JPEG + b"\x00\x00"  # bytes after the announced JPEG are ignored
    header, jpeg = split_versioned_live_view(data)
    assert (header.major, header.minor, header.display_info_size, header.jpeg_size) == (1, 0, 1024, 4)
    assert (header.lv_width, header.lv_height) == (640, 424)
    assert jpeg == TINY_JPEG
    assert header.encode() == bytes(WORKED_VERSIONED)
    assert LIVE_VIEW_HEADER_SIZES["versioned"] == VersionedLiveViewHeader.SIZE


def test_live_view_jpeg_finds_the_jpeg_after_each_known_header() -> None:
    # the D750/Z 6 class's 384 bytes (NIKON.md §3.3 worked example), as the body is expected to send
    assert live_view_jpeg(WORKED_HEADER_BYTES + TINY_JPEG, 384) == TINY_JPEG
    # a D3X-class body's 64-byte header (digiCamControl NikonD3X headerSize) where 384 was expected
    assert live_view_jpeg(bytes(64) + TINY_JPEG, 384) == TINY_JPEG
    # the versioned 1024-byte header (jpglab/fuse, Nikon PTP Reference §9.7.1) gives the JPEG's length
    assert live_view_jpeg(bytes(WORKED_VERSIONED) + TINY_JPEG + b"\x00\x00", 384) == TINY_JPEG
    with pytest.raises(DecodeError, match="no JPEG after a header of 384, 64, 128, 1024 bytes"):
        live_view_jpeg(bytes(2000), 384)
    with pytest.raises(DecodeError, match="does not end with FF D9"):
        live_view_jpeg(WORKED_HEADER_BYTES + TINY_JPEG[:2] + b"\x00\x00", 384)


def test_versioned_header_refuses_a_short_jpeg() -> None:
    with pytest.raises(DecodeError, match="announces 4 JPEG bytes, 2 follow"):
        split_versioned_live_view(bytes(WORKED_VERSIONED) + TINY_JPEG[:2])
    with pytest.raises(DecodeError, match="expected 1024"):
        VersionedLiveViewHeader.decode(bytes(10))


# ------------------------------------------------------------------------------------------------ 0xD100

# digiCamControl NikonD500Base._shutterTable (the D750's base class): value → the label it shows.
DIGICAMCONTROL_SHUTTER = {
    0x00011F40: "1/8000",
    0x000100FA: "1/250",
    0x0001003C: "1/60",
    0x000A0019: "1/2.5",
    0x000A0010: "1/1.6",
    0x00010001: "1s",
    0x000D000A: "1.3s",
    0x0019000A: "2.5s",
    0x001E0001: "30s",
    0xFFFFFFFF: "Bulb",
    0xFFFFFFFD: "Time",
    0xFFFFFFFE: "Flash Sync",
}


@pytest.mark.parametrize(("value", "label"), DIGICAMCONTROL_SHUTTER.items(), ids=lambda x: str(x))
def test_shutter_labels_read_back(value: int, label: str) -> None:
    labels = NikonShutterSpeed()
    ours = labels.label(value)
    assert labels.parse(ours) == value
    assert labels.parse(label) == value
    if value not in (SHUTTER_FLASH_SYNC,):
        assert normalize(ours) == normalize(label)


# The labels gphoto2 2.5.28 printed for these values when run against a scratch Nikon responder
# (NIKON.md §5.3): libgphoto2's raw "x/y" form, and "x 200" for 0xFFFFFFFE.
@pytest.mark.parametrize(
    ("text", "value"),
    [("10/25", 0x000A0019), ("13/10", 0x000D000A), ("30", 0x001E0001), ("x 200", SHUTTER_FLASH_SYNC)],
)
def test_gphoto2_shutter_labels_parse(text: str, value: int) -> None:
    assert NikonShutterSpeed().parse(text) == value


def test_shutter_encoding() -> None:
    assert encode_shutter(1, 250) == 0x000100FA
    assert decode_shutter(0x000D000A) == (13, 10)
    assert decode_shutter(SHUTTER_BULB) is None
    assert decode_shutter(0x00000001) is None  # a zero numerator is no time
    assert shutter_seconds(0x000A0019) == Fraction(2, 5)
    assert shutter_seconds(SHUTTER_TIME) is None
    assert shutter_value(Fraction(1, 250)) == 0x000100FA
    assert shutter_value(Fraction(13, 10)) == 0x000D000A
    assert shutter_value(Fraction(2, 5)) == 0x000A0019
    assert shutter_value(Fraction(1, 3000) * 7) is None  # no two-decimal form
    with pytest.raises(EncodeError, match="two u16"):
        encode_shutter(0, 1)
    with pytest.raises(EncodeError, match="two u16"):
        encode_shutter(1, 0x10000)
    for text in ("fast", "1/0", "0", "", "-1/250"):
        assert NikonShutterSpeed().parse(text) is None


# ------------------------------------------------------------------------------------------------ labels


@pytest.mark.parametrize(
    ("model", "code", "value", "label"),
    [
        # digiCamControl NikonD750/NikonZ6 _isoTable
        ("d750", 0x500F, 0x6400, "Hi 1"),
        ("d750", 0x500F, 0x0032, "Lo 1.0"),
        ("d750", 0x500F, 0x0320, "800"),
        ("z6", 0x500F, 0x6400, "25600"),
        ("z6", NikonProperty.ExposureIndexEx, 0x19000, "Hi 1"),
        # libgphoto2 config.c tables
        ("d750", 0x5005, 0x8010, "cloudy"),
        ("d750", 0x500E, 0x8010, "auto"),
        ("d750", 0x500A, 0x8011, "AF-C"),
        ("d750", 0x5004, 2, "JPEG fine"),
        ("z6", 0x5004, 4, "JPEG fine"),
        ("z6", 0x5004, 7, "NEF"),
        ("d750", NikonProperty.AutofocusMode, 3, "MF (fixed)"),
        ("d750", NikonProperty.RecordingMedia, 1, "SDRAM"),
        ("d750", 0x500D, 0xFFFFFFFF, "bulb"),
        ("d750", 0x500D, 40, "1/250"),
        ("d750", 0x5007, 560, "f/5.6"),
        ("d750", 0x5010, -333, "-1/3"),
        ("d750", 0x5001, 87, "87%"),
    ],
)
def test_property_labels(model: str, code: int, value: int, label: str) -> None:
    labels = property_labels(model)[code]
    assert labels.label(value) == label
    assert labels.parse(label) == value


def test_unified_names_cover_the_issue_and_have_labels() -> None:
    wanted = {
        "iso",
        "exposure",
        "fnumber",
        "exp-bias",
        "whitebalance",
        "program",
        "focusmode",
        "imagequality",
    }
    assert wanted | {"battery"} <= set(UNIFIED_NAMES)
    for model in ("d750", "z6"):
        labels = property_labels(model)
        for codes in UNIFIED_NAMES.values():
            assert codes[0] in labels


def test_prohibit_reasons() -> None:
    # libgphoto2 library.c camera_capture_preview: bit 8 battery, bit 20 card unformatted
    assert prohibit_reasons((1 << 8) | (1 << 20)) == ["battery exhausted", "card unformatted"]
    assert prohibit_reasons(0) == []
    assert prohibit_reasons(1 << 30) == ["bit 30"]
    with pytest.raises(ValueError, match="not a u32"):
        prohibit_reasons(1 << 32)


# ------------------------------------------------------------------------------------------------ DeviceInfo

# gphoto/libgphoto2#1135 (Nikon Z 8 over PTP/IP, --debug log): the GetDeviceInfo data packet starts
# "03 00 00 00 64 00 ff ff-ff ff 6e 00 22 4d 00 69 00 63 00 72 00 6f 00 73 00 6f 00 66 00" (tid 3, then
# StandardVersion 100, VendorExtensionID 0xFFFFFFFF, version 110, a 34-character string "Microsof...").
Z8_DEVICEINFO_START = bytes.fromhex("03000000 6400 ffffffff 6e00 22 4d00 6900 6300 7200 6f00 7300 6f00 6600")


def test_z8_vendor_id_is_fixed_up() -> None:
    start = Z8_DEVICEINFO_START
    standard, vendor, version = struct.unpack_from("<HIH", start, 4)
    assert (standard, vendor, version) == (100, 0xFFFFFFFF, 110)
    assert start[12] == 0x22  # the string's length in characters, NUL included
    text = start[13:].decode("utf-16-le")
    assert text == "Microsof"
    # the same log: "Manufacturer: Nikon Corporation", "Vendor extension ID: 0xffffffff"
    assert effective_vendor_id(vendor, "Nikon Corporation") == VENDOR_NIKON
    assert effective_vendor_id(6, "Nikon Corporation") == VENDOR_NIKON
    assert effective_vendor_id(0xFFFFFFFF, "Canon Inc.") == 0xFFFFFFFF
    assert effective_vendor_id(VENDOR_NIKON, "") == VENDOR_NIKON


def test_capture_method_follows_libgphoto2() -> None:
    assert capture_method([0x100E, 0x90C0, 0x9207]) is CaptureMethod.RecInMedia
    assert capture_method([0x100E, 0x90C0]) is CaptureMethod.RecInSdram
    assert capture_method([0x90CB, 0x100E]) is CaptureMethod.AfCaptureSdram
    assert capture_method([0x100E]) is CaptureMethod.Generic
    assert capture_method([0x1001, 0x935A]) is None


# ------------------------------------------------------------------------------------------------ 0x9431


def test_partial_object_ex_parameters() -> None:
    # libgphoto2 ptp.c ptp_nikon_getpartialobjectex: handle, offset lo, offset hi, size lo, size hi
    params = partial_object_ex_params(0x1002, 0x1_0000_0010, 10 * 1024 * 1024)
    assert params == (0x1002, 0x10, 1, 0xA00000, 0)
    assert partial_object_ex_request(params) == (0x1002, 0x1_0000_0010, 10 * 1024 * 1024)
    assert partial_object_ex_request([7, 5]) == (7, 5, 0)
    assert split_u64(0x1_0000_0002) == (2, 1)
    with pytest.raises(EncodeError):
        partial_object_ex_params(1, -1, 0)
    with pytest.raises(DecodeError, match="6 params"):
        partial_object_ex_request([1, 2, 3, 4, 5, 6])


def test_string_helper_agrees_with_the_z8_log() -> None:
    # decode_value(DataType.STR) reads the u8-count PTP string of the #1135 DeviceInfo once the full text is there
    text = "Microsoft.com/DeviceServices: 1.0"
    encoded = bytes([len(text) + 1]) + (text + "\0").encode("utf-16-le")
    assert encoded[:1] == b"\x22"
    assert decode_value(DataType.STR, encoded)[0] == text

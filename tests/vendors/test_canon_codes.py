"""Canon EOS codecs against literal bytes: every layout decodes to what its source says and re-encodes byte
for byte; malformed input is a DecodeError, never an IndexError or an endless loop; the labels read back
every label Debian's gphoto2 2.5.30 prints for the same codes.

Sources of the bytes (tests/data/canon/CANON.md has the details):
- "ptp.h": libgphoto2 camlibs/ptp2/ptp.h, the sample dumps commented above PTP_OC_CANON_EOS_* defines.
- "ptp-pack.c": libgphoto2 camlibs/ptp2/ptp-pack.c, comments of ptp_unpack_Canon_EOS_FE and
  ptp_unpack_EOS_ImageFormat.
- "gphoto2 run": bytes exchanged with Debian's gphoto2 2.5.28 / libgphoto2 2.5.30 (`--camera "Canon EOS
  (WLAN)"`) and a hand-written scratch responder (not this module), CANON.md §6; gphoto2's own --debug
  decode of each is quoted beside it.
- "CANON.md §N": a worked example of the fact sheet, built from the documented layout with struct.pack.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ptpipd.errors import InvalidValue
from ptpipd.ptp import DataType, DecodeError, DevicePropDesc, EncodeError, EnumForm, StorageInfo, Value
from ptpipd.vendors import canon_codes as cc
from ptpipd.vendors.canon import CanonDriver
from ptpipd.vendors.canon_codes import (
    APERTURE,
    BATTERY,
    DRIVE_MODE,
    EXPOSURE_COMP,
    FOCUS_MODE,
    IMAGE_FORMAT,
    IMAGE_FORMATS,
    ISO,
    METERING_MODE,
    SHOOTING_MODE,
    SHUTTER,
    WHITE_BALANCE,
    AvailListChanged,
    CameraStatusChanged,
    CanonEvent,
    DeviceInfoEx,
    FolderEntry,
    ImageFile,
    ImageFormat,
    ObjectAdded,
    ObjectTransfer,
    PropValueChanged,
    SetPropValue,
    UnknownRecord,
    ViewfinderRecord,
)
from ptpipd.vendors.values import coerce_value

DATA = Path(__file__).resolve().parents[1] / "data" / "canon"


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# ------------------------------------------------------------------------------------------------ GetEvent

# gphoto2 run, `--list-config`: the first four records of the dump after SetEventMode. gphoto2 logged
# "event 0: EOS prop d101 (EOS_Aperture) info record, datasize is 4 / currentvalue of d101 is 30",
# then d102 is 78, d103 is 48, d104 is 0.
DUMP_HEAD = h("""
    10000000 89c10000 01d10000 30000000
    10000000 89c10000 02d10000 78000000
    10000000 89c10000 03d10000 48000000
    10000000 89c10000 04d10000 00000000
""")


def test_property_records_from_a_gphoto2_run() -> None:
    records = cc.split_records(DUMP_HEAD + cc.TERMINATOR)
    decoded = [cc.decode_record(r) for r in records]
    assert decoded == [
        PropValueChanged(0xD101, h("30000000")),
        PropValueChanged(0xD102, h("78000000")),
        PropValueChanged(0xD103, h("48000000")),
        PropValueChanged(0xD104, h("00000000")),
    ]
    assert [d.value for d in decoded if isinstance(d, PropValueChanged)] == [0x30, 0x78, 0x48, 0]
    labels = [APERTURE.label(0x30), SHUTTER.label(0x78), ISO.label(0x48), EXPOSURE_COMP.label(0)]
    assert labels == ["f/5.6", "1/250", "100", "0"]
    assert cc.encode_events(decoded) == DUMP_HEAD + cc.TERMINATOR


# gphoto2 run, `--set-config iso=800`: the camera's answer to the write; gphoto2 then printed iso = 800.
ISO_800 = h("10000000 89c10000 03d10000 60000000")
# gphoto2 run, `--list-config`: after RequestDevicePropValue 0xD1AF; gphoto2 logged "event 0: EOS prop d1af
# (EOS_SerialNumber) info record, datasize is 13 / currentvalue of d1af is 033024014483".
SERIAL = h("19000000 89c10000 afd10000 303333303234303134343833 00")
# CANON.md §4.2: ImageFormat L fine JPEG as a value (one file: kind 1 JPEG, size 0 L, compression 3 fine).
IMAGE_FORMAT_L = h("20000000 89c10000 20d10000 01000000 10000000 01000000 00000000 03000000")


@pytest.mark.parametrize(
    ("raw", "code", "value", "label"),
    [
        (ISO_800, 0xD103, 0x60, "800"),
        (SERIAL, 0xD1AF, "033024014483", None),
        (IMAGE_FORMAT_L, 0xD120, ImageFormat((ImageFile(1, 0, 3),)), "L"),
    ],
)
def test_prop_value_changed(raw: bytes, code: int, value: object, label: str | None) -> None:
    record = cc.decode_record(raw)
    assert isinstance(record, PropValueChanged)
    assert (record.code, record.value) == (code, value)
    if label is not None:
        labels = {0xD103: ISO, 0xD120: IMAGE_FORMAT}[code]
        assert labels.label(record.value) == label  # type: ignore[arg-type]
    assert cc.encode_record(record) == raw
    assert cc.encode_record(PropValueChanged.of(code, record.value)) == raw


# CANON.md §4.3: the ISO list the scratch body offered; gphoto2 logged "propxtype is 3, prop is 0xd103, data
# type is 0x0004, propxcnt is 10" and suppval 0x0, 0x48, 0x4b … 0x78, and showed Auto, 100 … 6400.
ISO_LIST = h("""
    3c000000 8ac10000 03d10000 03000000 0a000000
    00000000 48000000 4b000000 4d000000 50000000 58000000 60000000 68000000 70000000 78000000
""")
# CANON.md §4.3: an image-format list, L fine JPEG and RAW + L fine JPEG, one structure per element.
FORMAT_LIST = h("""
    4c000000 8ac10000 20d10000 03000000 02000000
    01000000 10000000 01000000 00000000 03000000
    02000000 10000000 06000000 00000000 04000000 10000000 01000000 00000000 03000000
""")


def test_avail_list_changed() -> None:
    iso = cc.decode_record(ISO_LIST)
    assert iso == AvailListChanged(0xD103, (0, 0x48, 0x4B, 0x4D, 0x50, 0x58, 0x60, 0x68, 0x70, 0x78))
    assert [ISO.label(v) for v in iso.values] == [  # type: ignore[union-attr]
        "Auto",
        "100",
        "125",
        "160",
        "200",
        "400",
        "800",
        "1600",
        "3200",
        "6400",
    ]
    formats = cc.decode_record(FORMAT_LIST)
    assert isinstance(formats, AvailListChanged)
    assert [IMAGE_FORMAT.label(f) for f in formats.values] == ["L", "RAW+L"]
    assert [f.code for f in formats.values if isinstance(f, ImageFormat)] == [0x03FF, 0x0C03]
    assert cc.encode_record(iso) == ISO_LIST
    assert cc.encode_record(formats) == FORMAT_LIST


def test_avail_list_of_an_unknown_type_is_kept_as_bytes() -> None:
    # CANON.md §4.3: libgphoto2 reads list type 3 only; type 1 (its comment: "uint16 ?") stays raw.
    raw = h("18000000 8ac10000 03d10000 01000000 01000000 48000000")
    record = cc.decode_record(raw)
    assert record == UnknownRecord(CanonEvent.AvailListChanged, raw[8:])
    assert cc.encode_record(record) == raw


# gphoto2 run, `--capture-image-and-download` (capture target card): gphoto2 logged "event 0: objectinfo
# added oid 92740c72, parent 90000002, ofc 3801, size 2087, filename IMG_0001.JPG" and downloaded it.
OBJECT_ADDED = h("""
    35000000 81c10000 720c7492 01000200 0138 0000 00000000 00000000 27080000 02000090 00000000
    494d475f303030312e4a504700
""")
# gphoto2 run, capture with CaptureDestination = PC: "request object transfer oid 92740c72, ofc 3801, size
# 2087"; gphoto2 fetched it with GetPartialObject and sent TransferComplete 0x9117.
OBJECT_TRANSFER = h(
    "29000000 86c10000 720c7492 0138 0000 00000000 27080000 00000000 494d475f303030312e4a504700"
)


def test_object_records() -> None:
    added = cc.decode_record(OBJECT_ADDED)
    assert added == ObjectAdded(0x92740C72, 0x00020001, 0x3801, 2087, 0x90000002, "IMG_0001.JPG")
    transfer = cc.decode_record(OBJECT_TRANSFER)
    assert transfer == ObjectTransfer(0x92740C72, 0x3801, 2087, "IMG_0001.JPG")
    assert cc.encode_record(added) == OBJECT_ADDED
    assert cc.encode_record(transfer) == OBJECT_TRANSFER
    changed = OBJECT_ADDED[:4] + h("87c10000") + OBJECT_ADDED[8:]  # 0xC187 ObjectInfoChangedEx, same layout
    decoded = cc.decode_record(changed)
    assert isinstance(decoded, ObjectAdded) and decoded.type == CanonEvent.ObjectInfoChangedEx
    assert cc.encode_record(decoded) == changed


def test_object_record_keeps_unknown_fields_and_padding() -> None:
    # CANON.md §4.4: the unknown words and bytes after the name survive a round trip.
    raw = bytearray(OBJECT_ADDED[:-1] + b"\0\xaa\xbb")
    raw[0] = len(raw)
    raw[18:20] = b"\x01\x02"
    raw[36:40] = b"\x09\x08\x07\x06"
    record = cc.decode_record(bytes(raw))
    assert isinstance(record, ObjectAdded)
    assert (record.reserved0, record.reserved3, record.trailer) == (0x0201, 0x06070809, b"\xaa\xbb")
    assert cc.encode_record(record) == bytes(raw)


# CANON.md §4.5 / §4.6: CameraStatusChanged 1, and ShutdownTimerUpdated (no layout known: kept as bytes).
STATUS = h("0c000000 8bc10000 01000000")
SHUTDOWN_TIMER = h("0c000000 8ec10000 1e000000")


def test_status_and_unknown_records() -> None:
    assert cc.decode_record(STATUS) == CameraStatusChanged(1)
    assert cc.decode_record(SHUTDOWN_TIMER) == UnknownRecord(0xC18E, h("1e000000"))
    data = STATUS + SHUTDOWN_TIMER + cc.TERMINATOR
    assert cc.encode_events(decode_events(data)) == data


def test_an_empty_poll_is_the_terminator_alone() -> None:
    # gphoto2 run: every idle GetEvent answer was these 8 bytes, and gphoto2 went on polling.
    assert decode_events(h("08000000 00000000")) == ()
    assert cc.encode_events([]) == h("08000000 00000000")


# gphoto2 run, capture after a half press: this FocusInfoEx value made gphoto2 log "focusinfo prop content:
# eosversion=0,size=5472x3648,size2=5472x3648,points={{0,0,200,200}},select={0,},unknown={000000ffff}" and
# press fully at once instead of waiting 2 s ("no focus info?").
FOCUS_INFO = h("""
    2e000000 89c10000 d3d10000
    22000000 1e00 0000 0100 0100 6015 400e 6015 400e c800 c800 0000 0000 01 000000 ffff
""")


def test_focus_info_value() -> None:
    record = cc.decode_record(FOCUS_INFO)
    assert isinstance(record, PropValueChanged) and record.code == cc.CanonProperty.FocusInfoEx
    assert record.value == FOCUS_INFO[12:]  # no kind: kept as bytes
    assert cc.encode_focus_info(5472, 3648, [(200, 200, 0, 0)]) == FOCUS_INFO[12:]


# ------------------------------------------------------------------------------------------------ SetDevicePropValueEx


@pytest.mark.parametrize(
    ("raw", "code", "value"),
    [
        # gphoto2 run, --set-config iso=800
        (h("0c000000 03d10000 60000000"), 0xD103, 0x60),
        # gphoto2 run, --set-config exposurecompensation=-0.3: the signed byte zero-extended
        (h("0c000000 04d10000 fd000000"), 0xD104, 0xFD),
        # gphoto2 run, --set-config artist=Jane: ASCII + NUL, Size 13
        (h("0d000000 d0d10000 4a616e6500"), 0xD1D0, "Jane"),
        # gphoto2 run, prepare capture: CaptureDestination = 4 (PC)
        (h("0c000000 1cd10000 04000000"), 0xD11C, 4),
        # gphoto2 run, --capture-preview: EVFOutputDevice = 2 (PC)
        (h("0c000000 b0d10000 02000000"), 0xD1B0, 2),
        # ptp.h, comment above PTP_OC_CANON_EOS_SetDevicePropValueEx: "data phase (0xc, 0xd11c, 0x1)"
        (h("0c000000 1cd10000 01000000"), 0xD11C, 1),
    ],
)
def test_set_prop_value(raw: bytes, code: int, value: object) -> None:
    payload = SetPropValue.decode(raw)
    assert (payload.code, payload.value) == (code, value)
    assert payload.encode() == raw
    assert SetPropValue.of(code, value).encode() == raw  # type: ignore[arg-type]


def test_set_prop_value_of_an_image_format() -> None:
    # CANON.md §5: libgphoto2 ptp_pack_EOS_ImageFormat's layout for RAW + L fine JPEG (0x0C03).
    raw = h(
        "2c000000 20d10000 02000000 10000000 06000000 00000000 04000000 10000000 01000000 00000000 03000000"
    )
    payload = SetPropValue.decode(raw)
    assert payload.value == ImageFormat.from_code(0x0C03)
    assert SetPropValue.of(0xD120, 0x0C03).encode() == raw


# ------------------------------------------------------------------------------------------------ ImageFormat


def test_image_format_examples_from_ptp_pack_c() -> None:
    # ptp-pack.c (master), ptp_unpack_EOS_ImageFormat: "example (cRAW + coarse S1 JPEG): 2 10 6 0 3 10 1 e 2
    # ... would result in the value 0x0bd2".
    raw = struct.pack("<9I", 2, 0x10, 6, 0, 3, 0x10, 1, 0xE, 2)
    fmt, end = ImageFormat.decode(raw)
    assert end == len(raw) and fmt.code == 0x0BD2
    assert IMAGE_FORMAT.label(fmt) == "cRAW+S1 normal"
    assert fmt.encode() == raw == ImageFormat.from_code(0x0BD2).encode()
    # ptp-pack.c (2.5.x), same function: "example: 0x1 0x10 0x6 0x1 0x4" (one file, RAW, size 1 = mRAW).
    mraw, _ = ImageFormat.decode(struct.pack("<5I", 1, 0x10, 6, 1, 4))
    assert (mraw.code, IMAGE_FORMAT.label(mraw)) == (0x1CFF, "mRAW")


def test_every_image_format_code_round_trips() -> None:
    for code, label in IMAGE_FORMATS.items():
        fmt = ImageFormat.from_code(code)
        assert fmt.code == code
        assert ImageFormat.decode(fmt.encode())[0] == fmt
        assert IMAGE_FORMAT.parse(label) == code


def test_image_format_that_fits_no_code_keeps_its_bytes() -> None:
    odd = ImageFormat((ImageFile(2, 0, 3),))  # kind 2 is neither JPEG nor RAW
    assert odd.code is None
    assert IMAGE_FORMAT.label(odd) == odd.encode().hex()
    assert ImageFormat.decode(odd.encode())[0] == odd


# ------------------------------------------------------------------------------------------------ other structures

# ptp.h, comment above PTP_OC_CANON_EOS_GetObjectInfoEx: two USB dumps (12-byte container header, then the
# data). sample1: cmdargs 1, 0xffffffff, 0x100000 → the DCIM folder; sample2 → the 231CANON folder in it.
OBJECT_INFO_EX_1 = h("""
    48000000 0200 0991 12000000 01000000
    38000000 00000030 01000000 01300000
    01000000 10000000 00000000 00000020
    00000030 4443494d 00000000 00000000
    00000000 ccc30146
""")
OBJECT_INFO_EX_2 = h("""
    48000000 0200 0991 15000000 01000000
    38000000 00009c33 01000000 01300000
    01000000 10000000 00000000 00000030
    00009c33 32333143 414e4f4e 00000000
    00000000 ccc30146
""")


@pytest.mark.parametrize(
    ("dump", "handle", "parent", "name"),
    [
        (OBJECT_INFO_EX_1, 0x30000000, 0x20000000, "DCIM"),
        (OBJECT_INFO_EX_2, 0x339C0000, 0x30000000, "231CANON"),
    ],
)
def test_folder_entries_from_ptp_h(dump: bytes, handle: int, parent: int, name: str) -> None:
    data = dump[12:]
    (entry,) = cc.decode_folder(data)
    assert (entry.handle, entry.storage_id, entry.object_format) == (handle, 1, 0x3001)
    assert (entry.parent, entry.name, entry.flags, entry.unknown20) == (parent, name, 1, 0x10)
    assert (entry.size, entry.time, entry.handle2) == (0, 0x4601C3CC, handle)
    assert cc.encode_folder([entry]) == data
    assert FolderEntry.make(handle, 1, 0x3001, 0, parent, name, 0x4601C3CC).encode() == data[4:]


def test_folder_entry_from_ptp_pack_c() -> None:
    # ptp-pack.c, comment before ptp_unpack_Canon_EOS_FE: the entry of IMG_0199.JPG (offsets 0x10–0x47 there),
    # next to its standard ObjectInfo: ObjectCompressedSize 2217241, ParentObject 0x92740000.
    raw = h("""
        38000000 720c7492 01000200 01380000 00000000 00000000 19d52100 00007492
        700c7492 494d475f 30313939 2e4a5047 00000000 107c984d
    """)
    entry, end = FolderEntry.decode(raw)
    assert end == len(raw)
    assert (entry.handle, entry.storage_id, entry.object_format, entry.size) == (
        0x92740C72,
        0x20001,
        0x3801,
        2217241,
    )
    assert (entry.parent, entry.name, entry.time, entry.handle2) == (
        0x92740000,
        "IMG_0199.JPG",
        0x4D987C10,
        0x92740C70,
    )
    assert entry.encode() == raw


def test_eos_storage_info_is_a_standard_storage_info() -> None:
    # ptp.h, comment above PTP_OC_CANON_EOS_GetStorageInfo: "0x28 bytes of data" after the USB header.
    dump = h("""
        34000000 0200 0291 0a000000 0400 0300 0000 00000000 00000000 00000000 00000000
        ffffffff 03 4300 4600 0000 03 4100 3a00 0000
    """)
    info = StorageInfo.decode(dump[12:])
    assert (info.storage_type, info.filesystem_type, info.description, info.volume_label) == (
        4,
        3,
        "CF",
        "A:",
    )


# CANON.md §4.8: GetDeviceInfoEx with three events, three properties and the one-word third list that
# gphoto2 2.5.30 needs (an empty one made it log "ptp_canon_eos_getdeviceinfo failed: PTP I/O Error").
DEVICE_INFO_EX = h("""
    2c000000 03000000 81c10000 89c10000 8ac10000 03000000 01d10000 02d10000 03d10000 01000000 00000000
""")


def test_device_info_ex() -> None:
    info = DeviceInfoEx.decode(DEVICE_INFO_EX)
    assert info == DeviceInfoEx((0xC181, 0xC189, 0xC18A), (0xD101, 0xD102, 0xD103), (0,))
    assert info.encode() == DEVICE_INFO_EX


# CANON.md §4.9: a record gphoto2 does not know (type 8) before the JPEG frame (type 1); gphoto2 2.5.30 saved
# only the JPEG from such data in our run.
VIEWFINDER = h("10000000 08000000 4142434445464748 0c000000 01000000 ffd8ffd9")


def test_viewfinder_records() -> None:
    records = cc.decode_viewfinder(VIEWFINDER)
    assert records == (ViewfinderRecord(8, b"ABCDEFGH"), ViewfinderRecord(1, h("ffd8ffd9")))
    assert cc.viewfinder_jpeg(VIEWFINDER) == h("ffd8ffd9")
    assert cc.viewfinder_jpeg(VIEWFINDER[:16]) is None
    assert b"".join(r.encode() for r in records) == VIEWFINDER


# ------------------------------------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no terminator"),
        (DUMP_HEAD, "no terminator"),
        (h("04000000 89c10000") + cc.TERMINATOR, "Size 4"),
        (h("ff000000 89c10000") + cc.TERMINATOR, "Size 255"),
        (cc.TERMINATOR + b"\0", "after the terminator"),
        (h("0a000000 89c10000 03d1") + cc.TERMINATOR, "PropValueChanged code"),
        (h("14000000 8ac10000 03d10000 03000000 02000000") + cc.TERMINATOR, "2 u32 values need 8"),
        (h("14000000 8ac10000 20d10000 03000000 01000000") + cc.TERMINATOR, "ImageFormat count"),
        (OBJECT_ADDED[:-1] + cc.TERMINATOR, "truncated"),
        (h("2d000000") + OBJECT_ADDED[4:-9] + b"J" + cc.TERMINATOR, "no NUL"),
    ],
)
def test_malformed_event_data_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_events(data)


def test_a_value_too_short_for_its_property_is_an_error_when_read() -> None:
    # The record framing is fine (Size 12, no value bytes); the value is read on demand.
    (record,) = decode_events(h("0c000000 89c10000 03d10000") + cc.TERMINATOR)
    assert isinstance(record, PropValueChanged)
    with pytest.raises(DecodeError, match="0 value bytes, need 2"):
        _ = record.value


@pytest.mark.parametrize(
    ("decode", "data", "message"),
    [
        (SetPropValue.decode, h("0d000000 03d10000 60000000"), "Size says 13"),
        (SetPropValue.decode, h("0c000000 03d1"), "truncated"),
        (DeviceInfoEx.decode, DEVICE_INFO_EX[:-4], "Size says 44"),
        (DeviceInfoEx.decode, h("0c000000 09000000 00000000"), "9 events do not fit"),
        (cc.decode_folder, h("02000000") + OBJECT_INFO_EX_1[16:], "2 entries cannot fit"),
        (cc.decode_folder, OBJECT_INFO_EX_1[12:] + b"\0", "1 bytes after"),
        (cc.decode_viewfinder, h("04000000 01000000"), "Size 4"),
        (cc.decode_viewfinder, h("20000000 01000000"), "Size 32"),
        (lambda d: ImageFormat.decode(d)[0], struct.pack("<5I", 1, 0x14, 1, 0, 3), "entry size 0x14"),
        (lambda d: ImageFormat.decode(d)[0], struct.pack("<I", 3), "3 files"),
    ],
)
def test_malformed_structures_are_clear_errors(decode: object, data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode(data)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD103, 0x10000), (0xD103, "800"), (0xD1AF, 12), (0xD1AF, "caf\u00e9\u263a"), (0xD120, 0x1_0000)],
)
def test_values_that_do_not_fit_are_refused(code: int, value: object) -> None:
    with pytest.raises(EncodeError):
        PropValueChanged.of(code, value)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_never_escapes_as_another_exception(data: bytes) -> None:
    for decode in (
        decode_events,
        cc.decode_viewfinder,
        cc.decode_folder,
        SetPropValue.decode,
        DeviceInfoEx.decode,
        lambda d: ImageFormat.decode(d),
    ):
        with contextlib.suppress(DecodeError):
            decode(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0xC100, 0xC1FF), st.binary(max_size=40)), max_size=6))
def test_framed_records_split_back_exactly(parts: list[tuple[int, bytes]]) -> None:
    records = [struct.pack("<II", 8 + len(body), rtype) + body for rtype, body in parts]
    assert cc.split_records(b"".join(records) + cc.TERMINATOR) == records


# ------------------------------------------------------------------------------------------------ labels

LABEL_TABLES = {
    0xD101: APERTURE,
    0xD102: SHUTTER,
    0xD103: ISO,
    0xD104: EXPOSURE_COMP,
    0xD105: SHOOTING_MODE,
    0xD106: DRIVE_MODE,
    0xD107: METERING_MODE,
    0xD108: FOCUS_MODE,
    0xD109: WHITE_BALANCE,
    0xD111: BATTERY,
}
#: gphoto2 labels that are its own placeholders or name two codes the same way.
NOT_OURS = {"Unknown 7", "implicit auto", "Small Fine JPEG"}


def decode_events(data: bytes) -> tuple[cc.Record, ...]:
    """All records of GetEvent data, decoded (split_records, then decode_record), as the driver reads them."""
    return tuple(cc.decode_record(r) for r in cc.split_records(data))


def coerce_among(prop: int, text: str, codes: list[int]) -> Value:
    """What ``set`` makes of ``text`` on a body that lists ``codes`` for ``prop`` (the product's path)."""
    spec = CanonDriver.properties.spec_for(prop)
    desc = DevicePropDesc(prop, DataType.UINT16, 1, codes[0], codes[0], EnumForm(tuple(codes)))
    return coerce_value(spec, desc, text)


def gphoto2_labels() -> list[tuple[int, int, str]]:
    rows = []
    for line in (DATA / "gphoto2-2.5.30-labels.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            prop, value, label = line.split(" ", 2)
            rows.append((int(prop, 16), int(value, 16), label))
    return rows


def test_every_gphoto2_label_reads_back_to_its_code() -> None:
    rows = gphoto2_labels()
    assert len(rows) > 300
    checked = 0
    for prop, value, label in rows:
        if label in NOT_OURS:
            continue
        if prop == 0xD120:  # gphoto2 2.5.30 packs one file with a 00 low byte; we use FF (CANON.md §4.2)
            fmt = ImageFormat.from_code(value | 0xFF if value & 0xFF == 0 else value)
            assert IMAGE_FORMAT.parse(label) == fmt.code, label
        else:
            table = LABEL_TABLES[prop]
            parsed = (
                coerce_among(prop, label, [value]) if isinstance(table, cc.StopTable) else table.parse(label)
            )
            assert parsed == value, (hex(prop), hex(value), label)
        checked += 1
    assert checked == len(rows) - sum(1 for r in rows if r[2] in NOT_OURS)


@pytest.mark.parametrize(
    ("table", "code", "label"),
    [
        (APERTURE, 0x30, "f/5.6"),
        (APERTURE, 0x15, "f/1.8"),
        (SHUTTER, 0x78, "1/250"),
        (SHUTTER, 0x10, "30s"),
        (SHUTTER, 0x40, "0.5s"),
        (SHUTTER, 0x0C, "bulb"),
        (ISO, 0x00, "Auto"),
        (ISO, 0x60, "800"),
        (EXPOSURE_COMP, 0x03, "+1/3"),
        (EXPOSURE_COMP, 0x04, "+1/2"),
        (EXPOSURE_COMP, 0xF3, "-1 2/3"),
        (EXPOSURE_COMP, 0x28, "+5"),
        (IMAGE_FORMAT, 0x0C03, "RAW+L"),
        (IMAGE_FORMAT, 0x12FF, "M normal"),
        (WHITE_BALANCE, 0, "Auto"),
        (FOCUS_MODE, 3, "MF"),
        (SHOOTING_MODE, 1, "Tv"),
        (BATTERY, 4, "75%"),
    ],
)
def test_owner_labels_round_trip(table: cc.Enum, code: int, label: str) -> None:
    assert table.label(code) == label
    assert table.parse(label) == code


@pytest.mark.parametrize(
    ("table", "text", "code"),
    [
        (APERTURE, "5.6", 0x30),
        (APERTURE, "F5.6", 0x30),
        (SHUTTER, '30"', 0x10),
        (SHUTTER, '0"5', 0x40),
        (SHUTTER, "1/250s", 0x78),
        (SHUTTER, "20.3", 0x14),
        (ISO, "ISO 800", 0x60),
        (ISO, "iso800", 0x60),
        (EXPOSURE_COMP, "-0.7", 0xFB),
        (EXPOSURE_COMP, "+1.5", 0x0C),
        (EXPOSURE_COMP, "1 1/3 EV", 0x0B),
        (IMAGE_FORMAT, "RAW + Large Fine JPEG", 0x0C03),
        (IMAGE_FORMAT, "raw+l fine", 0x0C03),
        (WHITE_BALANCE, "AWB", 0),
        (SHOOTING_MODE, "A_DEP", 5),
        (DRIVE_MODE, "Timer 2 sec", 0x11),
    ],
)
def test_other_spellings_are_read(table: cc.Enum, text: str, code: int) -> None:
    assert table.parse(text) == code


def test_half_and_third_stops_share_a_label() -> None:
    # config.c lists 0x14 and 0x15 both as 1.8: the camera offers one of them, depending on its step setting.
    assert APERTURE.label(0x14) == APERTURE.label(0x15) == "f/1.8"
    assert APERTURE.parse("f/1.8") == 0x15
    assert coerce_among(0xD101, "f/1.8", [0x10, 0x14, 0x18]) == 0x14
    assert coerce_among(0xD102, "1/6", [0x4C]) == 0x4C
    with pytest.raises(InvalidValue):
        coerce_among(0xD101, "f/77", [0x30])


def test_exposure_compensation_rejects_what_is_not_a_canon_step() -> None:
    assert EXPOSURE_COMP.parse("0.2") is None
    assert EXPOSURE_COMP.parse("1/4") is None
    assert EXPOSURE_COMP.label(0x01) == "0x0001"
    assert EXPOSURE_COMP.label(0xFFFFFFFD) == "-1/3"  # a camera that sign-extends the byte


def test_shutter_seconds() -> None:
    assert cc.shutter_seconds(0x78) == cc.Fraction(1, 250)
    assert cc.shutter_seconds(0x35) == cc.Fraction(13, 10)
    assert cc.shutter_seconds(0x0C) is None


def test_exposure_seconds_adds_the_self_timer() -> None:
    assert cc.exposure_seconds(0x35, 0x00) == 1.3
    assert cc.exposure_seconds(0x35, 0x10) == 11.3  # self-timer 10 s
    assert cc.exposure_seconds(0x78, 0x11) == 2.004  # 1/250 s after the 2 s self-timer
    assert cc.exposure_seconds(0x0C, 0x11) == 2.0  # bulb: no known length
    assert cc.exposure_seconds(None, None) == 0.0  # not yet reported

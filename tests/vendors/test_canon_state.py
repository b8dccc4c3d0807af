"""What the Canon driver makes of GetEvent data, from literal bytes: cached values and lists, descriptions,
and the ordinary PTP events the service gets. The bytes are those of tests/vendors/test_canon_codes.py, whose
sources (gphoto2 runs, libgphoto2's ptp.h / ptp-pack.c, CANON.md worked examples) are named there."""

from __future__ import annotations

from ptpipd.ip.packets import NO_TRANSACTION, Event
from ptpipd.ptp import DataType, EnumForm, NoForm
from ptpipd.vendors import canon_codes as cc
from ptpipd.vendors.base import CameraConfig
from ptpipd.vendors.canon import CanonDriver
from ptpipd.vendors.canon_state import EosState
from tests.vendors.test_canon_codes import (
    DUMP_HEAD,
    FOCUS_INFO,
    IMAGE_FORMAT_L,
    ISO_800,
    ISO_LIST,
    OBJECT_ADDED,
    OBJECT_TRANSFER,
    SERIAL,
    SHUTDOWN_TIMER,
    STATUS,
    h,
)

END = cc.TERMINATOR


def changed(*codes: int) -> list[Event]:
    return [Event(0x4006, NO_TRANSACTION, (code,)) for code in codes]


def test_the_dump_fills_the_cache_and_says_what_changed() -> None:
    state = EosState()
    assert len(state.feed(DUMP_HEAD + ISO_LIST + END)) == 5
    assert state.take_events() == [
        *changed(0xD101, 0xD102, 0xD103, 0xD104),
        Event(0xC18A, NO_TRANSACTION, (0xD103,)),
    ]
    assert state.take_events() == []
    assert {code: state.value(code) for code in state.known()} == {
        0xD101: 0x30,
        0xD102: 0x78,
        0xD103: 0x48,
        0xD104: 0,
    }
    desc = state.describe(0xD103)
    assert desc is not None
    assert (desc.datatype, desc.current, desc.writable) == (DataType.UINT16, 0x48, True)
    assert desc.form == EnumForm((0, 0x48, 0x4B, 0x4D, 0x50, 0x58, 0x60, 0x68, 0x70, 0x78))
    assert state.describe(0xD101) is not None and state.describe(0xD101).form == NoForm()  # type: ignore[union-attr]
    assert state.describe(0xD105) is None  # never reported


def test_a_new_value_is_one_event_the_same_value_none() -> None:
    state = EosState()
    state.feed(DUMP_HEAD + END)
    state.take_events()
    state.feed(ISO_800 + END)
    assert state.take_events() == changed(0xD103)
    state.feed(ISO_800 + ISO_LIST + END)
    state.feed(ISO_LIST + END)  # the same list again: nothing new
    assert state.take_events() == [Event(0xC18A, NO_TRANSACTION, (0xD103,))]
    assert state.value(0xD103) == 0x60


def test_strings_image_formats_and_the_focus_report() -> None:
    state = EosState()
    state.feed(SERIAL + IMAGE_FORMAT_L + FOCUS_INFO + END)
    assert state.value(0xD1AF) == "033024014483"
    assert state.value(0xD120) == 0x03FF  # L fine, as a u16 code the image-format labels know
    desc = state.describe(0xD120)
    assert desc is not None and desc.datatype == DataType.UINT16
    serial = state.describe(0xD1AF)
    assert serial is not None and (serial.datatype, serial.writable) == (DataType.STR, False)  # read-only
    assert state.focus_reports == 1
    assert 0xD1D3 not in state.known()  # a structure, not a value to show


def test_objects_and_other_records_become_events() -> None:
    state = EosState()
    info_changed = OBJECT_ADDED[:4] + h("87c10000") + OBJECT_ADDED[8:]
    state.feed(OBJECT_ADDED + OBJECT_TRANSFER + info_changed + STATUS + SHUTDOWN_TIMER + END)
    assert state.take_events() == [
        Event(0x4002, NO_TRANSACTION, (0x92740C72,)),  # ObjectAdded: ingest and files see a new file
        Event(0xC186, NO_TRANSACTION, (0x92740C72,)),
        Event(0x4007, NO_TRANSACTION, (0x92740C72,)),  # ObjectInfoChanged
        Event(0xC18B, NO_TRANSACTION, (1,)),
        Event(0xC18E, NO_TRANSACTION),
    ]
    assert state.objects[0x92740C72].name == "IMG_0001.JPG"
    assert state.transfers[0x92740C72].size == 2087


def test_a_bad_record_is_skipped_and_the_rest_counts() -> None:
    state = EosState()
    one_byte = h("0d000000 89c10000 03d10000 70")  # ISO (a u16) with one value byte
    bad_list = h("18000000 8ac10000 03d10000 03000000 05000000 48000000")  # says 5 values, holds 1
    no_value = h("0c000000 89c10000 03d10000")  # a u16 property without its value
    state.feed(bad_list + no_value + ISO_800 + END)
    assert state.take_events() == changed(0xD103)
    assert state.value(0xD103) == 0x60 and 0xD103 not in state.lists
    state.feed(one_byte + END)
    assert state.value(0xD103) == 0x60 and state.take_events() == []


def test_broken_framing_is_ignored_as_a_whole() -> None:
    state = EosState()
    assert state.feed(ISO_800) == []  # no terminator
    assert state.feed(ISO_800 + END + b"\0") == []  # bytes after it
    assert state.feed(h("04000000 89c10000") + END) == []  # a Size under 8
    assert state.values == {} and state.take_events() == []


def test_an_empty_list_means_read_only_for_now() -> None:
    state = EosState()
    state.feed(ISO_800 + h("14000000 8ac10000 03d10000 03000000 00000000") + END)
    desc = state.describe(0xD103)
    assert desc is not None and (desc.writable, desc.form) == (False, NoForm())


def test_a_refused_handshake_says_how_to_pair() -> None:
    text = CanonDriver.explain_init_failure(0x2019, CameraConfig(friendly_name="studio"))
    assert text is not None and "'studio'" in text and "0x2019" in text and "canon_upnp" in text

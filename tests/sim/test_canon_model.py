"""The simulated EOS 6D as pure state: its answers start from the bytes gphoto2 exchanged with an EOS body.

The literal bytes come from tests/data/canon/CANON.md (the "gphoto2 run" examples, decoded there by Debian's
gphoto2 2.5.30 --debug): the first records of the dump after SetEventMode, a SetDevicePropValueEx of ISO 800
and the body's answer to it, the serial after RequestDevicePropValue, the idle poll.
"""

from __future__ import annotations

import pytest

from ptpipd.ptp import DeviceInfo, ObjectInfo, ResponseCode
from ptpipd.sim.canon_model import EOS6D
from ptpipd.sim.pictures import frame_stamp
from ptpipd.sim.responder import Outcome
from ptpipd.vendors import canon_codes as cc
from ptpipd.vendors.canon_codes import (
    AvailListChanged,
    ImageFormat,
    ObjectAdded,
    ObjectTransfer,
    PropValueChanged,
)
from tests.vendors.test_canon_codes import DUMP_HEAD, ISO_800, SERIAL, decode_events, h

RC = ResponseCode


# The gphoto2-run bytes of tests/vendors/test_canon_codes.py (their sources are named there): the first
# records of the dump after SetEventMode(1) (f/5.6, 1/250, ISO 100, 0), the body's answer to ISO 800, the
# 6D's serial after RequestDevicePropValue 0xD1AF.
# CANON.md §5: gphoto2's --set-config iso=800.
SET_ISO_800 = h("0c000000 03d10000 60000000")
# CANON.md §5: prepare capture (CaptureDestination = PC) and --capture-preview (EVF output = PC).
TO_PC = h("0c000000 1cd10000 04000000")
EVF_PC = h("0c000000 b0d10000 02000000")
IDLE = h("08000000 00000000")


def op(model: EOS6D, code: int, *params: int, data: bytes | None = None) -> Outcome:
    return model.operation(code, 1, params, data)


def ok(model: EOS6D, code: int, *params: int, data: bytes | None = None) -> Outcome:
    outcome = op(model, code, *params, data=data)
    assert outcome.code == RC.OK, hex(outcome.code)
    return outcome


def events(model: EOS6D) -> bytes:
    data = ok(model, 0x9116).data
    assert data is not None
    return bytes(data)


@pytest.fixture
def body() -> EOS6D:
    """A 6D with an open session in remote mode, its dump already read."""
    model = EOS6D(scale=16)
    ok(model, 0x1002, 1)
    ok(model, 0x9114, 1)
    ok(model, 0x9115, 1)
    events(model)
    return model


def test_device_info_is_canon_eos() -> None:
    info = DeviceInfo.decode(bytes(ok(EOS6D(scale=16), 0x1001).data or b""))
    assert (info.manufacturer, info.model, info.vendor_extension_id) == ("Canon Inc.", "Canon EOS 6D", 6)
    for code in (0x9114, 0x9115, 0x9116, 0x9110, 0x9127, 0x9128, 0x9129, 0x9153, 0x9109, 0x9117, 0x101B):
        assert code in info.operations_supported
    assert set(info.device_properties_supported) == {0xD402, 0xD407, 0xD406, 0xD303, 0x5001}


def test_the_dump_starts_as_gphoto2_saw_it_values_before_lists() -> None:
    model = EOS6D(scale=16)
    ok(model, 0x1002, 1)
    assert events(model) == IDLE  # nothing before SetEventMode
    ok(model, 0x9115, 1)
    data = events(model)
    assert data.startswith(DUMP_HEAD) and data.endswith(IDLE)
    records = decode_events(data)
    kinds = [type(r) for r in records]
    first_list = kinds.index(AvailListChanged)
    assert set(kinds[:first_list]) == {PropValueChanged} and set(kinds[first_list:]) == {AvailListChanged}
    lists = {r.code: r.values for r in records if isinstance(r, AvailListChanged)}
    assert lists[0xD103][:3] == (0x00, 0x48, 0x4B) and len(lists[0xD103]) == 26  # Auto, 100 … 25600
    assert lists[0xD109] == (0, 1, 8, 2, 3, 4, 5, 6, 9)  # the 6D's white balances (canon-eos6d.txt)
    assert 0xD105 not in lists  # "enumeration for AEM is never provided"
    assert lists[0xD120][0] == ImageFormat.from_code(0x03FF)  # L fine first
    assert events(model) == IDLE


def test_set_iso_800_as_gphoto2_sends_it(body: EOS6D) -> None:
    ok(body, 0x9110, data=SET_ISO_800)
    assert events(body) == ISO_800 + IDLE
    ok(body, 0x9110, data=SET_ISO_800)  # the same value again: nothing changed, nothing to report
    assert events(body) == IDLE


def test_request_device_prop_value_queues_the_serial(body: EOS6D) -> None:
    ok(body, 0x9127, 0xD1AF)
    assert events(body) == SERIAL + IDLE
    assert op(body, 0x9127, 0xD1FE).code == RC.DevicePropNotSupported


@pytest.mark.parametrize(
    ("data", "response"),
    [
        (h("0c000000 03d10000 a0000000"), RC.InvalidDevicePropValue),  # ISO 204800: the 6D stops at 25600
        (h("0c000000 03d10000 4c000000"), RC.InvalidDevicePropValue),  # ISO 0x4C: a half stop, not listed
        (h("0c000000 11d10000 00000000"), RC.AccessDenied),  # battery: read-only
        (h("0c000000 fed10000 00000000"), RC.DevicePropNotSupported),  # a property the 6D does not have
        (h("0b000000 03d10000 600000"), RC.InvalidDevicePropFormat),  # a number is 4 bytes on the wire
        (h("0c000000 03d10000 60000100"), RC.InvalidDevicePropFormat),  # does not fit a u16
        (h("0d000000 03d10000 60000000"), RC.InvalidDevicePropFormat),  # Size says 13, data is 12
        (h("0c000000 d0d10000 4a616e65"), RC.InvalidDevicePropFormat),  # a string without its NUL
    ],
)
def test_writes_the_body_refuses(body: EOS6D, data: bytes, response: int) -> None:
    assert op(body, 0x9110, data=data).code == response
    assert events(body) == IDLE


def test_exposure_compensation_accepts_both_sign_extensions(body: EOS6D) -> None:
    ok(body, 0x9110, data=h("0c000000 04d10000 fd000000"))  # gphoto2's -1/3
    ok(body, 0x9110, data=h("0c000000 04d10000 fbffffff"))  # -2/3 sign-extended to 32 bits
    assert [r.value for r in decode_events(events(body)) if isinstance(r, PropValueChanged)] == [
        0xFD,
        0xFB,
    ]


def test_strings_and_image_formats_are_written(body: EOS6D) -> None:
    ok(body, 0x9110, data=h("0d000000 d0d10000 4a616e6500"))  # CANON.md §5: --set-config artist=Jane
    raw_l = cc.SetPropValue.of(0xD120, ImageFormat.from_code(0x0C03)).encode()
    ok(body, 0x9110, data=raw_l)
    records = decode_events(events(body))
    assert [r.value for r in records if isinstance(r, PropValueChanged)] == [
        "Jane",
        ImageFormat.from_code(0x0C03),
    ]


def test_nothing_is_written_or_released_outside_remote_mode() -> None:
    model = EOS6D(scale=16)
    ok(model, 0x1002, 1)
    for code, params in ((0x9110, ()), (0x9128, (2, 0)), (0x910F, ()), (0x9153, (0x200000, 0, 0))):
        assert op(model, code, *params, data=SET_ISO_800 if code == 0x9110 else None).code == 0xA005
    assert op(EOS6D(scale=16), 0x9116).code == RC.SessionNotOpen


def test_do_af_focuses_as_a_half_press(body: EOS6D) -> None:
    assert ok(body, 0x9154).capture is None  # DoAf: nothing is exposed
    records = decode_events(events(body))
    assert [r.code for r in records if isinstance(r, PropValueChanged)] == [0xD1D3]  # FocusInfoEx


def _release(body: EOS6D) -> list[object]:
    """A full remote release as gphoto2 does it; the records it produced."""
    ok(body, 0x9128, 1, 0)
    focus = decode_events(events(body))
    assert [r.code for r in focus if isinstance(r, PropValueChanged)] == [0xD1D3]  # FocusInfoEx ends the wait
    outcome = ok(body, 0x9128, 2, 0)
    assert outcome.capture is not None and outcome.capture == pytest.approx(1 / 250)  # the shutter speed
    ok(body, 0x9129, 2)
    ok(body, 0x9129, 1)
    assert body.finish_capture() == []  # what the server calls after the exposure: no PTP event
    return list(decode_events(events(body)))


def test_release_to_the_card(body: EOS6D) -> None:
    records = _release(body)
    added = [r for r in records if isinstance(r, ObjectAdded)]
    assert [(r.name, r.storage_id, r.object_format, r.parent) for r in added] == [
        ("IMG_0003.JPG", 0x00020001, 0x3801, 2)
    ]
    values = {r.code: r.value for r in records if isinstance(r, PropValueChanged)}
    assert values == {0xD11B: 4671, 0xD1AC: 148}  # one shot fewer left, one more on the counter
    info = ObjectInfo.decode(bytes(ok(body, 0x1008, added[0].handle).data or b""))
    data = bytes(ok(body, 0x1009, added[0].handle).data or b"")
    assert (info.filename, info.compressed_size, len(data)) == ("IMG_0003.JPG", added[0].size, added[0].size)
    assert data[:2] == b"\xff\xd8"


def test_release_to_the_host_and_transfer_complete(body: EOS6D) -> None:
    ok(body, 0x9110, data=TO_PC)
    events(body)
    ok(body, 0x9110, data=cc.SetPropValue.of(0xD120, ImageFormat.from_code(0x0C03)).encode())  # RAW+L
    events(body)
    transfers = [r for r in _release(body) if isinstance(r, ObjectTransfer)]
    assert [(r.name, r.object_format) for r in transfers] == [
        ("IMG_0003.CR2", 0xB103),
        ("IMG_0003.JPG", 0x3801),
    ]
    raw = bytes(ok(body, 0x101B, transfers[0].handle, 0, transfers[0].size).data or b"")
    assert raw[:12] == b"II*\0\x10\0\0\0CR\x02\0" and len(raw) == transfers[0].size
    for record in transfers:
        ok(body, 0x9117, record.handle)
        assert op(body, 0x1009, record.handle).code == RC.InvalidObjectHandle  # gone from the body's RAM
    listing = cc.decode_folder(bytes(ok(body, 0x9109, 0x00020001, 2, 0x100000).data or b""))
    assert "IMG_0003.JPG" not in [e.name for e in listing]  # it never reached the card


def test_bulb_exposes_until_the_button_is_let_go(body: EOS6D) -> None:
    ok(body, 0x9110, data=h("0c000000 02d10000 0c000000"))  # shutter speed: bulb
    assert ok(body, 0x9128, 2, 0).capture is None
    assert ok(body, 0x9129, 2).capture == 0.0
    assert op(body, 0x910F).code == 0xA005  # RemoteRelease cannot do bulb


def test_remote_release_answers_zero_and_takes_a_picture(body: EOS6D) -> None:
    outcome = ok(body, 0x910F)
    assert outcome.params == (0,) and outcome.capture is not None
    body.finish_capture()
    assert [r.name for r in decode_events(events(body)) if isinstance(r, ObjectAdded)] == ["IMG_0003.JPG"]


def test_live_view_frames_need_the_pc_output(body: EOS6D) -> None:
    assert op(body, 0x9153, 0x200000, 0, 0).code == 0xA102  # EVF off
    ok(body, 0x9110, data=EVF_PC)
    assert op(body, 0x9153, 0x200000, 0, 0).code == 0xA102  # the first frame takes a moment
    counters = []
    for _ in range(3):
        jpeg = cc.viewfinder_jpeg(bytes(ok(body, 0x9153, 0x200000, 0, 0).data or b""))
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
        stamp = frame_stamp(jpeg)
        assert stamp is not None
        counters.append(stamp.frame)
    assert counters == [0, 1, 2]


def test_the_dial_steps_the_shutter_speed_or_in_av_the_aperture(body: EOS6D) -> None:
    assert body.turn_dial() == []
    assert events(body) == h("10000000 89c10000 02d10000 7b000000") + IDLE  # 1/250 → 1/320
    ok(body, 0x9110, data=h("0c000000 05d10000 02000000"))  # Av
    events(body)
    body.turn_dial()
    assert events(body) == h("10000000 89c10000 01d10000 33000000") + IDLE  # f/5.6 → f/6.3


def test_the_battery_reports_its_level_steps_only(body: EOS6D) -> None:
    reported = []
    for _ in range(40):
        body.drain_battery()
        reported += [r.value for r in decode_events(events(body)) if isinstance(r, PropValueChanged)]
    assert reported == [4, 1]  # 75 % below 88 %, 50 % below 63 %
    assert body.standard.get_value((0x5001,)).data == b"\x32"  # the standard BatteryLevel follows: 50


def test_the_body_shutter_and_the_session_end(body: EOS6D) -> None:
    ok(body, 0x9110, data=TO_PC)
    ok(body, 0x9110, data=EVF_PC)
    body.press_shutter()
    assert any(isinstance(r, ObjectTransfer) for r in decode_events(events(body)))
    body.end_session()
    assert body.props[0xD11C] == cc.CAPTURE_TO_CARD and body.props[0xD1B0] == 0
    ok(body, 0x1002, 1)
    ok(body, 0x9114, 1)
    ok(body, 0x9110, data=h("0c000000 1cd10000 01000000"))  # "card" as older libgphoto2 writes it
    body.press_shutter()
    assert any(isinstance(r, ObjectAdded) for r in decode_events(events(body)))
    body.end_session()
    ok(body, 0x1002, 1)
    assert events(body) == IDLE  # the queue belonged to the old session

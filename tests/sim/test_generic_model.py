"""The generic camera model alone (no sockets): sessions, the card and its filters, properties, capture."""

from __future__ import annotations

import hashlib
import struct

import pytest

import ptpipd
from ptpipd.ip.packets import Event
from ptpipd.ptp import (
    DataType,
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    ObjectInfo,
    RangeForm,
    StorageInfo,
    decode_uint32_array,
    decode_value,
    encode_value,
)
from ptpipd.sim import bigobject, generic_model
from ptpipd.sim.generic_model import INITIAL_PHOTO_SIZES, GenericCamera, photo_bytes
from ptpipd.sim.responder import Outcome

OK = 0x2001
ALL = 0xFFFF_FFFF
STORAGE = 0x0001_0001


class Cam:
    """A model with an open session and a transaction counter, to keep the tests short."""

    def __init__(self, **kwargs: int | None) -> None:
        self.model = GenericCamera(**kwargs)  # type: ignore[arg-type]
        self.tid = 0
        assert self.op(0x1002, 1).code == OK

    def op(self, code: int, *params: int, data: bytes | None = None) -> Outcome:
        out = self.model.operation(code, self.tid, params, data)
        self.tid += 1
        return out

    def ok_data(self, code: int, *params: int) -> bytes:
        out = self.op(code, *params)
        assert out.code == OK, hex(out.code)
        assert out.data is not None
        return bytes(out.data)

    def handles(self, *params: int) -> tuple[int, ...]:
        return decode_uint32_array(self.ok_data(0x1007, *params))[0]

    def info(self, handle: int) -> ObjectInfo:
        return ObjectInfo.decode(self.ok_data(0x1008, handle))

    def desc(self, code: int) -> DevicePropDesc:
        return DevicePropDesc.decode(self.ok_data(0x1014, code))


@pytest.fixture(scope="module")
def cam() -> Cam:
    """A model shared by the read-only tests (building the photos takes a few tens of ms)."""
    return Cam()


# ------------------------------------------------------------------------------------------------------
# Sessions and DeviceInfo
# ------------------------------------------------------------------------------------------------------


def test_device_info_names_the_simulator_and_lists_what_it_implements() -> None:
    model = GenericCamera()
    out = model.operation(0x1001, 0, ())  # outside a session
    assert out.code == OK and out.data is not None
    info = DeviceInfo.decode(out.data)
    assert (info.manufacturer, info.model, info.serial_number) == (
        "ptpipd",
        "Simulated PTP/IP camera",
        "SIM-0001",
    )
    assert info.device_version == ptpipd.__version__
    assert (info.standard_version, info.vendor_extension_id) == (100, 0)
    assert {0x100E, 0x101B, 0x1014, 0x1015, 0x1016, 0x1017} <= set(info.operations_supported)
    assert 0x100C not in info.operations_supported  # no SendObjectInfo: we do not claim what we lack
    assert {0x4002, 0x4006, 0x400D} <= set(info.events_supported)
    assert len(info.device_properties_supported) >= 16
    assert info.capture_formats == info.image_formats == (0x3801,)
    for code in info.operations_supported:  # every advertised operation is implemented
        assert model.operation(code, 0, ()).code != 0x2005


def test_session_rules() -> None:
    model = GenericCamera()
    assert model.operation(0x1004, 0, ()).code == 0x2003  # SessionNotOpen
    assert model.operation(0x1002, 0, (0,)).code == 0x201D  # OpenSession(0): InvalidParameter
    assert model.operation(0x1002, 0, (7,)).code == OK
    again = model.operation(0x1002, 1, (8,))
    assert (again.code, again.params) == (0x201E, (7,))  # SessionAlreadyOpen with the open ID
    assert model.operation(0x1004, 2, ()).code == OK
    assert model.operation(0x1003, 3, ()).code == OK
    assert model.operation(0x1004, 4, ()).code == 0x2003
    assert model.operation(0x9999, 5, ()).code == 0x2005  # OperationNotSupported, in or out of a session
    assert model.operation(0x100D, 5, ()).code == 0x2005


# ------------------------------------------------------------------------------------------------------
# The card
# ------------------------------------------------------------------------------------------------------


def test_storage(cam: Cam) -> None:
    assert decode_uint32_array(cam.ok_data(0x1004))[0] == (STORAGE,)
    info = StorageInfo.decode(cam.ok_data(0x1005, STORAGE))
    assert (info.storage_type, info.filesystem_type, info.access_capability) == (4, 3, 0)
    assert 0 < info.free_space_bytes < info.max_capacity
    assert info.description == "SD card" and info.volume_label
    assert cam.op(0x1005, 0x0002_0001).code == 0x2008  # InvalidStorageID
    assert cam.op(0x1005, ALL).code == 0x2008


def test_object_handles_follow_gphoto2s_walk(cam: Cam) -> None:
    # the exact parameter sequence gphoto2 sends (ORACLES.md §1)
    assert cam.handles(ALL, 0, ALL) == (1,)
    assert cam.handles(STORAGE, 0, ALL) == (1,)
    assert cam.handles(STORAGE, 0, 1) == (2,)
    assert cam.handles(STORAGE, 0, 2) == (3, 4, 5)
    assert cam.handles(ALL, 0, 0) == (1, 2, 3, 4, 5)  # parent 0: any parent
    assert cam.handles(ALL, ALL, 0) == (3, 4, 5)  # format 0xFFFFFFFF: images only
    assert cam.handles(ALL, 0x3001, 0) == (1, 2)  # a given format
    assert cam.handles(ALL, 0x3801, 1) == ()
    assert cam.op(0x1007, 0x0002_0001, 0, 0).code == 0x2008  # InvalidStorageID
    assert cam.op(0x1007, ALL, 0, 3).code == 0x201A  # a photo is no parent: InvalidParentObject
    assert cam.op(0x1007, ALL, 0, 99).code == 0x2009  # InvalidObjectHandle
    counted = cam.op(0x1006, ALL, ALL, 0)
    assert (counted.code, counted.params) == (OK, (3,))


def test_folders_and_photos(cam: Cam) -> None:
    dcim, test = cam.info(1), cam.info(2)
    assert (dcim.filename, dcim.object_format, dcim.association_type, dcim.parent_object) == (
        "DCIM",
        0x3001,
        1,
        0,
    )
    assert (test.filename, test.object_format, test.association_type, test.parent_object) == (
        "100TEST",
        0x3001,
        1,
        1,
    )
    for number, handle in enumerate((3, 4, 5), start=1):
        info = cam.info(handle)
        data = cam.ok_data(0x1009, handle)
        thumb = cam.ok_data(0x100A, handle)
        assert info.filename == f"IMG_{number:04d}.JPG"
        assert (info.object_format, info.parent_object, info.storage_id) == (0x3801, 2, STORAGE)
        assert len(data) == info.compressed_size == INITIAL_PHOTO_SIZES[number - 1]  # exactly the budget
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
        assert (info.image_width, info.image_height) == (640, 480)
        assert info.thumb_format in (0x3808, 0x3801) and len(thumb) == info.thumb_compressed_size
        assert (info.thumb_width, info.thumb_height) == (160, 120) and thumb[:2] == b"\xff\xd8"
        assert len(info.capture_date) >= 15 and info.capture_date[8] == "T"
    assert cam.op(0x100A, 1).code == 0x2010  # a folder has no thumbnail
    assert cam.op(0x1008, 99).code == 0x2009
    assert cam.op(0x1009, 99).code == 0x2009


def test_photos_are_deterministic_per_seed() -> None:
    a, b, c = Cam(seed=0), Cam(seed=0), Cam(seed=1)
    assert a.ok_data(0x1009, 3) == b.ok_data(0x1009, 3) == photo_bytes(0, 1, 640, 480, INITIAL_PHOTO_SIZES[0])
    assert a.ok_data(0x1009, 3) != c.ok_data(0x1009, 3)
    assert a.ok_data(0x1009, 3) != a.ok_data(0x1009, 4)


def test_partial_object(cam: Cam) -> None:
    whole = cam.ok_data(0x1009, 4)
    for offset, most in ((0, 1000), (1000, 0x100000), (len(whole) - 10, 100), (0, ALL), (len(whole), 5)):
        out = cam.op(0x101B, 4, offset, most)
        assert out.code == OK and out.data is not None
        assert bytes(out.data) == whole[offset : offset + most]
        assert out.params == (len(out.data),)  # Param1: the bytes actually sent
    assert cam.op(0x101B, 4, len(whole) + 1, 10).code == 0x201D
    assert cam.op(0x101B, 99, 0, 10).code == 0x2009


def test_big_object_is_the_documented_formula() -> None:
    size = 2 * (1 << 20) + 12345
    cam = Cam(object_size=size)
    assert cam.handles(STORAGE, 0, 2) == (3, 4, 5, 6)
    info = cam.info(6)
    assert (info.filename, info.object_format, info.compressed_size, info.parent_object) == (
        "BIG00001.BIN",
        0x3000,
        size,
        2,
    )
    # recomputed here from the formula, independently of bigobject.py
    expected = b"".join(
        hashlib.shake_256(b"ptpipd-sim-big-object" + k.to_bytes(4, "little")).digest(1 << 20)
        for k in range(3)
    )[:size]
    assert cam.ok_data(0x1009, 6) == expected
    assert bigobject.sha256(size) == hashlib.sha256(expected).hexdigest()
    piece = cam.op(0x101B, 6, (1 << 20) - 3, 7)
    assert piece.data is not None and bytes(piece.data) == expected[(1 << 20) - 3 : (1 << 20) + 4]
    assert cam.op(0x100A, 6).code == 0x2010  # no thumbnail
    assert cam.handles(ALL, ALL, 0) == (3, 4, 5)  # not an image


@pytest.mark.parametrize(
    ("text", "size"),
    [("100M", 100 << 20), ("512K", 512 << 10), ("1G", 1 << 30), ("1048576", 1 << 20), ("10MB", 10**7)],
)
def test_parse_size(text: str, size: int) -> None:
    assert bigobject.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "12Q", "-1", "5G", "1.5M"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        bigobject.parse_size(text)


def test_delete() -> None:
    cam = Cam()
    assert cam.op(0x100B, 3, 0).code == 0x200D  # IMG_0001.JPG is write-protected
    assert cam.op(0x100B, 2, 0).code == 0x200D  # so are the DCF folders
    assert cam.op(0x100B, 99, 0).code == 0x2009
    out = cam.op(0x100B, 4, 0)
    assert out.code == OK
    assert out.events == (Event(0x4003, cam.tid - 1, (4,)),)
    assert cam.handles(ALL, 0, 2) == (3, 5)
    assert cam.op(0x1008, 4).code == 0x2009  # the handle is gone, and never reused
    everything = cam.op(0x100B, ALL, 0)
    assert everything.code == 0x2012  # PartialDeletion: the protected photo stays
    assert [e.params for e in everything.events] == [(5,)]
    assert cam.handles(ALL, 0, 0) == (1, 2, 3)


# ------------------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------------------


def test_every_property_describes_itself_and_reads_back(cam: Cam) -> None:
    info = DeviceInfo.decode(cam.ok_data(0x1001))
    for code in info.device_properties_supported:
        desc = cam.desc(code)
        assert desc.code == code
        assert desc.allows(desc.current) and desc.allows(desc.factory_default)
        value, end = decode_value(desc.datatype, cam.ok_data(0x1015, code))
        assert value == desc.current and end > 0


def test_property_defaults_and_forms(cam: Cam) -> None:
    battery = cam.desc(0x5001)
    assert (battery.datatype, battery.writable, battery.form) == (DataType.UINT8, False, RangeForm(0, 100, 1))
    iso = cam.desc(0x500F)
    assert (iso.datatype, iso.current) == (DataType.UINT16, 400)
    assert iso.form == EnumForm((100, 200, 400, 800, 1600, 3200, 6400, 0xFFFF))
    assert cam.desc(0x5005).current == 2  # automatic white balance
    assert cam.desc(0x5007).current == 560  # f/5.6
    exposure = cam.desc(0x500D)
    assert exposure.current == 40 and isinstance(exposure.form, EnumForm)
    assert {5, 40, 300000} <= set(exposure.form.values)
    bias = cam.desc(0x5010)
    assert bias.datatype == DataType.INT16 and bias.current == 0
    assert isinstance(bias.form, EnumForm) and {-3000, -2667, -333, 0, 333, 667, 3000} <= set(
        bias.form.values
    )
    assert cam.desc(0x5003).datatype == DataType.STR
    assert cam.desc(0x5011).form.flag == 0  # DateTime: no form


def test_set_property_refusals_and_changes() -> None:
    cam = Cam()
    u16 = struct.Struct("<H")
    assert cam.op(0x1016, 0x5016, data=u16.pack(10)).code == 0x200A  # DigitalZoom: not supported
    assert cam.op(0x1016, 0x5001, data=b"\x32").code == 0x200F  # battery: read-only
    assert cam.op(0x1016, 0x500F, data=b"\x20\x03\x00\x00").code == 0x201B  # 4 bytes for a UINT16
    assert cam.op(0x1016, 0x500F, data=b"").code == 0x201B
    assert cam.op(0x1016, 0x500F).code == 0x201B  # no data phase at all
    assert cam.op(0x1016, 0x500F, data=u16.pack(12345)).code == 0x201C  # not in the enumeration
    assert cam.op(0x1016, 0x5014, data=b"\x0b").code == 0x201C  # contrast 11 is out of 0..10
    assert cam.op(0x1016, 0x5011, data=encode_value(DataType.STR, "yesterday")).code == 0x201C
    for no_date in ("20240231T120000", "2024-06-01 12:00", "now", " 20240601T120000"):  # PTP form, real dates
        assert cam.op(0x1016, 0x5011, data=encode_value(DataType.STR, no_date)).code == 0x201C
    for date in ("20240601T120000.5+0200", "20240601T120000"):  # the last is the default again
        assert cam.op(0x1016, 0x5011, data=encode_value(DataType.STR, date)).code == OK
    assert cam.op(0x1016, 0x5003, data=encode_value(DataType.STR, "640x480") + b"\x00").code == 0x201B
    set_iso = cam.op(0x1016, 0x500F, data=u16.pack(800))
    assert (set_iso.code, set_iso.events) == (OK, (Event(0x4006, cam.tid - 1, (0x500F,)),))
    assert cam.ok_data(0x1015, 0x500F) == u16.pack(800)
    assert cam.op(0x1016, 0x500F, data=u16.pack(800)).events == ()  # unchanged: no event
    bias = cam.op(0x1016, 0x5010, data=struct.pack("<h", -667))
    assert bias.code == OK and cam.desc(0x5010).current == -667
    artist = cam.op(0x1016, 0x501E, data=encode_value(DataType.STR, "Ansel Adams"))
    assert artist.code == OK and cam.desc(0x501E).current == "Ansel Adams"
    reset = cam.op(0x1017, 0x500F)
    assert (reset.code, [e.params for e in reset.events]) == (OK, [(0x500F,)])
    assert cam.desc(0x500F).current == 400
    everything = cam.op(0x1017, ALL)
    assert everything.code == OK and {e.params[0] for e in everything.events} == {0x5010, 0x501E}
    assert cam.op(0x1017, 0x5001).code == 0x200F
    assert cam.op(0x1017, 0x5016).code == 0x200A


def test_battery_drains_and_stays_empty() -> None:
    model = GenericCamera()
    assert model.drain_battery() == [Event(0x4006, ALL, (0x5001,))]
    assert model.properties[0x5001] == 99
    for _ in range(99):
        model.drain_battery()
    assert model.properties[0x5001] == 0
    assert model.drain_battery() == []  # never wraps to 100 %, and says nothing more
    assert model.properties[0x5001] == 0


# ------------------------------------------------------------------------------------------------------
# Capture
# ------------------------------------------------------------------------------------------------------


def test_capture_adds_a_photo_and_returns_the_events() -> None:
    cam = Cam()
    assert cam.model.finish_capture() == []  # nothing in progress
    start = cam.op(0x100E, 0, 0)
    tid = cam.tid - 1
    assert start.code == OK and start.capture == 0
    assert cam.op(0x100E, 0, 0).code == 0x2019  # DeviceBusy while the capture runs
    events = cam.model.finish_capture()
    assert events == [Event(0x4002, tid, (6,)), Event(0x400D, tid, ())]
    info = cam.info(6)
    assert (info.filename, info.parent_object, info.object_format) == ("IMG_0004.JPG", 2, 0x3801)
    assert (info.image_width, info.image_height) == (1600, 1200)  # the default ImageSize
    assert info.capture_date == cam.desc(0x5011).current
    assert len(cam.ok_data(0x1009, 6)) == info.compressed_size
    assert cam.handles(STORAGE, 0, 2) == (3, 4, 5, 6)
    assert cam.op(0x100E, 0, 0).code == OK  # idle again


def test_capture_follows_the_settings() -> None:
    cam = Cam()
    assert cam.op(0x1016, 0x5003, data=encode_value(DataType.STR, "640x480")).code == OK
    assert cam.op(0x1016, 0x5013, data=struct.pack("<H", 2)).code == OK  # burst
    assert cam.op(0x1016, 0x5018, data=struct.pack("<H", 2)).code == OK  # of two
    assert cam.op(0x1016, 0x5012, data=struct.pack("<I", 2000)).code == OK  # self-timer 2 s
    start = cam.op(0x100E, 0, 0)
    assert start.code == OK and start.capture == 2.0
    events = cam.model.finish_capture()
    assert [(e.code, e.params) for e in events] == [(0x4002, (6,)), (0x4002, (7,)), (0x400D, ())]
    assert [cam.info(h).filename for h in (6, 7)] == ["IMG_0004.JPG", "IMG_0005.JPG"]
    assert (cam.info(7).image_width, cam.info(7).image_height) == (640, 480)


def test_capture_parameters_are_checked() -> None:
    cam = Cam()
    assert cam.op(0x100E, 0x0002_0001, 0).code == 0x2008
    assert cam.op(0x100E, STORAGE, 0x3808).code == 0x200B
    assert cam.op(0x100E, STORAGE, 0x3801).code == OK


def test_session_end_completes_the_capture() -> None:
    cam = Cam()
    assert cam.op(0x100E).code == OK
    cam.model.end_session()
    assert cam.model.session_id is None and cam.model.capturing is None
    assert cam.model.finish_capture() == []  # already done: the photo is on the card
    assert (
        cam.model.storage.get(6) is not None and cam.model.storage.objects[6].info.filename == "IMG_0004.JPG"
    )


def test_shutter_pressed_on_the_body() -> None:
    cam = Cam()
    assert cam.model.press_shutter() == [Event(0x4002, ALL, (6,))]  # ObjectAdded alone, no transaction
    info = cam.info(6)
    assert (info.filename, info.parent_object, info.object_format) == ("IMG_0004.JPG", 2, 0x3801)
    assert (info.image_width, info.image_height, info.capture_date) == (1600, 1200, "20240601T120000")
    data = cam.ok_data(0x1009, 6)
    assert len(data) == info.compressed_size
    assert data == photo_bytes(0, 4, 1600, 1200, date="20240601T120000")
    assert cam.model.press_shutter() == [Event(0x4002, ALL, (7,))]


def test_the_main_dial_steps_the_exposure_time() -> None:
    cam = Cam()
    assert cam.model.turn_dial() == [Event(0x4006, ALL, (0x500D,))]  # DevicePropChanged, no transaction
    assert cam.ok_data(0x1015, 0x500D) == (80).to_bytes(4, "little")  # 1/250 s → 1/125 s
    for _ in range(16):
        cam.model.turn_dial()
    assert cam.ok_data(0x1015, 0x500D) == (40).to_bytes(4, "little")  # past 30 s, back round to 1/250 s


def test_a_full_card_refuses_new_photos(monkeypatch: pytest.MonkeyPatch) -> None:
    cam = Cam()
    monkeypatch.setattr(generic_model, "PHOTO_MEMORY", cam.model.photo_memory + 1)
    assert cam.model.press_shutter() == [Event(0x4002, ALL, (6,))]  # the last one that fits
    assert cam.model.card_full
    assert cam.model.press_shutter() == []
    assert cam.op(0x100E).code == 0x200C  # StoreFull


def test_focus_distance_is_a_writable_range() -> None:
    cam = Cam()
    assert 0x5009 in DeviceInfo.decode(cam.ok_data(0x1001)).device_properties_supported
    focus = cam.desc(0x5009)
    assert (focus.datatype, focus.writable, focus.current) == (DataType.UINT16, True, 1000)
    assert focus.form == RangeForm(300, 0xFFFF, 1)  # 0.3 m to infinity (0xFFFF), in mm
    assert cam.op(0x1016, 0x5009, data=struct.pack("<H", 250)).code == 0x201C  # closer than the lens
    done = cam.op(0x1016, 0x5009, data=struct.pack("<H", 0xFFFF))
    assert (done.code, [e.params for e in done.events]) == (OK, [(0x5009,)])
    assert cam.desc(0x5009).current == 0xFFFF

"""The simulated Nikon bodies as pure state (no sockets): what each Nikon operation answers, byte for byte
where NIKON.md gives the layout (§3.1 event list, §3.3 live-view header, §3.4 GetObjectSize,
GetPartialObjectEx), and the rules the module docstring of ``ptpipd.sim.nikon_model`` lists."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from ptpipd.ip.packets import Event
from ptpipd.ptp import DataType, DeviceInfo, ObjectInfo, decode_value, encode_value
from ptpipd.sim.nikon_model import BUSY_POLLS, MAX_QUEUED_EVENTS, RESTRICTED_OPS, NikonCamera, photo_bytes
from ptpipd.sim.nikon_props import SHUTTER_SPEEDS, exposure_time
from ptpipd.sim.responder import Outcome
from tests.sim.test_pictures import read_counter

OK, BUSY, NOT_SUPPORTED, ACCESS_DENIED, CANCELLED = 0x2001, 0x2019, 0x2005, 0x200F, 0x201F
SDRAM = 0xFFFF_0001
GUID = bytes(range(16))


def session(model: str = "d750", **kwargs: object) -> NikonCamera:
    camera = NikonCamera(model, **kwargs)  # type: ignore[arg-type]
    assert camera.operation(0x1002, 0, (1,)).code == OK
    return camera


def run(camera: NikonCamera, code: int, *params: int, data: bytes | None = None) -> Outcome:
    outcome = camera.operation(code, 1, params, data)
    camera.queue_events(outcome.events)  # what NikonBody.route does with a transaction's events
    return outcome


def finish(camera: NikonCamera) -> None:
    """The capture delay has passed (the server calls finish_capture and routes its events)."""
    camera.queue_events(camera.finish_capture())


def events(camera: NikonCamera) -> bytes:
    outcome = run(camera, 0x90C7)
    assert outcome.code == OK and outcome.data is not None
    return bytes(outcome.data)


def test_device_info_of_each_body() -> None:
    d750 = DeviceInfo.decode(session("d750").device_info().encode())
    assert (d750.vendor_extension_id, d750.vendor_extension_desc) == (0x0A, "microsoft.com: 1.0")
    assert (d750.manufacturer, d750.model) == ("Nikon Corporation", "D750")
    assert 0x90C0 in d750.operations_supported and 0x9207 not in d750.operations_supported
    z6 = DeviceInfo.decode(session("z6").device_info().encode())
    # the Z 8 of libgphoto2#1135 reports MTP; the simulated Z 6 does so by default
    assert (z6.vendor_extension_id, z6.vendor_extension_version) == (0xFFFF_FFFF, 110)
    assert z6.vendor_extension_desc == "Microsoft.com/DeviceServices: 1.0"
    assert {0x9207, 0x9421, 0x9431, 0x952B, 0x935A} <= set(z6.operations_supported)
    assert 0x90C0 not in z6.operations_supported
    for info in (d750, z6):  # Nikon property codes only in the 0x90CA answer (NIKON.md §5.4)
        assert info.device_properties_supported and max(info.device_properties_supported) < 0xD000


def test_vendor_prop_codes_are_an_auint16() -> None:
    data = run(session("z6"), 0x90CA).data
    assert data is not None
    codes, end = decode_value(DataType.AUINT16, data)
    assert isinstance(codes, tuple)
    assert end == len(data)
    assert {0xD100, 0xD10B, 0xD161, 0xD16A, 0xD1A2, 0xD1A4, 0xD1F1, 0xD0B4} == set(codes)
    assert bytes(data[:6]) == b"\x08\x00\x00\x00" + struct.pack("<H", codes[0])


def test_an_empty_event_list_is_two_zero_bytes() -> None:
    assert events(session()) == b"\x00\x00"  # NIKON.md §3.1: g#635's D3X answer, payload 00 00


def test_sdram_capture_events_device_ready_and_download() -> None:
    camera = session("d750")
    outcome = run(camera, 0x90C0, 0xFFFF_FFFF)
    assert (outcome.code, outcome.capture) == (OK, 0.0)
    assert run(camera, 0x90C8).code == BUSY  # busy until the picture is taken
    finish(camera)
    assert run(camera, 0x90C8).code == OK
    # count 3; ObjectAddedInSDRAM(0xFFFF0001), CaptureCompleteRecInSdram(0), DevicePropChanged(0xD1F1)
    assert events(camera) == bytes.fromhex("030001c1 0100ffff02c1 000000000640 f1d10000")
    assert events(camera) == b"\x00\x00"  # GetEvent empties the queue
    info = ObjectInfo.decode(bytes(run(camera, 0x1008, SDRAM).data or b""))
    assert (info.storage_id, info.parent_object, info.filename) == (0, 0, "DSC_0003.JPG")
    assert bytes(run(camera, 0x1009, SDRAM).data or b"") == photo_bytes(0, 3)
    assert info.compressed_size == len(photo_bytes(0, 3))
    assert run(camera, 0x100B, SDRAM, 0).code == OK
    assert run(camera, 0x1008, SDRAM).code == 0x2009
    handles = run(camera, 0x1007, 0xFFFF_FFFF, 0, 0).data
    assert handles is not None and SDRAM.to_bytes(4, "little") not in bytes(handles)


def test_capture_in_media_to_the_card() -> None:
    camera = session("z6", sta=False)
    assert run(camera, 0x9207, 0xFFFF_FFFF, 5).code == 0x201D  # target 0 card / 1 SDRAM only
    assert run(camera, 0x9207, 0xFFFF_FFFE, 0).code == OK
    assert run(camera, 0x9207, 0xFFFF_FFFE, 0).code == BUSY  # one capture at a time
    finish(camera)
    # ObjectAdded(handle 5) and CaptureComplete, then the shots left
    assert events(camera) == bytes.fromhex("03000240 050000000d40 000000000640 f1d10000")
    assert bytes(run(camera, 0x1009, 5).data or b"") == photo_bytes(0, 3)


def test_the_shutter_on_the_body_follows_recording_media() -> None:
    camera = session("d750")
    camera.queue_events(camera.press_shutter())
    assert events(camera) == bytes.fromhex("02000240 050000000640 f1d10000")
    assert run(camera, 0x1016, 0xD10B, data=b"\x01").code == OK
    events(camera)
    camera.queue_events(camera.press_shutter())
    assert events(camera) == bytes.fromhex("020001c1 0100ffff0640 f1d10000")
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0xD1F1).data or b""))[0] == 1234 - 2


def test_the_main_dial_steps_the_shutter_speed() -> None:
    camera = session("z6")
    camera.queue_events(camera.turn_dial())
    # DevicePropChanged(0xD100), then 0x500D that follows it (1/250 s → 1/200 s: 40 → 50 × 1/10000 s)
    assert events(camera) == bytes.fromhex("02000640 00d100000640 0d500000")
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0xD100).data or b""))[0] == 0x0001_00C8
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0x500D).data or b""))[0] == 50
    camera.properties.store(0xD100, 0x001E_0001)  # 30 s: the next click goes round to 1/8000 s
    camera.turn_dial()
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0xD100).data or b""))[0] == 0x0001_1F40


def test_events_wait_for_a_session_and_are_bounded() -> None:
    camera = NikonCamera("d750")
    camera.queue_events(camera.press_shutter())  # no session: nobody will ever ask for them
    assert run(camera, 0x1002, 1).code == OK
    assert events(camera) == b"\x00\x00"
    camera.queue_events([Event(0x4006, 0, (code,)) for code in range(300)])
    data = events(camera)
    assert struct.unpack_from("<H", data)[0] == MAX_QUEUED_EVENTS
    assert data[2:8] == struct.pack("<HI", 0x4006, 300 - MAX_QUEUED_EVENTS)  # the oldest were dropped


def test_live_view_frames() -> None:
    camera = session("d750")
    assert run(camera, 0x9203).code == 0xA00B  # NotLiveView before StartLiveView
    assert run(camera, 0x9201).code == OK
    for _ in range(BUSY_POLLS):
        assert run(camera, 0x90C8).code == BUSY
    assert run(camera, 0x90C8).code == OK
    frames = [bytes(run(camera, 0x9203).data or b"") for _ in range(3)]
    for number, frame in enumerate(frames, 1):
        header, jpeg = frame[:384], frame[384:]
        # 640×480 of 6016×4016, big-endian at offset 8 (NIKON.md §3.3, digiCamControl NikonD500Base)
        assert header[8:16] == bytes.fromhex("028001e017800fb0")
        assert b"\xff\xd8" not in header  # gphoto2 cuts the JPEG at the first FF D8
        assert jpeg.startswith(b"\xff\xd8") and jpeg.index(b"\xff\xd9") == len(jpeg) - 2
        assert read_counter(Image.open(io.BytesIO(jpeg)).convert("RGB")) == f"{number:06d}"
    assert struct.unpack("<B", bytes(run(camera, 0x1015, 0xD1A2).data or b""))[0] == 1
    assert run(camera, 0x9202).code == OK
    assert run(camera, 0x9202).code == OK  # ending it again is harmless (the real answer is unknown)
    assert run(camera, 0x9203).code == 0xA00B
    # LiveViewStatus went 0 → 1 → 0: one DevicePropChanged(0xD1A2) each time
    assert events(camera) == bytes.fromhex("02000640 a2d100000640 a2d10000")


def test_shutter_speed_moves_exposure_time_and_back() -> None:
    camera = session("d750")
    one_125 = 0x0001_007D
    assert run(camera, 0x1016, 0xD100, data=encode_value(6, one_125)).code == OK
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0x500D).data or b""))[0] == 80
    assert run(camera, 0x1016, 0x500D, data=encode_value(6, 166)).code == 0x201C  # not in the enum
    assert run(camera, 0x1016, 0x500D, data=encode_value(6, 167)).code == OK
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0xD100).data or b""))[0] == 0x0001_003C  # 1/60
    assert events(camera) == bytes.fromhex("04000640 00d100000640 0d5000000640 0d5000000640 00d10000")
    assert all(exposure_time(s) > 0 for s in SHUTTER_SPEEDS)


def test_the_z_shutter_speed_is_only_written_through_d100() -> None:
    camera = session("z6")
    assert run(camera, 0x1016, 0x500D, data=encode_value(6, 80)).code == ACCESS_DENIED
    assert run(camera, 0x1016, 0xD0B4, data=encode_value(6, 102400)).code == OK  # Hi 1: UINT32 only
    assert struct.unpack("<H", bytes(run(camera, 0x1015, 0x500F).data or b""))[0] == 400
    assert run(camera, 0x1016, 0x500F, data=encode_value(4, 3200)).code == OK
    assert struct.unpack("<I", bytes(run(camera, 0x1015, 0xD0B4).data or b""))[0] == 3200


def test_z_registration_in_the_wizard() -> None:
    camera = NikonCamera("z6", sta=True, wizard=True)
    assert camera.admits(GUID)
    camera.host_connected(GUID)
    info = DeviceInfo.decode(camera.device_info().encode())
    assert info.operations_supported == tuple(RESTRICTED_OPS)
    assert info.device_properties_supported == ()
    assert run(camera, 0x1002, 1).code == OK
    assert run(camera, 0x1014, 0x500F).code == NOT_SUPPORTED  # the wizard's session does nothing else
    assert run(camera, 0x935A, 0x2001).code == CANCELLED  # ConfirmHost before PrepareHost
    assert run(camera, 0x952B).code == OK
    assert run(camera, 0x935A, 0x2001).code == OK
    assert GUID in camera.registered and not camera.wizard
    camera.end_session()
    assert camera.admits(GUID) and not camera.admits(bytes(16))
    camera.host_connected(GUID)
    assert run(camera, 0x1002, 1).code == OK
    assert run(camera, 0x952B).code == CANCELLED  # N-link: 0x201F = not in the wizard
    assert run(camera, 0x1014, 0x500F).code == OK


def test_ap_mode_and_the_d750_admit_anyone() -> None:
    assert NikonCamera("z6", sta=False).admits(bytes(16))
    assert NikonCamera("d750", sta=True).admits(bytes(16))  # no host registration on the D750
    assert not NikonCamera("z6", sta=True).admits(bytes(16))


def test_the_file_lock_leaves_partial_object_ex() -> None:
    camera = session("z6", file_lock=True)
    for code in (0x1008, 0x1009):
        assert run(camera, code, 3).code == ACCESS_DENIED
    assert run(camera, 0x101B, 3, 0, 100).code == ACCESS_DENIED
    whole = photo_bytes(0, 1)
    size = run(camera, 0x9421, 3)
    assert (size.code, bytes(size.data or b"")) == (OK, struct.pack("<Q", len(whole)))
    # handle, offset 100 (lo, hi), at most 1000 bytes (lo, hi); the response says 1000 sent (lo, hi)
    piece = run(camera, 0x9431, 3, 100, 0, 1000, 0)
    assert (piece.code, piece.params, bytes(piece.data or b"")) == (OK, (1000, 0), whole[100:1100])
    tail = run(camera, 0x9431, 3, len(whole) - 10, 0, 0xFFFF_FFFF, 0)
    assert (tail.params, bytes(tail.data or b"")) == ((10, 0), whole[-10:])
    assert run(camera, 0x9431, 3, len(whole) + 1, 0, 10, 0).code == 0x201D
    assert run(camera, 0x9431, 99, 0, 0, 10, 0).code == 0x2009


@pytest.mark.parametrize("model", ["d750", "z6"])
def test_unknown_and_sessionless_operations(model: str) -> None:
    camera = NikonCamera(model)
    assert camera.operation(0x90C7, 0, ()).code == 0x2003  # SessionNotOpen
    assert camera.operation(0x9999, 0, ()).code == NOT_SUPPORTED
    with pytest.raises(ValueError, match="unknown Nikon model"):
        NikonCamera("d3")

"""Our initiator (``ptpipd.camera.Camera``) against ``ptpipd-sim --vendor generic`` in its own process,
over loopback TCP: info, every property both ways, capture, files, a 100 MB download checked by hash, opreq.

The expected values come from the protocol notes and the simulator's documented behaviour, not from our
own initiator: the big object's hash is recomputed from its published formula, images are decoded by
Pillow, raw packets are parsed by hand from their byte layout.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import AsyncIterator, Iterator

import pytest
from PIL import Image

from ptpipd.camera import Camera, CameraEvent
from ptpipd.errors import CameraRefused, InvalidValue, NotConnected, UnknownProperty
from ptpipd.ptp import DataType, DeviceInfo
from ptpipd.vendors.base import EnumValues, PropertyDesc, RangeValues
from tests.camera.opreq_checks import refuses_fields_that_do_not_fit
from tests.procs import SimProcess, start_sim

BIG = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    process = start_sim("generic", "--object-size", "100M", "--battery-interval", "0")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def cam(sim: SimProcess) -> AsyncIterator[Camera]:
    async with Camera(host=sim.host, port=sim.port, vendor="generic", friendly_name="pytest") as camera:
        yield camera


def expected_big_sha256(size: int) -> str:
    """The big object's hash, from the formula documented by the simulator (1 MiB SHAKE-256 blocks)."""
    digest = hashlib.sha256()
    left, k = size, 0
    while left:
        block = hashlib.shake_256(b"ptpipd-sim-big-object" + k.to_bytes(4, "little")).digest(1 << 20)
        digest.update(block[:left])
        left -= min(left, len(block))
        k += 1
    return digest.hexdigest()


class HashSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.digest.update(data)
        self.size += len(data)


async def test_info_names_the_simulated_camera(cam: Camera) -> None:
    assert cam.summary is not None
    assert (cam.summary.manufacturer, cam.summary.model, cam.summary.serial) == (
        "ptpipd",
        "Simulated PTP/IP camera",
        "SIM-0001",
    )
    info = await cam.info()
    assert info.device["model"] == "Simulated PTP/IP camera"
    codes = {int(c, 16) for c in info.device["properties"]}
    assert len(codes) >= 12
    assert {d.current.code for d in info.properties} == codes
    assert "InitiateCapture" in info.device["operations"]


def _other_value(desc: PropertyDesc) -> str | int:
    """A value different from the current one that the property allows, as the user would type it."""
    current = desc.current.value
    if isinstance(desc.form, EnumValues):
        for v in desc.form.values:
            if v.value != current:
                return v.label
        pytest.skip(f"{desc.current.prop} allows a single value")
    if isinstance(desc.form, RangeValues):
        assert isinstance(desc.form.minimum, int) and isinstance(desc.form.maximum, int)
        return desc.form.maximum if current != desc.form.maximum else desc.form.minimum
    if desc.current.datatype == DataType.STR:
        return "20261123T101500" if desc.current.name == "DateTime" else "ptpipd test"
    raise AssertionError(f"no way to pick a value for {desc}")


async def test_every_property_get_describe_and_set_both_ways(cam: Camera) -> None:
    info = await cam.info()
    writable = 0
    for desc in info.properties:
        code = desc.current.code
        got = await cam.get(code)
        assert got.value == desc.current.value, desc.current.prop
        again = await cam.describe(got.prop if not got.prop.startswith("0x") else code)
        assert again.desc == desc.desc
        if not desc.current.writable:
            with pytest.raises(InvalidValue, match="read-only"):
                await cam.set(code, desc.current.value if isinstance(desc.current.value, int | str) else 0)
            continue
        writable += 1
        original = desc.current.value
        wanted = _other_value(desc)
        by_label = await cam.set(got.prop, wanted)
        assert by_label.value != original, (got.prop, wanted)
        assert (await cam.get(code)).value == by_label.value
        if isinstance(original, int):  # numeric form, and back to where we started
            back = await cam.set(got.prop, original)
            assert back.value == original
            hexed = await cam.set(
                got.prop,
                f"0x{by_label.value & 0xFFFF_FFFF:x}" if by_label.value >= 0 else str(by_label.value),
            )
            assert hexed.value == by_label.value
            await cam.set(got.prop, original)
        else:
            await cam.set(got.prop, original)
        assert (await cam.get(code)).value == original
    assert writable >= 10


async def test_labels_users_type(cam: Camera) -> None:
    assert (await cam.set("iso", "800")).label == "800"
    assert (await cam.get("0x500f")).value == 800
    assert (await cam.set("whitebalance", "Daylight")).label == "daylight"
    assert (await cam.set("exposure", "1/250")).value == 40
    assert (await cam.set("fnumber", "f/5.6")).value == 560
    assert (await cam.set("exp-bias", "+1/3")).value == 333
    assert (await cam.set("exp-bias", "-2 2/3")).label == "-2 2/3"
    assert (await cam.set("iso", "auto")).value == 0xFFFF
    assert (await cam.set(0x500F, 400)).label == "400"
    await cam.set("exp-bias", "0")


async def test_invalid_values_are_refused_before_anything_is_sent(cam: Camera) -> None:
    before = (await cam.get("iso")).value
    assert cam._link is not None
    for prop, bad in (("iso", "12345"), ("whitebalance", "moonlight"), ("iso", True), ("exp-bias", "+9")):
        tid = cam._link.next_transaction_id
        with pytest.raises(InvalidValue) as info:
            await cam.set(prop, bad)  # type: ignore[arg-type]
        # exactly one transaction went out: the GetDevicePropDesc that fetched the allowed values
        assert cam._link.next_transaction_id == tid + 1, (prop, bad)
        assert info.value.data()["allowed"]
    assert "800" in InvalidValue("iso", "x", ["800"]).data()["allowed"]
    assert (await cam.get("iso")).value == before


async def test_unknown_properties(cam: Camera) -> None:
    with pytest.raises(UnknownProperty) as info:
        await cam.get("recmode")  # the seed tool: "unknown field name 'recmode'" for generic cameras
    assert "iso" in info.value.data()["known"]
    with pytest.raises(CameraRefused) as refused:
        await cam.get("0xd02a")  # a Fuji code this camera does not list: the camera's answer (issue 13)
    assert refused.value.response_name == "DevicePropNotSupported"


async def test_files_lists_the_card(cam: Camera) -> None:
    files = await cam.files()
    names = {f.filename: f for f in files}
    assert {"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "BIG00001.BIN"} <= set(names)
    photo = names["IMG_0001.JPG"]
    assert (photo.folder, photo.format, photo.storage) == ("DCIM/100TEST", "jpeg", 0x00010001)
    assert names["BIG00001.BIN"].size == BIG
    got = await cam.download(photo.handle)
    assert got.data is not None and len(got.data) == photo.size
    with Image.open(io.BytesIO(got.data)) as img:
        img.load()
        assert img.format == "JPEG"


async def test_capture_adds_a_real_jpeg(cam: Camera) -> None:
    events: list[CameraEvent] = []
    cam.add_event_listener(events.append)
    before = {f.handle for f in await cam.files()}
    shot = await cam.capture()
    assert shot.data is not None and shot.data[:2] == b"\xff\xd8" and shot.data[-2:] == b"\xff\xd9"
    assert shot.transfer.size == len(shot.data) and shot.transfer.format == "jpeg"
    with Image.open(io.BytesIO(shot.data)) as img:
        img.load()
    assert shot.transfer.handle not in before
    assert shot.transfer.handle in {f.handle for f in await cam.files()}
    names = [e.name for e in events]
    assert names.index("ObjectAdded") < names.index("CaptureComplete")
    added = next(e for e in events if e.name == "ObjectAdded")
    assert added.params[0] == shot.transfer.handle


async def test_100_mb_download_checked_by_hash(cam: Camera) -> None:
    big = next(f for f in await cam.files() if f.filename == "BIG00001.BIN")
    sink = HashSink()
    result = await cam.download(big.handle, sink)
    assert result.data is None and result.transfer.size == BIG == sink.size
    assert sink.digest.hexdigest() == expected_big_sha256(BIG)


async def test_partial_download_pieces_add_up_to_the_object(cam: Camera) -> None:
    """GetPartialObject (``partial_objects``): 3 MiB pieces of the 100 MB object hash like the whole."""
    assert cam.capabilities.partial_objects
    big = next(f for f in await cam.files() if f.filename == "BIG00001.BIN")
    sink, offset, piece = HashSink(), 0, 3 << 20
    while offset < BIG:
        got = await cam.download_part(big.handle, offset, piece, sink)
        assert got == min(piece, BIG - offset)
        offset += got
    assert sink.size == BIG
    assert sink.digest.hexdigest() == expected_big_sha256(BIG)
    assert await cam.download_part(big.handle, BIG, piece, HashSink()) == 0  # past the end: nothing


async def test_opreq_returns_response_data_and_raw_packets(cam: Camera) -> None:
    result = await cam.opreq(0x1001)
    assert (result.code, result.name) == (0x2001, "OK")
    assert result.data is not None
    assert DeviceInfo.decode(result.data).serial_number == "SIM-0001"
    # raw packets as they came off the wire: StartData … EndData, then the response, each whole
    types = [struct.unpack_from("<II", p)[1] for p in result.packets]
    assert types[0] == 9 and types[-1] == 7 and 12 in types
    for packet in result.packets:
        assert struct.unpack_from("<I", packet)[0] == len(packet)
    tid = struct.unpack_from("<I", result.packets[-1], 10)[0]
    assert all(struct.unpack_from("<I", p, 8)[0] == tid for p in result.packets[:-1])
    refused = await cam.opreq(0x1008, [999_999])
    assert (refused.code, refused.name, refused.data) == (0x2009, "InvalidObjectHandle", None)


async def test_opreq_fields_that_do_not_fit_are_refused_before_sending(cam: Camera) -> None:
    """A code or parameter too wide for its wire field (the JSON-RPC params refuse them first) is a local
    error before anything is sent: the session goes on with the next transaction."""
    await refuses_fields_that_do_not_fit(cam)


async def test_refusals_carry_the_response_code(cam: Camera) -> None:
    with pytest.raises(CameraRefused) as info:
        await cam.download(999_999)
    assert info.value.response == 0x2009 and info.value.data()["name"] == "InvalidObjectHandle"


async def test_a_camera_not_open_refuses_raw_operations() -> None:
    """``opreq`` before :meth:`Camera.open` (or after a failed one): NotConnected, nothing sent."""
    cam = Camera(host="127.0.0.1", vendor="generic")
    with pytest.raises(NotConnected, match="the camera is not open"):
        await cam.opreq(0x1001)

"""Our initiator (``ptpipd.camera.Camera``, vendor fuji) against ``ptpipd-sim --vendor fuji`` in its own
process, over loopback TCP: pairing with a confirm delay, info, state, every writable property both ways,
refusals before anything is sent, capture, and 100 live-view frames checked pixel by pixel.

Expected values come from the protocol notes (the seed README's X-T1 captures, FUJI.md §9–§11) and from
Pillow's decoding of the JPEGs, not from our own initiator: the live-view digits are compared with the
font and layout :func:`ptpipd.sim.pictures.live_jpeg` documents.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image, ImageStat

from ptpipd.camera import Camera, CameraEvent
from ptpipd.errors import CameraRefused, InvalidValue, PairingFailed, UnknownProperty
from ptpipd.sim.pictures import DIGITS, counter_layout
from ptpipd.vendors.base import EnumValues, PropertyDesc, RangeValues
from ptpipd.vendors.fuji import FujiDriver
from ptpipd.vendors.liveview import LiveFrame
from tests.camera.opreq_checks import refuses_fields_that_do_not_fit
from tests.procs import SimProcess, running_sim

NAME = "pytest-fuji"
LIVE_FPS = 50


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with running_sim("fuji", "--fps", str(LIVE_FPS)) as process:
        yield process


def open_camera(sim: SimProcess, **fields: Any) -> Camera:
    command, event, stream = sim.ports
    return Camera(host=sim.host, vendor="fuji", port=command, event_port=event, stream_port=stream, **fields)


@pytest.fixture
async def cam(sim: SimProcess) -> AsyncIterator[Camera]:
    async with open_camera(sim, friendly_name=NAME) as camera:
        yield camera


# ------------------------------------------------------------------------------------------------ pairing


async def test_full_init_with_a_confirm_delay_reports_the_pairing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The driver reports a pairing once 0xDF01 has waited pairing_hint_delay (1 s); the camera below holds
    # it 1 s, so the report is moved earlier to be certain it happens while the camera holds the answer.
    monkeypatch.setattr(FujiDriver, "pairing_hint_delay", 0.25)
    with running_sim("fuji", "--confirm-delay", "1") as fresh:
        told: list[float] = []
        started = time.monotonic()
        camera = open_camera(fresh, friendly_name=NAME, on_pairing=lambda: told.append(time.monotonic()))
        async with camera:
            opened = time.monotonic() - started
            assert camera.summary is not None
            assert (camera.summary.manufacturer, camera.summary.model) == ("FUJIFILM", "X-T1")
            assert (camera.summary.serial, camera.summary.version) == ("SIMULATED-X-T1", "5.51")
        assert opened >= 0.9, opened  # the camera held DF01 for its confirm delay
        assert len(told) == 1 and told[0] - started < opened
        # the camera now knows the name: no prompt, no report
        again: list[float] = []
        started = time.monotonic()
        async with open_camera(fresh, friendly_name=NAME, on_pairing=lambda: again.append(1.0)):
            assert time.monotonic() - started < 0.9
        assert again == []
        # another name is refused by the camera (InitFail 0x2019), with the driver's explanation
        with pytest.raises(PairingFailed, match="choose 'change' on the camera"):
            async with open_camera(fresh, friendly_name="someone-else"):
                pass


# ------------------------------------------------------------------------------------------------ info, state


#: The seed README's 0xD212 capture (FUJI.md §9) as our labels show it.
README_STATE = {
    "battery": "3/3",
    "imagesize": "L 3:2",
    "whitebalance": "auto",
    "focusmode": "AF-S",
    "flashmode": "enabled",
    "program": "program",
    "exp-bias": "0",
    "delay": "off",
    "effect": "Velvia",
    "quality": "RAW + JPEG fine",
    "commanddial": "both",
    "iso": "S6400",
    "focusmtr": "4x4",
    "focuslock": "off",
    "device-error": "none",
    "remaining": "1431",
    "movie-remaining": "1679",
}


async def test_info_is_the_readme_0x902b_list(cam: Camera) -> None:
    info = await cam.info()
    assert info.device["model"] == "X-T1" and info.device["manufacturer"] == "FUJIFILM"
    assert info.device["properties"] == [
        f"0x{c:04x}" for c in (0x5012, 0x500C, 0x5005, 0x5010, 0xD001, 0xD02A, 0xD019, 0xD17C)
    ]
    labels = {p.current.prop: p.current.label for p in info.properties}
    assert labels["iso"] == "S6400" and labels["effect"] == "Velvia" and labels["focusmtr"] == "4x4"
    iso = next(p for p in info.properties if p.current.prop == "iso")
    assert isinstance(iso.form, EnumValues) and len(iso.form.values) == 25
    assert iso.factory_default.value == 0xFFFF_FFFF


async def test_state_labels_are_the_readme_capture(sim: SimProcess) -> None:
    with running_sim("fuji") as fresh:  # untouched by the other tests' sets
        async with open_camera(fresh, friendly_name=NAME) as camera:
            state = {entry.prop: entry.label for entry in await camera.state()}
    assert state == README_STATE


# ------------------------------------------------------------------------------------------------ properties


def other_value(desc: PropertyDesc) -> int | str | None:
    """A value the description allows that differs from the current one (None: there is none)."""
    current = desc.current.value
    if isinstance(desc.form, EnumValues):
        choices = [v.value for v in desc.form.values if v.value != current]
        return choices[0] if choices and isinstance(choices[0], int) else None
    if isinstance(desc.form, RangeValues):
        low, high = desc.form.minimum, desc.form.maximum
        assert isinstance(low, int) and isinstance(high, int)
        if desc.current.code == 0xD17C:  # focus point: its label keeps x and y, so stay on the 02 03 tail
            return 0x03020203 if current != 0x03020203 else 0x03020405
        return high if current != high else low
    if isinstance(current, str):
        return "5229.131848,N 01322.842972,E" if current != "5229.131848,N 01322.842972,E" else ""
    return None


async def test_get_and_set_every_writable_property_by_label_and_number(cam: Camera) -> None:
    checked = []
    for spec in FujiDriver.properties.specs:
        try:
            desc = await cam.describe(spec.name)
        except Exception:  # the blobs 0x5003/0xD174/0xD228 and the 0xD212 list
            assert spec.code in (0x5003, 0xD174, 0xD212, 0xD228), spec.name
            continue
        if not desc.current.writable:
            continue
        target = other_value(desc)
        if target is None:
            continue  # 0xD01D (no values), 0xDF01 (5 only)
        if isinstance(target, str):
            assert (await cam.set(spec.name, target)).value == target
            assert (await cam.get(spec.name)).value == target
            checked.append(spec.name)
            continue
        label = spec.labels.label(target)
        by_label = await cam.set(spec.name, label)
        assert (by_label.value, by_label.label) == (target, label), spec.name
        assert (await cam.get(spec.name)).value == target, spec.name
        number = other_value(replace(desc, current=by_label))
        assert isinstance(number, int) and number != target
        assert (await cam.set(spec.name, number)).value == number, spec.name
        assert (await cam.get(spec.name)).value == number, spec.name
        if target >= 0:
            assert (await cam.set(spec.name, f"0x{target:x}")).value == target, spec.name
        checked.append(spec.name)
    assert set(checked) >= {
        "delay", "effect", "exposure", "exp-bias", "flashmode", "focusmtr", "iso", "whitebalance",
        "recmode", "imagesize", "quality", "fnumber", "focusmode", "program", "commanddial", "movie-iso",
        "geotag", "app-version",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("prop", "text", "value"),
    [
        ("iso", "800", 800),
        ("iso", "S 3200", 0x80000C80),
        ("iso", "H25600", 0x40006400),
        ("iso", "L100", 0x40000064),
        ("film", "classic chrome", 11),
        ("effect", "PROVIA", 1),
        ("exp-bias", "-2 2/3", -2667),
        ("whitebalance", "shade", 0x8006),
        ("focusmtr", "2x3", 0x03020203),
        ("delay", "10s", 4),
    ],
)
async def test_set_by_label_reads_back(cam: Camera, prop: str, text: str, value: int) -> None:
    result = await cam.set(prop, text)
    assert result.value == value
    assert (await cam.get(prop)).value == value
    state = {entry.prop: entry.value for entry in await cam.state()}
    if prop in state:  # the 0xD212 list follows (exposure bias as u32 in the list: sign-extended back)
        assert state[prop] == value


async def test_opreq_fields_that_do_not_fit_are_refused_before_sending(cam: Camera) -> None:
    """As on the generic camera: a library ``opreq`` the Fuji container cannot carry is refused before
    anything is sent (a sixth parameter once went out, and the camera dropped the session)."""
    await refuses_fields_that_do_not_fit(cam)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("iso", "S12800"),
        ("iso", 123),
        ("iso", "auto"),  # not in the X-T1's list
        ("effect", "ETERNA"),
        ("exp-bias", "+4"),
        ("focusmtr", 0x20000000),
        ("battery", 2),  # read-only
        ("remaining", 12),
        ("macro", 1),  # an enumeration with no values
    ],
)
async def test_invalid_values_are_refused_before_anything_is_sent(
    cam: Camera, prop: str, value: int | str
) -> None:
    before = (await cam.get(prop)).value
    assert cam._link is not None
    tid = cam._link.next_transaction_id
    with pytest.raises(InvalidValue):
        await cam.set(prop, value)
    # at most the GetDevicePropDesc that fetched the allowed values went out, no SetDevicePropValue
    assert cam._link.next_transaction_id - tid <= 1
    assert (await cam.get(prop)).value == before


async def test_a_name_the_camera_does_not_have_is_unknown(cam: Camera) -> None:
    assert cam._link is not None
    tid = cam._link.next_transaction_id
    for call in (cam.get, cam.describe):
        with pytest.raises(UnknownProperty) as info:
            await call("nonsense")
        known = info.value.data()["known"]
        assert "iso" in known and "effect" in known
    assert cam._link.next_transaction_id == tid  # nothing was sent to the camera


@pytest.mark.parametrize("prop", [0x9999, "0x9999", "9999"])
async def test_a_code_goes_to_the_camera_whose_refusal_is_the_answer(cam: Camera, prop: int | str) -> None:
    """Issue 13 item 2: the X-T1 describes 0x9999 with no data, and refuses its value with 0x200A."""
    for call in (cam.get, cam.describe):
        with pytest.raises(CameraRefused) as info:
            await call(prop)
        assert (info.value.response, info.value.response_name) == (0x200A, "DevicePropNotSupported")
        assert info.value.opcode == 0x1015


# ------------------------------------------------------------------------------------------------ capture


async def test_capture_returns_the_preview_jpeg(cam: Camera) -> None:
    events: list[CameraEvent] = []
    cam.add_event_listener(events.append)
    shot = await cam.capture()
    assert shot.data is not None and shot.transfer.format == "jpeg"
    assert 70_000 <= len(shot.data) <= 90_000 and shot.transfer.size == len(shot.data)
    with Image.open(io.BytesIO(shot.data)) as image:
        image.load()
        assert (image.format, image.size) == ("JPEG", (640, 480))
    names = [e.name for e in events[:2]]
    assert names == ["Fuji_ObjectAdded", "Fuji_PreviewAvailable"]
    assert events[1].params[2] == len(shot.data)  # the size at byte 20 of the C001 event
    second = await cam.capture()
    assert second.data is not None and second.data != shot.data


# ------------------------------------------------------------------------------------------------ live view


def digits_shown(image: Image.Image) -> str:
    """Reads the counter digits from a decoded frame using live_jpeg's documented layout and DIGITS."""
    layout = counter_layout(*image.size)
    grey = image.convert("L")
    text = ""
    for slot in range(layout.digits):
        x0 = layout.left + slot * layout.advance
        lit = []
        for gy in range(7):
            row = ""
            for gx in range(5):
                left, top = x0 + gx * layout.cell, layout.top + gy * layout.cell
                box = grey.crop((left + 2, top + 2, left + layout.cell - 2, top + layout.cell - 2))
                mean = ImageStat.Stat(box).mean[0]
                assert mean > 170 or mean < 80, (
                    f"digit {slot} pixel ({gx},{gy}) is neither lit nor dark: {mean}"
                )
                row += "#" if mean > 170 else "."
            lit.append(row)
        matches = [d for d in "0123456789" if tuple(DIGITS[d]) == tuple(lit)]
        assert len(matches) == 1, f"digit {slot} reads as {lit}"
        text += matches[0]
    return text


async def test_100_live_view_frames_in_order_with_visible_counters(cam: Camera) -> None:
    frames: list[LiveFrame] = []
    stream = cam.liveview()
    try:
        async for frame in stream:
            frames.append(frame)
            if len(frames) == 100:
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator
    assert len(frames) == 100
    assert all(b.sequence > a.sequence for a, b in itertools.pairwise(frames))
    assert all(b.counter > a.counter for a, b in itertools.pairwise(frames))
    layout = counter_layout(640, 480)
    for frame in frames:
        with Image.open(io.BytesIO(frame.jpeg)) as image:
            image.load()
            assert (image.format, image.size) == ("JPEG", (640, 480))
            assert digits_shown(image) == str(frame.counter % 10**layout.digits).zfill(layout.digits)

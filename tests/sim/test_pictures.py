"""The simulator's pictures, decoded by Pillow (libjpeg) and read back pixel by pixel.

The expected content comes from what :mod:`ptpipd.sim.pictures` documents (the digit font, the counter's
place, the colour bars of the test card), not from its drawing code.
"""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageStat

from ptpipd.sim.pictures import (
    DIGITS,
    THUMB_SIZE,
    Caption,
    counter_layout,
    frame_stamp,
    live_jpeg,
    photo,
    thumbnail,
)

#: The test card's colour bars (75 % bars, left to right), as documented in the module.
BARS = ((191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191))


def decode(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    assert image.format == "JPEG"
    return image


def read_counter(image: Image.Image) -> str:
    """The digits a frame shows, cell by cell, by the documented layout and font."""
    layout = counter_layout(*image.size)
    grey = image.convert("L")
    shown = ""
    for slot in range(layout.digits):
        rows = []
        for y in range(7):
            row = ""
            for x in range(5):
                left = layout.left + slot * layout.advance + x * layout.cell
                top = layout.top + y * layout.cell
                inset = layout.cell // 4
                box = (left + inset, top + inset, left + layout.cell - inset, top + layout.cell - inset)
                mean = ImageStat.Stat(grey.crop(box)).mean[0]
                assert mean > 170 or mean < 80, f"digit {slot} cell ({x},{y}) is neither lit nor dark: {mean}"
                row += "#" if mean > 170 else "."
            rows.append(row)
        matches = [d for d, glyph in DIGITS.items() if glyph == tuple(rows)]
        assert len(matches) == 1, f"digit {slot} reads as {rows}"
        shown += matches[0]
    return shown


# ------------------------------------------------------------------------------------------------ live view


def test_digits_are_well_formed_and_distinct() -> None:
    assert sorted(DIGITS) == list("0123456789")
    assert all(
        len(g) == 7 and all(len(row) == 5 and set(row) <= {"#", "."} for row in g) for g in DIGITS.values()
    )
    assert len(set(DIGITS.values())) == 10


def test_counter_layout_of_the_default_size() -> None:
    layout = counter_layout(640, 480)
    assert (layout.cell, layout.advance, layout.digits) == (16, 96, 6)
    assert layout.left % 8 == 0 and layout.top % 8 == 0  # whole JPEG blocks
    assert layout.left + 6 * layout.advance - layout.cell <= 640 and layout.top + 7 * layout.cell <= 480
    with pytest.raises(ValueError, match="too small"):
        counter_layout(40, 20)


@pytest.mark.parametrize(
    ("counter", "size"),
    [(0, (640, 480)), (7, (640, 480)), (123456, (640, 480)), (1_000_042, (640, 480)), (98765, (320, 240))],
)
def test_live_frames_show_their_counter(counter: int, size: tuple[int, int]) -> None:
    image = decode(live_jpeg(counter, *size))
    assert image.size == size
    digits = counter_layout(*size).digits
    assert read_counter(image) == str(counter % 10**digits).zfill(digits)


def test_live_frames_differ_in_the_counter_and_the_marker() -> None:
    a, b = decode(live_jpeg(41)).convert("L"), decode(live_jpeg(42)).convert("L")
    layout = counter_layout(640, 480)
    last = layout.left + 5 * layout.advance
    box = (last, layout.top, last + 5 * layout.cell, layout.top + 7 * layout.cell)
    assert a.crop(box).tobytes() != b.crop(box).tobytes()  # the last digit changed
    marker = (0, layout.top + 7 * layout.cell, 640, layout.top + 9 * layout.cell)
    assert a.crop(marker).tobytes() != b.crop(marker).tobytes()  # the marker moved


def test_live_frames_carry_their_stamp() -> None:
    jpeg = live_jpeg(5, monotonic=12.5, wall=1717236000.25)
    stamp = frame_stamp(jpeg)
    assert stamp is not None and (stamp.frame, stamp.monotonic, stamp.wall) == (5, 12.5, 1717236000.25)
    assert b"\xff\xfe" in jpeg[: jpeg.index(b"\xff\xda")]  # a COM segment in the header, before the scan
    assert decode(jpeg).info.get("comment", b"").startswith(b"ptpipd-sim frame=5 ")
    assert frame_stamp(photo(0, Caption(1), 64, 48)) is None
    with pytest.raises(ValueError):
        live_jpeg(-1)


# ------------------------------------------------------------------------------------------------ photos


@pytest.mark.parametrize(
    ("seed", "budget"), [(0, 80_000), (1, 110_000), (2, 150_000), (3, 190_000), (4, 47_000)]
)
def test_a_photo_is_exactly_its_budget(seed: int, budget: int) -> None:
    data = photo(seed, Caption(seed + 1, f"IMG_{seed + 1:04d}.JPG", "2024-06-01 10:15:00"), 640, 480, budget)
    assert len(data) == budget
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert decode(data).size == (640, 480)


def test_a_photo_shows_the_test_card() -> None:
    image = decode(photo(7, Caption(3, "IMG_0003.JPG", "2024-06-01 10:15:00"), 640, 480, 150_000))
    for k, colour in enumerate(BARS):
        left = k * 640 // 7
        patch = image.crop((left + 20, 20, left + 640 // 7 - 20, 150))
        mean = ImageStat.Stat(patch).mean
        assert all(abs(m - c) < 25 for m, c in zip(mean, colour, strict=True)), (k, mean, colour)
    wedge = [
        ImageStat.Stat(image.convert("L").crop((k * 80 + 20, 200, k * 80 + 60, 230))).mean[0]
        for k in range(8)
    ]
    assert wedge == sorted(wedge) and wedge[-1] - wedge[0] > 180  # the grey wedge, black to white


def test_photos_are_deterministic_and_depend_on_seed_number_and_caption() -> None:
    caption = Caption(1, "IMG_0001.JPG", "2024-06-01 10:15:00")
    first = photo(0, caption, 640, 480, 110_000)
    assert photo(0, caption, 640, 480, 110_000) == first
    assert photo(1, caption, 640, 480, 110_000) != first
    assert photo(0, Caption(2, "IMG_0001.JPG", "2024-06-01 10:15:00"), 640, 480, 110_000) != first
    assert photo(0, Caption(1, "IMG_0001.JPG", "2024-06-01 10:15:01"), 640, 480, 110_000) != first


def test_padding_is_comment_segments_after_the_jfif_header() -> None:
    data = photo(0, Caption(1), 320, 240, 200_000)  # far more than the picture needs: several segments
    assert len(data) == 200_000
    assert data[2:4] == b"\xff\xe0"
    at, comments = 4 + struct.unpack_from(">H", data, 4)[0], 0
    while data[at : at + 2] == b"\xff\xfe":
        comments += 1
        at += 2 + struct.unpack_from(">H", data, at + 2)[0]
    assert comments >= 3
    assert decode(data).size == (320, 240)


@pytest.mark.parametrize("size", [(1600, 1200), (160, 120), (4000, 3000)])
def test_photos_without_a_budget(size: tuple[int, int]) -> None:
    data = photo(0, Caption(9, "IMG_0009.JPG"), *size)
    assert decode(data).size == size


def test_impossible_photos_are_refused() -> None:
    with pytest.raises(ValueError, match="needs more than"):
        photo(0, Caption(1), 640, 480, 2_000)
    with pytest.raises(ValueError, match="too small"):
        photo(0, Caption(1), 8, 8)


def test_thumbnail() -> None:
    data = thumbnail(0, Caption(1, "IMG_0001.JPG"))
    assert decode(data).size == THUMB_SIZE == (160, 120)
    assert thumbnail(0, Caption(1, "IMG_0001.JPG")) == data != thumbnail(0, Caption(2, "IMG_0002.JPG"))

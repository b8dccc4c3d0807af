"""Tests of ptpipd.sim.jpeg, with Pillow (libjpeg) as the independent decoder."""

from __future__ import annotations

import io
import math
import random
import re
import struct

import pytest
from PIL import Image

from ptpipd.sim import jpeg
from ptpipd.sim.jpeg import FONT, GLYPH_ADVANCE, JpegCanvas, counter_frame, counter_layout, photo

# jpeg_natural_order of the IJG library: zigzag index -> row-major index. Written out here on purpose,
# to check the module's own (computed) order.
NATURAL_ORDER = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip

Colour = tuple[int, int, int]
Pixels = list[list[Colour]]


# ------------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------------


def decode(data: bytes, width: int, height: int) -> Image.Image:
    """Decode with Pillow and check what every produced image must be."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert image.size == (width, height)
    assert image.mode == "RGB"
    return image


def split(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The marker segments up to and including SOS, and the entropy-coded data (without EOI)."""
    assert data[:2] == b"\xff\xd8"
    segments = []
    pos = 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:
            break
    assert data[-2:] == b"\xff\xd9"
    return segments, data[pos:-2]


def tables(data: bytes) -> tuple[dict[int, bytes], dict[int, tuple[bytes, bytes]]]:
    """DQT tables by id (file order, zigzag) and DHT tables by (class << 4 | id) -> (bits, values)."""
    quant: dict[int, bytes] = {}
    huffman: dict[int, tuple[bytes, bytes]] = {}
    segments, _ = split(data)
    for marker, payload in segments:
        if marker == 0xDB:
            while payload:
                assert payload[0] >> 4 == 0, "8-bit tables only"
                quant[payload[0] & 15] = payload[1:65]
                payload = payload[65:]
        elif marker == 0xC4:
            while payload:
                bits = payload[1:17]
                count = sum(bits)
                huffman[payload[0]] = (bits, payload[17 : 17 + count])
                payload = payload[17 + count :]
    return quant, huffman


def luma(pixel: Colour) -> float:
    r, g, b = pixel
    return 0.299 * r + 0.587 * g + 0.114 * b


def block_centre(image: Image.Image, bx: int, by: int) -> Colour:
    pixel = image.getpixel((8 * bx + 4, 8 * by + 4))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def assert_glyph(image: Image.Image, bx: int, by: int, char: str, scale: int) -> None:
    """Every block of the glyph cell is light where the font has ink and dark elsewhere."""
    for row, line in enumerate(FONT[char]):
        for column, ink in enumerate(line):
            for sy in range(scale):
                for sx in range(scale):
                    x, y = bx + column * scale + sx, by + row * scale + sy
                    light = luma(block_centre(image, x, y)) > 128
                    assert light == (ink == "#"), f"{char!r}: glyph pixel ({column}, {row}), block ({x}, {y})"


def restart_markers(data: bytes) -> list[int]:
    """The markers in the entropy-coded data, after checking that every other 0xFF is stuffed."""
    _, scan = split(data)
    markers = [m.group(1)[0] for m in re.finditer(rb"\xff(.)", scan, re.DOTALL)]
    return [m for m in markers if m != 0x00]


# ------------------------------------------------------------------------------------------------------
# File structure and the standard tables
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [25, 50, 75, 90, 100])
def test_tables_are_those_libjpeg_writes_for_the_same_quality(quality: int) -> None:
    # libjpeg's defaults (not optimised) are the Annex K Huffman tables and the Annex K quantisation
    # tables scaled by jpeg_set_quality: an independent copy of the standard's facts.
    reference = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(
        reference, "JPEG", quality=quality, subsampling=0, optimize=False
    )
    theirs = tables(reference.getvalue())
    ours = tables(JpegCanvas(16, 16, quality=quality).encode())
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert sorted(ours[1]) == [0x00, 0x01, 0x10, 0x11]


def test_module_zigzag_order_is_the_standard_one() -> None:
    assert jpeg.ZIGZAG == NATURAL_ORDER


@pytest.mark.parametrize(
    ("width", "height"), [(8, 8), (16, 8), (8, 24), (72, 16), (200, 56), (640, 480), (1920, 1080)]
)
def test_markers_and_header(width: int, height: int) -> None:
    data = JpegCanvas(width, height, background=(255, 255, 255)).encode()
    segments, _ = split(data)
    markers = [marker for marker, _ in segments]
    assert markers[0] == 0xE0 and segments[0][1][:5] == b"JFIF\x00"
    for required in (0xDB, 0xC0, 0xC4, 0xDD, 0xDA):
        assert required in markers
    assert all(marker not in markers for marker in (0xC1, 0xC2, 0xC3))  # baseline only
    sof = dict(segments)[0xC0]
    assert struct.unpack(">BHHB", sof[:6]) == (8, height, width, 3)
    assert sof[6:] == bytes((1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1))
    assert dict(segments)[0xDD] == b"\x00\x01"  # restart interval: one MCU
    mcus = (width // 8) * (height // 8)
    # After MCU i comes RST(i % 8); none after the last MCU.
    assert restart_markers(data) == [0xD0 + i % 8 for i in range(mcus - 1)]
    decode(data, width, height)


def test_markers_in_a_busy_image() -> None:
    # Textures produce all sorts of bytes, including 0xFF that must be stuffed.
    canvas = JpegCanvas(200, 120)
    canvas.texture(5, 1.0)
    data = canvas.encode()
    assert restart_markers(data) == [0xD0 + i % 8 for i in range(25 * 15 - 1)]
    decode(data, 200, 120)


# ------------------------------------------------------------------------------------------------------
# Pixels: flat blocks, text, textured blocks
# ------------------------------------------------------------------------------------------------------


def colour_tolerance(quality: int) -> float:
    """Worst RGB error of a flat block: DC quantisation of Y, Cb, Cr plus rounding."""
    quant, _ = tables(JpegCanvas(8, 8, quality=quality).encode())
    y_error, c_error = quant[0][0] / 16, quant[1][0] / 16
    return y_error + 1.772 * c_error + 1.402 * c_error + 1.5


@pytest.mark.parametrize("quality", [50, 75, 95])
@pytest.mark.parametrize(("width", "height"), [(64, 48), (72, 40), (640, 480)])
def test_flat_blocks_decode_to_their_colours(quality: int, width: int, height: int) -> None:
    rng = random.Random(width * height + quality)
    blocks_x, blocks_y = width // 8, height // 8
    canvas = JpegCanvas(width, height, background=(0, 0, 0), quality=quality)
    expected: Pixels = [[(0, 0, 0)] * blocks_x for _ in range(blocks_y)]
    for _ in range(20):
        x0, x1 = sorted(rng.randrange(blocks_x + 1) for _ in range(2))
        y0, y1 = sorted(rng.randrange(blocks_y + 1) for _ in range(2))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        canvas.fill(x0, y0, x1, y1, colour)
        for y in range(y0, y1):
            expected[y][x0:x1] = [colour] * (x1 - x0)
    canvas.fill(blocks_x - 1, blocks_y - 1, blocks_x, blocks_y, (255, 255, 255))  # the last MCU too
    expected[-1][-1] = (255, 255, 255)
    image = decode(canvas.encode(), width, height)
    tolerance = colour_tolerance(quality)
    pixels = image.load()
    assert pixels is not None
    for by in range(blocks_y):
        for bx in range(blocks_x):
            want = expected[by][bx]
            for x, y in ((0, 0), (7, 7), (3, 5)):  # a flat block is flat: corners equal the centre
                got = pixels[8 * bx + x, 8 * by + y]
                assert isinstance(got, tuple)
                assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= tolerance, (bx, by)


def test_every_character_renders_as_its_glyph() -> None:
    chars = "".join(FONT)
    per_line = 640 // 8 // GLYPH_ADVANCE
    canvas = JpegCanvas(640, 480, background=(0, 0, 0))
    lines = [chars[i : i + per_line] for i in range(0, len(chars), per_line)]
    for n, line in enumerate(lines):
        canvas.text(0, n * 8, line, (255, 255, 255))
    image = decode(canvas.encode(), 640, 480)
    for n, line in enumerate(lines):
        for k, char in enumerate(line):
            assert_glyph(image, k * GLYPH_ADVANCE, n * 8, char, 1)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_text_scale_and_case(scale: int) -> None:
    upper = JpegCanvas(640, 480, background=(20, 20, 20))
    upper.text(2, 3, "QZ9:", (230, 230, 230), scale)
    lower = JpegCanvas(640, 480, background=(20, 20, 20))
    lower.text(2, 3, "qz9:", (230, 230, 230), scale)
    assert upper.encode() == lower.encode()  # lower case is drawn as upper case
    image = decode(upper.encode(), 640, 480)
    for k, char in enumerate("QZ9:"):
        assert_glyph(image, 2 + k * GLYPH_ADVANCE * scale, 3, char, scale)


def test_font_glyphs_are_well_formed_and_distinct() -> None:
    required = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -._/:"
    assert set(required) <= set(FONT)
    for char, glyph in FONT.items():
        assert len(glyph) == jpeg.GLYPH_HEIGHT, char
        assert all(len(row) == jpeg.GLYPH_WIDTH and set(row) <= {"#", "."} for row in glyph), char
    bitmaps = list(FONT.values())
    assert len(set(bitmaps)) == len(bitmaps)
    assert set(jpeg.supported_characters()) == set(FONT) | set("abcdefghijklmnopqrstuvwxyz")


def test_text_is_clipped_at_the_edges() -> None:
    canvas = JpegCanvas(64, 64)
    canvas.text(5, 5, "LONG TEXT", (0, 0, 0), 2)
    decode(canvas.encode(), 64, 64)


def idct_block(coefficients: list[float]) -> list[float]:
    """Samples (row-major, level-shifted back, not clamped) of one block from its natural-order DCT."""
    cos = [[math.cos((2 * x + 1) * u * math.pi / 16) for u in range(8)] for x in range(8)]
    scale = [math.sqrt(0.5)] + [1.0] * 7
    samples = []
    for y in range(8):
        for x in range(8):
            total = 0.0
            for v in range(8):
                for u in range(8):
                    f = coefficients[v * 8 + u]
                    if f:
                        total += scale[u] * scale[v] * f * cos[x][u] * cos[y][v]
            samples.append(total / 4 + 128)
    return samples


def test_textured_blocks_decode_to_their_coefficients() -> None:
    # White box: put chosen coefficients into MCUs (runs of 16+ zeros, a coefficient at index 63 so no
    # EOB, negative values, textures of the palette), then compare libjpeg's pixels with a float IDCT.
    canvas = JpegCanvas(32, 16, quality=75)
    canvas.texture(11, 0.7)
    handmade: list[jpeg._Texture] = [
        (((40, -3), (63, 2)), ((17, 1),), ((1, -7), (2, 5))),
        (((1, 20), (2, -15), (3, 9)), (), ((35, -2),)),
    ]
    for i, made in enumerate(handmade):
        dc = canvas._coder.dc((90, 140, 200))
        canvas._put(i, dc, made, canvas._coder.entry((dc, made)))
    data = canvas.encode()
    quant, _ = tables(data)
    image = decode(data, 32, 16)
    pixels = image.load()
    assert pixels is not None
    worst = 0.0
    for i in range(8):
        dc, texture = canvas._dc[i], canvas._texture[i]
        components = []
        for c in range(3):
            table = quant[0 if c == 0 else 1]
            coefficients = [0.0] * 64
            coefficients[0] = dc[c] * table[0]
            for k, value in texture[c] if texture else ():
                coefficients[NATURAL_ORDER[k]] = value * table[k]
            components.append([min(255.0, max(0.0, s)) for s in idct_block(coefficients)])
        bx, by = i % 4, i // 4
        for n in range(64):
            y, cb, cr = (components[c][n] for c in range(3))
            want = (
                y + 1.402 * (cr - 128),
                y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                y + 1.772 * (cb - 128),
            )
            got = pixels[8 * bx + n % 8, 8 * by + n // 8]
            assert isinstance(got, tuple)
            for g, w in zip(got, want, strict=True):
                worst = max(worst, abs(g - min(255.0, max(0.0, w))))
    assert worst <= 4, worst


# ------------------------------------------------------------------------------------------------------
# Textures
# ------------------------------------------------------------------------------------------------------


def test_texture_size_grows_with_density_and_keeps_text() -> None:
    canvas = JpegCanvas(640, 480, background=(60, 90, 120))
    canvas.text(2, 2, "HELLO", (255, 255, 255), 2)
    sizes = []
    for density in (0.0, 0.1, 0.3, 0.6, 1.0):
        canvas.texture(3, density)
        sizes.append(len(canvas.encode()))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] / 3
    image = decode(canvas.encode(), 640, 480)
    for k, char in enumerate("HELLO"):
        # Ink stays flat and light; texture may change the blocks around it.
        for row, line in enumerate(FONT[char]):
            for column, ink in enumerate(line):
                if ink == "#":
                    x, y = 2 + k * GLYPH_ADVANCE * 2 + column * 2, 2 + row * 2
                    assert luma(block_centre(image, x, y)) > 200
    canvas.texture(3, 0.0)
    flat = JpegCanvas(640, 480, background=(60, 90, 120))
    flat.text(2, 2, "HELLO", (255, 255, 255), 2)
    assert canvas.encode() == flat.encode()  # texture() replaces, it does not accumulate


def test_texture_is_deterministic() -> None:
    first, second, other = JpegCanvas(), JpegCanvas(), JpegCanvas()
    first.texture(1, 0.5)
    second.texture(1, 0.5)
    other.texture(2, 0.5)
    assert first.encode() == second.encode() != other.encode()


# ------------------------------------------------------------------------------------------------------
# Live-view frames
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(640, 480), (320, 240), (56, 72), (1920, 1080)])
@pytest.mark.parametrize("counter", [0, 7, 42, 123456, 987654, 1_000_000, 2**40 + 3])
def test_counter_frame_shows_the_counter(counter: int, width: int, height: int) -> None:
    layout = counter_layout(width, height)
    image = decode(counter_frame(counter, width, height), width, height)
    text = str(counter % 10**layout.digits).zfill(layout.digits)
    for k, digit in enumerate(text):
        assert_glyph(image, layout.bx + k * GLYPH_ADVANCE * layout.scale, layout.by, digit, layout.scale)


def test_counter_layout_of_the_default_size() -> None:
    layout = counter_layout()
    assert layout.scale == 2 and layout.digits == 6
    assert layout.bx >= 0 and layout.bx + layout.digits * GLYPH_ADVANCE * layout.scale <= 80


def test_counter_frames_differ_in_the_digit_area() -> None:
    layout = counter_layout()
    box = (
        8 * layout.bx,
        8 * layout.by,
        8 * (layout.bx + layout.digits * GLYPH_ADVANCE * layout.scale),
        8 * (layout.by + jpeg.GLYPH_HEIGHT * layout.scale),
    )
    one = decode(counter_frame(1), 640, 480).crop(box)
    two = decode(counter_frame(2), 640, 480).crop(box)
    assert one.tobytes() != two.tobytes()
    assert counter_frame(5) == counter_frame(5)


def test_counter_frame_structure() -> None:
    data = counter_frame(31337)
    assert restart_markers(data) == [0xD0 + i % 8 for i in range(80 * 60 - 1)]
    assert 20_000 < len(data) < 60_000


# ------------------------------------------------------------------------------------------------------
# Photos
# ------------------------------------------------------------------------------------------------------


def test_photo_is_deterministic_and_seeds_differ() -> None:
    a = photo(1, "IMG_0001.JPG")
    assert a == photo(1, "IMG_0001.JPG")
    b = photo(2, "IMG_0001.JPG")
    assert a != b
    assert decode(a, 640, 480).tobytes() != decode(b, 640, 480).tobytes()


def test_photo_caption_is_drawn() -> None:
    # 12 characters do not fit at double size in 80 blocks, so the caption is at scale 1, one block in
    # from the left, its bottom one block above the bottom edge.
    image = decode(photo(9, "IMG_0001.JPG"), 640, 480)
    for k, char in enumerate("IMG_0001.JPG"):
        assert_glyph(image, 1 + k * GLYPH_ADVANCE, 60 - 8, char, 1)


@pytest.mark.parametrize("target", [40_000, 80_000, 150_000])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_photo_target_size(seed: int, target: int) -> None:
    data = photo(seed, f"DSCF{seed % 10000:04d}.JPG", target_size=target)
    assert abs(len(data) - target) <= target // 10, len(data)
    decode(data, 640, 480)
    assert data == photo(seed, f"DSCF{seed % 10000:04d}.JPG", target_size=target)


@pytest.mark.parametrize(("width", "height", "target"), [(1024, 768, 250_000), (160, 120, 8_000)])
def test_photo_other_sizes(width: int, height: int, target: int) -> None:
    data = photo(7, "SHOT 7", width, height, target_size=target)
    assert abs(len(data) - target) <= target // 10, len(data)
    decode(data, width, height)


# ------------------------------------------------------------------------------------------------------
# Malformed arguments
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: JpegCanvas(100, 480), "width must be a positive multiple of 8"),
        (lambda: JpegCanvas(640, 0), "height must be a positive multiple of 8"),
        (lambda: JpegCanvas(70000, 8), "width must be a positive multiple of 8"),
        (lambda: JpegCanvas(quality=0), "quality must be"),
        (lambda: JpegCanvas(background=(0, 0, 256)), "colour must be"),
        (lambda: JpegCanvas().fill(0, 0, 81, 1, (0, 0, 0)), "not inside"),
        (lambda: JpegCanvas().fill(5, 0, 4, 1, (0, 0, 0)), "not inside"),
        (lambda: JpegCanvas().text(0, 0, "A@B", (0, 0, 0)), "unsupported character '@'"),
        (lambda: JpegCanvas().text(0, 0, "AB", (0, 0, 0), 0), "scale must be"),
        (lambda: JpegCanvas().text(80, 0, "AB", (0, 0, 0)), "outside"),
        (lambda: JpegCanvas().texture(1, 1.5), "density must be"),
        (lambda: counter_frame(-1), "counter must be >= 0"),
        (lambda: counter_frame(1, 641, 480), "width must be a positive multiple of 8"),
        (lambda: counter_frame(1, 640, 479), "height must be a positive multiple of 8"),
        (lambda: counter_frame(1, 16, 16), "too small"),
        (lambda: photo(1, "caf\u00e9"), "unsupported character"),
        (lambda: photo(1, "x", 641), "width must be a positive multiple of 8"),
        (lambda: photo(1, "x", target_size=0), "target_size must be a positive int"),
        (lambda: photo(1, "x", target_size=1_000), "out of reach"),
        (lambda: photo(1, "x", target_size=10_000_000), "out of reach"),
    ],
)
def test_malformed_arguments(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=re.escape(message)):
        call()

"""The simulated cameras' pictures, drawn with Pillow: photos, thumbnails and live-view frames.

Everything is deterministic: the same arguments give the same bytes (with the same Pillow and libjpeg).

**Photos** (:func:`photo`) are a test card: colour bars, a grey wedge, a circle with a cross-hair, the
photo's number in big type, its title and its time stamp, on a gradient whose colours come from the seed,
under a film of seeded grain. With a ``budget`` the file is exactly that many bytes: the grain's strength is
searched so that the JPEG stays just under the budget, and a comment (COM) segment after the JFIF header
pads it to the byte, as cameras pad their files with maker notes. :func:`thumbnail` draws the same card at
160×120.

**Live-view frames** (:func:`live_jpeg`) show a frame counter in big block digits: the counter modulo
``10**digits``, zero-padded, each digit drawn in :data:`DIGITS`, a 5×7 grid of square cells whose places
:func:`counter_layout` gives, so that a reader can tell the digits from the decoded pixels. A "LIVE" label,
colour bars and a marker that moves one step per frame sit around the digits. The digits are pre-rendered
once per size, so a frame costs one paste per digit and one JPEG encode (about a millisecond at
640×480). Each frame carries its production time in a COM segment right after the JFIF header::

    FF FE <u16 BE length> "ptpipd-sim frame=<n> mono=<seconds> wall=<seconds>"

``mono`` is ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process of the host), ``wall`` is
``time.time()``, both with six decimals; :func:`frame_stamp` reads the segment back.
"""

from __future__ import annotations

import functools
import io
import math
import random
import re
import struct
import time
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

Colour = tuple[int, int, int]

#: The counter digits: rows of five cells, ``#`` lit.
DIGITS: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}
THUMB_SIZE = (160, 120)
PHOTO_QUALITY = 90
#: Grain strength of a photo without a budget (0 none … 1 the card drowned in noise).
DEFAULT_GRAIN = 0.15

_BARS: tuple[Colour, ...] = (
    (191, 191, 191),
    (191, 191, 0),
    (0, 191, 191),
    (0, 191, 0),
    (191, 0, 191),
    (191, 0, 0),
    (0, 0, 191),
)
_LIVE_BACKGROUND: Colour = (24, 28, 40)
_LIVE_DIGIT: Colour = (240, 240, 240)
_LIVE_LABEL: Colour = (255, 64, 48)
_LIVE_MARKER: Colour = (64, 224, 96)
_STAMP = re.compile(rb"ptpipd-sim frame=(\d+) mono=(\d+\.\d+) wall=(\d+\.\d+)")
_PADDING = b"ptpipd-sim padding "
_TILE = 256
#: The faintest grain the budget search tries.
_FAINT = 0.005
_MAX_COMMENT = 0xFFFF - 2


# ------------------------------------------------------------------------------------------------ shared


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(max(8, size))


def _encode(image: Image.Image, quality: int, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, comment=comment)
    return out.getvalue()


def _with_padding(jpeg: bytes, size: int) -> bytes:
    """``jpeg`` padded to ``size`` bytes with COM segments after SOI and APP0 (``size - len(jpeg)`` >= 4)."""
    at = 2
    if jpeg[2:4] == b"\xff\xe0":  # JFIF's APP0 stays first, as the standard wants
        at = 4 + struct.unpack_from(">H", jpeg, 4)[0]
    gap, segments = size - len(jpeg), []
    while gap:
        # a segment takes 4 to 65537 bytes; never leave a remainder of 1 to 3 bytes behind
        take = gap if gap <= _MAX_COMMENT + 4 else min(_MAX_COMMENT + 4, gap - 4)
        body = take - 4
        filler = (_PADDING * (body // len(_PADDING) + 1))[:body]
        segments.append(b"\xff\xfe" + struct.pack(">H", body + 2) + filler)
        gap -= take
    return jpeg[:at] + b"".join(segments) + jpeg[at:]


# ------------------------------------------------------------------------------------------------ photos


@dataclass(frozen=True, slots=True)
class Caption:
    """What a photo says about itself: its number, title (e.g. the file name) and time stamp."""

    number: int
    title: str = ""
    when: str = ""


def _gradient(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    top, bottom = ((rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)) for _ in range(2))
    ramp = Image.linear_gradient("L").resize(size)
    return ImageOps.colorize(ramp, top, bottom).convert("RGB")


def _card(seed: int, caption: Caption, size: tuple[int, int]) -> Image.Image:
    """The test card: gradient, colour bars, grey wedge, circle and cross-hair, the caption."""
    width, height = size
    rng = random.Random(f"ptpipd-photo:{seed}:{caption.number}")
    image = _gradient(rng, size)
    draw = ImageDraw.Draw(image)
    bar_bottom = height * 2 // 5
    for k, colour in enumerate(_BARS):
        draw.rectangle((k * width // 7, 0, (k + 1) * width // 7, bar_bottom), fill=colour)
    for k in range(8):
        grey = k * 255 // 7
        draw.rectangle((k * width // 8, bar_bottom, (k + 1) * width // 8, height // 2), fill=(grey,) * 3)
    cx, cy = rng.randint(width // 3, width * 2 // 3), rng.randint(height // 2, height * 3 // 4)
    radius, line = max(2, height // 6), max(1, height // 120)
    ring = (rng.randint(128, 255), rng.randint(0, 255), rng.randint(0, 128))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=ring, width=line * 3)
    draw.line((cx - radius, cy, cx + radius, cy), fill=ring, width=line)
    draw.line((cx, cy - radius, cx, cy + radius), fill=ring, width=line)
    _caption(draw, caption, size)
    return image


def _caption(draw: ImageDraw.ImageDraw, caption: Caption, size: tuple[int, int]) -> None:
    height = size[1]
    big, small = _font(height // 6), _font(height // 16)
    margin = max(2, height // 40)
    draw.text((margin, height // 2 + margin), f"#{caption.number}", font=big, fill=(255, 255, 255))
    lines = [text for text in (caption.title, caption.when) if text]
    for k, text in enumerate(reversed(lines), 1):
        y = height - k * (height // 16 + margin) - margin
        box = draw.textbbox((margin, y), text, font=small)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
        draw.text((margin, y), text, font=small, fill=(255, 255, 255))


@functools.lru_cache(maxsize=4)
def _grain_tile(seed: int) -> Image.Image:
    rng = random.Random(f"ptpipd-grain:{seed}")
    return Image.frombytes("RGB", (_TILE, _TILE), rng.randbytes(_TILE * _TILE * 3))


def _grain(seed: int, size: tuple[int, int]) -> Image.Image:
    tile, grain = _grain_tile(seed), Image.new("RGB", size)
    for x in range(0, size[0], _TILE):
        for y in range(0, size[1], _TILE):
            grain.paste(tile, (x, y))
    return grain


def _grainy(card: Image.Image, grain: Image.Image, strength: float) -> bytes:
    """The card under grain of ``strength`` (0..1: noise of ±128 × strength), encoded."""
    table = [max(0, min(255, round(128 + (v - 128) * strength))) for v in range(256)] * 3
    return _encode(ImageChops.add(card, grain.point(table), offset=-128), PHOTO_QUALITY)


def _fit(card: Image.Image, grain: Image.Image, budget: int) -> bytes:
    """The grainiest encoding of ``card`` that leaves 4 to about 3 % of ``budget`` for padding."""
    limit = budget - 4
    plain = _grainy(card, grain, 0.0)
    if len(plain) > limit:
        raise ValueError(f"a {card.width}x{card.height} photo needs more than {budget} bytes ({len(plain)})")
    # Above a faint grain the size grows about linearly with the logarithm of the strength: interpolate
    # there (halving the interval every other step, where it is not linear), keeping the best encoding
    # under the limit.
    low, high = (math.log(_FAINT), plain), (0.0, _grainy(card, grain, 1.0))
    if len(high[1]) <= limit:
        return high[1]
    for step in range(12):
        if len(low[1]) >= limit * 0.97:
            break
        (x0, d0), (x1, d1) = low, high
        x = x0 + (x1 - x0) * (limit - len(d0)) / (len(d1) - len(d0))
        x = (x0 + x1) / 2 if step % 2 else min(x1 - (x1 - x0) / 20, max(x0 + (x1 - x0) / 20, x))
        data = _grainy(card, grain, math.exp(x))
        low, high = ((x, data), high) if len(data) <= limit else (low, (x, data))
    return low[1]


def photo(seed: int, caption: Caption, width: int, height: int, budget: int | None = None) -> bytes:
    """The JPEG of a photo: the test card of ``seed`` and ``caption`` at ``width`` × ``height``.

    With ``budget`` it is exactly ``budget`` bytes (ValueError when the plain card alone is larger).
    """
    if width < 16 or height < 16:
        raise ValueError(f"a photo of {width}x{height} pixels is too small (at least 16x16)")
    card = _card(seed, caption, (width, height))
    grain = _grain(seed, (width, height))
    if budget is None:
        return _grainy(card, grain, DEFAULT_GRAIN)
    data = _fit(card, grain, budget)
    return data if len(data) == budget else _with_padding(data, budget)


def thumbnail(seed: int, caption: Caption) -> bytes:
    """The 160×120 thumbnail of a photo (the same card, drawn small, with light grain)."""
    card = _card(seed, caption, THUMB_SIZE)
    return _grainy(card, _grain(seed, THUMB_SIZE), DEFAULT_GRAIN / 3)


# ------------------------------------------------------------------------------------------------ live view


@dataclass(frozen=True, slots=True)
class CounterLayout:
    """Where :func:`live_jpeg` draws its counter, in pixels: digit ``k`` (0 = most significant) has its
    top-left cell at ``(left + k * advance, top)``; cells are ``cell`` pixels square."""

    left: int
    top: int
    cell: int
    advance: int
    digits: int


@functools.lru_cache(maxsize=8)
def counter_layout(width: int = 640, height: int = 480) -> CounterLayout:
    """The counter's place in a frame of this size (6 digits in 16-pixel cells at 640×480)."""
    digits = 6
    cell = min(width // (6 * digits), height // 12)
    if cell >= 8:
        cell -= cell % 8  # whole JPEG blocks: crisp edges
    if cell < 2:
        raise ValueError(f"{width}x{height} is too small for the live-view counter (at least 72x24)")
    advance = 6 * cell
    left = (width - (digits * advance - cell)) // 2
    top = (height - 7 * cell) // 2
    if cell >= 8:
        left, top = left - left % 8, top - top % 8
    return CounterLayout(left, top, cell, advance, digits)


def _glyph(digit: str, cell: int) -> Image.Image:
    glyph = Image.new("RGB", (5 * cell, 7 * cell), _LIVE_BACKGROUND)
    draw = ImageDraw.Draw(glyph)
    for y, row in enumerate(DIGITS[digit]):
        for x, lit in enumerate(row):
            if lit == "#":
                draw.rectangle((x * cell, y * cell, (x + 1) * cell - 1, (y + 1) * cell - 1), fill=_LIVE_DIGIT)
    return glyph


class _LiveCanvas:
    """What every frame of one size shares: the background and the pre-rendered digits."""

    def __init__(self, width: int, height: int) -> None:
        self.layout = layout = counter_layout(width, height)
        self.base = Image.new("RGB", (width, height), _LIVE_BACKGROUND)
        draw = ImageDraw.Draw(self.base)
        bars_top = layout.top + 9 * layout.cell
        for k, colour in enumerate(_BARS):
            draw.rectangle((k * width // 7, bars_top, (k + 1) * width // 7, height), fill=colour)
        draw.text((layout.cell, layout.cell), "LIVE", font=_font(2 * layout.cell), fill=_LIVE_LABEL)
        self.glyphs = {digit: _glyph(digit, layout.cell) for digit in DIGITS}
        self.marker_y = layout.top + 7 * layout.cell + layout.cell // 2
        self.steps = max(1, (width - layout.cell) // layout.cell)

    def jpeg(self, counter: int, comment: bytes) -> bytes:
        layout = self.layout
        frame = self.base.copy()
        for k, digit in enumerate(str(counter % 10**layout.digits).zfill(layout.digits)):
            frame.paste(self.glyphs[digit], (layout.left + k * layout.advance, layout.top))
        x = (counter % self.steps) * layout.cell
        ImageDraw.Draw(frame).rectangle(
            (x, self.marker_y, x + layout.cell - 1, self.marker_y + layout.cell // 2), fill=_LIVE_MARKER
        )
        return _encode(frame, 80, comment)


#: One canvas per frame size, made once.
_live_canvas = functools.lru_cache(maxsize=4)(_LiveCanvas)


def live_jpeg(
    counter: int,
    width: int = 640,
    height: int = 480,
    *,
    monotonic: float | None = None,
    wall: float | None = None,
) -> bytes:
    """A live-view frame showing ``counter``, stamped with the moment it was ready (encoded), unless given."""
    if counter < 0:
        raise ValueError(f"the frame counter must be >= 0, got {counter}")

    def stamp(mono: float, wall: float) -> bytes:
        # fixed width, so that the stamp can be rewritten in place once the frame is encoded
        return f"ptpipd-sim frame={counter} mono={mono:020.6f} wall={wall:020.6f}".encode()

    jpeg = _live_canvas(width, height).jpeg(counter, stamp(0.0, 0.0))
    # the time it was ready, not the time its drawing began: a frame's age is what a viewer waits for it
    ready = stamp(time.monotonic() if monotonic is None else monotonic, time.time() if wall is None else wall)
    return jpeg.replace(stamp(0.0, 0.0), ready, 1)


@dataclass(frozen=True, slots=True)
class FrameStamp:
    """What the COM segment of a live-view frame says: its counter and when it was produced."""

    frame: int
    monotonic: float
    wall: float


def frame_stamp(jpeg: bytes) -> FrameStamp | None:
    """The stamp of a live-view frame (read from its header segments), or None when it has none."""
    at = 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker, length = jpeg[at + 1], struct.unpack_from(">H", jpeg, at + 2)[0]
        if marker == 0xFE and (match := _STAMP.fullmatch(jpeg[at + 4 : at + 2 + length])):
            return FrameStamp(int(match[1]), float(match[2]), float(match[3]))
        if marker == 0xDA:  # start of scan: the header is over
            break
        at += 2 + length
    return None

"""Pure-Python baseline JPEG writer for the simulated camera (standard library only).

The simulator needs real JPEG files -- a live-view stream at 30+ frames per second, capture previews of a
given size, photos on the simulated card -- without an image library at run time. Entropy-coding a
640x480 image bit by bit in Python costs tens of milliseconds, far too slow for live view, so this module
uses a trick that the JPEG standard (ITU-T T.81) allows:

* The file is a baseline JPEG (SOF0) in colour (YCbCr, three components, 1x1 sampling, so one MCU is
  one 8x8 block of Y, one of Cb and one of Cr) whose **restart interval (DRI) is one MCU**. After every
  MCU but the last comes a restart marker RST0..RST7 (the marker after MCU ``i`` is ``RST(i % 8)``).
  At each marker the coder pads to a byte boundary and the DC predictions reset to zero, so the coded
  bytes of an MCU depend on that MCU's content only, never on its neighbours.
* Images are drawn with a small palette of block contents: flat blocks (DC only) of a few colours for
  backgrounds and glyphs, and textured blocks (a few deterministic AC coefficients) to reach a wanted
  file size. Each distinct MCU content is Huffman-coded ONCE, with the standard Annex K tables, and the
  result is cached as 9 byte strings: the segment followed by each of the 8 restart markers, and the bare
  segment for the last MCU.
* A canvas then keeps, per MCU position, the cached byte string that belongs there, and encoding an image
  is a single ``b"".join`` of the header, those strings and EOI: a 640x480 live-view frame costs about
  40 microseconds of CPU once its blocks are cached.

Drawing is at block granularity (one 8x8 block is the smallest pixel): the bitmap font is 5x7 glyph pixels,
each one ``scale`` x ``scale`` blocks, so text is large and clearly readable. Coordinates given to
:class:`JpegCanvas` methods are block coordinates. Restart markers cost 2 bytes per MCU and a flat MCU
about 2-4 bytes more, so a flat 640x480 image is about 20-30 kB; textures add up to about 40 bytes per
MCU (about 220 kB at 640x480).

Public API: :class:`JpegCanvas`, :func:`counter_frame`, :func:`photo`, plus :data:`FONT`,
:func:`counter_layout` and :func:`supported_characters` for callers and tests.
"""

from __future__ import annotations

import functools
import math
import random
import struct
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

__all__ = [
    "FONT",
    "GLYPH_ADVANCE",
    "GLYPH_HEIGHT",
    "GLYPH_WIDTH",
    "Colour",
    "CounterLayout",
    "JpegCanvas",
    "counter_frame",
    "counter_layout",
    "photo",
    "supported_characters",
]

Colour = tuple[int, int, int]
"""An (R, G, B) colour, each 0..255."""

_Coefs = tuple[tuple[int, int], ...]
"""Sparse AC coefficients of one block: (zigzag index 1..63 ascending, non-zero quantised value)."""
_Texture = tuple[_Coefs, _Coefs, _Coefs]
"""AC coefficients of the Y, Cb and Cr blocks of an MCU."""
_DC3 = tuple[int, int, int]
"""Quantised DC coefficients of the Y, Cb and Cr blocks of an MCU."""
_Key = tuple[_DC3, _Texture | None]
"""The full content of one MCU."""
_Entry = tuple[bytes, ...]
"""Coded MCU: 8 strings "segment + RSTk" (k = 0..7), then the bare segment (for the last MCU)."""

# --------------------------------------------------------------------------------------------------------
# Facts from ITU-T T.81: zigzag order, Annex K quantisation and Huffman tables.
# --------------------------------------------------------------------------------------------------------


def _zigzag_order() -> tuple[int, ...]:
    """``ZIGZAG[k]`` is the natural (row-major) index of the k-th coefficient in zigzag order."""
    cells = [(r, c) for r in range(8) for c in range(8)]
    # Diagonals r + c = s; odd diagonals run down-left (r rising), even ones up-right (c rising).
    cells.sort(key=lambda rc: (rc[0] + rc[1], rc[0] if (rc[0] + rc[1]) % 2 else rc[1]))
    return tuple(r * 8 + c for r, c in cells)


ZIGZAG: Final = _zigzag_order()

# Table K.1, luminance quantisation (natural order).
_LUMA_QUANT: Final = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip

# Table K.2, chrominance quantisation (natural order).
_CHROMA_QUANT: Final = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip

# Huffman tables as in a DHT segment: number of codes of each length 1..16, then the symbols.
# Table K.3, luminance DC.
_DC_LUMA_BITS: Final = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_LUMA_VALS: Final = tuple(range(12))
# Table K.4, chrominance DC.
_DC_CHROMA_BITS: Final = (0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0)
_DC_CHROMA_VALS: Final = tuple(range(12))
# Table K.5, luminance AC.
_AC_LUMA_BITS: Final = (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D)
_AC_LUMA_VALS: Final = (
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
)  # fmt: skip
# Table K.6, chrominance AC.
_AC_CHROMA_BITS: Final = (0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77)
_AC_CHROMA_VALS: Final = (
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
    0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
    0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
    0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
    0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
    0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
)  # fmt: skip

# (table class << 4 | table id, bits, values), in the order written to the DHT segment.
_HUFFMAN_TABLES: Final = (
    (0x00, _DC_LUMA_BITS, _DC_LUMA_VALS),
    (0x10, _AC_LUMA_BITS, _AC_LUMA_VALS),
    (0x01, _DC_CHROMA_BITS, _DC_CHROMA_VALS),
    (0x11, _AC_CHROMA_BITS, _AC_CHROMA_VALS),
)

_SOI: Final = b"\xff\xd8"
_EOI: Final = b"\xff\xd9"
_RST: Final = tuple(bytes((0xFF, 0xD0 + k)) for k in range(8))
_LAST: Final = 8  # index of the bare segment (no restart marker) in an _Entry
_MAX_DIMENSION: Final = 65528  # the largest multiple of 8 that fits the 16-bit SOF0 fields
_CACHE_LIMIT: Final = 200_000  # coded MCUs kept per quality before the cache is emptied

# --------------------------------------------------------------------------------------------------------
# Font: 5x7 glyphs drawn for this module; '#' is ink. Lower-case letters are drawn as upper-case.
# --------------------------------------------------------------------------------------------------------

GLYPH_WIDTH: Final = 5
GLYPH_HEIGHT: Final = 7
GLYPH_ADVANCE: Final = GLYPH_WIDTH + 1
"""Horizontal distance between glyphs, in glyph pixels (one blank column between characters)."""

_FONT_SOURCE: Final = {
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
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    " ": (".....", ".....", ".....", ".....", ".....", ".....", "....."),
    "-": (".....", ".....", ".....", ".###.", ".....", ".....", "....."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    "_": (".....", ".....", ".....", ".....", ".....", ".....", "#####"),
    "/": (".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
    ":": (".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    "=": (".....", ".....", "#####", ".....", "#####", ".....", "....."),
    ",": (".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."),
    "(": ("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."),
    ")": (".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."),
    "#": (".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."),
    "%": ("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"),
    "!": ("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
}

FONT: Final[Mapping[str, tuple[str, ...]]] = _FONT_SOURCE
"""Glyph bitmaps: 7 rows of 5 characters, ``'#'`` for ink and ``'.'`` for background."""


def supported_characters() -> str:
    """All characters :meth:`JpegCanvas.text` can draw (lower-case letters are drawn as upper-case)."""
    return "".join(FONT) + "abcdefghijklmnopqrstuvwxyz"


def _glyph(char: str) -> tuple[str, ...]:
    glyph = FONT.get(char.upper())
    if glyph is None:
        raise ValueError(
            f"unsupported character {char!r} (U+{ord(char):04X}); "
            f"supported: digits, A-Z, a-z and {''.join(c for c in FONT if not c.isalnum())!r}"
        )
    return glyph


# --------------------------------------------------------------------------------------------------------
# Entropy coding of one MCU.
# --------------------------------------------------------------------------------------------------------


def _huffman_codes(bits: Sequence[int], values: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Symbol -> (code, length), assigned as in T.81 Annex C (canonical codes, shortest first)."""
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    position = 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[position]] = (code, length)
            position += 1
            code += 1
        code <<= 1
    return codes


def _scaled_quant(table: Sequence[int], quality: int) -> tuple[int, ...]:
    """The usual (IJG) scaling of an Annex K table for a quality of 1..100, clamped to baseline 1..255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (q * scale + 50) // 100)) for q in table)


class _Coder:
    """Huffman-codes MCUs for one quality setting and caches the results."""

    def __init__(self, quality: int) -> None:
        self.quant = (_scaled_quant(_LUMA_QUANT, quality), _scaled_quant(_CHROMA_QUANT, quality))
        self._dc_codes = (
            _huffman_codes(_DC_LUMA_BITS, _DC_LUMA_VALS),
            _huffman_codes(_DC_CHROMA_BITS, _DC_CHROMA_VALS),
        )
        self._ac_codes = (
            _huffman_codes(_AC_LUMA_BITS, _AC_LUMA_VALS),
            _huffman_codes(_AC_CHROMA_BITS, _AC_CHROMA_VALS),
        )
        self._cache: dict[_Key, _Entry] = {}

    def dc(self, colour: Colour) -> _DC3:
        """Quantised DC coefficients of a flat block of this RGB colour (JFIF YCbCr conversion)."""
        r, g, b = colour
        y = 0.299 * r + 0.587 * g + 0.114 * b
        cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
        cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
        # A flat block of level v has DC coefficient 8 * (v - 128).
        qy, qc = self.quant[0][0], self.quant[1][0]
        return (round(8 * (y - 128) / qy), round(8 * (cb - 128) / qc), round(8 * (cr - 128) / qc))

    def entry(self, key: _Key) -> _Entry:
        """The coded MCU, followed by each restart marker, and bare."""
        entry = self._cache.get(key)
        if entry is None:
            segment = self._segment(key)
            entry = (*(segment + marker for marker in _RST), segment)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = entry
        return entry

    def _segment(self, key: _Key) -> bytes:
        dcs, texture = key
        acc = 0
        nbits = 0
        for component in range(3):
            table = 0 if component == 0 else 1
            dc_codes = self._dc_codes[table]
            ac_codes = self._ac_codes[table]
            # DC: the prediction is 0 after every restart marker, so the difference is the value itself.
            value = dcs[component]
            size = abs(value).bit_length()
            if size > 11:
                raise ValueError(f"DC coefficient {value} out of range")
            code, length = dc_codes[size]
            acc = (acc << length) | code
            nbits += length
            if size:
                acc = (acc << size) | (value if value >= 0 else value + (1 << size) - 1)
                nbits += size
            previous = 0
            for index, value in texture[component] if texture is not None else ():
                run = index - previous - 1
                while run >= 16:
                    code, length = ac_codes[0xF0]  # ZRL: sixteen zeros
                    acc = (acc << length) | code
                    nbits += length
                    run -= 16
                size = abs(value).bit_length()
                code, length = ac_codes[(run << 4) | size]
                acc = (((acc << length) | code) << size) | (value if value >= 0 else value + (1 << size) - 1)
                nbits += length + size
                previous = index
            if previous != 63:
                code, length = ac_codes[0x00]  # EOB
                acc = (acc << length) | code
                nbits += length
        padding = -nbits % 8  # pad with 1-bits to the byte boundary before the restart marker
        acc = (acc << padding) | ((1 << padding) - 1)
        nbits += padding
        return acc.to_bytes(nbits // 8, "big").replace(b"\xff", b"\xff\x00")


@functools.lru_cache(maxsize=8)
def _coder(quality: int) -> _Coder:
    return _Coder(quality)


@functools.lru_cache(maxsize=32)
def _header(width: int, height: int, quality: int) -> bytes:
    """Everything from SOI to the end of the SOS segment."""
    quant = _coder(quality).quant

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload

    jfif = segment(0xE0, b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, 0, 1, 1, 0, 0))
    comment = segment(0xFE, b"ptpipd simulated camera")
    dqt = segment(
        0xDB,
        b"".join(
            bytes((table_id,)) + bytes(table[z] for z in ZIGZAG) for table_id, table in enumerate(quant)
        ),
    )
    sof0 = segment(
        0xC0,
        struct.pack(">BHHB", 8, height, width, 3) + bytes((1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1)),
    )
    dht = segment(0xC4, b"".join(bytes((tc_th, *bits, *values)) for tc_th, bits, values in _HUFFMAN_TABLES))
    dri = segment(0xDD, struct.pack(">H", 1))  # restart interval: one MCU
    sos = segment(0xDA, bytes((3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)))
    return _SOI + jfif + comment + dqt + sof0 + dht + dri + sos


# --------------------------------------------------------------------------------------------------------
# Textures.
# --------------------------------------------------------------------------------------------------------

_TEXTURE_LEVELS: Final = 16
_TEXTURE_VARIANTS: Final = 4


def _random_coefs(rng: random.Random, count: int, span: int) -> _Coefs:
    """``count`` non-zero coefficients among zigzag indices 1..span, smaller at higher frequencies."""
    indices = sorted(rng.sample(range(1, span + 1), min(count, span)))
    coefs = []
    for index in indices:
        magnitude = rng.randint(1, max(1, 6 - index // 8))
        coefs.append((index, magnitude if rng.random() < 0.5 else -magnitude))
    return tuple(coefs)


@functools.lru_cache(maxsize=16)
def _texture_palette(seed: int) -> tuple[tuple[_Texture, ...], ...]:
    """Per level 1..16 (about 2.5 bytes more per MCU at each level), a few deterministic textures."""
    rng = random.Random(f"ptpipd-texture:{seed}")
    levels = []
    for level in range(1, _TEXTURE_LEVELS + 1):
        variants = []
        for _ in range(_TEXTURE_VARIANTS):
            luma = _random_coefs(rng, 3 * level, min(63, 8 + 4 * level))
            cb = _random_coefs(rng, (level + 1) // 2, min(63, 4 + 2 * level))
            cr = _random_coefs(rng, (level + 1) // 2, min(63, 4 + 2 * level))
            variants.append((luma, cb, cr))
        levels.append(tuple(variants))
    return tuple(levels)


@functools.lru_cache(maxsize=16)
def _texture_plan(seed: int, cells: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Per cell, a dither offset in [0, 1) and a texture variant: the same for every density."""
    rng = random.Random(f"ptpipd-texture-plan:{seed}:{cells}")
    offsets = tuple(rng.random() for _ in range(cells))
    variants = tuple(rng.randrange(_TEXTURE_VARIANTS) for _ in range(cells))
    return offsets, variants


# --------------------------------------------------------------------------------------------------------
# The canvas.
# --------------------------------------------------------------------------------------------------------


def _check_dimensions(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an int, not {type(value).__name__}")
        if value <= 0 or value % 8 or value > _MAX_DIMENSION:
            raise ValueError(f"{name} must be a positive multiple of 8 up to {_MAX_DIMENSION}, got {value}")


def _check_colour(colour: Colour) -> Colour:
    if (
        not isinstance(colour, tuple)
        or len(colour) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in colour)
    ):
        raise ValueError(f"colour must be an (R, G, B) tuple of ints 0..255, got {colour!r}")
    return colour


class JpegCanvas:
    """A width×height image made of 8×8 blocks (width, height multiples of 8).

    Everything is drawn in block coordinates: block ``(bx, by)`` covers pixels ``8*bx .. 8*bx+7`` by
    ``8*by .. 8*by+7``. The image is colour (YCbCr, 1x1 sampling); the default background is mid grey,
    the cheapest block to code. ``quality`` (1..100) scales the Annex K quantisation tables as the IJG
    library does; it changes colour precision and how strong textures look, not the drawing.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        *,
        background: Colour = (128, 128, 128),
        quality: int = 75,
    ) -> None:
        _check_dimensions(width, height)
        if not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"quality must be an int 1..100, got {quality!r}")
        self.width = width
        self.height = height
        self.quality = quality
        self.background = _check_colour(background)
        self.blocks_x = width // 8
        self.blocks_y = height // 8
        self._n = self.blocks_x * self.blocks_y
        self._coder = _coder(quality)
        self._header = _header(width, height, quality)
        dc = self._coder.dc(background)
        entry = self._coder.entry((dc, None))
        self._dc: list[_DC3] = [dc] * self._n
        self._texture: list[_Texture | None] = [None] * self._n
        self._locked = bytearray(self._n)  # 1 where text() drew: texture() leaves those blocks flat
        self._cells: list[bytes] = [entry[i & 7] for i in range(self._n)]
        self._cells[-1] = entry[_LAST]

    # -- drawing ------------------------------------------------------------------------------------------

    def _put(self, i: int, dc: _DC3, texture: _Texture | None, entry: _Entry) -> None:
        self._dc[i] = dc
        self._texture[i] = texture
        self._cells[i] = entry[_LAST if i == self._n - 1 else i & 7]

    def _check_rect(self, bx0: int, by0: int, bx1: int, by1: int) -> None:
        if not (0 <= bx0 <= bx1 <= self.blocks_x and 0 <= by0 <= by1 <= self.blocks_y):
            raise ValueError(
                f"block rectangle ({bx0}, {by0})-({bx1}, {by1}) is not inside the "
                f"{self.blocks_x}x{self.blocks_y} blocks of the canvas (ends are exclusive)"
            )

    def fill(self, bx0: int, by0: int, bx1: int, by1: int, colour: Colour) -> None:
        """Paint blocks ``bx0 <= bx < bx1``, ``by0 <= by < by1`` a flat colour (removes texture and text)."""
        self._check_rect(bx0, by0, bx1, by1)
        self._fill(bx0, by0, bx1, by1, _check_colour(colour), lock=False)

    def _fill(self, bx0: int, by0: int, bx1: int, by1: int, colour: Colour, *, lock: bool) -> None:
        dc = self._coder.dc(colour)
        entry = self._coder.entry((dc, None))
        for by in range(by0, by1):
            row = by * self.blocks_x
            for i in range(row + bx0, row + bx1):
                self._put(i, dc, None, entry)
                self._locked[i] = lock

    def texture(self, seed: int, density: float) -> None:
        """Texture every block not drawn by :meth:`text`, keeping its colour; replaces earlier texture.

        ``density`` (0.0..1.0) sets the mean texture level: 0 leaves the blocks flat, each step adds a
        few AC coefficients, 1.0 costs about 40 bytes per MCU more than flat. The same ``seed`` gives the
        same textures, and the size grows monotonically with ``density``. A later :meth:`fill` flattens.
        """
        if not isinstance(density, int | float) or not 0.0 <= density <= 1.0:
            raise ValueError(f"density must be a number in 0.0..1.0, got {density!r}")
        palette = _texture_palette(seed)
        offsets, variants = _texture_plan(seed, self._n)
        entry_of = self._coder.entry
        mean_level = density * _TEXTURE_LEVELS
        locked = self._locked
        for i in range(self._n):
            if locked[i]:
                continue
            level = int(mean_level + offsets[i])
            texture = palette[level - 1][variants[i]] if level else None
            dc = self._dc[i]
            self._put(i, dc, texture, entry_of((dc, texture)))

    def text(
        self,
        bx: int,
        by: int,
        text: str,
        colour: Colour,
        scale: int = 1,
        *,
        background: Colour | None = None,
    ) -> None:
        """Draw ``text`` with its top-left glyph pixel at block ``(bx, by)``; one glyph pixel is
        ``scale``×``scale`` blocks and glyphs advance by 6 glyph pixels.

        Text running past the right or bottom edge is clipped. Only ink is drawn unless ``background``
        is given, which first paints the text's box plus a margin of ``scale`` blocks. Blocks drawn here
        are left flat by :meth:`texture`, so text stays readable on textured images.
        Raises ValueError for characters not in :data:`FONT` (lower-case letters are drawn upper-case).
        """
        if not isinstance(scale, int) or scale < 1:
            raise ValueError(f"scale must be a positive int, got {scale!r}")
        if not (0 <= bx < self.blocks_x and 0 <= by < self.blocks_y):
            raise ValueError(
                f"text origin ({bx}, {by}) is outside the {self.blocks_x}x{self.blocks_y} blocks"
            )
        glyphs = [_glyph(char) for char in text]  # validate everything before drawing anything
        colour = _check_colour(colour)
        if background is not None:
            box = (
                bx - scale,
                by - scale,
                bx + (len(text) * GLYPH_ADVANCE - 1) * scale + scale,
                by + GLYPH_HEIGHT * scale + scale,
            )
            self._fill(
                max(0, box[0]),
                max(0, box[1]),
                min(self.blocks_x, box[2]),
                min(self.blocks_y, box[3]),
                _check_colour(background),
                lock=True,
            )
        dc = self._coder.dc(colour)
        entry = self._coder.entry((dc, None))
        for n, glyph in enumerate(glyphs):
            gx = bx + n * GLYPH_ADVANCE * scale
            if gx >= self.blocks_x:
                break
            for row, line in enumerate(glyph):
                for column, pixel in enumerate(line):
                    if pixel != "#":
                        continue
                    x0, y0 = gx + column * scale, by + row * scale
                    for y in range(y0, min(y0 + scale, self.blocks_y)):
                        for x in range(x0, min(x0 + scale, self.blocks_x)):
                            i = y * self.blocks_x + x
                            self._put(i, dc, None, entry)
                            self._locked[i] = 1

    # -- output -------------------------------------------------------------------------------------------

    def encode(self) -> bytes:
        """The complete JFIF file: SOI … EOI."""
        return b"".join((self._header, *self._cells, _EOI))

    def _snapshot(self) -> list[bytes]:
        return self._cells.copy()


# --------------------------------------------------------------------------------------------------------
# Live-view frames.
# --------------------------------------------------------------------------------------------------------


class CounterLayout(NamedTuple):
    """Where :func:`counter_frame` draws its digits, in block coordinates."""

    bx: int
    """Left block of the first (most significant) digit."""
    by: int
    """Top block of the digits."""
    scale: int
    """Blocks per glyph pixel (each way); digit ``k`` starts at ``bx + k * GLYPH_ADVANCE * scale``."""
    digits: int
    """Number of digits shown: the counter modulo ``10**digits``, zero-padded."""


_LIVE_BACKGROUND: Final[Colour] = (24, 28, 40)
_LIVE_DIGITS: Final[Colour] = (240, 240, 240)
_LIVE_LABEL: Final[Colour] = (255, 64, 48)
_LIVE_MARKER: Final[Colour] = (64, 224, 96)
_BARS: Final[tuple[Colour, ...]] = (
    (192, 192, 192),
    (192, 192, 0),
    (0, 192, 192),
    (0, 192, 0),
    (192, 0, 192),
    (192, 0, 0),
    (0, 0, 192),
    (16, 16, 16),
)
_MAX_DIGITS: Final = 8


@functools.lru_cache(maxsize=32)
def counter_layout(width: int = 640, height: int = 480) -> CounterLayout:
    """The digit placement of :func:`counter_frame` for this size (6 digits at scale 2 for 640×480)."""
    _check_dimensions(width, height)
    blocks_x, blocks_y = width // 8, height // 8
    for scale in (2, 1):
        advance = GLYPH_ADVANCE * scale
        digits = min(_MAX_DIGITS, (blocks_x - 2 * scale + scale) // advance)
        if digits >= 1 and GLYPH_HEIGHT * scale + 2 * scale <= blocks_y:
            text_width = digits * advance - scale
            return CounterLayout(
                bx=(blocks_x - text_width) // 2,
                by=(blocks_y - GLYPH_HEIGHT * scale) // 2,
                scale=scale,
                digits=digits,
            )
    raise ValueError(f"{width}x{height} is too small for a counter digit (need at least 56x72 pixels)")


class _CounterPlan:
    """Everything reusable between live-view frames of one size."""

    def __init__(self, width: int, height: int) -> None:
        layout = counter_layout(width, height)
        self.layout = layout
        canvas = JpegCanvas(width, height, background=_LIVE_BACKGROUND)
        blocks_x, blocks_y = canvas.blocks_x, canvas.blocks_y
        digits_bottom = layout.by + GLYPH_HEIGHT * layout.scale
        # Colour bars along the bottom, when there is room below the digits.
        bar_rows = min(6, blocks_y - digits_bottom - 3)
        if bar_rows > 0:
            for k, colour in enumerate(_BARS):
                canvas.fill(
                    k * blocks_x // len(_BARS),
                    blocks_y - bar_rows,
                    (k + 1) * blocks_x // len(_BARS),
                    blocks_y,
                    colour,
                )
        # A label in the top-left corner, when there is room above the digits.
        if layout.by >= GLYPH_HEIGHT + 2:
            canvas.text(1, 1, "LIVE", _LIVE_LABEL)
        # A marker moving one block per frame on the row under the digits.
        self.marker_row: int | None = (
            digits_bottom + 1 if digits_bottom + 1 < blocks_y - max(0, bar_rows) else None
        )
        self.header = canvas._header
        self.base = canvas._snapshot()
        self.blocks_x = blocks_x
        self.modulus = 10**layout.digits
        self.marker_cells: list[tuple[int, bytes]] = []
        if self.marker_row is not None:
            entry = canvas._coder.entry((canvas._coder.dc(_LIVE_MARKER), None))
            last = canvas._n - 1
            for x in range(blocks_x):
                i = self.marker_row * blocks_x + x
                self.marker_cells.append((i, entry[_LAST if i == last else i & 7]))
        # Per digit position and digit value, the cell rows of the glyph box.
        scale = layout.scale
        box_width = GLYPH_WIDTH * scale
        self.slots: list[list[list[tuple[int, int, list[bytes]]]]] = [[] for _ in range(layout.digits)]
        for digit in "0123456789":
            canvas.fill(
                layout.bx,
                layout.by,
                layout.bx + layout.digits * GLYPH_ADVANCE * scale - scale,
                digits_bottom,
                _LIVE_BACKGROUND,
            )
            canvas.text(layout.bx, layout.by, digit * layout.digits, _LIVE_DIGITS, scale)
            cells = canvas._cells
            for slot in range(layout.digits):
                x0 = layout.bx + slot * GLYPH_ADVANCE * scale
                rows = []
                for y in range(layout.by, digits_bottom):
                    start = y * blocks_x + x0
                    rows.append((start, start + box_width, cells[start : start + box_width]))
                self.slots[slot].append(rows)

    def frame(self, counter: int) -> bytes:
        cells = self.base.copy()
        for rows_by_digit, digit in zip(
            self.slots, str(counter % self.modulus).zfill(self.layout.digits), strict=True
        ):
            for start, stop, row in rows_by_digit[ord(digit) - 48]:
                cells[start:stop] = row
        if self.marker_cells:
            i, cell = self.marker_cells[counter % len(self.marker_cells)]
            cells[i] = cell
        return b"".join((self.header, *cells, _EOI))


@functools.lru_cache(maxsize=8)
def _counter_plan(width: int, height: int) -> _CounterPlan:
    return _CounterPlan(width, height)


def counter_frame(counter: int, width: int = 640, height: int = 480) -> bytes:
    """A live-view frame showing the counter in big digits; must take < 1 ms after the first call.

    The first call for a size builds and caches everything (a few milliseconds); later calls
    only splice cached byte strings. The frame shows the counter modulo ``10**digits`` zero-padded (6
    digits for 640×480, see :func:`counter_layout`), light on a dark background, plus a "LIVE" label,
    colour bars and a marker block that moves one block per frame, where the size leaves room.
    """
    if not isinstance(counter, int) or isinstance(counter, bool):
        raise ValueError(f"counter must be an int, not {type(counter).__name__}")
    if counter < 0:
        raise ValueError(f"counter must be >= 0, got {counter}")
    return _counter_plan(width, height).frame(counter)


# --------------------------------------------------------------------------------------------------------
# Photos.
# --------------------------------------------------------------------------------------------------------

_DEFAULT_DENSITY: Final = 0.2
_SIZE_TOLERANCE: Final = 0.10  # the promise
_SIZE_AIM: Final = 0.03  # what the search aims for, to stay well inside the promise


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _random_colour(rng: random.Random, low: int, high: int) -> Colour:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _scene(seed: int, caption: str, width: int, height: int) -> JpegCanvas:
    """A flat deterministic landscape (sky, sun, buildings, ground) with the caption in a box."""
    rng = random.Random(f"ptpipd-photo:{seed}")
    canvas = JpegCanvas(width, height)
    blocks_x, blocks_y = canvas.blocks_x, canvas.blocks_y
    horizon = max(1, blocks_y * rng.randint(45, 65) // 100)
    sky_top, sky_bottom = _random_colour(rng, 20, 140), _random_colour(rng, 120, 240)
    ground_top, ground_bottom = _random_colour(rng, 40, 160), _random_colour(rng, 10, 90)
    for y in range(blocks_y):
        if y < horizon:
            colour = _mix(sky_top, sky_bottom, y / max(1, horizon - 1))
        else:
            colour = _mix(ground_top, ground_bottom, (y - horizon) / max(1, blocks_y - horizon - 1))
        canvas.fill(0, y, blocks_x, y + 1, colour)
    sun = max(1, min(blocks_x, blocks_y) // 8)
    sx, sy = rng.randrange(max(1, blocks_x - sun)), rng.randrange(max(1, horizon - sun + 1))
    canvas.fill(sx, sy, min(blocks_x, sx + sun), min(blocks_y, sy + sun), (255, 224, rng.randint(64, 160)))
    for _ in range(rng.randint(3, 7)):
        w = rng.randint(1, max(1, blocks_x // 6))
        h = rng.randint(1, max(1, horizon * 2 // 3))
        x = rng.randrange(max(1, blocks_x - w + 1))
        canvas.fill(
            x,
            max(0, horizon - h),
            min(blocks_x, x + w),
            min(blocks_y, horizon + 1),
            _random_colour(rng, 30, 220),
        )
    if caption:
        for char in caption:  # validate before choosing a scale
            _glyph(char)
        scale = (
            2 if (len(caption) * GLYPH_ADVANCE + 1) * 2 <= blocks_x and blocks_y >= 4 * GLYPH_HEIGHT else 1
        )
        by = max(0, blocks_y - (GLYPH_HEIGHT + 1) * scale)
        canvas.text(
            min(scale, blocks_x - 1),
            min(by, blocks_y - 1),
            caption,
            (255, 255, 255),
            scale,
            background=(0, 0, 0),
        )
    return canvas


def photo(
    seed: int, caption: str, width: int = 640, height: int = 480, target_size: int | None = None
) -> bytes:
    """A deterministic textured image with a caption; with target_size, the encoded size is within ±10 % of it.

    The same ``seed``, caption and size always give the same bytes. The caption (characters of
    :data:`FONT`, lower case drawn as upper case) sits in a black box at the bottom left, clipped at the
    right edge (13 characters fit at 640 pixels, 6 at double size). Without ``target_size`` the texture
    density is a fixed 0.2 (about 80-100 kB at 640×480). A ``target_size`` outside what the size allows
    (about 30 kB .. 220 kB at 640×480, scaling with the pixel count) raises ValueError.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, not {type(seed).__name__}")
    if not isinstance(caption, str):
        raise ValueError(f"caption must be a str, not {type(caption).__name__}")
    _check_dimensions(width, height)
    canvas = _scene(seed, caption, width, height)
    if target_size is None:
        canvas.texture(seed, _DEFAULT_DENSITY)
        return canvas.encode()
    if not isinstance(target_size, int) or isinstance(target_size, bool) or target_size <= 0:
        raise ValueError(f"target_size must be a positive int, got {target_size!r}")

    def attempt(density: float) -> bytes:
        canvas.texture(seed, density)
        return canvas.encode()

    def close(data: bytes, tolerance: float) -> bool:
        return abs(len(data) - target_size) <= tolerance * target_size

    low, high = 0.0, 1.0
    low_data, high_data = attempt(low), attempt(high)
    if len(low_data) >= target_size or len(high_data) <= target_size:
        edge = low_data if len(low_data) >= target_size else high_data
        if close(edge, _SIZE_TOLERANCE):
            return edge
        raise ValueError(
            f"target_size {target_size} is out of reach for a {width}x{height} photo: "
            f"sizes range from {len(low_data)} to {len(high_data)} bytes"
        )
    best = min((low_data, high_data), key=lambda data: abs(len(data) - target_size))
    for step in range(40):
        if close(best, _SIZE_AIM):
            break
        # Size grows about linearly with density: interpolate, then halve the interval if that stalls.
        size_low, size_high = len(low_data), len(high_data)
        if step % 3 == 2:
            density = (low + high) / 2
        else:
            density = low + (high - low) * (target_size - size_low) / (size_high - size_low)
            margin = (high - low) * 0.02
            density = min(high - margin, max(low + margin, density))
        data = attempt(density)
        if abs(len(data) - target_size) < abs(len(best) - target_size):
            best = data
        if len(data) < target_size:
            low, low_data = density, data
        else:
            high, high_data = density, data
        if math.isclose(low, high):
            break
    if not close(best, _SIZE_TOLERANCE):  # pragma: no cover - the size steps are a few bytes
        raise ValueError(f"could not reach target_size {target_size} (best {len(best)} bytes)")
    return best

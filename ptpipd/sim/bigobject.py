"""The simulator's optional big object (``--object-size``): deterministic bytes anyone can recompute.

Content of an object of ``size`` bytes, in blocks of 1 MiB (``BLOCK_SIZE``)::

    block k (k = 0, 1, ...) = hashlib.shake_256(b"ptpipd-sim-big-object" + k.to_bytes(4, "little"))
                                  .digest(1 << 20)
    object = block 0 + block 1 + ... , the last block cut so that the total is ``size`` bytes

The bytes look random (so no layer can compress or special-case them) yet a test or a benchmark can
recompute them independently from this formula alone. The object is built once, at start-up, and served
as views of one buffer, so serving it never copies it.
"""

from __future__ import annotations

import hashlib
import re

#: Size of one block of the formula.
BLOCK_SIZE = 1 << 20
#: Prefix of the SHAKE-256 input of every block.
SEED = b"ptpipd-sim-big-object"
#: File name of the big object on the simulated card.
FILENAME = "BIG00001.BIN"
#: The largest size an ObjectInfo can describe (ObjectCompressedSize is a u32 in PTP 1.0).
MAX_SIZE = 0xFFFF_FFFF

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_UNITS.update({"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "KB": 10**3, "MB": 10**6, "GB": 10**9})
_SIZE = re.compile(r"\s*(\d+)\s*([A-Za-z]*)\s*")


def block(index: int) -> bytes:
    """Block ``index`` of the formula: 1 MiB of SHAKE-256 output."""
    return hashlib.shake_256(SEED + index.to_bytes(4, "little")).digest(BLOCK_SIZE)


def build(size: int) -> memoryview:
    """The whole object of ``size`` bytes, as a read-only view of a buffer built once."""
    if not 0 <= size <= MAX_SIZE:
        raise ValueError(f"object size {size} is outside 0..{MAX_SIZE}")
    buffer = bytearray(size)
    for index, start in enumerate(range(0, size, BLOCK_SIZE)):
        piece = block(index)
        end = min(start + BLOCK_SIZE, size)
        buffer[start:end] = piece[: end - start]
    return memoryview(buffer).toreadonly()


def sha256(size: int) -> str:
    """The SHA-256 (hex) of the object of ``size`` bytes, computed block by block in bounded memory."""
    digest = hashlib.sha256()
    left = size
    index = 0
    while left > 0:
        piece = block(index)[: min(left, BLOCK_SIZE)]
        digest.update(piece)
        left -= len(piece)
        index += 1
    return digest.hexdigest()


def parse_size(text: str) -> int:
    """A size such as ``100M``, ``512K``, ``1G`` or ``1048576`` in bytes.

    K, M and G (also KiB, MiB, GiB) are binary multiples (1024-based), as in ``head -c``; KB, MB and GB are
    decimal ones. Raises ValueError for anything else, or a size over :data:`MAX_SIZE`.
    """
    match = _SIZE.fullmatch(text)
    unit = match[2].upper() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 100M, 512K, 1G, 1048576)")
    size = int(match[1]) * _UNITS[unit]
    if size > MAX_SIZE:
        raise ValueError(f"{text!r} is {size} bytes; PTP object sizes stop at {MAX_SIZE} (4 GiB - 1)")
    return size

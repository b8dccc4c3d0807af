"""PTP data types (PTP.md §2): integers, arrays and PTP strings, with bounds-checked codecs.

Every value on the wire is little-endian. A value travels without a type tag: the receiver must
already know its :class:`DataType` (from a dataset layout or a DevicePropDesc). In Python a value
is an ``int`` (all integer types, including the 128-bit ones), a ``str`` (STR) or a
``tuple[int, ...]`` (arrays; tuples rather than lists so that frozen dataclasses holding them
stay hashable).

Array layout (AINT8 ... AUINT128)::

    offset  size      type      field
    0       4         UINT32    NumElements
    4       n * size  element   the elements, in order

PTP string layout (STR, and every string inside a dataset)::

    offset  size      type      field
    0       1         UINT8     NumChars: UTF-16 code units *including* the terminating NUL
    1       2 * n     UINT16[]  UTF-16LE code units; the last one is 0x0000

An empty string has two legal encodings, ``00`` and ``01 00 00``; both decode to ``""``. This
module always *writes* ``00``, the form the only empty string among the recorded vectors uses
(the ModificationDate of the Fuji ObjectInfo replies), so decoding then re-encoding a ``01 00 00``
string is the one case that is not byte-identical.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TypeAlias

from .errors import DecodeError, EncodeError

__all__ = [
    "DataType",
    "Value",
    "check_value",
    "decode_counted",
    "decode_uint32_array",
    "decode_value",
    "encode_string",
    "encode_uint32_array",
    "encode_value",
]

Value: TypeAlias = int | str | tuple[int, ...]
"""A decoded PTP value: ``int`` for integer types, ``str`` for STR, a tuple for arrays."""

Buffer: TypeAlias = bytes | bytearray | memoryview
"""What the decoders accept."""

_ARRAY_BIT = 0x4000
MAX_STRING_UNITS = 254  # NumChars is a u8 that also counts the NUL


class DataType(IntEnum):
    """PTP data type codes (PTP.md §2), as found in DevicePropDesc.DataType.

    An array code is ``0x4000 | element code``. UNDEF has no wire encoding; the codecs reject it.
    """

    UNDEF = 0x0000
    INT8 = 0x0001
    UINT8 = 0x0002
    INT16 = 0x0003
    UINT16 = 0x0004
    INT32 = 0x0005
    UINT32 = 0x0006
    INT64 = 0x0007
    UINT64 = 0x0008
    INT128 = 0x0009
    UINT128 = 0x000A
    AINT8 = 0x4001
    AUINT8 = 0x4002
    AINT16 = 0x4003
    AUINT16 = 0x4004
    AINT32 = 0x4005
    AUINT32 = 0x4006
    AINT64 = 0x4007
    AUINT64 = 0x4008
    AINT128 = 0x4009
    AUINT128 = 0x400A
    STR = 0xFFFF

    @property
    def is_array(self) -> bool:
        """True for AINT8 ... AUINT128. (STR = 0xFFFF also has bit 14 set but is not an array.)"""
        return self is not DataType.STR and bool(self & _ARRAY_BIT)

    @property
    def element(self) -> DataType:
        """The element type of an array type, e.g. ``AUINT16.element is UINT16``.

        Raises:
            ValueError: for a type that is not an array.
        """
        if not self.is_array:
            raise ValueError(f"{self.name} is not an array type")
        return DataType(self & ~_ARRAY_BIT)

    @property
    def size(self) -> int | None:
        """The fixed byte size of one value, or ``None`` (UNDEF, STR and arrays vary)."""
        spec = _INT_SPECS.get(self)
        return None if spec is None else spec[0]

    @property
    def signed(self) -> bool:
        """True for the signed integer types and the arrays of them."""
        base = self.element if self.is_array else self
        spec = _INT_SPECS.get(base)
        return spec is not None and spec[1]

    @property
    def label(self) -> str:
        """The lower-case name, e.g. ``"uint16"``, ``"auint32"``, ``"str"``."""
        return self.name.lower()


# integer type -> (byte size, signed, struct format char or "" for the 128-bit types)
_INT_SPECS: dict[DataType, tuple[int, bool, str]] = {
    DataType.INT8: (1, True, "b"),
    DataType.UINT8: (1, False, "B"),
    DataType.INT16: (2, True, "h"),
    DataType.UINT16: (2, False, "H"),
    DataType.INT32: (4, True, "i"),
    DataType.UINT32: (4, False, "I"),
    DataType.INT64: (8, True, "q"),
    DataType.UINT64: (8, False, "Q"),
    DataType.INT128: (16, True, ""),
    DataType.UINT128: (16, False, ""),
}
_U32 = struct.Struct("<I")


def int_bounds(datatype: DataType) -> tuple[int, int]:
    """The least and greatest value of an integer type (``INT8`` … ``UINT128``; KeyError for the others)."""
    size, signed, _ = _INT_SPECS[datatype]
    bits = 8 * size
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _resolve(datatype: int, error: Callable[[str], ValueError], where: str = "") -> DataType:
    """``datatype`` as a DataType with a wire encoding, else the error ``error`` makes of why not (an unknown
    code, or UNDEF); ``where`` tells where the code was read (`` at offset N``)."""
    try:
        resolved = DataType(datatype)
    except ValueError:
        raise error(f"unknown data type 0x{datatype:04X}{where}") from None
    if resolved is DataType.UNDEF:
        raise error(f"data type UNDEF{where} has no wire encoding")
    return resolved


# ---------------------------------------------------------------------------------------------
# Encoding


def _as_int(datatype: DataType, value: object, what: str) -> int:
    """``value`` if it is an int within ``datatype``'s range, else EncodeError."""
    # bool is an int subclass but never a PTP value; IntEnum members (codes) are welcome.
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeError(f"{what}: expected an int for {datatype.name}, got {type(value).__name__}")
    lo, hi = int_bounds(datatype)
    if not lo <= value <= hi:
        raise EncodeError(f"{what}: {value} does not fit {datatype.name} ({lo}..{hi})")
    return value


def check_value(datatype: int, value: Value) -> None:
    """Check that ``value`` can be encoded as ``datatype``.

    Integers must lie in the type's range, STR wants a ``str`` of at most 254 UTF-16 code units,
    arrays want a tuple (or list) of at most 2**32 - 1 in-range ints. ``bool`` is rejected.

    Raises:
        EncodeError: with a message saying what does not fit.
    """
    encode_value(datatype, value)


def _as_array(datatype: DataType, value: object) -> list[int]:
    """``value`` as a list of in-range elements of array type ``datatype``, else EncodeError."""
    if not isinstance(value, tuple | list):
        raise EncodeError(f"{datatype.name}: expected a tuple of ints, got {type(value).__name__}")
    if len(value) > 0xFFFFFFFF:
        raise EncodeError(f"{datatype.name}: {len(value)} elements exceed the u32 count")
    element = datatype.element
    return [_as_int(element, item, f"{datatype.name} element {index}") for index, item in enumerate(value)]


def _pack_int(datatype: DataType, value: int) -> bytes:
    size, signed, _ = _INT_SPECS[datatype]
    return value.to_bytes(size, "little", signed=signed)


def encode_value(datatype: int, value: Value) -> bytes:
    """The wire bytes of ``value`` as ``datatype`` (bare, with no type tag).

    Raises:
        EncodeError: unknown or UNDEF data type, or a value that does not fit (see
            :func:`check_value`).
    """
    dt = _resolve(datatype, lambda why: EncodeError(f"encode_value: {why}"))
    if dt is DataType.STR:
        return encode_string(value)
    if dt.is_array:
        items = _as_array(dt, value)
        element = dt.element
        _, _, fmt = _INT_SPECS[element]
        if fmt:
            return struct.pack(f"<I{len(items)}{fmt}", len(items), *items)
        return _U32.pack(len(items)) + b"".join(_pack_int(element, item) for item in items)
    return _pack_int(dt, _as_int(dt, value, dt.name))


def encode_string(text: object) -> bytes:
    """``text`` as a PTP string: count byte (units incl. NUL), UTF-16LE units, NUL unit.

    The empty string becomes the single byte ``00``. Characters outside the BMP become surrogate
    pairs (two units each); PTP.md treats them as out of scope. The code units (without NUL) are
    checked against the 254-unit limit.

    Raises:
        EncodeError: more than 254 UTF-16 code units, a lone surrogate, or not a ``str``.
    """
    if not isinstance(text, str):
        raise EncodeError(f"STR: expected a str, got {type(text).__name__}")
    try:
        units = text.encode("utf-16-le")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise EncodeError(f"STR: {text!r} is not encodable as UTF-16: {exc.reason}") from None
    if len(units) // 2 > MAX_STRING_UNITS:
        raise EncodeError(
            f"STR: {len(units) // 2} UTF-16 code units, at most {MAX_STRING_UNITS} fit a PTP string"
        )
    if not units:
        return b"\x00"
    return bytes((len(units) // 2 + 1,)) + units + b"\x00\x00"


def encode_uint32_array(values: Iterable[int]) -> bytes:
    """An AUINT32 (u32 count, then the u32s), as returned by GetStorageIDs / GetObjectHandles."""
    return encode_value(DataType.AUINT32, tuple(values))


# ---------------------------------------------------------------------------------------------
# Decoding


class _Reader:
    """A bounds-checked little-endian cursor over a buffer.

    Every read checks the bytes left *before* touching (or allocating for) them, and every
    failure is a :class:`DecodeError` whose message starts with ``context`` and names the
    offset, so hostile input can never surface as IndexError / struct.error / MemoryError.
    Offsets are absolute positions in the buffer the caller handed in.
    """

    __slots__ = ("context", "data", "offset")

    def __init__(self, data: Buffer, offset: int, context: str) -> None:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        if not 0 <= offset <= len(view):
            raise DecodeError(
                f"{context}: offset {offset} is outside the {len(view)}-byte buffer", offset=offset
            )
        self.data = view
        self.offset = offset
        self.context = context

    @property
    def remaining(self) -> int:
        """Bytes left after the cursor."""
        return len(self.data) - self.offset

    def fail(self, message: str, offset: int | None = None) -> DecodeError:
        """A DecodeError prefixed with the context, at ``offset`` (default: the cursor)."""
        at = self.offset if offset is None else offset
        return DecodeError(f"{self.context}: {message}", offset=at)

    def need(self, size: int, what: str) -> None:
        """Raise unless ``size`` more bytes are available."""
        if size > self.remaining:
            raise self.fail(
                f"truncated at offset {self.offset}: need {size} bytes for {what}, have {self.remaining}"
            )

    def scalar(self, datatype: DataType) -> int:
        """One integer of ``datatype``."""
        size, signed, _ = _INT_SPECS[datatype]
        self.need(size, datatype.name)
        self.offset += size
        return int.from_bytes(self.data[self.offset - size : self.offset], "little", signed=signed)

    def array(self, datatype: DataType) -> tuple[int, ...]:
        """An array: u32 count, then that many elements (count checked before allocating)."""
        start = self.offset
        self.need(4, f"{datatype.name} count")
        (count,) = _U32.unpack_from(self.data, self.offset)
        element = datatype.element
        size, signed, fmt = _INT_SPECS[element]
        if count * size > self.remaining - 4:
            raise self.fail(
                f"truncated at offset {start}: {datatype.name} count {count} needs "
                f"{count * size} bytes of elements, have {self.remaining - 4}",
                start,
            )
        self.offset += 4
        if fmt:
            values: tuple[int, ...] = struct.unpack_from(f"<{count}{fmt}", self.data, self.offset)
        else:
            base = self.offset
            values = tuple(
                int.from_bytes(self.data[base + i * size : base + (i + 1) * size], "little", signed=signed)
                for i in range(count)
            )
        self.offset += count * size
        return values

    def string(self) -> str:
        """A PTP string. Both empty forms, ``00`` and ``01 00 00``, give ``""``; the code units before the
        terminator are kept as they are (embedded NULs included), so re-encoding the text gives the bytes back."""
        start = self.offset
        self.need(1, "STR count")
        count = self.data[start]
        if count == 0:
            self.offset += 1
            return ""
        if count * 2 > self.remaining - 1:
            raise self.fail(
                f"truncated at offset {start}: STR of {count} UTF-16 units needs {count * 2} bytes, "
                f"have {self.remaining - 1}",
                start,
            )
        body = bytes(self.data[start + 1 : start + 1 + 2 * count])
        if body[-2:] != b"\x00\x00":
            last = int.from_bytes(body[-2:], "little")
            raise self.fail(
                f"STR at offset {start} is not NUL-terminated (last code unit 0x{last:04X})", start
            )
        try:
            text = body[:-2].decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise self.fail(f"STR at offset {start} is not valid UTF-16LE: {exc.reason}", start) from None
        self.offset = start + 1 + 2 * count
        return text

    def value(self, datatype: DataType) -> Value:
        """One value of ``datatype`` (which must not be UNDEF)."""
        if datatype is DataType.STR:
            return self.string()
        if datatype.is_array:
            return self.array(datatype)
        return self.scalar(datatype)

    def datatype(self, code: int, at: int) -> DataType:
        """``code`` (read at offset ``at``) as a decodable DataType."""
        return _resolve(code, lambda why: self.fail(why, at), f" at offset {at}")

    def expect_end(self) -> None:
        """Raise if bytes are left over."""
        if self.remaining:
            raise self.fail(f"{self.remaining} trailing bytes at offset {self.offset}")


def decode_value(datatype: int, data: Buffer, offset: int = 0) -> tuple[Value, int]:
    """Decode one value of ``datatype`` at ``offset``; returns it and the offset just after it.

    Bytes after the value are left alone (the caller decides whether they are an error).

    Raises:
        DecodeError: unknown or UNDEF data type, truncated data, a hostile array count, or a bad
            PTP string.
    """
    dt = _resolve(datatype, lambda why: DecodeError(f"decode_value: {why}"))
    reader = _Reader(data, offset, dt.name)
    return reader.value(dt), reader.offset


def decode_uint32_array(data: Buffer, offset: int = 0) -> tuple[tuple[int, ...], int]:
    """Decode an AUINT32 at ``offset`` (GetStorageIDs / GetObjectHandles data)."""
    reader = _Reader(data, offset, "AUINT32")
    return reader.array(DataType.AUINT32), reader.offset


_U16 = struct.Struct("<H")


def decode_counted(
    data: Buffer, entry: struct.Struct, what: str, noun: str = "entries"
) -> list[tuple[int, ...]]:
    """The entries of a vendor list laid out as a u16 count, then that many fixed-size entries::

        offset  size               field
        0       2                  count u16
        2       count × entry.size the entries, back to back, filling the data exactly

    (Fujifilm's 0xD212 state list, Nikon's 0x90C7 event list.) ``what`` names the list in errors.

    Raises:
        DecodeError: shorter than the count, a count the bytes cannot hold, or trailing bytes.
    """
    view = memoryview(data).cast("B")
    if len(view) < _U16.size:
        raise DecodeError(f"{what}: {len(view)} bytes, need 2 for the count", offset=0)
    (count,) = _U16.unpack_from(view, 0)
    have, need = len(view) - _U16.size, count * entry.size
    if need > have:
        raise DecodeError(f"{what}: count {count} needs {need} bytes of entries, have {have}", offset=0)
    if need != have:
        extra = have - need
        raise DecodeError(f"{what}: {extra} trailing bytes after {count} {noun}", offset=len(view) - extra)
    return [entry.unpack_from(view, _U16.size + entry.size * i) for i in range(count)]

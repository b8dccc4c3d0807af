"""Loads the byte vectors shipped in ``tests/data/vectors`` (a copy of ``shared/protocol/vectors``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "data" / "vectors"


@dataclass(frozen=True)
class Vector:
    """One vector: its bytes plus the decoded ``meaning`` the protocol notes give for them."""

    file: str
    name: str
    direction: str
    channel: str
    data: bytes
    meaning: dict[str, Any]
    payload_only: bool
    complete: bool
    raw: dict[str, Any]

    @property
    def container_payload(self) -> bytes:
        """The data-phase payload: the bytes after a Fuji container's 12-byte header, or all of them."""
        return self.data if self.payload_only else self.data[12:]


def load_vectors(*files: str) -> list[Vector]:
    """All vectors of the given files (every file when none is named), in file order."""
    names = files or tuple(sorted(p.name for p in VECTOR_DIR.glob("*.json")))
    out: list[Vector] = []
    for name in names:
        doc = json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))
        for v in doc.get("vectors", []):
            out.append(
                Vector(
                    file=name,
                    name=v["name"],
                    direction=v["direction"],
                    channel=v["channel"],
                    data=bytes.fromhex(v["hex"]),
                    meaning=v["meaning"],
                    payload_only=bool(v.get("payload_only", False)),
                    complete=bool(v.get("complete", True)),
                    raw=v,
                )
            )
    return out


def vector(name: str) -> Vector:
    """The vector called ``name`` (names are unique across files)."""
    for v in load_vectors():
        if v.name == name:
            return v
    raise KeyError(name)


def parse_int(text: str | int) -> int:
    """Reads the leading integer of a meaning field such as ``"0x1001 (GetDeviceInfo)"`` or ``"1 (x)"``."""
    if isinstance(text, int):
        return text
    return int(str(text).split()[0], 0)

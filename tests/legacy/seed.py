"""The seed README's two ``opreq`` outputs (tests/data/seed_opreq_*.txt) and what to compare them with."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SEED_902B = DATA / "seed_opreq_0x902B.txt"
SEED_D212 = DATA / "seed_opreq_0x1015_0xD212.txt"

_BLOCK = re.compile(r"\nReceived (\d+) bytes\. HEX dump:\n((?:[0-9a-f]{8}  .*\n)+)")
_LINE = re.compile(r"^[0-9a-f]{8}  (.{48})  \|.*\|$")


def seed_text(path: Path) -> str:
    """The dump exactly as the seed printed it."""
    return path.read_text(encoding="ascii")


def packets_of(dump: str) -> list[bytes]:
    """The packets a dump shows, read back from its hex columns (the byte counts are checked)."""
    packets = []
    for match in _BLOCK.finditer(dump):
        data = b""
        for line in match.group(2).splitlines():
            m = _LINE.match(line)
            assert m, line
            data += bytes.fromhex(m.group(1).replace(" ", ""))
        assert len(data) == int(match.group(1)), match.group(0)
        packets.append(data)
    assert "".join(m.group(0) for m in _BLOCK.finditer(dump)) == dump, "the dump has text outside its blocks"
    return packets


#: In a Fuji container (FUJI.md §2) the transaction ID is bytes 8-11: on the first line of each dump, hex
#: columns 8-11 (after the group gap) and ASCII columns 8-11.
_FIRST = re.compile(
    r"(HEX dump:\n00000000  (?:[0-9a-f]{2} ){8} )((?:[0-9a-f]{2} ){3}[0-9a-f]{2})(.*?\|.{8})(.{4})"
)


def mask_transaction_ids(dump: str) -> str:
    """``dump`` with exactly the transaction-ID bytes of every packet replaced by ``??`` (hex) and ``?``."""
    masked, count = _FIRST.subn(lambda m: f"{m.group(1)}?? ?? ?? ??{m.group(3)}????", dump)
    assert count == dump.count("HEX dump:"), "every packet has a first line with a transaction ID"
    return masked


def transaction_ids(dump: str) -> list[int]:
    """The transaction ID of every packet in a Fuji dump."""
    return [int.from_bytes(p[8:12], "little") for p in packets_of(dump)]

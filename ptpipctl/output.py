"""What ptpipctl prints: aligned tables, key/value blocks, JSON, the seed's hex dumps, a progress bar.

Tables are laid out like the seed tool's (Go ``text/tabwriter`` with minimum width 8 and padding 2): a header,
a row of dashes, the rows; every column but the last is padded. Hex dumps are byte for byte those of the seed
(Go's ``hex.Dump``, the ``hexdump -C`` layout without the final offset line), each packet introduced by
``"\\nReceived N bytes. HEX dump:\\n"``.

Light on imports: this runs on the fast path (see :mod:`ptpipctl.fast`).
"""

from __future__ import annotations

import sys
import time

from ptpipctl.jsonio import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, TextIO

MIN_WIDTH = 8
PADDING = 2


def table(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None) -> str:
    """Rows in aligned columns (the header underlined with dashes); each line ends with a newline."""
    lines: list[Sequence[str]] = []
    if header is not None:
        lines.append(header)
        lines.append(["-" * len(h) for h in header])
    lines.extend(rows)
    if not lines:
        return ""
    columns = max(len(line) for line in lines)
    widths = [0] * columns
    for line in lines:
        for i, cell in enumerate(line[:-1]):
            widths[i] = max(widths[i], len(cell) + PADDING, MIN_WIDTH)
    out = []
    for line in lines:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])]
        cells.append(line[-1] if line else "")
        out.append("".join(cells) + "\n")
    return "".join(out)


def fields(record: dict[str, Any], *keys: str) -> list[str]:
    """The record's values under ``keys``, as text."""
    return [str(record.get(k)) for k in keys]


def pairs(items: Iterable[tuple[str, str]]) -> str:
    """``key  value`` lines with the values aligned."""
    items = list(items)
    if not items:
        return ""
    width = max(len(k) for k, _ in items) + PADDING
    return "".join(f"{k.ljust(width)}{v}".rstrip() + "\n" for k, v in items)


def json_text(value: Any, *, pretty: bool = False) -> str:
    """JSON with a final newline: compact, or indented by two spaces."""
    if not pretty:
        return dumps(value) + "\n"
    import json

    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def hexdump(data: bytes) -> str:
    """Go's ``hex.Dump``: offset, 16 bytes in two groups of 8, and the printable ASCII between bars."""
    out = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = f"{chunk[:8].hex(' ')}  {chunk[8:].hex(' ')}".ljust(49)
        text = "".join(chr(b) if 32 <= b <= 126 else "." for b in chunk)
        out.append(f"{offset:08x}  {hexes} |{text}|\n")
    return "".join(out)


def packet_dumps(packets: Iterable[bytes]) -> str:
    """The seed's ``opreq`` output: every packet received, introduced by its size."""
    return "".join(f"\nReceived {len(p)} bytes. HEX dump:\n{hexdump(p)}" for p in packets)


def size_text(size: float) -> str:
    """A byte count for people: ``610137`` → ``595.8 KiB``."""
    if size < 1024:
        return f"{int(size)} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


class Progress:
    """A one-line progress bar on a terminal: the bytes so far, the total when known, the rate.

    Called with the bytes done so far; ``start`` is where a resumed transfer began (the rate counts only the
    bytes moved now). Nothing is drawn for transfers below ``threshold`` bytes or when disabled (stderr not
    a terminal); redrawn at most every ``interval`` seconds.
    """

    WIDTH = 30

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        threshold: int = 1 << 20,
        interval: float = 0.1,
        start: int = 0,
    ) -> None:
        self.label, self.enabled, self.threshold, self.interval = label, enabled, threshold, interval
        self.total = total if total and total > 0 else None
        self.stream = stream if stream is not None else sys.stderr
        self.start = start
        self.drawn = False
        self._began = self._last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or (self.drawn and now - self._last < self.interval):
            return
        if not self.drawn and done < self.threshold:
            return
        self._last = now
        self.stream.write("\r" + self.render(done, now - self._began) + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def render(self, done: int, elapsed: float) -> str:
        """The line for ``done`` bytes after ``elapsed`` seconds."""
        moved = max(done - self.start, 0)
        rate = f"{size_text(moved / elapsed)}/s" if elapsed > 0 and moved else "-"
        if self.total is None:
            return f"{self.label}  {size_text(done)}  {rate}"
        done = min(done, self.total)
        bar = ("#" * (done * self.WIDTH // self.total)).ljust(self.WIDTH, ".")
        percent = done * 100 // self.total
        return f"{self.label}  [{bar}] {percent:3d}%  {size_text(done)} of {size_text(self.total)}  {rate}"

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        """Clears the line when something was drawn."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False

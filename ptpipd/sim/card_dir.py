"""A simulated card that outlives the simulator (``--card DIR``): new photos and deletions kept in a directory.

A real card keeps its pictures when the camera is switched off; the tests that kill the simulator mid-download
need the same. Each photo the body takes is written as a file of its own (``DIR/IMG_0004.JPG``, written to a
temporary name and renamed), then one line is appended to ``DIR/card.jsonl``::

    {"op": "photo", "name": "IMG_0004.JPG", "width": 640, "height": 480, "date": "20240601T120000"}
    {"op": "delete", "handle": 6}

A restarted body replays the lines in order, which gives every photo its old number and handle (handles
are never reused). A line cut short by a kill is cut off; a photo whose file is missing is drawn again (the
same seed gives the same bytes).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("ptpipd.sim")

JOURNAL = "card.jsonl"


class CardDir:
    """The directory a body keeps its new photos in."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.journal = self.directory / JOURNAL
        self._cut_torn_line()

    def _cut_torn_line(self) -> None:
        """A line cut short by a kill would glue itself to the next one appended: it goes now."""
        try:
            data = self.journal.read_bytes()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        if end != len(data):
            log.warning("%s: cutting off a torn last line", self.journal)
            with self.journal.open("r+b") as f:
                f.truncate(end)

    def records(self) -> list[dict[str, Any]]:
        """The journal's complete lines, in order."""
        try:
            data = self.journal.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                log.warning("%s: ignoring an unreadable line", self.journal)
        return out

    def photo(self, name: str) -> bytes | None:
        """The bytes of a photo kept here (None when its file is gone)."""
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def add_photo(self, name: str, content: bytes | bytearray | memoryview, **fields: Any) -> None:
        """Keeps a new photo: its file, then its journal line."""
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, self.directory / name)
        self._append({"op": "photo", "name": name, **fields})

    def delete(self, handle: int, name: str) -> None:
        """Records a deletion and removes the photo's file."""
        self._append({"op": "delete", "handle": handle})
        (self.directory / name).unlink(missing_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        with self.journal.open("ab") as f:
            f.write(json.dumps(record).encode() + b"\n")

"""What ingest has stored, kept across restarts: an append-only journal in the state directory.

Each line is one JSON record, written with a single ``write`` (in the kernel from then on: a daemon killed
keeps it) and, except for ``target`` and ``hooked``, ``fsync`` before ingest goes on, so a crash loses at most
the line being written; a torn last line is cut off when the journal is opened. A ``target`` is made durable
by the ``done`` that follows it, synced after the rename (the picture is not kept waiting for the journal's
disk): a power cut may lose a ``target`` whose file already has its name, and then that file, holding the
object's bytes, counts as stored (:mod:`ptpipd.ingest`); one that loses a ``hooked`` runs that hook again.
Objects are keyed by the camera's serial number, the file name, the size and the capture time
(:class:`Key`)::

    {"op": "baseline", "serial": S, "keys": [[name, size, captured], …]}   on the card before ingest first saw it
    {"op": "target", "key": K, "path": P, "n": N}    about to be renamed to P (the N-th file): the name is kept
    {"op": "done", "key": K, "path": P, "size": B, "sha256": H}            renamed into place, synced
    {"op": "hooked", "key": K}                                              the hook ran (whatever it answered)
    {"op": "count", "n": N}                                 names reserved so far (kept by a rewrite)

A capture time that differs by a whole number of hours (up to 14) matches: some cameras list files in UTC
and describe them in local time. The journal is rewritten (temporary file, fsync, rename) when it holds
many more lines than live records.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("ptpipd.ingest")

#: Rewrite the journal once it has this many lines more than it needs.
COMPACT_SLACK = 4096


def canonical_time(text: str | None) -> str | None:
    """A capture time as ``YYYY-MM-DDTHH:MM:SS`` (no zone, no fraction), or None when there is none."""
    if not text:
        return None
    parsed = parse_time(text)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") if parsed is not None else text


def parse_time(text: str | None) -> datetime | None:
    """The camera's capture time as a naive datetime (the zone, if any, dropped), or None."""
    if not text:
        return None
    for candidate in (text, text[:19]):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(candidate).replace(tzinfo=None)
    return None


@dataclass(frozen=True, slots=True)
class Key:
    """One object of one camera."""

    serial: str
    filename: str
    size: int
    captured: str | None

    @classmethod
    def of(cls, serial: str, filename: str, size: int, captured: str | None) -> Key:
        """A key with the capture time in its canonical form."""
        return cls(serial, filename, size, canonical_time(captured))

    def as_json(self) -> list[Any]:
        return [self.serial, self.filename, self.size, self.captured]

    @classmethod
    def from_json(cls, raw: Any) -> Key:
        serial, filename, size, captured = raw
        return cls(str(serial), str(filename), int(size), None if captured is None else str(captured))

    @property
    def short(self) -> tuple[str, str, int]:
        return (self.serial, self.filename, self.size)


def _same_time(a: str | None, b: str | None) -> bool:
    if a == b or a is None or b is None:
        return True
    ta, tb = parse_time(a), parse_time(b)
    if ta is None or tb is None:
        return False
    seconds = abs((ta - tb).total_seconds())
    return seconds % 3600 == 0 and seconds <= 14 * 3600


@dataclass(frozen=True, slots=True)
class Stored:
    """A file ingest stored: where (relative to the ingest directory), its size and SHA-256."""

    path: str
    size: int
    sha256: str


class IngestIndex:
    """The journal, loaded: what is stored, where names were reserved, what each camera had at first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[Key, Stored] = {}
        self.targets: dict[Key, tuple[str, int]] = {}
        self.hooked: set[Key] = set()
        self.baselines: dict[str, set[Key]] = {}
        self._by_short: dict[tuple[str, str, int], list[Key]] = {}
        self.count = 0  # names reserved so far: {n} of the next file is count + 1
        self._lines = 0
        self._fd = -1
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- loading

    def open(self) -> None:
        """Reads the journal (a torn last line is cut off) and opens it for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        end = data.rfind(b"\n") + 1
        for number, line in enumerate(data[:end].splitlines(), 1):
            try:
                self._apply(json.loads(line))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("%s line %d ignored: %s", self.path, number, exc)
            self._lines += 1
        if end != len(data):
            log.warning("%s: cutting off a torn last record (%d bytes)", self.path, len(data) - end)
            with self.path.open("r+b") as f:
                f.truncate(end)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        if self._lines > len(self.done) + len(self.targets) + len(self.hooked) + COMPACT_SLACK:
            self.compact()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _apply(self, rec: dict[str, Any]) -> None:
        op = rec["op"]
        if op == "baseline":
            serial = str(rec["serial"])
            keys = {Key.from_json([serial, *k]) for k in rec["keys"]}
            self.baselines.setdefault(serial, set()).update(keys)
            for key in keys:
                self._remember(key)
        elif op == "target":
            key = Key.from_json(rec["key"])
            self.targets[key] = (str(rec["path"]), int(rec["n"]))
            self.count = max(self.count, int(rec["n"]))
            self._remember(key)
        elif op == "done":
            key = Key.from_json(rec["key"])
            self.done[key] = Stored(str(rec["path"]), int(rec["size"]), str(rec["sha256"]))
            self.targets.pop(key, None)
            self._remember(key)
        elif op == "hooked":
            self.hooked.add(Key.from_json(rec["key"]))
        elif op == "count":
            self.count = max(self.count, int(rec["n"]))
        else:
            raise ValueError(f"unknown op {op!r}")

    def _remember(self, key: Key) -> None:
        same = self._by_short.setdefault(key.short, [])
        if key not in same:
            same.append(key)

    # ---------------------------------------------------------------- questions

    def find(self, key: Key) -> Key | None:
        """The recorded key ``key`` stands for (same serial, name and size; the same capture time give or
        take a time zone), or None."""
        for known in self._by_short.get(key.short, ()):
            if _same_time(known.captured, key.captured):
                return known
        return None

    def stored(self, key: Key) -> Stored | None:
        """Where ``key`` was stored, if it was."""
        known = self.find(key)
        return None if known is None else self.done.get(known)

    def skipped(self, key: Key) -> bool:
        """True when ``key`` was on its camera before ingest first saw that camera."""
        known = self.find(key)
        return known is not None and known in self.baselines.get(key.serial, ())

    def target(self, key: Key) -> tuple[str, int] | None:
        """The name reserved for ``key`` (a download that had not finished), if any."""
        known = self.find(key)
        return None if known is None else self.targets.get(known)

    def has_baseline(self, serial: str) -> bool:
        """True once ingest has seen this camera."""
        return serial in self.baselines

    def unhooked(self) -> list[tuple[Key, Stored]]:
        """Stored files whose hook has not run (the daemon stopped first)."""
        return [(k, s) for k, s in self.done.items() if k not in self.hooked]

    # ---------------------------------------------------------------- records

    def _write(self, rec: dict[str, Any], *, sync: bool = True) -> None:
        line = json.dumps(rec, separators=(",", ":")).encode() + b"\n"
        with self._lock:  # the event loop writes a name's record too: one writer at a time, never a sync
            os.write(self._fd, line)
            self._lines += 1
        if sync:
            os.fsync(self._fd)
        self._apply(rec)

    def record_baseline(self, serial: str, keys: list[Key]) -> None:
        """What the camera had when ingest first saw it (never downloaded by a scan)."""
        self._write({"op": "baseline", "serial": serial, "keys": [k.as_json()[1:] for k in keys]})

    def reserve(self, key: Key, path: str) -> int:
        """Reserves ``path`` for ``key``; returns its number ({n}). Written, not synced: the next synced
        record (``done``, after the rename) makes it durable."""
        n = self.count + 1
        self._write({"op": "target", "key": key.as_json(), "path": path, "n": n}, sync=False)
        return n

    def record_done(self, key: Key, stored: Stored) -> None:
        """``key`` is in place at ``stored.path``."""
        known = self.find(key) or key
        self._write({"op": "done", "key": known.as_json()} | asdict(stored))

    def record_hooked(self, key: Key) -> None:
        """The hook ran for ``key``. Written, not synced (the next picture does not wait for it): a power cut
        that loses it runs the hook again at the next start, as a daemon killed while it ran does."""
        self._write({"op": "hooked", "key": key.as_json()}, sync=False)

    def reserved_paths(self) -> set[str]:
        """Every name reserved and not yet done."""
        return {path for path, _ in self.targets.values()}

    def compact(self) -> None:
        """Rewrites the journal with only what it needs (temporary file, fsync, rename, directory fsync)."""
        lines: list[dict[str, Any]] = [{"op": "baseline", "serial": s, "keys": [k.as_json()[1:] for k in keys]}
                 for s, keys in self.baselines.items()]  # fmt: skip
        lines += [
            {"op": "target", "key": k.as_json(), "path": p, "n": n} for k, (p, n) in self.targets.items()
        ]
        lines += [{"op": "done", "key": k.as_json()} | asdict(stored) for k, stored in self.done.items()]
        lines += [{"op": "hooked", "key": k.as_json()} for k in self.hooked]
        lines.append({"op": "count", "n": self.count})
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        sync_directory(self.path.parent)
        self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o640)
        self._lines = len(lines)


def sync_directory(path: Path) -> None:
    """fsync of a directory, so a rename in it survives a power cut (where the file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""``ptpipctl sync`` and ``delete``: the camera's card copied into a directory here, and emptied.

``sync DIR`` is ``gphoto2 --get-all-files --new --skip-existing``: every object of ``files`` not copied
before is downloaded through the HTTP data plane as ``download`` does (streamed into a temporary file,
renamed into place once it holds the announced length, ``--resume`` of a partial file an interrupted sync
left), then written down in the manifest ``DIR/.ptpipctl-sync.jsonl``: one JSON line per copy, appended and
synced, keyed by camera serial, file name, size and capture time, with the copy's path and SHA-256 (read
back from the disk). What the manifest names is not copied again, even under a new handle or after the
file here was moved away; a file of the same name and size already in ``DIR`` is taken as the copy.

``--delete`` removes an object from the camera only once its copy is verified: the file named in the
manifest is there, with the recorded size and SHA-256. A copy that fails the check, and a picture the camera
refuses to delete (protected), are kept on the camera and said so, one line each; the run then ends with
exit 1.

``delete HANDLE…`` asks ``files`` first, so that a handle not on the camera refuses the whole command before
anything is deleted, then calls ``delete`` (DeleteObject) for each; it asks on a terminal unless ``--yes``.
"""

from __future__ import annotations

import os
import sys

from ptpipctl.client import CtlError, RpcFailure, UsageError
from ptpipctl.declare import JSON, PROGRESS, Param, command
from ptpipctl.httpclient import locate
from ptpipctl.jsonio import JSONError, dumps, loads
from ptpipctl.output import json_text, size_text
from ptpipctl.transfer import Destination, WriteFailed, saved_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.client import Connection, Globals
    from ptpipctl.httpclient import HttpTarget

MANIFEST = ".ptpipctl-sync.jsonl"
HANDLE_BOUNDS = (0, 0xFFFF_FFFE)

Key = tuple[str, str, int, str]


def _key(serial: str, entry: dict[str, Any]) -> Key:
    """What identifies a picture across handles and sessions: camera, name, size, capture time."""
    return (serial, str(entry.get("filename") or ""), int(entry.get("size") or 0), str(entry.get("captured")))


class Manifest:
    """The copies made into a directory (``DIR/.ptpipctl-sync.jsonl``), by :func:`_key`."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, MANIFEST)
        self.copies: dict[Key, dict[str, Any]] = {}
        try:
            with open(self.path, encoding="utf-8") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise CtlError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        for line in lines:
            try:
                record = loads(line)
                key = (record["serial"], record["filename"], record["size"], record["captured"])
            except (JSONError, KeyError, TypeError):
                continue  # a line cut short by a crash: that copy is made again
            self.copies[key] = record

    def add(self, key: Key, path: str, size: int, sha256: str) -> dict[str, Any]:
        """Writes a copy down (appended and synced before this returns)."""
        serial, filename, listed, captured = key
        record = {"serial": serial, "filename": filename, "size": listed, "captured": captured}
        record |= {"path": path, "bytes": size, "sha256": sha256}
        line = dumps(record) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WriteFailed(exc.strerror or str(exc)) from None
        self.copies[key] = record
        return record


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _verified(directory: str, record: dict[str, Any]) -> str:
    """Why the copy of ``record`` cannot be trusted; empty when it is there, whole and unchanged."""
    path = os.path.join(directory, str(record.get("path")))
    try:
        if os.path.getsize(path) != record.get("bytes"):
            return f"{path} no longer has the size copied"
        if _sha256(path) != record.get("sha256"):
            return f"{path} changed since it was copied"
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return ""


class Sync:
    """One ``sync`` run: what was copied, found here, deleted from the camera and kept on it."""

    def __init__(self, directory: str, http: HttpTarget, conn: Connection, progress: bool | None) -> None:
        self.directory, self.http, self.conn, self.progress = directory, http, conn, progress
        self.manifest = Manifest(directory)
        self.copied: list[dict[str, Any]] = []
        self.already = 0
        self.deleted: list[int] = []
        self.kept: list[dict[str, Any]] = []

    def copy(self, serial: str, entries: list[dict[str, Any]], as_json: bool) -> None:
        """Every entry whose key the manifest lacks, into the directory."""
        new = [e for e in entries if _key(serial, e) not in self.manifest.copies]
        self.already = len(entries) - len(new)
        for n, entry in enumerate(new, 1):
            key = _key(serial, entry)
            record = self._here(key) or self._download(key, int(entry["handle"]), f"[{n}/{len(new)}] {{}}")
            self.copied.append({"handle": entry["handle"], **record})
            if not as_json:
                where = os.path.join(self.directory, record["path"])
                about = (f"{n}/{len(new)}", f"camera handle {entry['handle']}", record.get("found", ""))
                sys.stdout.write(saved_text(where, record["bytes"], *about))
                sys.stdout.flush()

    def _here(self, key: Key) -> dict[str, Any] | None:
        """A file of the picture's name and size already in the directory (copied by other means)."""
        path = os.path.join(self.directory, key[1])
        if not key[1] or os.path.basename(key[1]) != key[1]:
            return None
        try:
            if not os.path.isfile(path) or os.path.getsize(path) != key[2]:
                return None
            record = self.manifest.add(key, key[1], key[2], _sha256(path))
        except OSError:
            return None
        return {**record, "found": "already here"}

    def _download(self, key: Key, handle: int, label: str) -> dict[str, Any]:
        from ptpipctl.commands.images import fetch

        with Destination(self.directory, False, handle=handle, resume=True) as dest:
            again, where = f"ptpipctl sync {self.directory}", f"into {self.directory}"
            result, written = fetch(self.http, handle, dest, self.progress, again, label, where)
        try:
            digest = _sha256(written)
        except OSError as exc:
            raise CtlError(f"cannot read back {written}: {exc.strerror or exc}") from None
        return self.manifest.add(key, os.path.basename(written), int(result["size"]), digest)

    def delete(self, serial: str, entries: list[dict[str, Any]]) -> None:
        """Deletes from the camera each entry whose copy here is verified."""
        for entry in entries:
            record = self.manifest.copies.get(_key(serial, entry))
            why = "not copied" if record is None else _verified(self.directory, record)
            if not why:
                try:
                    self.conn.call("delete", {"handle": entry["handle"]})
                    self.deleted.append(int(entry["handle"]))
                    continue
                except RpcFailure as exc:  # the camera's own refusal (a protected picture): the others go on
                    why = str(exc)
            self.kept.append({"handle": entry["handle"], "filename": entry.get("filename"), "why": why})

    def summary(self) -> str:
        """One line (two with kept objects) saying what the run did."""
        size = sum(int(c["bytes"]) for c in self.copied)
        text = f"copied {len(self.copied)} file{'s' * (len(self.copied) != 1)} ({size_text(size)})"
        text += f", {self.already} copied before"
        if self.deleted or self.kept:
            text += f"; deleted {len(self.deleted)} from the camera"
        lines = [text + "\n"]
        for kept in self.kept:
            lines.append(f"kept {kept['filename']} (handle {kept['handle']}) on the camera: {kept['why']}\n")
        return "".join(lines)


def _directory(path: str) -> str:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise CtlError(f"cannot use {path} as the sync directory: {exc.strerror or exc}") from None
    return path


@command(
    Param("DIR", "directory", "The directory the pictures are copied into (created if needed)."),
    Param(
        "--delete",
        "delete",
        "Delete each picture from the camera once its copy here is verified (size and SHA-256).",
    ),
    JSON,
    PROGRESS,
)
def sync(g: Globals, directory: str, *, delete: bool, as_json: bool, progress: bool | None) -> None:
    """Copies every picture not copied before into DIR (a manifest there remembers them); a second run
    copies nothing."""
    run = None
    with g.target().connect() as conn:
        serial = str((conn.call("status").get("camera") or {}).get("serial") or "")
        entries = [e for e in conn.call("files") if isinstance(e.get("handle"), int)]
        run = Sync(_directory(directory), locate(g), conn, progress)
        run.copy(serial, entries, as_json)
        if delete:
            run.delete(serial, entries)
    if as_json:
        result = {"copied": run.copied, "copied_before": run.already, "deleted": run.deleted}
        sys.stdout.write(json_text({**result, "kept": run.kept}))
    else:
        sys.stdout.write(run.summary())
    if run.kept:
        raise CtlError(f"{len(run.kept)} picture{'s' * (len(run.kept) != 1)} kept on the camera")


@command(
    Param(
        "HANDLE", "handles", "The objects to delete (see 'files').", many=True, kind=int, bounds=HANDLE_BOUNDS
    ),
    Param("--yes", "yes", "Do not ask (needed when stdin is not a terminal)."),
    JSON,
)
def delete(g: Globals, handles: tuple[int, ...], *, yes: bool, as_json: bool) -> None:
    """Deletes objects from the camera's card, after asking (--yes: without)."""
    if not handles:
        raise UsageError("delete needs at least one HANDLE (see 'ptpipctl files')")
    with g.target().connect() as conn:
        names = {e.get("handle"): str(e.get("filename")) for e in conn.call("files")}
        missing = [str(h) for h in handles if h not in names]
        if missing:
            raise CtlError(
                f"no object {', '.join(missing)} on the camera (see 'ptpipctl files'): nothing deleted"
            )
        if not yes:
            _confirm([f"{names[h]} (handle {h})" for h in handles])
        done = []
        for handle in dict.fromkeys(handles):
            conn.call("delete", {"handle": handle})
            done.append({"handle": handle, "filename": names[handle]})
            if not as_json:
                sys.stdout.write(f"deleted {names[handle]} (handle {handle})\n")
    if as_json:
        sys.stdout.write(json_text(done))


def _confirm(what: list[str]) -> None:
    """Asks on the terminal; a refusal ends the command (exit 1), no terminal is a usage error."""
    if not sys.stdin.isatty():
        raise UsageError("delete asks before deleting: give --yes when stdin is not a terminal")
    sys.stderr.write(f"Delete {', '.join(what)} from the camera? This cannot be undone. [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CtlError("nothing deleted")

"""``ptpipctl sync`` and ``delete``: the camera's card copied into a directory here, and emptied.

``sync DIR`` is ``gphoto2 --get-all-files --new --skip-existing``: every object of ``files`` not copied
before is downloaded through the HTTP data plane as ``download`` does (streamed into a temporary file,
renamed into place once it holds the announced length, ``--resume`` of a partial file an interrupted sync
left), then written down in the manifest ``DIR/.ptpipctl-sync.jsonl``: one JSON line per copy, appended and
synced, keyed by camera serial, file name, size and capture time, with the copy's path and SHA-256 (read
back from the disk) and whether its bytes are the camera's (``verified``). What the manifest names is not
copied again, even under a new handle or after the file here was moved away.

A file of the same name and size already in ``DIR`` (copied by other means, or a different picture that
happens to share them) is taken as the copy without a download, but written down as not verified: nothing
here says its bytes are the camera's. ``--delete`` downloads such a picture after all and compares: the same
bytes make the file here the verified copy (the download is dropped), other bytes keep both (the camera's
gets ``-1``, ``-2``… as ``download`` names it), so a picture is never deleted on the word of a file it was
never compared with.

``--delete`` removes an object from the camera only once its copy is verified: its bytes came from the
camera, and the file named in the manifest is there, with the recorded size and SHA-256. A copy that fails
the check, and a picture the camera refuses to delete (protected), are kept on the camera and said so, one
line each; the run then ends with exit 1.

``delete HANDLE…`` asks ``files`` first, so that a handle not on the camera refuses the whole command before
anything is deleted, then calls ``delete`` (DeleteObject) for each, going on past one the camera refuses (a
protected picture): what it deleted goes to stdout (``--json``: ``{"deleted", "refused"}``), the refusals
to stderr with exit 1. It asks on a terminal unless ``--yes``.
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
            with open(self.path, "rb") as file:
                # a line cut short by a crash may end mid-character: it fails as JSON below, like any torn line
                lines = file.read().decode("utf-8", "replace").splitlines()
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
            self.copies[key] = record  # a later line of the same picture (verified since) wins

    def add(self, key: Key, path: str, size: int, sha256: str, verified: bool) -> dict[str, Any]:
        """Writes a copy down (appended and synced before this returns); ``verified``: its bytes are the
        camera's (downloaded, or compared with a download)."""
        serial, filename, listed, captured = key
        record = {"serial": serial, "filename": filename, "size": listed, "captured": captured}
        record |= {"path": path, "bytes": size, "sha256": sha256, "verified": verified}
        line = dumps(record) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WriteFailed(f"cannot write the manifest {self.path}: {exc.strerror or exc}") from None
        self.copies[key] = record
        return record


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


#: Why a copy found here (not downloaded) does not let ``--delete`` delete the camera's picture.
UNCOMPARED = "the file here was found, not copied, and never compared with the camera's bytes"


def _verified(directory: str, record: dict[str, Any]) -> str:
    """Why the copy of ``record`` cannot be trusted; empty when its bytes were the camera's and it is there,
    whole and unchanged."""
    if record.get("verified") is not True:  # manifests written before the flag: compared again, to be safe
        return UNCOMPARED
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

    def copy(self, serial: str, entries: list[dict[str, Any]], as_json: bool, compare: bool) -> None:
        """Every entry whose key the manifest lacks, into the directory; with ``compare`` (``--delete``) also
        every entry whose copy was found here rather than downloaded, to compare it with the camera's bytes."""
        new = [e for e in entries if self._wanted(_key(serial, e), compare)]
        self.already = len(entries) - len(new)
        for n, entry in enumerate(new, 1):
            key, label = _key(serial, entry), f"[{n}/{len(new)}] {{}}"
            record = (None if compare else self._here(key)) or self._download(
                key, int(entry["handle"]), label
            )
            self.copied.append({"handle": entry["handle"], **record})
            if not as_json:
                where = os.path.join(self.directory, record["path"])
                about = (f"{n}/{len(new)}", f"camera handle {entry['handle']}", record.get("found", ""))
                sys.stdout.write(saved_text(where, record["bytes"], *about))
                sys.stdout.flush()

    def _wanted(self, key: Key, compare: bool) -> bool:
        record = self.manifest.copies.get(key)
        return record is None or (compare and record.get("verified") is not True)

    def _found(self, key: Key) -> str | None:
        """The name of a file here that may be the picture: the one an earlier run found, else a file of the
        picture's name and size."""
        record = self.manifest.copies.get(key)
        name = str(record["path"]) if record is not None else key[1]
        if not name or os.path.basename(name) != name:
            return None
        path = os.path.join(self.directory, name)
        try:
            return name if os.path.isfile(path) and os.path.getsize(path) == key[2] else None
        except OSError:
            return None

    def _here(self, key: Key) -> dict[str, Any] | None:
        """A file of the picture's name and size already in the directory (copied by other means, or another
        picture that shares them), written down as not verified."""
        name = self._found(key)
        if name is None:
            return None
        try:
            record = self.manifest.add(key, name, key[2], _sha256(os.path.join(self.directory, name)), False)
        except OSError:
            return None
        return {**record, "found": "already here, not compared with the camera's (--delete compares it)"}

    def _download(self, key: Key, handle: int, label: str) -> dict[str, Any]:
        """The picture downloaded; when a file here may be it, compared: the same bytes keep only that file."""
        from ptpipctl.commands.images import fetch

        found = self._found(key)
        with Destination(self.directory, False, handle=handle, resume=True) as dest:
            again = ("ptpipctl", "sync", self.directory)  # it resumes by itself
            where = f"into {self.directory}"
            result, written = fetch(self.http, handle, dest, self.progress, again, label, where)
        name, note = os.path.basename(written), {}
        try:
            digest = _sha256(written)
            if found is not None and found != name:
                if _sha256(os.path.join(self.directory, found)) == digest:
                    os.unlink(written)  # the file here is the camera's picture: it is the copy
                    name, note = found, {"found": "already here, the same bytes as the camera's"}
                else:
                    note = {"found": f"{found} here holds other bytes: kept as it is"}
        except OSError as exc:
            raise CtlError(f"cannot read back {written}: {exc.strerror or exc}") from None
        return {**self.manifest.add(key, name, int(result["size"]), digest, True), **note}

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
    except FileExistsError:  # a file (or a link to one) of that name
        raise CtlError(f"cannot use {path} as the sync directory: it is not a directory") from None
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
        run.copy(serial, entries, as_json, compare=delete)
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
        done, refused = _delete_each(conn, names, handles, as_json)
    if as_json:
        sys.stdout.write(json_text({"deleted": done, "refused": refused}))
    if refused:  # after what was deleted: the refusals end the command (stderr, exit 1)
        raise CtlError(
            "; ".join(f"not deleted {r['filename']} (handle {r['handle']}): {r['why']}" for r in refused)
        )


def _delete_each(
    conn: Connection, names: dict[Any, str], handles: tuple[int, ...], as_json: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deletes each handle, going on past one the camera refuses: (deleted, refused); what is deleted is
    said as it happens without ``as_json``."""
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for handle in dict.fromkeys(handles):
        entry: dict[str, Any] = {"handle": handle, "filename": names[handle]}
        try:
            conn.call("delete", {"handle": handle})
        except RpcFailure as exc:  # the camera's own refusal (a protected picture): the others go on
            refused.append({**entry, "why": str(exc)})
            continue
        done.append(entry)
        if not as_json:
            sys.stdout.write(f"deleted {names[handle]} (handle {handle})\n")
            sys.stdout.flush()
    return done, refused


def _confirm(what: list[str]) -> None:
    """Asks on the terminal; a refusal ends the command (exit 1), no terminal is a usage error."""
    if not sys.stdin.isatty():
        raise UsageError("delete asks before deleting: give --yes when stdin is not a terminal")
    sys.stderr.write(f"Delete {', '.join(what)} from the camera? This cannot be undone. [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CtlError("nothing deleted")

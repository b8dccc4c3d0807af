"""From a text command to a call of the daemon's own dispatcher, and from its answer to the seed tool's text.

Every command becomes a :meth:`~ptpipd.rpc.Dispatcher.call` of the same dispatcher the JSON-RPC listeners
use (structured: no JSON in between), so validation, camera access and errors are exactly those of the RPC.
The answers are the seed tool's, byte for byte where ``SEED-OUTPUT.md`` shows them (formats in
:mod:`ptpipd.legacy.seed_format`), in the seed's words (``status.vendor`` picks the vendor's
:func:`~ptpipd.vendors.legacy_labels.legacy_labels`):

* ``get PROP`` → ``LABEL (0xHEX)``; ``set PROP VALUE`` → ``property PROP successfully set to 0xHEX`` (the
  value the camera reports after the write).
* ``info``, ``state`` → a blank line and the table ``DevicePropCode  Property name  Value as string  Value as
  int64  Value in hex``; ``describe PROP`` → the nine-column table (default, current, allowed values).
* ``… json`` → the seed's JSON (an array of ``{"DevicePropertyCode", "dataType", "readOnly",
  "FactoryDefaultValue", "CurrentValue", "formType", "form"}`` objects; one object for ``describe``), compact
  or (``pretty``) indented by four spaces, then a newline.
* ``opreq`` → per packet received, ``\\nReceived N bytes. HEX dump:\\n`` and its hex dump (up to 8 MiB, then
  ``Truncated: the camera sent N bytes of data; …``).
* ``capture [PATH]`` → ``Image preview saved to PATH`` (``Image saved to PATH`` for a camera that gives the
  new image itself). PATH is on the daemon's side and stays inside the daemon's capture directory: relative
  to it, or absolute within it; ``..``, a symbolic link or an absolute PATH elsewhere is refused (one error
  line, before the shutter fires), as is a directory that does not exist. A directory gets the camera's file
  name; an existing file is never replaced (``-1``, ``-2``… go before the extension, as the seed did).
  Without PATH the image goes to the capture directory.
* Errors → one line ``COMMAND error: MESSAGE``. A camera's refusal is the seed's text of its response code
  (``set error: invalid device property value``); a value the daemon refuses before sending gets the text the
  camera would have sent (``invalid device property value``, or ``access denied`` for a read-only
  property); a command sent before ``auth TOKEN`` where one is needed: ``unauthorised: send 'auth TOKEN'
  first``; everything else is the JSON-RPC error's message. An unknown command →
  ``unknown command 'X'; try 'help' (…)``; ``help`` lists the commands.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptpipd.errors import ErrorCode
from ptpipd.files import OutsideCaptureDir, inside_parts, save_inside
from ptpipd.legacy import seed_format as fmt
from ptpipd.legacy.parser import Command, ParseError, help_text, parse
from ptpipd.rpc import Client, Dispatcher, RpcError
from ptpipd.rpc import models as m
from ptpipd.vendors.legacy_labels import (
    ACCESS_DENIED,
    INVALID_VALUE,
    LegacyLabels,
    legacy_labels,
    response_text,
)


@dataclass(frozen=True, slots=True)
class Reply:
    """The text for the client; ``ok`` is False for an error line."""

    text: str
    ok: bool = True


class CommandFailed(Exception):
    """A JSON-RPC error answer (``error``), or a failure writing the image: one line of text."""

    def __init__(self, message: str, error: RpcError | None = None) -> None:
        super().__init__(message)
        self.error = error


#: The refusal of a command before ``auth TOKEN`` on a listener off loopback, in the text protocol's words.
NOT_AUTHENTICATED = "unauthorised: send 'auth TOKEN' first"


def error_message(error: RpcError) -> str:
    """One line from a JSON-RPC error (``Invalid params`` completed from pydantic's errors)."""
    message, data = error.message, error.data
    if error.code == ErrorCode.INVALID_PARAMS and isinstance(data, list):
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc') or [])}: {e.get('msg')}".lstrip(": ")
            for e in data
            if isinstance(e, dict)
        ]
        if problems:
            message = f"{message}: {'; '.join(problems)}"
    elif error.code == ErrorCode.UNKNOWN_PROPERTY and isinstance(data, dict) and data.get("known"):
        message = f"{message} (known: {', '.join(map(str, data['known']))})"
    return " ".join(message.split())


def failure_text(command: Command, failure: CommandFailed) -> str:
    """The text after ``COMMAND error:``: the seed's text of a camera refusal, else the dispatcher's message
    with the property named as typed."""
    error = failure.error
    if error is None:
        return str(failure)
    data = error.data if isinstance(error.data, dict) else {}
    if error.code == ErrorCode.UNAUTHORISED and command.name != "auth":
        return NOT_AUTHENTICATED  # the dispatcher's words are JSON-RPC's (call auth {token})
    if error.code == ErrorCode.REFUSED and isinstance(data.get("response"), str):
        return response_text(int(data["response"], 16))
    if error.code == ErrorCode.UNKNOWN_PROPERTY and command.prop_text is not None:
        return error_message(RpcError(error.code, f"unknown property {command.prop_text!r}", error.data))
    return str(failure)


class Adapter:
    """Runs text commands for one client through the dispatcher."""

    def __init__(
        self, dispatcher: Dispatcher, client: Client, capture_dir: Path, *, confined: bool = True
    ) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.capture_dir = capture_dir
        #: ``capture PATH`` stays inside ``capture_dir`` (the listener: any local user may connect); the
        #: one-shot ``ptpipd -c`` runs with its user's own rights and writes where that user says.
        self.confined = confined
        self._labels: LegacyLabels | None = None

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One call through the dispatcher: the result, or :class:`CommandFailed`."""
        result = await self.dispatcher.call(method, params, self.client)
        if isinstance(result, RpcError):
            raise CommandFailed(error_message(result), result)
        return result

    async def labels(self) -> LegacyLabels:
        """The seed's words for this daemon's camera (asked once per connection)."""
        if self._labels is None:
            status: m.StatusResult = await self.call("status")
            self._labels = legacy_labels(status.vendor)
        return self._labels

    async def run_line(self, line: str) -> Reply | None:
        """The reply to one line; None for a blank line."""
        try:
            command = parse(line)
        except ParseError as exc:
            return Reply(exc.line() + "\n", ok=False)
        if command is None:
            return None
        return await self.run(command)

    async def run(self, command: Command) -> Reply:
        """The reply to a parsed command."""
        try:
            return Reply(await self._text(command))
        except CommandFailed as exc:
            return Reply(f"{command.name} error: {failure_text(command, exc)}\n", ok=False)

    async def _text(self, c: Command) -> str:
        if c.name == "help":
            return help_text(c.topic)
        if c.name == "auth":
            await self.call("auth", {"token": c.token})
            return "authenticated\n"
        if c.name == "opreq":
            r: m.OpreqResult = await self.call("opreq", {"code": c.code, "params": list(c.params)})
            dumps = fmt.packet_dumps([bytes.fromhex(p) for p in r.packets])
            if r.truncated:  # not the seed's (it kept everything in memory): said after the dumps
                dumps += f"\nTruncated: the camera sent {r.size} bytes of data; the dump stops at 8 MiB.\n"
            return dumps
        if c.name == "capture":
            return await self._capture(c.path)
        if c.name == "set":
            return await self._set(c)
        labels = await self.labels()
        if c.name == "get":
            return fmt.value_line(await self.call("get", {"property": c.prop}), labels)
        if c.name == "describe":
            d: m.PropertyDescResult = await self.call("describe", {"property": c.prop})
            return (
                fmt.go_json(fmt.property_json(d, labels), c.pretty)
                if c.json
                else fmt.describe_rows(d, labels)
            )
        if c.name == "info":
            info: m.InfoResult = await self.call("info")
            if c.json:
                return fmt.go_json([fmt.property_json(p, labels) for p in info.properties], c.pretty)
            return fmt.value_rows(info.properties, labels)
        if c.name == "state":
            entries: list[m.StateEntryResult] = await self.call("state")
            if c.json:
                return fmt.go_json([fmt.state_json(e, labels) for e in entries], c.pretty)
            return fmt.value_rows(entries, labels)
        raise CommandFailed(f"command {c.name!r} is not handled")  # pragma: no cover - the parser knows all

    async def _set(self, c: Command) -> str:
        assert c.prop_text is not None
        try:
            v: m.PropertyValueResult = await self.call("set", {"property": c.prop, "value": c.value})
        except CommandFailed as exc:
            if exc.error is None or exc.error.code != ErrorCode.INVALID_VALUE:
                raise
            # refused before it reached the camera: say what the camera would have answered
            desc = await self.dispatcher.call("describe", {"property": c.prop}, self.client)
            read_only = isinstance(desc, m.PropertyDescResult) and not desc.writable
            raise CommandFailed(response_text(ACCESS_DENIED if read_only else INVALID_VALUE)) from None
        return fmt.set_line(c.prop_text, v)

    async def _capture(self, path: str | None) -> str:
        base, where = self._destination(path) if path is not None else (self.capture_dir, "")
        # streamed to a file in the capture directory by the daemon (whatever its size), then moved to PATH
        saved: m.TransferResult = await self.call("capture", {"inline": False})
        if path is None or saved.path is None:
            return _saved_line(saved, saved.path or "")
        kept = Path(saved.path)
        name = saved.filename or f"capture.{saved.format}"
        try:
            written = await asyncio.to_thread(_place, base, where, name, kept)
        except OutsideCaptureDir as exc:
            raise CommandFailed(f"{exc}; the picture is kept as {kept}") from None
        except OSError as exc:
            target = self.capture_dir / path
            raise CommandFailed(
                f"cannot write {target}: {exc.strerror or exc}; the picture is kept as {kept}"
            ) from None
        return _saved_line(saved, str(written))

    def _destination(self, path: str) -> tuple[Path, str]:
        """(directory, path within it) for ``capture PATH``, checked before the shutter fires."""
        if not self.confined:
            target = self.capture_dir / path  # an absolute PATH replaces the directory
            return (target, "") if target.is_dir() else (target.parent, target.name)
        try:
            inside_parts(self.capture_dir, path)
            self.capture_dir.mkdir(parents=True, exist_ok=True)
        except OutsideCaptureDir as exc:
            raise CommandFailed(str(exc)) from None
        except OSError as exc:
            raise CommandFailed(f"cannot write {self.capture_dir}: {exc.strerror or exc}") from None
        return self.capture_dir, path


def _saved_line(r: m.TransferResult, path: str) -> str:
    """The seed's line; a preview (no object on the camera: no handle) is called one."""
    return f"Image {'preview ' if r.handle is None else ''}saved to {path}\n"


def _place(base: Path, where: str, name: str, kept: Path) -> Path:
    """Moves the picture the daemon ``kept`` to PATH (``where`` in ``base``, as :func:`save_inside` takes it):
    copied there (complete or not at all), then removed from the capture directory. Blocking."""
    try:
        parts = inside_parts(base, where) if where else []
    except OutsideCaptureDir:
        parts = None  # save_inside says why
    if parts == [] and base.resolve() == kept.parent.resolve():
        return kept  # PATH is the directory it is in already
    written = save_inside(base, where, name, kept)
    kept.unlink(missing_ok=True)
    return written

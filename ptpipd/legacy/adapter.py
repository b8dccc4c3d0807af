"""From a text command to a call of the daemon's own dispatcher, and from its answer to text.

Every command becomes a :meth:`~ptpipd.rpc.Dispatcher.call` of the same dispatcher the JSON-RPC listeners
use (structured: no JSON in between), so validation, camera access and errors are exactly those of the RPC.
The answers are written as the seed tool wrote them where it showed them, and as follows where it did not:

* ``get PROP`` → ``LABEL (0xHEX)``, the seed's line (hex without leading zeros, Go's ``%#x``; two's
  complement for negative values; the label alone for strings), plus a newline.
* ``set PROP VALUE`` → ``property PROP successfully set to LABEL (0xHEX)`` (the seed's sentence, with the
  value the camera reports after the write).
* ``info``, ``state`` → the seed's table: a blank line, then ``Property  Value as string  Value as int64
  Value in hex`` (tabwriter layout: columns at least 8 wide, 2 spaces of padding), a row of dashes, one row
  per property (the unified name, the label, the signed value, ``0x`` and at least six hex digits, i.e. Go's
  ``%0#8x``); ``-`` where a value is not a number.
* ``describe PROP`` → the same table with one row, then ``Type: …``, ``Factory default: …`` and
  ``Allowed: …`` (or ``Range: MIN to MAX, step STEP``) lines.
* ``… json`` → the JSON-RPC result as compact JSON, ``… json pretty`` → indented by four spaces (the seed
  used Go's ``json.MarshalIndent`` with four spaces); then a newline.
* ``opreq`` → for each packet received, ``\\nReceived N bytes. HEX dump:\\n`` and Go's ``hex.Dump`` of it,
  byte for byte the seed's output.
* ``capture`` → ``Image captured, saved to PATH (N bytes)``. PATH is on the daemon's side, as in the seed's
  server mode; a relative PATH is taken inside the daemon's capture directory (a daemon's working
  directory means nothing), a directory gets the camera's file name, an existing file is replaced. Without
  PATH the daemon saves the image in its capture directory under the camera's file name.
* ``help`` → the list of commands with their usage.
* Errors → one line ``COMMAND error: MESSAGE`` (the seed's form; the message is the JSON-RPC error's), an
  unknown command → ``unknown command 'X'; try 'help' (…)``.
"""

from __future__ import annotations

import asyncio
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ptpipd.errors import ErrorCode
from ptpipd.files import AtomicFile
from ptpipd.legacy.parser import Command, ParseError, help_text, parse
from ptpipd.rpc import Client, Dispatcher, RpcError
from ptpipd.rpc import models as m

TABLE_HEADER = ("Property", "Value as string", "Value as int64", "Value in hex")


@dataclass(frozen=True, slots=True)
class Reply:
    """The text for the client; ``ok`` is False for an error line; ``usage`` for a line that did not parse."""

    text: str
    ok: bool = True
    usage: bool = False


class CommandFailed(Exception):
    """A JSON-RPC error answer (``error``), or a failure writing the image: one line of text."""

    def __init__(self, message: str, error: RpcError | None = None) -> None:
        super().__init__(message)
        self.error = error


def tabwriter(rows: list[tuple[str, ...]]) -> str:
    """Go's ``text/tabwriter`` as the seed set it up (min width 8, padding 2, spaces; last cell unpadded)."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + 2, 8)
    return "".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1] + "\n" for row in rows
    )


def seed_table(rows: list[tuple[str, str, str, str]]) -> str:
    """The seed's property table, with its leading blank line."""
    header = [TABLE_HEADER, tuple("-" * len(h) for h in TABLE_HEADER)]
    return "\n" + tabwriter([*header, *rows])


def hex_dump(data: bytes) -> str:
    """Go's ``hex.Dump`` (``hexdump -C`` without the final offset line)."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        hexes = f"{left}  {right}" if right else left
        text = "".join(chr(b) if 32 <= b <= 126 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes.ljust(48)}  |{text}|\n")
    return "".join(lines)


def packet_dumps(packets: list[bytes]) -> str:
    """The seed's ``opreq`` output."""
    return "".join(f"\nReceived {len(p)} bytes. HEX dump:\n{hex_dump(p)}" for p in packets)


def short_hex(hexa: str | None) -> str | None:
    """``0x0190`` → ``0x190``."""
    if not hexa:
        return None
    return "0x" + (hexa[2:].lstrip("0") or "0")


def label_hex(label: object, hexa: str | None) -> str:
    """``800 (0x320)``, or the label alone."""
    short = short_hex(hexa)
    return f"{label} ({short})" if short else str(label)


def _row(prop: object, label: object, value: object, hexa: str | None) -> tuple[str, str, str, str]:
    if hexa:
        wide = f"{int(hexa, 16):#08x}"
    elif isinstance(value, int) and not isinstance(value, bool):
        wide = f"{value & 0xFFFF_FFFF_FFFF_FFFF:#08x}"
    else:
        wide = "-"
    number = str(value) if isinstance(value, int) and not isinstance(value, bool) else "-"
    return (str(prop), str(label), number, wide)


def json_output(result: Any, pretty: bool) -> str:
    """The seed's ``json`` / ``json pretty`` output."""
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    elif isinstance(result, list):
        result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    if pretty:
        return json.dumps(result, indent=4, ensure_ascii=False) + "\n"
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False) + "\n"


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
    """The text after ``COMMAND error:`` — the dispatcher's message, with the property named as typed."""
    error = failure.error
    if error is not None and error.code == ErrorCode.UNKNOWN_PROPERTY and command.prop_text is not None:
        known = error.data.get("known") if isinstance(error.data, dict) else None
        named = f"unknown property {command.prop_text!r}"
        return f"{named} (known: {', '.join(map(str, known))})" if known else named
    return str(failure)


class Adapter:
    """Runs text commands for one client through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher, client: Client, capture_dir: Path) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.capture_dir = capture_dir

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One call through the dispatcher: the result, or :class:`CommandFailed`."""
        result = await self.dispatcher.call(method, params, self.client)
        if isinstance(result, RpcError):
            raise CommandFailed(error_message(result), result)
        return result

    async def run_line(self, line: str) -> Reply | None:
        """The reply to one line; None for a blank line."""
        try:
            command = parse(line)
        except ParseError as exc:
            return Reply(exc.line() + "\n", ok=False, usage=True)
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
        if c.name == "get":
            v: m.PropertyValueResult = await self.call("get", {"property": c.prop})
            return label_hex(v.label, v.hex) + "\n"
        if c.name == "set":
            v = await self.call("set", {"property": c.prop, "value": c.value})
            return f"property {c.prop_text} successfully set to {label_hex(v.label, v.hex)}\n"
        if c.name == "describe":
            d: m.PropertyDescResult = await self.call("describe", {"property": c.prop})
            return json_output(d, c.pretty) if c.json else describe_text(d)
        if c.name == "info":
            info: m.InfoResult = await self.call("info")
            if c.json:
                return json_output(info, c.pretty)
            return seed_table([_row(p.property, p.label, p.value, p.hex) for p in info.properties])
        if c.name == "state":
            entries: list[m.StateEntryResult] = await self.call("state")
            if c.json:
                return json_output(entries, c.pretty)
            return seed_table([_row(e.property, e.label, e.value, None) for e in entries])
        if c.name == "opreq":
            r: m.OpreqResult = await self.call("opreq", {"code": c.code, "params": list(c.params)})
            return packet_dumps([bytes.fromhex(p) for p in r.packets])
        if c.name == "capture":
            return await self._capture(c.path)
        raise CommandFailed(f"command {c.name!r} is not handled")  # pragma: no cover - the parser knows all

    async def _capture(self, path: str | None) -> str:
        if path is None:
            saved: m.TransferResult = await self.call("capture", {"inline": False})
            return f"Image captured, saved to {saved.path} ({saved.size} bytes)\n"
        r: m.TransferResult = await self.call("capture", {"inline": True})
        try:
            data = r.image()
        except (binascii.Error, ValueError) as exc:
            raise CommandFailed(f"no image data in the answer: {exc}") from None
        target = self.capture_dir / path  # an absolute PATH replaces the directory
        name = Path(r.filename or f"capture.{r.format}").name
        try:
            written = await asyncio.to_thread(_write, target, name, data)
        except OSError as exc:
            raise CommandFailed(f"cannot write {target}: {exc.strerror or exc}") from None
        return f"Image captured, saved to {written} ({len(data)} bytes)\n"


def _write(target: Path, name: str, data: bytes) -> Path:
    """Writes ``data`` atomically to ``target`` (a file, replaced) or into it (a directory, unique name).

    No directory is created: a PATH in a directory that does not exist is an error, as it was in the seed.
    """
    if not target.parent.is_dir():
        raise FileNotFoundError(2, "no such directory", str(target.parent))
    if target.is_dir():
        with AtomicFile(target) as sink:
            sink.write(data)
            return sink.commit(name)
    with AtomicFile(target.parent) as sink:
        sink.write(data)
        return sink.commit(target.name, overwrite=True)


def describe_text(d: m.PropertyDescResult) -> str:
    """``describe``'s text: the seed's one-row table, then the type, default and allowed values."""
    default, form = d.factory_default, d.form
    lines = [
        f"Type: {d.type}, {'read-write' if d.writable else 'read-only'}",
        f"Factory default: {label_hex(default.label, default.hex)}",
    ]
    if isinstance(form, m.EnumFormResult):
        lines.append("Allowed: " + ", ".join(v.label for v in form.values))
    elif isinstance(form, m.RangeFormResult):
        lines.append(f"Range: {form.min} to {form.max}, step {form.step}")
    table = seed_table([_row(d.property, d.label, d.value, d.hex)])
    return table + "\n" + "\n".join(lines) + "\n"

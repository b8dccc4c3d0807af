#!/usr/bin/env python3
"""Exposure bracketing through ptpipd's JSON-RPC API (Python standard library only).

Takes one picture at each exposure bias (default −1, 0, +1 EV) and then puts the camera's own bias back,
also when a shot fails or the script is interrupted.

    bracket.py                                # -1, 0, +1 EV; the daemon keeps the images
    bracket.py --steps=-2,-1,0,+1,+2 -o out/  # five shots, written to out/ on this machine
    bracket.py --steps=-2/3,0,+2/3 -i fuji    # the camera of ptpipd@fuji

Exit codes: 0 done, 1 the daemon or the camera refused something, 2 usage, 105 ptpipd unreachable.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import re
import socket
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 105
PROPERTY = "exp-bias"


class RpcError(Exception):
    """An error response from the daemon."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('message')} (error {error.get('code')})")
        self.code = error.get("code")
        self.data = error.get("data")


class Unreachable(Exception):
    """The daemon cannot be reached."""


class Client:
    """JSON-RPC 2.0 over ptpipd's Unix socket: one request line, one response line."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as exc:
            self.sock.close()
            raise Unreachable(f"cannot connect to ptpipd at {path}: {exc.strerror or exc}") from None
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> Any:
        rid = next(self.ids)
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": rid}
        try:
            self.sock.sendall(json.dumps(request).encode() + b"\n")
            while True:
                line = self.reader.readline()
                if not line:
                    raise Unreachable(f"ptpipd at {self.path} closed the connection")
                message = json.loads(line)
                if message.get("id") == rid:  # anything else is a notification
                    break
        except OSError as exc:
            raise Unreachable(f"lost the connection to ptpipd at {self.path}: {exc}") from None
        if "error" in message:
            raise RpcError(message["error"])
        return message["result"]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def instance_socket(name: str) -> str:
    """ptpipctl's rule: ``/run/ptpipd/NAME.sock`` as root; else your own runtime directory's socket
    ($XDG_RUNTIME_DIR/ptpipd, or /tmp/ptpipd-UID) when it exists, else the system service's when that exists
    (members of the ptpipd group may use it), else your own."""
    if not re.fullmatch(r"[\w.@-]+", name) or name in (".", ".."):
        raise ValueError(f"invalid instance name {name!r}: use a plain name such as 'studio'")
    system = f"/run/ptpipd/{name}.sock"
    if os.geteuid() == 0:
        return system
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    own = os.path.join(runtime, "ptpipd") if runtime else f"/tmp/ptpipd-{os.getuid()}"
    own = os.path.join(own, f"{name}.sock")
    return system if not os.path.exists(own) and os.path.exists(system) else own


def default_socket() -> str:
    """$PTPIPD_SOCKET or $PTPIPCTL_SOCKET, else the socket ptpipctl would use."""
    for var in ("PTPIPD_SOCKET", "PTPIPCTL_SOCKET"):
        if os.environ.get(var):
            return os.environ[var]
    return instance_socket("ptpipd")


def write_atomically(result: dict[str, Any], path: Path) -> Path:
    """Writes a capture's inline image to ``path`` through a temporary file (never half a picture)."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(base64.b64decode(result["data"]))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class PreviewNote:
    """Says once, on stderr, when the camera hands over previews only: its capture result names no picture
    on the card (no ``handle``; the Fujifilm dialect), so what is saved is a small preview."""

    def __init__(self, output: Path | None) -> None:
        self.output = output
        self.said = False

    def check(self, result: dict[str, Any]) -> None:
        if self.said or "handle" in result:
            return
        self.said = True
        where = f"in {self.output} " if self.output is not None else ""
        print(
            f"bracket.py: this camera hands over previews only (its capture result names no picture on the "
            f"card): the files {where}are small previews; the full pictures stay on the camera's card",
            file=sys.stderr,
            flush=True,
        )


_EV = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d+)?)?(?:\s*(\d+)/(\d+))?\s*(?:EV)?\s*$", re.IGNORECASE)


def parse_ev(text: str) -> Fraction | None:
    """EV from '+1', '-2/3', '-1 2/3', '0.7', '0' (None when it is not one)."""
    m = _EV.match(text)
    if not m or (m.group(2) is None and m.group(3) is None):
        return None
    value = Fraction(m.group(2) or 0)
    if m.group(3) is not None:
        if int(m.group(4)) == 0:
            return None
        value += Fraction(int(m.group(3)), int(m.group(4)))
    return -value if m.group(1) == "-" else value


def allowed_values(desc: dict[str, Any]) -> list[tuple[Fraction, Any, str]]:
    """(EV, raw value, label) of every bias the camera allows; EV from the label, else value/1000."""
    form = desc.get("form", {})
    if form.get("kind") == "enum":
        entries = [(v["value"], v["label"]) for v in form["values"]]
    elif form.get("kind") == "range":
        lo, hi, step = form["min"], form["max"], form["step"] or 1
        entries = [(v, str(v)) for v in range(lo, hi + 1, step)]
    else:
        return []
    out = []
    for value, label in entries:
        ev = parse_ev(label)
        if ev is None and isinstance(value, int):
            ev = Fraction(value, 1000)  # PTP: ExposureBiasCompensation is in 0.001 EV
        if ev is not None:
            out.append((ev, value, label))
    return out


def plan(steps: list[str], allowed: list[tuple[Fraction, Any, str]]) -> list[tuple[Any, str]]:
    """The camera value and label of each requested step (the nearest allowed within 0.05 EV)."""
    out = []
    for step in steps:
        ev = parse_ev(step)
        if ev is None:
            raise ValueError(f"{step!r} is not an exposure bias (write -1, +2/3, -1 1/3, 0.7…)")
        best = min(allowed, key=lambda a: abs(a[0] - ev), default=None)
        if best is None or abs(best[0] - ev) > Fraction(1, 20):
            labels = ", ".join(a[2] for a in allowed)
            raise ValueError(f"the camera does not allow {step} EV; it allows: {labels}")
        out.append((best[1], best[2]))
    return out


def write_inline(result: dict[str, Any], directory: Path, index: int, label: str) -> Path:
    ext = {"jpeg": "jpg"}.get(result.get("format") or "", result.get("format") or "bin")
    safe = label.replace("/", "_").replace(" ", "_").replace("+", "p").replace("-", "m") or "0"
    return write_atomically(result, directory / f"bracket-{index:02d}_{safe}EV.{ext}")


class WriteFailed(Exception):
    """A picture was taken but could not be written on this machine."""


def shoot(client: Client, output: Path | None, note: PreviewNote, index: int, label: str) -> str:
    """Takes one picture; returns where it is (the daemon's path, its handle, or the file written)."""
    if output is None:
        result = client.call("capture")
        note.check(result)
        return str(result.get("path") or f"handle {result.get('handle')}")
    result = client.call("capture", inline=True)
    note.check(result)
    try:
        return str(write_inline(result, output, index, label))
    except OSError as exc:
        kept = (
            f"the camera keeps it as handle {result['handle']}"
            if "handle" in result
            else "the full picture stays on the card"
        )
        raise WriteFailed(
            f"shot {index} taken, but cannot write it to {output}: {exc.strerror}; {kept}"
        ) from None


def bracket(client: Client, steps: list[str], output: Path | None) -> int:
    original = client.call("get", property=PROPERTY)
    if not original.get("writable", True):
        print(f"bracket.py: {PROPERTY} is read-only on this camera", file=sys.stderr)
        return EXIT_ERROR
    desc = client.call("describe", property=PROPERTY)
    try:
        shots = plan(steps, allowed_values(desc))
    except ValueError as exc:
        print(f"bracket.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{PROPERTY} is {original['label']}; {len(shots)} shot{'s' * (len(shots) != 1)}", flush=True)
    note = PreviewNote(output)
    try:
        for i, (value, _label) in enumerate(shots, 1):
            got = client.call("set", property=PROPERTY, value=value)
            where = shoot(client, output, note, i, got["label"])
            print(f"{i}/{len(shots)} {PROPERTY} {got['label']}: {where}", flush=True)
    finally:
        try:
            restored = client.call("set", property=PROPERTY, value=original["value"])
        except (RpcError, Unreachable) as exc:
            print(f"bracket.py: could not restore {PROPERTY} to {original['label']}: {exc}", file=sys.stderr)
            raise
        print(f"{PROPERTY} restored to {restored['label']}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bracket.py",
        description="Exposure bracketing: one picture per exposure bias, then the original bias back.",
        epilog="Exit codes: 0 done, 1 error from the daemon or camera, 2 usage, 105 ptpipd unreachable.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-s",
        "--socket",
        help="ptpipd's Unix socket (default $PTPIPD_SOCKET, $PTPIPCTL_SOCKET, else the one ptpipctl uses)",
    )
    where.add_argument(
        "-i", "--instance", help="the socket of ptpipd@INSTANCE (INSTANCE.sock, found as ptpipctl does)"
    )
    parser.add_argument(
        "--steps", default="-1,0,+1", help="comma-separated exposure biases in EV (default -1,0,+1)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write the pictures here (default: the daemon keeps them)"
    )
    args = parser.parse_args(argv)
    steps = [s for s in args.steps.split(",") if s.strip()]
    if not steps:
        parser.error("--steps is empty")
    for step in steps:  # the syntax now; whether the camera allows them once connected
        if parse_ev(step) is None:
            parser.error(f"--steps: {step!r} is not an exposure bias (write -1, +2/3, -1 1/3, 0.7…)")
    try:
        path = args.socket or (instance_socket(args.instance) if args.instance else default_socket())
    except ValueError as exc:
        parser.error(str(exc))
    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"bracket.py: cannot create {args.output}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        if not os.access(args.output, os.W_OK | os.X_OK):
            print(f"bracket.py: cannot write to {args.output}: permission denied", file=sys.stderr)
            return EXIT_ERROR
    try:
        client = Client(path)
    except Unreachable as exc:
        print(f"bracket.py: {exc} (is ptpipd running? use --socket or PTPIPD_SOCKET)", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        return bracket(client, steps, args.output)
    except (RpcError, WriteFailed) as exc:
        print(f"bracket.py: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Unreachable as exc:
        print(f"bracket.py: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())

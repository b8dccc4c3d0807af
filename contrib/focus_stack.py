#!/usr/bin/env python3
"""Focus stacking through ptpipd's JSON-RPC API (Python standard library only).

Steps the lens through focus distances and takes one picture at each, for stacking afterwards (e.g. with
enfuse or Helicon Focus). It uses the standard PTP property FocusDistance (0x5009, ``focusdistance``):
a camera that lists its distances (a lens's focus scale) is stepped along that list; one that offers a
range in millimetres (the simulated generic camera: 300 mm to infinity) gets steps spread evenly in
dioptres (1/distance), so that they are close together near the lens and far apart towards infinity, as
depth of field asks. A camera without it (the X-T1 over Wi-Fi: focus mode, focus point and focus lock
only) is told apart: the script says what the camera offers for focus and exits 3 without taking a
picture. The focus mode is switched to manual for the series, and focus distance and mode are put back
afterwards, also when a shot fails or the script is interrupted.

    focus_stack.py                          # 5 steps over the whole range
    focus_stack.py --shots 8 --near 300 --far 2000 -o stack/
    focus_stack.py -i studio                # the camera of ptpipd@studio

Exit codes: 0 done, 1 the daemon or the camera refused something, 2 usage, 3 the camera has no focus
steps, 105 ptpipd unreachable.
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
from pathlib import Path
from typing import Any

EXIT_ERROR, EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_UNREACHABLE = 1, 2, 3, 105
FOCUS = "focusdistance"
MODE = "focusmode"
UNKNOWN_PROPERTY, NOT_SUPPORTED = -32004, -32003
INFINITY = 0xFFFF  # PTP FocusDistance: 0xFFFF means infinity


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
            f"focus_stack.py: this camera hands over previews only (its capture result names no picture on the "
            f"card): the files {where}are small previews; the full pictures stay on the camera's card",
            file=sys.stderr,
            flush=True,
        )


class Unsupported(Exception):
    """The camera offers no focus steps."""


def dioptres(mm: int) -> float:
    """How strongly a distance is focused: 1000/mm (infinity, 0xFFFF, is 0)."""
    return 0.0 if mm == INFINITY else 1000.0 / mm


def focus_positions(desc: dict[str, Any]) -> list[int]:
    """The focus distances a camera lists (nearest first, infinity last); a range lists none."""
    form = desc.get("form", {})
    if form.get("kind") != "enum":
        return []
    return sorted(
        {v["value"] for v in form["values"] if isinstance(v["value"], int)}, key=lambda d: -dioptres(d)
    )


def choose(positions: list[int], shots: int, near: int | None, far: int | None) -> list[int]:
    """``shots`` of the listed positions between ``near`` and ``far`` (mm), spread evenly over the list."""
    within = [p for p in positions if (near is None or p >= near) and (far is None or p <= far)]
    if not within:
        raise ValueError(f"no focus distance between {near} and {far} mm; the camera allows {positions}")
    if shots >= len(within):
        return within
    if shots == 1:
        return [within[0]]
    return [within[round(k * (len(within) - 1) / (shots - 1))] for k in range(shots)]


def spread(form: dict[str, Any], shots: int, near: int | None, far: int | None) -> list[int]:
    """``shots`` distances of a range form between ``near`` and ``far`` (mm), even in dioptres, on the step
    grid: 300 mm to infinity in 5 shots is 300, 400, 600, 1200 mm and infinity."""
    lo, hi, step = form["min"], form["max"], form["step"] or 1
    first, last = max(lo, near if near is not None else lo), min(hi, far if far is not None else hi)
    if first > last:
        raise ValueError(f"no focus distance between {near} and {far} mm; the camera allows {lo} to {hi} mm")
    a, b = dioptres(first), dioptres(last)
    out: list[int] = []
    for k in range(shots):
        target = a + (b - a) * (k / (shots - 1) if shots > 1 else 0)
        if target <= b:
            mm = last
        elif target >= a:
            mm = first
        else:
            mm = min(last, max(first, lo + round((1000 / target - lo) / step) * step))
        if mm not in out:
            out.append(mm)
    return out


def describe_focus(client: Client) -> dict[str, Any]:
    """FocusDistance's description; :class:`Unsupported` (saying what the camera offers) without it."""
    try:
        desc: dict[str, Any] = client.call("describe", property=FOCUS)
    except RpcError as exc:
        if exc.code in (UNKNOWN_PROPERTY, NOT_SUPPORTED):
            raise Unsupported(
                "it does not let a client set the focus distance (PTP FocusDistance, 0x5009)" + offers(client)
            ) from None
        raise
    if not desc.get("writable"):
        raise Unsupported(
            "it reports its focus distance (0x5009) but does not let it be set" + offers(client)
        )
    kind = desc.get("form", {}).get("kind")
    if kind != "range" and len(focus_positions(desc)) < 2:
        raise Unsupported("it offers fewer than two focus distances" + offers(client))
    return desc


#: Properties that have to do with focus, by their unified names; ``info`` may list more (named *focus*).
FOCUS_NAMES = ("focusmode", "focusmtr", "focuslock")


def offers(client: Client) -> str:
    """``; what it offers for focus: focusmode (FocusMode) AF-S, one of …`` from the camera's own answers."""
    names = list(FOCUS_NAMES)
    try:
        info = client.call("info")
        names += [
            p["property"]
            for p in info.get("properties", [])
            if "focus" in (p["property"] + p["name"]).lower()
        ]
    except RpcError:
        pass
    found = []
    for name in dict.fromkeys(names):
        try:
            found.append(offered(client.call("describe", property=name)))
        except RpcError:
            continue
    if not found:
        return "; it offers no focus setting a client can see"
    return "; what it offers for focus: " + "; ".join(found) + ". Set the focus by hand between shots"


def offered(desc: dict[str, Any]) -> str:
    """One property as the refusal lists it: ``focusmtr (FocusPoint) 4x4, range 0x0..0x10090707``."""
    form = desc.get("form", {})
    if not desc.get("writable"):
        choices = "read-only"
    elif form.get("kind") == "enum":
        choices = "one of " + ", ".join(v["label"] for v in form["values"])
    elif form.get("kind") == "range":
        choices = f"range {form['min']:#x}..{form['max']:#x}"
    else:
        choices = "any value"
    return f"{desc['property']} ({desc['name']}) {desc['label']}, {choices}"


def manual_focus(client: Client) -> Any:
    """Switches to manual focus when the camera has a settable focus mode; returns the value to restore."""
    try:
        mode = client.call("get", property=MODE)
    except RpcError as exc:
        if exc.code in (UNKNOWN_PROPERTY, NOT_SUPPORTED):
            return None
        raise
    if not mode.get("writable") or mode["label"].lower() == "manual":
        return None
    client.call("set", property=MODE, value="manual")
    return mode["value"]


def save(result: dict[str, Any], directory: Path, index: int, label: str) -> Path:
    ext = {"jpeg": "jpg"}.get(result.get("format") or "", result.get("format") or "bin")
    return write_atomically(result, directory / f"focus-{index:02d}_{label.replace(' ', '')}.{ext}")


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
        return str(save(result, output, index, label))
    except OSError as exc:
        kept = (
            f"the camera keeps it as handle {result['handle']}"
            if "handle" in result
            else "the full picture stays on the card"
        )
        raise WriteFailed(
            f"shot {index} taken, but cannot write it to {output}: {exc.strerror}; {kept}"
        ) from None


def stack(client: Client, args: argparse.Namespace) -> int:
    try:
        desc = describe_focus(client)
    except Unsupported as exc:
        print(f"focus_stack.py: focus stacking is not possible with this camera: {exc}.", file=sys.stderr)
        return EXIT_UNSUPPORTED
    try:
        form = desc.get("form", {})
        if form.get("kind") == "range":
            targets = spread(form, args.shots, args.near, args.far)
        else:
            targets = choose(focus_positions(desc), args.shots, args.near, args.far)
    except ValueError as exc:
        print(f"focus_stack.py: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{FOCUS} is {desc['label']}; {len(targets)} shot{'s' * (len(targets) != 1)}", flush=True)
    old_mode = manual_focus(client)
    note = PreviewNote(args.output)
    try:
        for i, value in enumerate(targets, 1):
            got = client.call("set", property=FOCUS, value=value)
            where = shoot(client, args.output, note, i, got["label"])
            print(f"{i}/{len(targets)} {FOCUS} {got['label']}: {where}", flush=True)
    finally:
        try:
            restored = client.call("set", property=FOCUS, value=desc["value"])
            print(f"{FOCUS} restored to {restored['label']}", flush=True)
            if old_mode is not None:
                mode = client.call("set", property=MODE, value=old_mode)
                print(f"{MODE} restored to {mode['label']}", flush=True)
        except (RpcError, Unreachable) as exc:
            print(f"focus_stack.py: could not restore the focus settings: {exc}", file=sys.stderr)
            raise
    return 0


def distance(text: str) -> int:
    if text.strip().lower() in ("inf", "infinity"):
        return INFINITY
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a distance in mm: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a distance in mm: {text!r}")
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="focus_stack.py",
        description="Focus stacking: one picture per focus distance, then the focus settings back.",
        epilog="Exit codes: 0 done, 1 error from the daemon or camera, 2 usage, 3 the camera has no focus "
        "steps, 105 ptpipd unreachable.",
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
    parser.add_argument("-n", "--shots", type=positive, default=5, help="number of pictures (default 5)")
    parser.add_argument("--near", type=distance, help="nearest focus distance in mm (default: the lens's)")
    parser.add_argument(
        "--far", type=distance, help="farthest focus distance in mm or inf (default: the lens's)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write the pictures here (default: the daemon keeps them)"
    )
    args = parser.parse_args(argv)
    try:
        path = args.socket or (instance_socket(args.instance) if args.instance else default_socket())
    except ValueError as exc:
        parser.error(str(exc))
    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"focus_stack.py: cannot create {args.output}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        if not os.access(args.output, os.W_OK | os.X_OK):
            print(f"focus_stack.py: cannot write to {args.output}: permission denied", file=sys.stderr)
            return EXIT_ERROR
    try:
        client = Client(path)
    except Unreachable as exc:
        print(f"focus_stack.py: {exc} (is ptpipd running? use --socket or PTPIPD_SOCKET)", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        return stack(client, args)
    except (RpcError, WriteFailed) as exc:
        print(f"focus_stack.py: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Unreachable as exc:
        print(f"focus_stack.py: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())

"""The seed tool's text commands: one line in, one :class:`Command` (or a :class:`ParseError`) out. Pure.

Grammar (DESIGN.md §5, the seed's server mode; words are separated by blanks, command words and the
``json``/``pretty`` keywords are case-insensitive, a trailing ``\\r`` is ignored)::

    capture [PATH]                 aliases: shoot, shutter, snap
    info [json [pretty]]
    state [json [pretty]]
    describe PROP [json [pretty]]
    get PROP
    set PROP VALUE                 VALUE: the rest of the line (``set exp-bias -1 2/3``)
    opreq CODE [PARAM...]          CODE and up to five PARAMs in hex, with or without 0x
    help [COMMAND]
    auth TOKEN                     ours: only needed on a non-loopback listener with an auth_token

``PROP`` is tried as hex first, as the seed does (``0x5005`` or ``5005``: at most four hex digits), then taken
as a unified name (``iso``, ``exp-bias``…). ``VALUE`` is given to the daemon as typed: a label (``800``,
``auto``, ``+1/3``), a decimal integer or ``0x``-hex. (The seed's code read every value as hex, so that its
own README example ``set iso 800`` meant 0x800; we follow the README.) The seed's README gives ``set`` two
parameters, the property and the value; as labels hold blanks (``-1 2/3``, ``AI Servo``, ``Lo 1.0``, which
``get`` prints), the value is everything after the property, blanks inside kept as typed (a string property
gets them; a label matches whatever its blanks), so a script writes back what it read. (The seed's code
ignored words after the value; here they are part of it, and a value that is no label is the daemon's
invalid-value error.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The longest line accepted (bytes, without the newline); a longer one ends the connection.
MAX_LINE = 4096

ALIASES = {"shoot": "capture", "shutter": "capture", "snap": "capture"}

#: Usage and a one-line description of every command, in ``help`` order.
USAGE: dict[str, tuple[str, str]] = {
    "auth": (
        "auth TOKEN",
        "only off loopback, where the daemon has an auth_token: the first line, before the command "
        "(on loopback no command needs it)",
    ),
    "capture": (
        "capture [PATH]",
        "take a picture; the image (or preview) goes to PATH on the daemon's side, else to its capture "
        "directory (aliases: shoot, shutter, snap)",
    ),
    "describe": ("describe PROP [json [pretty]]", "a property's type, default and allowed values"),
    "get": ("get PROP", "a property's current value: its label and its value in hex"),
    "help": ("help [COMMAND]", "this list, or the usage of one command"),
    "info": ("info [json [pretty]]", "every property of the camera; json: the camera's description too"),
    "opreq": (
        "opreq CODE [PARAM...]",
        "run any operation (hex code, up to 5 hex parameters) and hex-dump the packets received",
    ),
    "set": (
        "set PROP VALUE",
        "write a property; VALUE is the rest of the line: a label as get prints it (-1 2/3, AI Servo), "
        "an integer or 0x-hex",
    ),
    "state": ("state [json [pretty]]", "the camera's state list (Fujifilm)"),
}

#: The seed's unified property names (``recmode`` is Fujifilm only).
PROPERTY_NAMES = (
    "delay",
    "effect",
    "exposure",
    "exp-bias",
    "flashmode",
    "focusmtr",
    "iso",
    "whitebalance",
    "recmode",
)

_PROP_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]{1,4})")
_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")


class ParseError(Exception):
    """A line that is not a valid command: ``command`` (None when unknown) and a one-line message."""

    def __init__(self, command: str | None, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.message = message

    def line(self) -> str:
        """The error line sent to the client (without newline)."""
        return f"{self.command} error: {self.message}" if self.command else self.message


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: the canonical ``name`` (an alias's command), and the arguments it takes."""

    name: str
    prop: str | int | None = None
    prop_text: str | None = None
    value: str | None = None
    path: str | None = None
    json: bool = False
    pretty: bool = False
    code: int | None = None
    params: tuple[int, ...] = ()
    topic: str | None = None
    token: str | None = None


def parse_property(text: str) -> str | int:
    """A property argument: a code when it reads as (at most 16-bit) hex, else the name."""
    m = _PROP_HEX.fullmatch(text)
    if m:
        return int(m.group(1), 16)
    return text


def parse_hex(text: str, bits: int, what: str, command: str) -> int:
    """A hex number (``0x`` optional) of at most ``bits`` bits; :class:`ParseError` otherwise."""
    m = _HEX.fullmatch(text)
    if not m:
        raise ParseError(command, f"{what} {text!r} is not a hex number (e.g. 0x1015)")
    value = int(m.group(1), 16)
    if value >= 1 << bits:
        raise ParseError(command, f"{what} {text!r} does not fit in {bits} bits")
    return value


def _usage(name: str) -> str:
    return f"usage: {USAGE[name][0]}"


def _json_flags(name: str, words: list[str]) -> tuple[bool, bool]:
    flags = [w.lower() for w in words]
    if flags == []:
        return False, False
    if flags == ["json"]:
        return True, False
    if flags == ["json", "pretty"]:
        return True, True
    raise ParseError(name, f"unexpected {' '.join(words)!r}; {_usage(name)}")


def _set(line: str) -> Command:
    """``set PROP VALUE``: VALUE is the rest of the line after PROP (blanks around it dropped)."""
    words = line.strip().split(None, 2)  # the same blanks as str.split(): [set, PROP, VALUE]
    if len(words) < 3:
        raise ParseError("set", f"missing {'a value' if words[1:] else 'a property'}; {_usage('set')}")
    return Command("set", prop=parse_property(words[1]), prop_text=words[1], value=words[2])


def parse(line: str) -> Command | None:
    """The command on ``line``; None for a blank line; :class:`ParseError` for anything else."""
    words = line.split()
    if not words:
        return None
    word, args = words[0], words[1:]
    name = ALIASES.get(word.lower(), word.lower())
    if name == "capture":
        if len(args) > 1:
            raise ParseError(name, f"too many arguments; {_usage(name)}")
        return Command(name, path=args[0] if args else None)
    if name in ("info", "state"):
        as_json, pretty = _json_flags(name, args)
        return Command(name, json=as_json, pretty=pretty)
    if name == "set":
        return _set(line)
    if name in ("get", "describe"):
        if not args:
            raise ParseError(name, f"missing a property; {_usage(name)}")
        if name == "get" and len(args) > 1:
            raise ParseError(name, f"too many arguments; {_usage(name)}")
        as_json, pretty = _json_flags(name, args[1:]) if name == "describe" else (False, False)
        return Command(name, prop=parse_property(args[0]), prop_text=args[0], json=as_json, pretty=pretty)
    if name == "opreq":
        if not args:
            raise ParseError(name, f"missing the operation code; {_usage(name)}")
        if len(args) > 6:
            raise ParseError(name, f"at most 5 parameters; {_usage(name)}")
        code = parse_hex(args[0], 16, "operation code", name)
        params = tuple(parse_hex(a, 32, "parameter", name) for a in args[1:])
        return Command(name, code=code, params=params)
    if name == "help":
        if len(args) > 1:
            raise ParseError(name, f"too many arguments; {_usage(name)}")
        topic = args[0].lower() if args else None
        if topic is not None:
            topic = ALIASES.get(topic, topic)
            if topic not in USAGE:
                raise ParseError(name, f"unknown command {args[0]!r}; commands: {', '.join(USAGE)}")
        return Command(name, topic=topic)
    if name == "auth":
        if len(args) != 1:
            raise ParseError(name, _usage(name))
        return Command(name, token=args[0])
    raise ParseError(None, f"unknown command {word!r}; try 'help' (commands: {', '.join(USAGE)})")


def help_text(topic: str | None = None) -> str:
    """The ``help`` output: every command with its usage, or one command's."""
    if topic is not None:
        usage, about = USAGE[topic]
        return f"{usage}\n    {about}\n"
    width = max(len(u) for u, _ in USAGE.values()) + 2
    lines = ["Supported commands:"]
    lines += [f"  {usage.ljust(width)}{about}" for usage, about in USAGE.values()]
    lines.append(
        f"PROP: a hex code (0x5005 or 5005) or a name: {', '.join(PROPERTY_NAMES)}, and more (see info)."
    )
    lines.append("One command per connection unless the server keeps connections open ([server] keep_open).")
    return "\n".join(lines) + "\n"

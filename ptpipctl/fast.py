"""The fast path: well-formed command lines, parsed from the declarations without importing typer.

Importing typer costs several times Python's own start-up, while ``ptpipctl get iso`` itself needs a few
milliseconds. So :func:`parse` reads a strict subset of what the typer interface (:mod:`ptpipctl.cli`)
accepts, from the same declarations (:mod:`ptpipctl.declare`), and :func:`run_fast` calls the command's
function the same way typer does. Anything else — help, completion, a missing or extra argument, an unknown
or repeated option, an option value that looks like an option, ``--``, an argument starting with ``-``
(except where the command declares ``dash_values``), a value that does not convert — returns None, and typer
handles it with its usage errors (exit 2). The tests run the same command lines both ways and compare output
and exit codes. ``PTPIPCTL_FAST=0`` turns the fast path off.
"""

from __future__ import annotations

import os

from ptpipctl.declare import GLOBAL_OPTIONS, load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ptpipctl.declare import Command, Opt

_HELP = ("--", "-h", "--help")


class Invocation:
    """A parsed command line: the command, the global options given, every parameter's value."""

    __slots__ = ("command", "globals", "values")

    def __init__(self, command: Command, globals_: dict[str, object], values: dict[str, object]) -> None:
        self.command = command
        self.globals = globals_
        self.values = values


def parse(args: list[str]) -> Invocation | None:
    """The invocation, or None when the command line is not in the fast path's subset."""
    given: dict[str, object] = {}
    options = {o.name: o for o in GLOBAL_OPTIONS}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i = _option(args, i, options, given)
        if i < 0:
            return None
    command = load(args[i]).get(args[i]) if i < len(args) else None
    if command is None:
        return None
    values = _values(command, args[i + 1 :])
    return None if values is None else Invocation(command, given, values)


def _option(args: list[str], i: int, options: dict[str, Opt], given: dict[str, object]) -> int:
    """Reads the option with a value at ``args[i]`` into ``given``; the next index, or -1 to decline."""
    name, eq, value = args[i].partition("=")
    opt = options.get(name)
    if opt is None or not opt.takes_value or (opt.dest in given and not opt.many):
        return -1
    if not eq:
        i += 1
        if i >= len(args):
            return -1
        value = args[i]
    if value.startswith("-"):
        return -1
    try:
        converted = opt.convert(value)
    except ValueError:
        return -1
    if opt.many:
        previous = given.get(opt.dest, ())
        given[opt.dest] = (*previous, converted) if isinstance(previous, tuple) else (converted,)
    else:
        given[opt.dest] = converted
    return i + 1


def _values(command: Command, words: list[str]) -> dict[str, object] | None:
    """Every parameter's value from the words after the command name; None to decline."""
    options = {o.name: o for o in command.options()}
    switches = {o.off: o for o in command.options() if o.off}
    values: dict[str, object] = {}
    positionals: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _HELP:
            return None
        name = word.partition("=")[0]
        if word == "-" or not word.startswith("-"):
            positionals.append(word)
        elif name in options and options[name].takes_value:
            i = _option(words, i, options, values) - 1
            if i < 0:
                return None
        elif word in options or word in switches:
            opt = options.get(word) or switches[word]
            if opt.dest in values:
                return None
            values[opt.dest] = word in options
        elif command.dash_values and name not in options:
            positionals.append(word)
        else:
            return None
        i += 1
    return _positionals(command, positionals, values)


def _positionals(command: Command, words: list[str], values: dict[str, object]) -> dict[str, object] | None:
    try:
        for arg in command.args():
            if arg.many:
                values[arg.dest] = tuple(arg.convert(w) for w in words)
                words = []
            elif words:
                values[arg.dest] = arg.convert(words.pop(0))
            elif arg.required:
                return None
    except ValueError:
        return None
    return None if words else {**command.defaults(), **values}


def run_fast(args: list[str]) -> int | None:
    """Runs the command line if the fast path takes it; None to hand it to typer."""
    if os.environ.get("PTPIPCTL_FAST") == "0" or "_PTPIPCTL_COMPLETE" in os.environ:
        return None
    invocation = parse(args)
    if invocation is None:
        return None
    from ptpipctl.commands import Globals, execute

    g = Globals(**invocation.globals)  # type: ignore[arg-type]
    return execute(invocation.command.func, g, **invocation.values)

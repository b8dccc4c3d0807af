"""The fast path: well-formed command lines, parsed from the declarations without importing typer.

:func:`parse` reads a strict subset of what the typer interface (:mod:`ptpipctl.cli`) accepts, from the same
declarations (:mod:`ptpipctl.declare`), and :func:`run_fast` calls the command as typer would. Anything else
— help, completion, a missing or extra argument, an unknown or repeated option, an option value that looks
like an option, ``--``, an argument starting with ``-`` (unless the command declares ``dash_values``), a
value that does not convert — returns None and typer handles it, with its usage errors (exit 2). The tests
run the same command lines both ways and compare. ``PTPIPCTL_FAST=0`` turns the fast path off.
"""

from __future__ import annotations

import os

from ptpipctl.declare import GLOBAL_OPTIONS, load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ptpipctl.declare import Command, Param

    Values = dict[str, Any]


class Decline(Exception):
    """Not in the fast path's subset: typer handles the command line."""


def parse(args: list[str]) -> tuple[Command, Values, Values] | None:
    """The command, the global options given and every parameter's value; None to leave it to typer."""
    try:
        given: Values = {}
        options = {o.name: o for o in GLOBAL_OPTIONS}
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i = _option(args, i, options.get(args[i].partition("=")[0]), given)
        command = load(args[i]).get(args[i]) if i < len(args) else None
        if command is None:
            return None
        return command, given, _values(command, args[i + 1 :])
    except (Decline, ValueError):
        return None


def _option(args: list[str], i: int, opt: Param | None, values: Values) -> int:
    """Reads the option at ``args[i]`` into ``values``; the index after it."""
    if opt is None or (opt.dest in values and not opt.many):
        raise Decline
    name, eq, value = args[i].partition("=")
    if not opt.takes_value:
        if eq:
            raise Decline
        values[opt.dest] = args[i] != opt.off
        return i + 1
    if eq and not name.startswith("--"):  # click reads -o=FILE as the value "=FILE"
        raise Decline
    if not eq:
        i += 1
        value = args[i] if i < len(args) else "--"
    if value.startswith("-") and value != "-":  # "-" is a value (stdout) to click too
        raise Decline
    converted = opt.convert(value)
    values[opt.dest] = (*values.get(opt.dest, ()), converted) if opt.many else converted
    return i + 1


def _values(command: Command, words: list[str]) -> Values:
    """Every parameter's value from the words after the command name."""
    options = {name: p for p in command.params if not p.is_arg for name in (p.name, p.off, p.short) if name}
    values: Values = {}
    positionals: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        opt = options.get(word.partition("=")[0])
        dashed = word.startswith("-") and word != "-"
        if word in ("--", "-h", "--help") or (dashed and not opt and not command.dash_values):
            raise Decline
        if opt:
            i = _option(words, i, opt, values)
        else:
            positionals.append(word)
            i += 1
    for arg in (p for p in command.params if p.is_arg):
        if arg.many:
            if arg.required and not positionals:
                raise Decline
            values[arg.dest] = tuple(map(arg.convert, positionals))
            positionals = []
        elif positionals:
            values[arg.dest] = arg.convert(positionals.pop(0))
        elif arg.required:
            raise Decline
    if positionals:
        raise Decline
    return {p.dest: p.default for p in command.params} | values


def run_fast(args: list[str]) -> int | None:
    """Runs the command line if the fast path takes it; None to hand it to typer."""
    if os.environ.get("PTPIPCTL_FAST") == "0" or "_PTPIPCTL_COMPLETE" in os.environ:
        return None
    parsed = parse(args)
    if parsed is None:
        return None
    from ptpipctl.commands import Globals, execute

    command, given, values = parsed
    return execute(command.func, Globals(**given), **values)

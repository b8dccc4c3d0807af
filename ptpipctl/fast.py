"""The fast path: well-formed invocations of the common commands, run without importing typer.

Importing typer costs ~35 ms, several times Python's own start-up (~8 ms), while ``ptpipctl get iso`` itself
needs a few milliseconds. So :func:`run_fast` recognises a strict subset of the command line that typer
(:mod:`ptpipctl.cli`, the definition of the interface) would accept, and for it calls the very same command
function through the same :func:`~ptpipctl.commands.execute`. Anything else — help, completion, a missing or
extra argument, an unknown or repeated option, an option value that looks like an option, ``--``, a value
starting with ``-``, a ``--timeout`` that is not a number — returns None, and typer handles it (with its
usage errors, exit 2). The tests run the same command lines both ways and compare output and exit codes.

Accepted: ``[GLOBAL...] COMMAND [ARG|FLAG...]`` where GLOBAL is ``--socket``, ``--tcp``, ``--token``,
``--instance`` or ``--timeout`` with a value (``--opt VALUE`` or ``--opt=VALUE``), and COMMAND one of
``status info state get set describe files opreq call`` with exactly its positional arguments and its flags
(``--json``; ``--pretty`` for info, state, describe and call) in any order. ``PTPIPCTL_FAST=0`` turns the fast path off.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

GLOBAL_OPTIONS = {
    "--socket": "socket",
    "--tcp": "tcp",
    "--token": "token",
    "--instance": "instance",
    "--timeout": "timeout",
}

# command: (module, function, minimum positionals, maximum positionals or -1, flags → keyword)
COMMANDS: dict[str, tuple[str, str, int, int, dict[str, str]]] = {
    "status": ("status", "status", 0, 0, {"--json": "as_json"}),
    "info": ("camera", "info", 0, 0, {"--json": "as_json", "--pretty": "pretty"}),
    "state": ("camera", "state", 0, 0, {"--json": "as_json", "--pretty": "pretty"}),
    "get": ("properties", "get", 1, 1, {"--json": "as_json"}),
    "set": ("properties", "set_", 2, 2, {"--json": "as_json"}),
    "describe": ("properties", "describe", 1, 1, {"--json": "as_json", "--pretty": "pretty"}),
    "files": ("images", "files", 0, 0, {"--json": "as_json"}),
    "opreq": ("raw", "opreq", 1, -1, {"--json": "as_json"}),
    "call": ("raw", "call", 1, 2, {"--pretty": "pretty", "--json": ""}),
}


class Invocation:
    """A parsed fast-path command line."""

    __slots__ = ("command", "flags", "globals", "positionals")

    def __init__(
        self, globals_: dict[str, str], command: str, positionals: list[str], flags: dict[str, bool]
    ) -> None:
        self.globals = globals_
        self.command = command
        self.positionals = positionals
        self.flags = flags


def parse(args: list[str]) -> Invocation | None:
    """The invocation, or None when the command line is not in the fast path's subset."""
    globals_: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, eq, value = args[i].partition("=")
        key = GLOBAL_OPTIONS.get(name)
        if key is None or key in globals_:
            return None
        if not eq:
            i += 1
            if i >= len(args):
                return None
            value = args[i]
        if value.startswith("-"):
            return None
        globals_[key] = value
        i += 1
    if i >= len(args) or args[i] not in COMMANDS:
        return None
    command = args[i]
    _, _, least, most, known = COMMANDS[command]
    positionals: list[str] = []
    flags: dict[str, bool] = {}
    for arg in args[i + 1 :]:
        if arg.startswith("-"):
            if arg not in known or arg in flags:
                return None
            flags[arg] = True
        else:
            positionals.append(arg)
    if len(positionals) < least or (most >= 0 and len(positionals) > most):
        return None
    if "timeout" in globals_:
        try:
            float(globals_["timeout"])
        except ValueError:
            return None  # typer words the usage error
    return Invocation(globals_, command, positionals, flags)


def run_fast(args: list[str]) -> int | None:
    """Runs the command line if the fast path takes it; None to hand it to typer."""
    if os.environ.get("PTPIPCTL_FAST") == "0" or "_PTPIPCTL_COMPLETE" in os.environ:
        return None
    inv = parse(args)
    if inv is None:
        return None
    timeout = float(inv.globals["timeout"]) if "timeout" in inv.globals else None
    from ptpipctl.commands import Globals, execute

    module, function, _, _, known = COMMANDS[inv.command]
    # __import__ rather than importlib.import_module: importlib is one more module to load
    command: Callable[..., None] = getattr(
        __import__(f"ptpipctl.commands.{module}", fromlist=[function]), function
    )
    g = Globals(
        socket=inv.globals.get("socket"),
        tcp=inv.globals.get("tcp"),
        token=inv.globals.get("token"),
        instance=inv.globals.get("instance"),
        timeout=timeout,
    )
    keywords = {known[flag]: True for flag in inv.flags if known[flag]}
    positionals: list[object] = list(inv.positionals)
    if inv.command == "opreq":
        positionals = [inv.positionals[0], tuple(inv.positionals[1:])]
    return execute(command, g, *positionals, **keywords)

"""One declaration per command, from which both interfaces are derived.

A command is a function in a module of :mod:`ptpipctl.commands`, declared with :func:`command`; its docstring
is its help, its parameters are :class:`Param` objects::

    @command(PROP, JSON)
    def get(g: Globals, prop: str, *, as_json: bool) -> None:
        \"\"\"A property's current value.\"\"\"

:mod:`ptpipctl.fast` parses well-formed command lines from the declarations without importing typer (ten
times Python's start-up); :mod:`ptpipctl.cli` builds the typer application (help, completion, usage errors)
from them. Both call ``func(globals, **values)`` with one keyword per parameter (its ``dest``).

A new command is one such function in the module of its noun (a new module is added to :data:`MODULES`);
the tests then ask for a fast-path case (``tests/cli/test_paths.py``) and its README row.
"""

from __future__ import annotations

from ptpipctl.client import ENV_HTTP, ENV_INSTANCE, ENV_SOCKET, ENV_TCP, ENV_TIMEOUT, ENV_TOKEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    #: A completer: (the global options, the word so far, the values parsed so far) → candidates.
    Completer = Callable[[Any, str, dict[str, Any]], list[str]]

#: The modules of :mod:`ptpipctl.commands` in help order, the most used first: the fast path imports them
#: in this order only until it has the command it runs.
MODULES = ("properties", "images", "card", "status", "camera", "live", "events", "raw")


class Param:
    """A positional argument (``name`` is its METAVAR) or an option (``name`` starts with ``--``): a flag
    (False, or True when given), a switch pair with ``off`` (None, True or False), or an option with a
    value when ``metavar`` is set. ``many``: repeatable or the rest of the line (a tuple; an argument then
    optional unless ``required`` is given); ``kind`` converts the text, within ``bounds``; ``complete``
    offers shell completions; ``short`` is an option's one-letter name (``-o``) beside its long one."""

    def __init__(
        self,
        name: str,
        dest: str,
        help: str,
        *,
        metavar: str | None = None,
        off: str | None = None,
        many: bool = False,
        required: bool | None = None,
        kind: type[str] | type[int] | type[float] = str,
        bounds: tuple[int, int] | None = None,
        default: object = None,
        env: str | None = None,
        complete: Completer | None = None,
        short: str | None = None,
    ) -> None:
        self.name, self.dest, self.help, self.metavar, self.off = name, dest, help, metavar, off
        self.short = short
        self.many, self.kind, self.bounds, self.env, self.complete = many, kind, bounds, env, complete
        self.is_arg = not name.startswith("-")
        self.required = self.is_arg and (not many if required is None else required)
        self.takes_value = self.is_arg or metavar is not None
        flag = not self.takes_value and off is None
        self.default = () if many else False if flag else default

    def convert(self, text: str) -> object:
        """The value of ``text``; ``ValueError`` when typer might see it otherwise (typer then decides)."""
        if self.kind is str:
            return text
        if not (text.isascii() and text.replace(".", "", int(self.kind is float)).isdigit()):
            raise ValueError(text)
        value = float(text) if self.kind is float else int(text)
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            raise ValueError(text)
        return value


class Command:
    """A declared command: its name, aliases, parameters and function; ``dash_values``: an argument may
    start with ``-`` (``set exp-bias -1/3``), as click's ``ignore_unknown_options``."""

    def __init__(
        self,
        func: Callable[..., None],
        params: tuple[Param, ...],
        aliases: tuple[str, ...],
        dash_values: bool,
    ) -> None:
        self.name = func.__name__.rstrip("_")
        self.func, self.params, self.aliases, self.dash_values = func, params, aliases, dash_values
        self.help = " ".join((func.__doc__ or "").split()) + (
            f" Aliases: {', '.join(aliases)}." if aliases else ""
        )


#: Every command by name and alias, filled by :func:`command` as :func:`load` imports the modules.
COMMANDS: dict[str, Command] = {}


def command(
    *params: Param, aliases: tuple[str, ...] = (), dash_values: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declares the decorated function as the command named after it (a trailing ``_`` dropped)."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        declared = Command(func, params, aliases, dash_values)
        COMMANDS.update(dict.fromkeys((declared.name, *aliases), declared))
        return func

    return register


def load(name: str | None = None) -> dict[str, Command]:
    """The commands, after importing the command modules until ``name`` is declared (all of them for None)."""
    for module in MODULES:
        if name in COMMANDS:
            break
        __import__(f"ptpipctl.commands.{module}")
    return COMMANDS


def commands() -> list[Command]:
    """Every command once, in help order."""
    return list({id(c): c for c in load().values()}.values())


JSON = Param("--json", "as_json", "Print the daemon's result as JSON, for scripts.")
PRETTY = Param("--pretty", "pretty", "Indented JSON (implies --json).")
PROGRESS = Param(
    "--progress", "progress", "Show a progress bar (default: when stderr is a terminal).", off="--no-progress"
)

#: The global options, given before the command; each also read from its environment variable.
GLOBAL_OPTIONS = tuple(
    Param(f"--{dest}", dest, help, metavar=metavar, env=env)
    for dest, metavar, env, help in (
        (
            "socket",
            "PATH",
            ENV_SOCKET,
            "The daemon's Unix socket (default: /run/ptpipd/ptpipd.sock as root, else "
            "$XDG_RUNTIME_DIR/ptpipd/ptpipd.sock, else /tmp/ptpipd-$UID/ptpipd.sock).",
        ),
        ("tcp", "HOST:PORT", ENV_TCP, "Reach the daemon over TCP instead."),
        ("token", "TOKEN", ENV_TOKEN, "The daemon's auth_token (sent over TCP)."),
        (
            "instance",
            "NAME",
            ENV_INSTANCE,
            "A named daemon instance: the socket NAME.sock beside the default one.",
        ),
        ("timeout", "SECONDS", ENV_TIMEOUT, "How long to wait for the daemon's answer (default 120)."),
        (
            "http",
            "ADDRESS",
            ENV_HTTP,
            "The daemon's HTTP data plane (pictures, live view): HOST:PORT or a socket path (default: "
            "NAME-http.sock beside the daemon's socket; with --tcp, the port its status reports).",
        ),
    )
)

"""One declaration per command: what it is called, its arguments and options, and the function that runs it.

A command is a function in a module of :mod:`ptpipctl.commands`, decorated with :func:`command`::

    @command(PROP, JSON)
    def get(g: Globals, prop: str, *, as_json: bool = False) -> None:
        \"\"\"A property's current value.\"\"\"

The declaration is plain data (no typer here: importing typer costs ten times Python's start-up). Both
interfaces are derived from it: :mod:`ptpipctl.fast` parses the well-formed command lines itself and
:mod:`ptpipctl.cli` builds the typer application (help, completion, usage errors) for everything else. Either
way the function is called as ``func(globals, **values)`` with one keyword per declared parameter (its
``dest``), so both paths print the same bytes. The docstring is the command's help.

The global options (:data:`GLOBAL_OPTIONS`) are declared here the same way.
"""

from __future__ import annotations

from ptpipctl.client import ENV_INSTANCE, ENV_SOCKET, ENV_TCP, ENV_TIMEOUT, ENV_TOKEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    #: A completer: (the global options, the word so far, the values parsed so far) → candidates.
    Completer = Callable[[Any, str, dict[str, Any]], list[str]]

#: The modules of :mod:`ptpipctl.commands`, in the order their commands are listed in the help; the most
#: used first, as the fast path imports them in this order only until it finds the command it runs.
MODULES = ("properties", "status", "camera", "images", "events", "raw")


class Arg:
    """A positional argument: ``kind`` converts the text (``ValueError`` for a bad one), ``many`` takes the
    rest of the command line (a tuple), ``required=False`` makes it optional (None when not given)."""

    __slots__ = ("complete", "dest", "help", "kind", "many", "maximum", "metavar", "minimum", "required")

    def __init__(
        self,
        dest: str,
        metavar: str,
        help: str,
        *,
        required: bool = True,
        many: bool = False,
        kind: type[str] | type[int] = str,
        minimum: int | None = None,
        maximum: int | None = None,
        complete: Completer | None = None,
    ) -> None:
        self.dest = dest
        self.metavar = metavar
        self.help = help
        self.required = required and not many
        self.many = many
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.complete = complete

    def convert(self, text: str) -> object:
        """The value of ``text``; ``ValueError`` when typer would refuse it (then typer words the error)."""
        if self.kind is str:
            return text
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        value = int(text)
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ValueError(text)
        return value

    def default(self) -> object:
        """The value when the argument is not given."""
        return () if self.many else None


class Opt:
    """An option: a flag (``--json``: False, or True when given), a switch pair (``off="--no-progress"``:
    None, True or False), or an option with a value (``metavar`` set; ``many``: repeatable, a tuple)."""

    __slots__ = ("complete", "default", "dest", "env", "help", "kind", "many", "metavar", "name", "off")

    def __init__(
        self,
        name: str,
        dest: str,
        help: str,
        *,
        metavar: str | None = None,
        off: str | None = None,
        many: bool = False,
        kind: type[str] | type[float] = str,
        default: object = None,
        env: str | None = None,
        complete: Completer | None = None,
    ) -> None:
        self.name = name
        self.dest = dest
        self.help = help
        self.metavar = metavar
        self.off = off
        self.many = many
        self.kind = kind
        self.default = () if many else False if metavar is None and off is None else default
        self.env = env
        self.complete = complete

    @property
    def takes_value(self) -> bool:
        """True for ``--opt VALUE``."""
        return self.metavar is not None

    def convert(self, text: str) -> object:
        """The value of ``text`` (``ValueError``: typer words the usage error)."""
        return float(text) if self.kind is float else text


Param = Arg | Opt


class Command:
    """A declared command."""

    __slots__ = ("aliases", "dash_values", "func", "help", "name", "params")

    def __init__(
        self,
        name: str,
        func: Callable[..., None],
        params: tuple[Param, ...],
        aliases: tuple[str, ...],
        dash_values: bool,
    ) -> None:
        self.name = name
        self.func = func
        self.params = params
        self.aliases = aliases
        self.dash_values = dash_values
        doc = " ".join((func.__doc__ or "").split("\n\n")[0].split())
        self.help = doc + (f" Aliases: {', '.join(aliases)}." if aliases else "")

    def args(self) -> list[Arg]:
        """The positional arguments, in order."""
        return [p for p in self.params if isinstance(p, Arg)]

    def options(self) -> list[Opt]:
        """The options."""
        return [p for p in self.params if isinstance(p, Opt)]

    def defaults(self) -> dict[str, object]:
        """Every parameter's value when not given."""
        return {p.dest: p.default() if isinstance(p, Arg) else p.default for p in self.params}


#: Every command by name and alias, filled by :func:`command` as :func:`load` imports the modules.
COMMANDS: dict[str, Command] = {}


def command(
    *params: Param, name: str | None = None, aliases: tuple[str, ...] = (), dash_values: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declares the decorated function as a command (named after it, a trailing ``_`` dropped).

    ``dash_values``: an argument may start with ``-`` (``set exp-bias -1/3``), as click's
    ``ignore_unknown_options``.
    """

    def register(func: Callable[..., None]) -> Callable[..., None]:
        cmd = Command(name or func.__name__.rstrip("_"), func, params, aliases, dash_values)
        for word in (cmd.name, *aliases):
            COMMANDS[word] = cmd
        return func

    return register


def load(name: str | None = None) -> dict[str, Command]:
    """The commands declared so far, after importing the command modules until ``name`` is declared (every
    module when ``name`` is None or unknown)."""
    for module in MODULES:
        if name is not None and name in COMMANDS:
            break
        __import__(f"ptpipctl.commands.{module}")
    return COMMANDS


def commands() -> list[Command]:
    """Every command once, in help order."""
    return list({id(c): c for c in load().values()}.values())


# ------------------------------------------------------------------------------------ shared parameters

JSON = Opt("--json", "as_json", "Print the daemon's result as JSON, for scripts.")
PRETTY = Opt("--pretty", "pretty", "Indented JSON (implies --json).")
PROGRESS = Opt(
    "--progress", "progress", "Show a progress bar (default: when stderr is a terminal).", off="--no-progress"
)

#: The global options, given before the command; each also read from its environment variable.
GLOBAL_OPTIONS = (
    Opt(
        "--socket",
        "socket",
        "The daemon's Unix socket (default: /run/ptpipd/ptpipd.sock as root, else "
        "$XDG_RUNTIME_DIR/ptpipd/ptpipd.sock, else /tmp/ptpipd-$UID/ptpipd.sock).",
        metavar="PATH",
        env=ENV_SOCKET,
    ),
    Opt("--tcp", "tcp", "Reach the daemon over TCP instead.", metavar="HOST:PORT", env=ENV_TCP),
    Opt("--token", "token", "The daemon's auth_token (sent over TCP).", metavar="TOKEN", env=ENV_TOKEN),
    Opt(
        "--instance",
        "instance",
        "A named daemon instance: the socket NAME.sock beside the default one.",
        metavar="NAME",
        env=ENV_INSTANCE,
    ),
    Opt(
        "--timeout",
        "timeout",
        "How long to wait for the daemon's answer (default 120).",
        metavar="SECONDS",
        kind=float,
        env=ENV_TIMEOUT,
    ),
)

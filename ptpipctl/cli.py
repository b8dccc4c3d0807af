"""The typer interface, built from the declarations (:mod:`ptpipctl.declare`): help, version, usage errors,
shell completion, and every command line the fast path (:mod:`ptpipctl.fast`) leaves to it.

Each command's signature is built from its parameters; the callback calls the command function through
:func:`~ptpipctl.commands.execute`, as the fast path does. Only global options given on the command line are
passed on (:meth:`ptpipctl.client.Globals.target` reads the environment, for both paths). Completers get the
global options of the command line being completed, so they ask the daemon that command would reach.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer
import typer.core

from ptpipctl import __version__
from ptpipctl.commands import Globals, execute
from ptpipctl.declare import GLOBAL_OPTIONS, Command, Param, commands

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ptpipctl.declare import Completer

app = typer.Typer(
    name="ptpipctl",
    help="Control a camera through ptpipd (JSON-RPC on its Unix socket or TCP).",
    epilog="Exit codes: 0 ok, 1 error from the daemon or the camera (its message on stderr), 2 usage, "
    "105 daemon unreachable.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
KEYWORD = inspect.Parameter.KEYWORD_ONLY
CONTEXT = inspect.Parameter("ctx", KEYWORD, annotation=typer.Context)


def _globals(ctx: typer.Context) -> Globals:
    """The global options given on the command line."""
    root = ctx.find_root()
    given = [
        o.dest
        for o in GLOBAL_OPTIONS
        if getattr(root.get_parameter_source(o.dest), "name", "") == "COMMANDLINE"
    ]
    return Globals(**{dest: root.params[dest] for dest in given})


def _completer(complete: Completer | None) -> Callable[..., list[str]] | None:
    def run(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            return complete(_globals(ctx), incomplete, dict(ctx.params)) if complete else []
        except Exception:  # silent: no candidates rather than a traceback in the shell
            return []

    return run if complete else None


def _parameter(p: Param) -> inspect.Parameter:
    """The typer parameter of a declared one."""
    common: dict[str, Any] = {"help": p.help, "show_default": False, "autocompletion": _completer(p.complete)}
    each: Any = p.kind  # list[int] for many HANDLE arguments: typer converts and bounds each one
    kind: Any = list[each] if p.many else p.kind if p.takes_value else bool if p.off is None else bool | None
    if p.is_arg:
        low, high = p.bounds or (None, None)
        info: Any = typer.Argument(metavar=p.name, min=low, max=high, **common)
    else:
        names = [f"{p.name}/{p.off}" if p.off else p.name, *([p.short] if p.short else [])]
        info = typer.Option(*names, metavar=p.metavar, envvar=p.env, **common)
    default = inspect.Parameter.empty if p.required else p.default
    if default is None or (p.many and not p.required):
        kind, default = kind | None, None
    return inspect.Parameter(p.dest, KEYWORD, default=default, annotation=Annotated[kind, info])


def _callback(command: Command) -> Callable[..., None]:
    """The typer callback of a declared command."""

    def run(ctx: typer.Context, **values: Any) -> None:
        values |= {p.dest: tuple(values[p.dest] or ()) for p in command.params if p.many}
        code = execute(command.func, _globals(ctx), **values)
        if code:
            raise typer.Exit(code)

    run.__signature__ = inspect.Signature([CONTEXT, *map(_parameter, command.params)])  # type: ignore[attr-defined]
    return run


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ptpipctl {__version__}")
        raise typer.Exit()


def _main_options(ctx: typer.Context, **_: Any) -> None:
    """Control a camera through ptpipd."""


_VERSION = typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
_main_options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        CONTEXT,
        *map(_parameter, GLOBAL_OPTIONS),
        inspect.Parameter("version", KEYWORD, default=False, annotation=Annotated[bool, _VERSION]),
    ]
)
app.callback()(_main_options)

for _command in commands():
    _run = _callback(_command)
    _settings = {"ignore_unknown_options": True} if _command.dash_values else None
    app.command(_command.name, help=_command.help, context_settings=_settings)(_run)
    for _alias in _command.aliases:
        app.command(_alias, hidden=True, help=f"Alias of {_command.name}.", context_settings=_settings)(_run)


@app.command("help")
def help_(
    ctx: typer.Context,
    command: Annotated[str | None, typer.Argument(metavar="COMMAND", help="The command to explain.")] = None,
) -> None:
    """The help of ptpipctl, or of one command (as the seed tool's help COMMAND)."""
    parent = ctx.parent
    assert parent is not None
    if command is None:
        typer.echo(parent.get_help())
        return
    group = parent.command
    sub = group.get_command(parent, command) if isinstance(group, typer.core.TyperGroup) else None
    if sub is None:
        raise typer.BadParameter(f"no such command {command!r}", param_hint="'COMMAND'")
    typer.echo(sub.get_help(typer.Context(sub, info_name=command, parent=parent)))


def run(argv: list[str] | None) -> int:
    """Runs the typer interface; returns the exit code (usage errors: 2)."""
    try:
        app(args=argv, prog_name="ptpipctl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0

"""The typer interface, derived from the declarations (:mod:`ptpipctl.declare`): help, version, usage errors,
shell completion, and every command line the fast path (:mod:`ptpipctl.fast`) leaves to it.

Each declared command becomes a typer command whose signature is built from its parameters; its callback
hands the values to the command function through :func:`~ptpipctl.commands.execute`, as the fast path does.
Global options take their environment variables through :func:`ptpipctl.client.resolve_target`, which both
paths use: options given on the command line win over the environment as a group. Completers run with the
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

EPILOG = (
    "Exit codes: 0 ok, 1 error from the daemon or the camera (its message on stderr), 2 usage, "
    "105 daemon unreachable."
)

app = typer.Typer(
    name="ptpipctl",
    help="Control a camera through ptpipd (JSON-RPC on its Unix socket or TCP).",
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def parse_timeout(text: str) -> float:
    """``--timeout``'s value; a bad one ends the command with exit 2."""
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"not a number of seconds: {text!r}", param_hint="'--timeout'") from None


def _globals(ctx: typer.Context) -> Globals:
    """The global options given on the command line (the environment is read by resolve_target)."""
    root = ctx.find_root()
    given: dict[str, Any] = {}
    for opt in GLOBAL_OPTIONS:
        source = root.get_parameter_source(opt.dest)
        value = root.params.get(opt.dest)
        if value is not None and source is not None and source.name == "COMMANDLINE":
            given[opt.dest] = parse_timeout(value) if opt.kind is float else value
    return Globals(**given)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ptpipctl {__version__}")
        raise typer.Exit()


def _completer(complete: Completer | None) -> Callable[..., list[str]] | None:
    if complete is None:
        return None

    def run(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            return complete(_globals(ctx), incomplete, dict(ctx.params))
        except Exception:  # completion stays silent: no candidates rather than a traceback in the shell
            return []

    return run


def _parameter(p: Param) -> inspect.Parameter:
    """The typer parameter of a declared one."""
    common: dict[str, Any] = {"help": p.help, "show_default": False, "autocompletion": _completer(p.complete)}
    kind: Any = (
        list[str] | None if p.many else p.kind if p.takes_value else bool if p.off is None else bool | None
    )
    if p.is_arg:
        low, high = p.bounds or (None, None)
        info: Any = typer.Argument(metavar=p.name, min=low, max=high, **common)
        kind = kind if p.required or p.many else kind | None
    else:
        info = typer.Option(f"{p.name}/{p.off}" if p.off else p.name, metavar=p.metavar, **common)
    default = inspect.Parameter.empty if p.required else None if p.many else p.default
    return inspect.Parameter(
        p.dest, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info]
    )


CONTEXT = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)


def _callback(command: Command) -> Callable[..., None]:
    """The typer callback of a declared command."""

    def run(ctx: typer.Context, **values: Any) -> None:
        for p in command.params:
            if p.many:
                values[p.dest] = tuple(values[p.dest] or ())
        code = execute(command.func, _globals(ctx), **values)
        if code:
            raise typer.Exit(code)

    run.__signature__ = inspect.Signature([CONTEXT, *map(_parameter, command.params)])  # type: ignore[attr-defined]
    return run


def _main_options(ctx: typer.Context, **_: Any) -> None:
    _globals(ctx)  # a bad --timeout is a usage error before the command runs


_main_options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        CONTEXT,
        *(
            inspect.Parameter(
                o.dest,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    str | None, typer.Option(o.name, envvar=o.env, metavar=o.metavar, help=o.help)
                ],
            )
            for o in GLOBAL_OPTIONS
        ),
        inspect.Parameter(
            "version",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option(
                    "--version", callback=_version, is_eager=True, help="Print the version and exit."
                ),
            ],
        ),
    ]
)
app.callback()(_main_options)

for _command in commands():
    _settings = {"ignore_unknown_options": True} if _command.dash_values else None
    _run = _callback(_command)
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
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    return 0


__all__ = ["app", "run"]

"""The command-line interface, defined with typer: THE definition of ptpipctl's commands, options, help,
validation, usage errors and shell completion.

Each command here only hands its arguments to the shared command function in :mod:`ptpipctl.commands`
through :func:`~ptpipctl.commands.execute`. Well-formed invocations of the common commands skip this module
(typer takes ~35 ms to import) and go through :mod:`ptpipctl.fast`, which calls the same functions.

Global options take their environment variables (``PTPIPCTL_SOCKET``, ``PTPIPCTL_TCP``, ``PTPIPCTL_TOKEN``,
``PTPIPCTL_INSTANCE``, ``PTPIPCTL_TIMEOUT``) through :func:`ptpipctl.client.resolve_target`, which both
paths use: options given on the command line win over the environment as a group.
"""

from __future__ import annotations

from typing import Annotated

import typer
import typer.core

from ptpipctl import __version__
from ptpipctl.client import (
    ENV_INSTANCE,
    ENV_SOCKET,
    ENV_TCP,
    ENV_TIMEOUT,
    ENV_TOKEN,
    UsageError,
)
from ptpipctl.commands import Globals, execute
from ptpipctl.commands import camera as camera_cmds
from ptpipctl.commands import events as events_cmds
from ptpipctl.commands import images as images_cmds
from ptpipctl.commands import properties as property_cmds
from ptpipctl.commands import raw as raw_cmds
from ptpipctl.commands import status as status_cmds

#: The seed's unified property names, offered by shell completion (the daemon knows more; see `info`).
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


def _complete_property(incomplete: str) -> list[str]:
    return [name for name in PROPERTY_NAMES if name.startswith(incomplete.lower())]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ptpipctl {__version__}")
        raise typer.Exit()


def _from_command_line(ctx: typer.Context, name: str, value: str | None) -> str | None:
    """The option's value if it was given on the command line (the environment is read by resolve_target)."""
    source = ctx.get_parameter_source(name)
    return value if source is not None and source.name == "COMMANDLINE" else None


@app.callback()
def main_options(
    ctx: typer.Context,
    socket: Annotated[
        str | None,
        typer.Option(
            "--socket",
            envvar=ENV_SOCKET,
            metavar="PATH",
            help="The daemon's Unix socket (default: /run/ptpipd/ptpipd.sock as root, "
            "else $XDG_RUNTIME_DIR/ptpipd/ptpipd.sock, else /tmp/ptpipd-$UID/ptpipd.sock).",
        ),
    ] = None,
    tcp: Annotated[
        str | None,
        typer.Option("--tcp", envvar=ENV_TCP, metavar="HOST:PORT", help="Reach the daemon over TCP instead."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar=ENV_TOKEN, metavar="TOKEN", help="The daemon's auth_token (sent over TCP)."
        ),
    ] = None,
    instance: Annotated[
        str | None,
        typer.Option(
            "--instance",
            envvar=ENV_INSTANCE,
            metavar="NAME",
            help="A named daemon instance: the socket NAME.sock beside the default one.",
        ),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            envvar=ENV_TIMEOUT,
            metavar="SECONDS",
            help="How long to wait for the daemon's answer (default 120).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Control a camera through ptpipd."""
    seconds: float | None = None
    given_timeout = _from_command_line(ctx, "timeout", timeout)
    if given_timeout is not None:
        seconds = parse_timeout(given_timeout)
    ctx.obj = Globals(
        socket=_from_command_line(ctx, "socket", socket),
        tcp=_from_command_line(ctx, "tcp", tcp),
        token=_from_command_line(ctx, "token", token),
        instance=_from_command_line(ctx, "instance", instance),
        timeout=seconds,
    )


def parse_timeout(text: str) -> float:
    """``--timeout``'s value; a bad one ends the command with exit 2 (both paths use this)."""
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"not a number of seconds: {text!r}", param_hint="'--timeout'") from None


def _run(ctx: typer.Context, command: object, *args: object, **kwargs: object) -> None:
    globals_ = ctx.obj if isinstance(ctx.obj, Globals) else Globals()
    code = execute(command, globals_, *args, **kwargs)  # type: ignore[arg-type]
    if code:
        raise typer.Exit(code)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print the daemon's result as JSON, for scripts.")]
PrettyFlag = Annotated[bool, typer.Option("--pretty", help="Indented JSON (implies --json).")]
PropArg = Annotated[
    str,
    typer.Argument(
        metavar="PROP",
        help="A name (iso, exposure, …), a hex code (0x500f) or a decimal code.",
        autocompletion=_complete_property,
        show_default=False,
    ),
]
ProgressFlag = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress", help="Show a progress bar (default: when stderr is a terminal)."
    ),
]


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The daemon and its camera connection."""
    _run(ctx, status_cmds.status, as_json=as_json)


@app.command()
def info(ctx: typer.Context, as_json: JsonFlag = False, pretty: PrettyFlag = False) -> None:
    """The camera's description and every property's value."""
    _run(ctx, camera_cmds.info, as_json=as_json, pretty=pretty)


@app.command()
def state(ctx: typer.Context, as_json: JsonFlag = False, pretty: PrettyFlag = False) -> None:
    """The camera's state list (Fujifilm)."""
    _run(ctx, camera_cmds.state, as_json=as_json, pretty=pretty)


@app.command()
def get(ctx: typer.Context, prop: PropArg, as_json: JsonFlag = False) -> None:
    """A property's current value."""
    _run(ctx, property_cmds.get, prop, as_json=as_json)


@app.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    ctx: typer.Context,
    prop: PropArg,
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help='A label ("800", "auto", "+1/3"; case-insensitive), an integer or hex (0x320). '
            "A negative value needs no --.",
            show_default=False,
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Writes a property; prints the value the camera reports afterwards."""
    _run(ctx, property_cmds.set_, prop, value, as_json=as_json)


@app.command()
def describe(
    ctx: typer.Context, prop: PropArg, as_json: JsonFlag = False, pretty: PrettyFlag = False
) -> None:
    """A property's type, factory default and allowed values."""
    _run(ctx, property_cmds.describe, prop, as_json=as_json, pretty=pretty)


@app.command()
def capture(
    ctx: typer.Context,
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            help="Where to write the image ('-': stdout; a directory: the camera's file name in it). "
            "Default: the camera's file name here.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = None,
) -> None:
    """Takes a picture and writes it here (the image, or the camera's preview). Aliases: shoot, shutter, snap."""
    _run(ctx, images_cmds.capture, path, as_json=as_json, progress=progress)


for _alias in ("shoot", "shutter", "snap"):  # the seed tool's names for capture
    app.command(_alias, hidden=True, help="Alias of capture.")(capture)


@app.command()
def files(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The images and files on the camera."""
    _run(ctx, images_cmds.files, as_json=as_json)


@app.command()
def download(
    ctx: typer.Context,
    handle: Annotated[
        int,
        typer.Argument(metavar="HANDLE", help="The object's handle (see 'files').", min=0, max=0xFFFF_FFFF),
    ],
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            help="Where to write it ('-': stdout; a directory: the camera's file name in it).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = None,
) -> None:
    """Copies one object from the camera."""
    _run(ctx, images_cmds.download, handle, path, as_json=as_json, progress=progress)


@app.command()
def opreq(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The operation code in hex (0x1015).")],
    params: Annotated[
        list[str] | None,
        typer.Argument(metavar="PARAM", help="Up to five parameters in hex (0xD212).", show_default=False),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Runs any operation and hex-dumps the packets received (for reverse engineering)."""
    _run(ctx, raw_cmds.opreq, code, tuple(params or ()), as_json=as_json)


@app.command()
def events(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per notification and line.")
    ] = False,
    topics: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            metavar="TOPIC",
            help="event, property or connection (repeatable; default: all).",
            autocompletion=lambda incomplete: [t for t in events_cmds.TOPICS if t.startswith(incomplete)],
        ),
    ] = None,
) -> None:
    """Prints the daemon's notifications as they arrive, until Ctrl-C."""
    _run(ctx, events_cmds.events, as_json=as_json, topics=tuple(topics or ()))


@app.command()
def call(
    ctx: typer.Context,
    method: Annotated[
        str, typer.Argument(metavar="METHOD", help="A JSON-RPC method (see 'call rpc.discover').")
    ],
    params: Annotated[
        str | None,
        typer.Argument(
            metavar="JSON", help='The params: a JSON object or array, e.g. \'{"property":"iso"}\'.'
        ),
    ] = None,
    pretty: PrettyFlag = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Accepted for symmetry: the output is JSON.")
    ] = False,
) -> None:
    """Sends one raw JSON-RPC request and prints its result as JSON."""
    _run(ctx, raw_cmds.call, method, params, pretty=pretty)


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


__all__ = ["UsageError", "app", "run"]

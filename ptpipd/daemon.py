"""``ptpipd``: flags → settings → logging → run(): the service, the listeners, READY=1, ordered shutdown.

Run order (moonraker-style): the camera service starts connecting in the background while the listeners
are bound; ``READY=1`` goes to systemd only once every listener accepts connections; SIGTERM/SIGINT stop
accepting, let the request in flight finish (bounded), send CloseSession, close the camera connections and
the clients, and exit 0 — all within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from ptpipd import __version__
from ptpipd.camera_setup import resolve_camera
from ptpipd.config import (
    ENV_KEYS,
    EXIT_CONFIG,
    EXIT_SETTINGS,
    EXIT_UNSPECIFIED,
    ConfigFileError,
    Settings,
    SettingsError,
    load,
    parse_host_port,
)
from ptpipd.files import remove_stale_temp_files
from ptpipd.ingest import Ingest, IngestOptions
from ptpipd.legacy.oneshot import one_shot
from ptpipd.legacy.server import READER_LIMIT, LegacyHandler
from ptpipd.logs import setup_logging
from ptpipd.loops import describe_loop, run_on
from ptpipd.rpc import Dispatcher, make_dispatcher
from ptpipd.service import CameraService, ConnectionState, ServiceOptions
from ptpipd.systemd import ActivatedSockets, Notifier, listen_fds
from ptpipd.transports.handler import ClientHandler
from ptpipd.transports.listeners import (
    Listener,
    SocketInUse,
    bind_tcp,
    bind_unix,
    remove_socket_file,
    serve,
    socket_file_identity,
)
from ptpipd.vendors import VENDORS
from ptpipd.web.app import WebOptions
from ptpipd.web.backend import Backend
from ptpipd.web.server import WebServer

log = logging.getLogger("ptpipd")


#: The settings ``--legacy HOST:PORT`` sets (``--legacy PORT``: on 127.0.0.1).
LEGACY_FIELDS = ("legacy_enabled", "legacy_address", "legacy_port")
#: Where the socket is when neither --socket nor the config file says (config.default_runtime_dir).
DEFAULT_SOCKET = "/run/ptpipd/ptpipd.sock as root, else $XDG_RUNTIME_DIR/ptpipd/ptpipd.sock, else /tmp/ptpipd-$UID/ptpipd.sock"
#: The exit codes, as --help and the README say them (tests/daemon/test_readme.py compares).
EXIT_CODES = (
    "Exit codes: 0 stopped by SIGTERM/SIGINT (orderly: the request in flight finished, CloseSession sent, "
    "within 5 s); 1 unspecified (e.g. cannot listen); 102 config file unreadable or invalid; 104 invalid "
    "settings; 105 could not connect (one-shot -c only; the daemon itself keeps retrying)."
)


#: The options of the command line, in --help order: (a setting's name, or the flags of an option that is no
#: setting; metavar, None for a switch; help). A setting's flag is ``--NAME`` with dashes, its type or choices
#: are the setting's own (:func:`_kind`), and its PTPIPD_* variable is said (all added by :func:`build_parser`).
OPTIONS: tuple[tuple[str | tuple[str, ...], str | None, str], ...] = (
    (("-f", "--config"), "FILE", "INI config file (the seed format plus [daemon])"),
    ("host", "HOST", "camera address (default 192.168.0.1)"),
    ("port", "PORT", "camera port when it has one port for everything (default 15740)"),
    ("cmd_data_port", "PORT", "command/data port (Fuji 55740)"),
    ("event_port", "PORT", "event port (Fuji 55741)"),
    ("stream_port", "PORT", "live-view port (Fuji 55742)"),
    ("vendor", "VENDOR", f"camera dialect: {', '.join(VENDORS)} (default {VENDORS[0]})"),
    ("guid", "UUID", "initiator GUID (default: generated once, kept in the state directory)"),
    ("friendly_name", "NAME", "initiator name shown on and remembered by the camera (default ptpipd)"),
    ("socket", "PATH", f"the JSON-RPC Unix socket (default {DEFAULT_SOCKET})"),
    (
        "rpc_tcp",
        "HOST:PORT",
        "JSON-RPC over TCP, or off (default 127.0.0.1:15741; a bare PORT is 127.0.0.1:PORT)",
    ),
    (
        "http",
        "HOST:PORT",
        "HTTP data plane over TCP, or off (default 127.0.0.1:15780; a bare PORT is 127.0.0.1:PORT; the Unix "
        "socket beside --socket, ptpipd-http.sock, serves it always)",
    ),
    (
        ("--legacy",),
        "HOST:PORT",
        "serve the seed's text protocol there (default: off; a bare PORT is 127.0.0.1:PORT)",
    ),
    (
        "max_connections",
        "N",
        "clients each JSON-RPC and legacy listener serves at a time; the next gets one error line and is "
        "closed (default 256)",
    ),
    ("simulate", "VENDOR", "run a simulated camera of this dialect in-process and use it"),
    ("capture_dir", "DIR", "where captures and downloads are saved (default STATE_DIR/captures)"),
    (
        "state_dir",
        "DIR",
        "state directory: the GUID, captures (default $STATE_DIRECTORY, /var/lib/ptpipd as root, "
        "else $XDG_STATE_HOME/ptpipd)",
    ),
    (
        "timeout",
        "SECONDS",
        "how long the camera may stay silent in a transaction, if it answers the probes meanwhile (default 10)",
    ),
    (
        "keepalive_timeout",
        "SECONDS",
        "how long a keepalive, or a probe beside a running request (not Fujifilm), may go unanswered before "
        "the link counts as lost (default 5)",
    ),
    ("log_level", "LEVEL", "debug, info, warning or error (default info)"),
    (
        "event_loop",
        "LOOP",
        "auto (uvloop when installed, the default), uvloop, or asyncio (the standard loop)",
    ),
    ("ingest_dir", "DIR", "tethered ingest: store every new picture there (default: off)"),
    (
        "ingest_pattern",
        "PATTERN",
        "ingest file names: strftime fields of the capture time, {filename} {stem} {ext} {serial} {n} "
        "(default {filename})",
    ),
    ("ingest_delete_after", None, "delete each picture from the camera once ingest has stored it"),
    (
        "ingest_hook",
        "COMMAND",
        "run for each stored file with ACTION=download ARGUMENT=PATH, as gphoto2's --hook-script",
    ),
    ("ingest_hook_timeout", "SECONDS", "kill a hook still running then (default 60)"),
    (("-c",), "COMMAND", "one-shot: connect, run one legacy text command, print its answer, exit"),
)
#: The argparse keywords of the options that are no settings, by their last flag.
_NOT_SETTINGS: dict[str, dict[str, Any]] = {"--config": {"type": Path}, "-c": {"dest": "command"}}


def _kind(field: str) -> dict[str, Any]:
    """argparse's type, choices or switch for a setting, from its declaration in :class:`Settings`."""
    if field in ("vendor", "simulate"):  # checked against VENDORS by a validator
        return {"choices": VENDORS}
    hint = Settings.model_fields[field].annotation
    if get_origin(hint) is Literal:
        return {"choices": get_args(hint)}
    kind = next(k for k in get_args(hint) or (hint,) if k is not type(None))
    return {"action": "store_true", "default": None} if kind is bool else {"type": kind}


def build_parser() -> argparse.ArgumentParser:
    """The command line of DESIGN.md §6 (the README's ptpipd section lists the same options)."""
    p = argparse.ArgumentParser(
        prog="ptpipd",
        description="Holds one PTP/IP camera session and serves it as JSON-RPC on a Unix socket and TCP.",
        epilog=f"Precedence: defaults < PTPIPD_* environment < flags < config file. {EXIT_CODES}",
    )
    for names, metavar, text in OPTIONS:
        flags = names if isinstance(names, tuple) else (f"--{names.replace('_', '-')}",)
        extra = _NOT_SETTINGS.get(flags[-1], {}) if isinstance(names, tuple) else _kind(names)
        dest = str(extra.get("dest") or flags[-1].removeprefix("--").replace("-", "_"))
        fields = LEGACY_FIELDS if dest == "legacy" else (dest,)
        env = [name for name, field in ENV_KEYS.items() if field in fields]
        shown = f"{text} [env: {', '.join(env)}]" if env else text
        named = {"metavar": metavar} if metavar else {}  # a switch (store_true) takes no metavar
        p.add_argument(*flags, help=shown, **{"dest": dest, **named, **extra})
    p.add_argument("--version", action="version", version=f"ptpipd {__version__}")
    return p


def flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags set (None = not given)."""
    flags = {key: value for key, value in vars(args).items() if key in Settings.model_fields}
    if args.legacy:
        host, port = parse_host_port(args.legacy, 15740)
        flags.update(zip(LEGACY_FIELDS, (True, host, port), strict=True))
    return flags


def status_text(
    state: ConnectionState, reason: str | None, status: dict[str, Any], serving: list[str]
) -> str:
    """The STATUS= line: the camera state and where the daemon listens (``status`` is the service's)."""
    camera = status["camera"]
    connected = state is ConnectionState.CONNECTED
    shown = f"{camera['manufacturer']} {camera['model']}" if camera and connected else status["host"]
    never_tried = status["last_error"] is None and status["connected_since"] is None
    # READY=1 goes out before the service's first attempt has begun
    text = f"camera {'connecting' if state is ConnectionState.DISCONNECTED and never_tried else state.value}"
    text += f" ({shown})"
    if reason and not connected:
        text += f": {reason}"
    return f"{text}; serving {', '.join(serving)}"


Opener = Callable[[], Awaitable[Listener]]


def _rpc_listeners(
    settings: Settings, env: Mapping[str, str], handler: ClientHandler, activated: ActivatedSockets
) -> list[Opener]:
    """The JSON-RPC listeners: the sockets systemd handed over, else the Unix socket and TCP of the settings."""
    serving = partial(serve, handler, max_connections=settings.max_connections)
    if activated.any:
        return [partial(serving, sock) for sock in activated.unix + activated.tcp]
    path, mode, group = settings.socket_path(env), settings.socket_mode, settings.socket_group
    address = settings.rpc_tcp_address()
    tcp = [partial(serving, address)] if address is not None else []
    return [partial(serving, path, mode=mode, group=group), *tcp]


def _legacy_listeners(
    settings: Settings, env: Mapping[str, str], dispatcher: Dispatcher, activated: ActivatedSockets
) -> list[Opener]:
    """The legacy text listener, when enabled in the settings or handed over by systemd."""
    if not (settings.legacy_enabled or activated.legacy):
        return []
    handler = LegacyHandler(settings, dispatcher, env)
    serving = partial(serve, handler, limit=READER_LIMIT, max_connections=settings.max_connections)
    if activated.legacy:
        return [partial(serving, sock) for sock in activated.legacy]
    return [partial(serving, (settings.legacy_address, settings.legacy_port))]


async def run(settings: Settings, env: Mapping[str, str] = os.environ) -> int:
    """Runs the daemon until SIGTERM/SIGINT; returns the exit code.

    Everything that must be closed is entered on one exit stack, in the order that makes leaving it an
    ordered shutdown: first stop accepting and drain the service (the request in flight finishes,
    CloseSession), then each listener closes its connections, then the service's tasks end.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    log.info("event loop: %s", describe_loop(loop))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    notifier = Notifier(env)
    activated = listen_fds(env)
    try:
        for role, (host, port), name in activated.network():
            settings.check_exposure(role, host, port, name)
    except SettingsError as exc:
        log.error("%s", exc)
        return EXIT_SETTINGS
    _remove_stale_temp_files(settings.captures_path(env))
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(notifier.close)
        config = await resolve_camera(settings, env, stack)
        options = ServiceOptions(
            keepalive_interval=settings.keepalive,
            keepalive_timeout=settings.keepalive_timeout,
            poll_interval=settings.poll_interval,
            liveview_fps=settings.liveview_fps,
        )
        service = await stack.enter_async_context(CameraService(config, options))
        try:
            ingest = await _start_ingest(settings, env, service, stack)
        except OSError as exc:
            log.error("cannot ingest into %s: %s", settings.ingest_dir, exc)
            return EXIT_SETTINGS
        listeners: list[Listener] = []
        plane: list[WebServer] = []
        dispatcher = make_dispatcher(
            service,
            settings.captures_path(env),
            settings.auth_token,
            client_count=lambda: sum(listener.clients for listener in listeners),
            status_extra=lambda: (plane[0].status() if plane else {}) | _ingest_status(ingest),
        )
        rpc = _rpc_listeners(settings, env, ClientHandler(dispatcher, service, settings), activated)
        try:
            for opener in rpc + _legacy_listeners(settings, env, dispatcher, activated):
                listeners.append(await stack.enter_async_context(await opener()))
            backend = Backend(service, dispatcher, settings.captures_path(env))
            plane.append(await _start_web(settings, env, activated, backend, stack))
        except (OSError, SocketInUse) as exc:  # the files bound so far are removed on leaving the stack
            log.error("cannot listen: %s", exc)
            return EXIT_UNSPECIFIED
        # JSON-RPC, then HTTP, then the legacy text listener (which tests and scripts expect last)
        addresses = [listener.address for listener in listeners]
        serving = addresses[: len(rpc)] + plane[0].addresses + addresses[len(rpc) :]
        service.add_state_listener(
            lambda state, reason: notifier.status(status_text(state, reason, service.status(), serving))
        )
        tasks = await stack.enter_async_context(asyncio.TaskGroup())  # the watchdog's (cancelled on leaving)
        stack.callback(tasks.create_task(notifier.watchdog(), name="watchdog").cancel)
        stack.push_async_callback(_stop_serving, listeners, plane[0], service, notifier, ingest)
        for line in serving:
            log.info("listening on %s", line)
        notifier.ready(status_text(service.state, None, service.status(), serving))
        await stop.wait()
    return 0


def _remove_stale_temp_files(directory: Path) -> None:
    """The temporary files a killed daemon left behind (only ours: ``.ptpipd-XXXXXXXX.part``, unlocked)."""
    for path in remove_stale_temp_files(directory):
        log.info("removed %s, left by a daemon that did not finish writing it", path)


async def _start_web(
    settings: Settings,
    env: Mapping[str, str],
    activated: ActivatedSockets,
    backend: Backend,
    stack: contextlib.AsyncExitStack,
) -> WebServer:
    """The HTTP data plane (DESIGN.md §8) on its Unix socket and TCP, or on the sockets systemd passed."""
    timeout = settings.http_timeout
    options = WebOptions(
        write_timeout=timeout,
        idle_timeout=timeout,
        max_connections=settings.http_max_connections,
        loopback_exempt=not settings.http_require_token,
    )
    web = await stack.enter_async_context(WebServer(backend, options))
    if activated.any:
        for sock in activated.http:
            await web.serve(sock)
        return web
    path = settings.http_socket_path(env)
    sock = bind_unix(path, settings.socket_mode, settings.socket_group)
    stack.callback(remove_socket_file, path, socket_file_identity(path))
    await web.serve(sock)
    address = settings.http_address()
    if address is not None:
        await web.serve(bind_tcp(*address))
    return web


async def _start_ingest(
    settings: Settings, env: Mapping[str, str], service: CameraService, stack: contextlib.AsyncExitStack
) -> Ingest | None:
    """Tethered ingest (DESIGN.md §10), when ``[ingest] dir`` is set."""
    if settings.ingest_dir is None:
        return None
    options = IngestOptions(
        directory=settings.ingest_dir,
        index_path=settings.ingest_index_path(env),
        pattern=settings.ingest_pattern,
        delete_after=settings.ingest_delete_after,
        hook=settings.ingest_hook,
        hook_timeout=settings.ingest_hook_timeout,
    )
    return await stack.enter_async_context(Ingest(service, options, env))


def _ingest_status(ingest: Ingest | None) -> dict[str, Any]:
    return {"ingest": ingest.status()} if ingest is not None else {}


async def _stop_serving(
    listeners: list[Listener],
    web: WebServer,
    service: CameraService,
    notifier: Notifier,
    ingest: Ingest | None = None,
) -> None:
    """The shutdown, bounded (README: SIGTERM → exit within 5 s, whatever is attached): no new connections;
    then at the same time the data plane closes (downloads and viewers end: at most ``shutdown_timeout`` +
    1 s, 2 s), ingest ends (its piece in flight: ``stop_grace`` 3 s; its hook is killed) and the camera
    session ends in order (the request in flight finishes: ``shutdown_grace`` 2.5 s, then CloseSession:
    ``close_timeout`` 1 s); then every listener closes its connections, all at once (2 × ``CLOSE_WAIT``,
    1 s). In all at most 3.5 + 1 = 4.5 s; what is left (the service's tasks, already told to stop) is
    cancelled."""
    log.info("stopping")
    notifier.stopping()
    for listener in listeners:
        listener.stop_accepting()
    stopping = [web.close(), service.drain()] + ([ingest.stop()] if ingest is not None else [])
    await asyncio.gather(*stopping)
    await asyncio.gather(*(listener.close() for listener in listeners))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ptpipd``."""
    args = build_parser().parse_args(argv)
    try:
        loaded = load(flags_from_args(args), args.config)
    except (ConfigFileError, SettingsError) as exc:
        print(f"ptpipd: {exc}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, ConfigFileError) else EXIT_SETTINGS
    settings = loaded.settings
    setup_logging(settings.log_level)
    if loaded.overrides:  # the seed's precedence stays, but a flag that did nothing is said once
        log.warning(
            "the config file overrides these flags (as in the seed tool, the file wins): %s",
            "; ".join(loaded.overrides),
        )
    if args.command is not None:
        return run_on(one_shot(settings, args.command), settings.event_loop)
    try:
        return run_on(run(settings), settings.event_loop)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())

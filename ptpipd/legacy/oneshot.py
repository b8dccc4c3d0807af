"""``ptpipd -c COMMAND``: connect, run one text command, print its output, close the session, exit.

The command is parsed before anything else (a bad one: exit 104, like invalid settings). Then a
:class:`~ptpipd.service.CameraService` connects (with ``--simulate`` to an in-process simulated camera); the
wait is bounded by the ``timeout`` setting, plus ``pairing_timeout`` once the camera asks for confirmation
(Fujifilm). A failed or timed-out connection exits 105. The command runs through the same adapter and
dispatcher as the text listener; its text goes to stdout (exit 0), an error line to stderr (exit 1). The
session is closed in order (CloseSession) before the exit. ``help`` needs no camera.

Exit codes (the seed's): 0 ok, 1 the command failed, 102 config file unreadable (in ``main``), 104 invalid
settings or command, 105 could not connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from ptpipd.camera_setup import resolve_camera
from ptpipd.config import EXIT_CONNECT, EXIT_SETTINGS, EXIT_UNSPECIFIED, Settings
from ptpipd.legacy.adapter import Adapter
from ptpipd.legacy.parser import Command, ParseError, help_text, parse
from ptpipd.rpc import Client, make_dispatcher
from ptpipd.service import CameraService, ConnectionState, ServiceOptions


async def one_shot(settings: Settings, command: str) -> int:
    """Runs one legacy command; returns the exit code."""
    try:
        parsed = parse(command)
    except ParseError as exc:
        print(f"ptpipd: {exc.line()}", file=sys.stderr)
        return EXIT_SETTINGS
    if parsed is None:
        print("ptpipd: -c needs a command, e.g. -c 'get iso' (-c help lists them)", file=sys.stderr)
        return EXIT_SETTINGS
    if parsed.name == "help":
        sys.stdout.write(help_text(parsed.topic))
        return 0
    if settings.log_level == "info":
        # stderr is for the command's own errors; the connection failure is reported once, below
        logging.getLogger("ptpipd").setLevel(logging.ERROR)
    return await _run(settings, parsed)


async def _run(settings: Settings, command: Command) -> int:
    async with contextlib.AsyncExitStack() as stack:
        config = await resolve_camera(settings, os.environ, stack)
        service = CameraService(config, ServiceOptions(keepalive_interval=settings.keepalive))
        states: asyncio.Queue[tuple[ConnectionState, str | None]] = asyncio.Queue()
        service.add_state_listener(lambda state, reason: states.put_nowait((state, reason)))
        await stack.enter_async_context(service)  # leaving it ends the session in order (CloseSession)
        failure = await _connected(settings, states)
        if failure is not None:
            where = f"{service.config.host}:{service.ports.command}"
            print(f"ptpipd: could not connect to the camera at {where}: {failure}", file=sys.stderr)
            return EXIT_CONNECT
        captures = settings.captures_path(os.environ)
        adapter = Adapter(
            make_dispatcher(service, captures), Client(0, "one-shot", "-c"), captures, confined=False
        )
        reply = await adapter.run(command)
    if reply.ok:
        sys.stdout.write(reply.text)
        sys.stdout.flush()
        return 0
    sys.stderr.write(f"ptpipd: {reply.text}")
    return EXIT_UNSPECIFIED


async def _connected(
    settings: Settings, states: asyncio.Queue[tuple[ConnectionState, str | None]]
) -> str | None:
    """None once connected; the reason when the first attempt fails or takes too long."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.timeout
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                state, reason = await states.get()
        except TimeoutError:
            return f"no connection within {settings.timeout:g} s"
        if state is ConnectionState.CONNECTED:
            return None
        if state is ConnectionState.DISCONNECTED:
            return reason or "the connection failed"
        if state is ConnectionState.PAIRING:
            print(
                f"ptpipd: confirm the connection on the camera (waiting up to {settings.pairing_timeout:g} s)",
                file=sys.stderr,
            )
            deadline = loop.time() + settings.pairing_timeout

"""The commands, one module per noun, each declared once with :func:`ptpipctl.declare.command`; the typer
interface (:mod:`ptpipctl.cli`) and the fast path (:mod:`ptpipctl.fast`) both call them through
:func:`execute`, so output and exit codes cannot differ between them.

Every command function takes the :class:`Globals` first, writes its output to ``sys.stdout`` and raises
:class:`~ptpipctl.client.CtlError` subclasses for failures; :func:`execute` turns those into one line on
stderr and the exit code of DESIGN.md §6 (1 daemon or camera error, 2 usage, 105 daemon unreachable).
"""

from __future__ import annotations

import os
import sys

from ptpipctl.client import CtlError, Target, resolve_target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

#: The exit code after Ctrl-C (128 + SIGINT), except for ``events``, which ends that way normally.
EXIT_INTERRUPTED = 130


class Globals:
    """The global options as given on the command line (None: not given; the environment then decides)."""

    __slots__ = ("env", "instance", "socket", "tcp", "timeout", "token")

    def __init__(
        self,
        *,
        socket: str | None = None,
        tcp: str | None = None,
        token: str | None = None,
        instance: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.socket = socket
        self.tcp = tcp
        self.token = token
        self.instance = instance
        self.timeout = timeout
        self.env = os.environ if env is None else env

    def target(self) -> Target:
        """Where the daemon is (:func:`ptpipctl.client.resolve_target`)."""
        return resolve_target(
            socket=self.socket,
            tcp=self.tcp,
            instance=self.instance,
            token=self.token,
            timeout=self.timeout,
            env=self.env,
        )


def execute(command: Callable[..., None], *args: Any, **kwargs: Any) -> int:
    """Runs a command function; returns the exit code after writing any error as one line on stderr."""
    try:
        command(*args, **kwargs)
        sys.stdout.flush()
    except CtlError as exc:
        _flush_quietly()
        sys.stderr.write(f"ptpipctl: {' '.join(str(exc).split())}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        _flush_quietly()
        sys.stderr.write("ptpipctl: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `ptpipctl info | head`: the reader left; say nothing more and do not let Python complain at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    return 0


def _flush_quietly() -> None:
    try:  # noqa: SIM105 - contextlib is one more module to import on the fast path
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass

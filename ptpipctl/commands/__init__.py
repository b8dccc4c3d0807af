"""The commands, one module per noun, each declared once (:mod:`ptpipctl.declare`). The typer interface and
the fast path both run them through :func:`execute`, so output and exit codes cannot differ between them.

A command function takes the :class:`~ptpipctl.client.Globals` first, writes its output to ``sys.stdout``
and raises :class:`~ptpipctl.client.CtlError` subclasses for failures; :func:`execute` turns those into one
line on stderr and the exit code of DESIGN.md §6 (1 daemon or camera error, 2 usage, 105 unreachable).
"""

from __future__ import annotations

import os
import sys

from ptpipctl.client import CtlError, Globals
from ptpipctl.output import json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: The exit code after Ctrl-C (128 + SIGINT), except for ``events``, which ends that way normally.
EXIT_INTERRUPTED = 130

__all__ = ["Globals", "execute", "show"]


def show(
    g: Globals, method: str, params: Any, text: Callable[[Any], str], as_json: bool, pretty: bool = False
) -> None:
    """Asks the daemon and prints its result: as JSON (``--json``, ``--pretty``), else as ``text`` says."""
    with g.target().connect() as conn:
        result = conn.call(method, params)
    sys.stdout.write(json_text(result, pretty=pretty) if as_json or pretty else text(result))


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

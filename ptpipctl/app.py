"""``ptpipctl``'s entry point: the fast path for well-formed common commands, else the typer interface.

The typer application itself is :data:`ptpipctl.cli.app` (also reachable as ``ptpipctl.app.app``); it is
imported only when the fast path (:mod:`ptpipctl.fast`) does not take the command line, because importing
typer alone costs several times Python's own start-up.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ptpipctl with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from ptpipctl.fast import run_fast

    code = run_fast(args)
    if code is not None:
        return code
    from ptpipctl.cli import run

    return run(args)


def __getattr__(name: str) -> Any:
    if name == "app":
        from ptpipctl.cli import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())

"""``ptpipctl``'s entry point: the fast path (:mod:`ptpipctl.fast`) for well-formed command lines, else the
typer application (:data:`ptpipctl.cli.app`), imported only then: importing typer alone costs several times
Python's own start-up."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ptpipctl with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from ptpipctl.fast import run_fast

    code = run_fast(args)
    if code is None:
        from ptpipctl.cli import run

        return run(args)
    if argv is None:  # the console script: its output is flushed, so skip the interpreter's teardown
        _exit_now(code)  # (about 1 ms, a tenth of Python's start-up, for all the modules it would free)
    return code


def _exit_now(code: int) -> None:
    import os

    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib is one more module to import
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())

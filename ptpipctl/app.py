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
    if code is not None:
        return code
    from ptpipctl.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())

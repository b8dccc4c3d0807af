"""``ptpipd-sim``: run a simulated PTP/IP camera until SIGTERM or SIGINT.

Prints exactly ``listening on HOST:PORT[,PORT...]`` on stdout once it accepts connections (tests wait for
that line; a Fuji camera lists its command, event and live-view ports) and, when stopped, one stderr line
``sim: sessions=N transactions=N violations=N``. SIGUSR1 presses the shutter on the body, SIGUSR2 turns
its main dial one step. Logs go to
stderr. Exit codes: 0 after a signal, 2 for bad arguments, 1 when it cannot listen.

The vendors are those of :data:`ptpipd.vendors.VENDORS`; each body's own options come from its
``SIMULATOR`` (:mod:`ptpipd.sim.dialect`), shown in ``--help`` in a group per body.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from ptpipd.sim.dialect import SimOptions, Simulator, bounded, load
from ptpipd.sim.server import start_simulator
from ptpipd.vendors import VENDORS

log = logging.getLogger("ptpipd.sim")


_port = bounded("a TCP port", 0, 65535, whole=True)


def _ports(text: str) -> list[int]:
    return [int(_port(part)) for part in text.split(",")]


def _add_options(group: argparse._ArgumentGroup, options: type[Any], seen: set[str]) -> None:
    """A flag per field of an options dataclass (``confirm_delay`` → ``--confirm-delay``), once per name."""
    for f in dataclasses.fields(options):
        if f.name in seen:
            continue
        seen.add(f.name)
        flag, meta = "--" + f.name.replace("_", "-"), f.metadata
        if f.type in (bool, "bool"):
            group.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=meta["help"])
            continue
        shown = (
            "none" if f.default is None else f"{f.default:g}" if isinstance(f.default, float) else f.default
        )
        group.add_argument(
            flag, type=meta["parse"], metavar=meta["metavar"], default=argparse.SUPPRESS,
            help=f"{meta['help']} (default {shown})",
        )  # fmt: skip


def parser(bodies: dict[str, Simulator]) -> argparse.ArgumentParser:
    """The command-line parser: the common flags, then a group per simulated body."""
    p = argparse.ArgumentParser(
        prog="ptpipd-sim",
        description="A simulated PTP/IP camera (responder), deterministic, for tests and script development. "
        "SIGUSR1 presses its shutter button once, SIGUSR2 turns its main dial one step.",
    )
    p.add_argument(
        "--vendor", choices=VENDORS, default=VENDORS[0], help=f"camera dialect (default {VENDORS[0]})"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=_port,
        help="TCP port, 0 = a free one; a body with several ports takes P, P+1, … (default: the body's: "
        + "; ".join(
            f"{name} {','.join(str(port.default) for port in body.ports)}" for name, body in bodies.items()
        )
        + ")",
    )
    p.add_argument(
        "--ports",
        type=_ports,
        metavar="P[,P...]",
        help="the body's ports in order (0 alone: consecutive free ones)",
    )
    seen: set[str] = set()
    _add_options(p.add_argument_group("every body"), SimOptions, seen)
    for name, body in bodies.items():
        _add_options(p.add_argument_group(name, f"{body.title} (--vendor {name})"), body.options, seen)
    p.add_argument("-v", "--verbose", action="store_true", help="log every transaction")
    return p


def _options(args: argparse.Namespace, body: Simulator, p: argparse.ArgumentParser) -> dict[str, Any]:
    """The options given on the command line; an option of another body is a usage error."""
    common = {f.name for f in dataclasses.fields(SimOptions)}
    given = {k: v for k, v in vars(args).items() if k not in ("vendor", "host", "port", "ports", "verbose")}
    foreign = sorted(k for k in given if k not in common and k not in body.option_names())
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        p.error(f"{flags}: not an option of --vendor {args.vendor}")
    return given


async def _run(args: argparse.Namespace, options: dict[str, Any]) -> int:
    ports = [args.port] if args.port is not None else args.ports
    shown = ",".join(map(str, ports)) if ports else "the default ports"
    try:
        server = await start_simulator(args.vendor, args.host, ports=ports, **options)
    except ValueError as exc:
        print(f"ptpipd-sim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ptpipd-sim: cannot listen on {args.host}:{shown}: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, server.press_shutter)
    loop.add_signal_handler(signal.SIGUSR2, server.turn_dial)
    print(f"listening on {server.host}:{','.join(map(str, server.ports))}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
        print(f"sim: {server.stats.summary()}", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ptpipd-sim`` and ``python -m ptpipd.sim``."""
    bodies = {name: load(name) for name in VENDORS}
    p = parser(bodies)
    args = p.parse_args(argv)
    options = _options(args, bodies[args.vendor], p)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(_run(args, options))

"""``ptpipd-sim``: run a simulated PTP/IP camera until SIGTERM or SIGINT.

Prints exactly ``listening on HOST:PORT[,PORT...]`` on stdout once it accepts connections (tests wait for
that line; a Fuji camera lists its command, event and live-view ports) and, when stopped, one stderr line
``sim: sessions=N transactions=N violations=N``. Logs go to stderr. Exit codes: 0 after a signal, 2 for bad arguments or a vendor not simulated yet, 1 when it cannot
listen.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from ptpipd.sim.bigobject import parse_size
from ptpipd.sim.server import VENDORS, start_simulator

log = logging.getLogger("ptpipd.sim")


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"not a duration in seconds: {text!r}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1000:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"not a frame rate (0 < F <= 1000): {text!r}")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return value


def _ports(text: str) -> list[int]:
    return [_port(part) for part in text.split(",")]


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="ptpipd-sim",
        description="A simulated PTP/IP camera (responder), deterministic, for tests and script development.",
    )
    p.add_argument(
        "--vendor", choices=sorted(VENDORS), default="generic", help="camera dialect (default generic)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=_port,
        default=None,
        help="TCP port, 0 = a free one (default 15740; fuji: P, P+1, P+2, default 55740)",
    )
    p.add_argument(
        "--ports",
        type=_ports,
        default=None,
        metavar="P[,P...]",
        help="fuji: command,event,live-view ports (0 alone = three consecutive free ones)",
    )
    p.add_argument(
        "--object-size",
        type=_size,
        default=None,
        metavar="SIZE",
        help="add BIG00001.BIN of this size (100M, 512K, 1G, bytes) to the card",
    )
    p.add_argument(
        "--capture-delay",
        type=_seconds,
        default=0.05,
        metavar="S",
        help="seconds from InitiateCapture's response to the new object (default 0.05)",
    )
    p.add_argument(
        "--battery-interval",
        type=_seconds,
        default=1.0,
        metavar="S",
        help="the battery drains 1%% every S seconds (default 1; 0 disables)",
    )
    p.add_argument(
        "--response-delay", type=_seconds, default=0.0, metavar="S", help="delay every response by S seconds"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the photos on the card (default 0)")
    fuji = p.add_argument_group("fuji", "the simulated X-T1 (--vendor fuji)")
    fuji.add_argument(
        "--accept-any-client",
        action="store_true",
        help="let every client name connect, without a pairing prompt (default: the first name is "
        "remembered and others get InitFail 0x2019)",
    )
    fuji.add_argument(
        "--confirm-delay",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="the first pairing holds the 0xDF01 answer S seconds, as if waiting for OK on the camera",
    )
    fuji.add_argument(
        "--fps", type=_rate, default=10.0, metavar="F", help="live-view frames per second (default 10)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every transaction")
    return p


async def _run(args: argparse.Namespace) -> int:
    ports = [args.port] if args.port is not None else args.ports
    shown = ",".join(map(str, ports)) if ports else "the default ports"
    try:
        server = await start_simulator(
            args.vendor,
            args.host,
            ports=ports,
            object_size=args.object_size,
            capture_delay=args.capture_delay,
            battery_interval=args.battery_interval,
            response_delay=args.response_delay,
            seed=args.seed,
            accept_any_client=args.accept_any_client,
            confirm_delay=args.confirm_delay,
            fps=args.fps,
        )
    except (NotImplementedError, ValueError) as exc:
        print(f"ptpipd-sim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ptpipd-sim: cannot listen on {args.host}:{shown}: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"listening on {server.host}:{','.join(map(str, server.ports))}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
        print(f"sim: {server.stats.summary()}", file=sys.stderr, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ptpipd-sim`` and ``python -m ptpipd.sim``."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(_run(args))

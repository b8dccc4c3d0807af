"""The daemon's event loop: uvloop (libuv) when it is installed, else asyncio's own selector loop.

``event_loop`` (``[daemon] event_loop``, ``PTPIPD_EVENT_LOOP``, ``--event-loop``) chooses: ``auto`` (the
default) takes uvloop when it can be imported and asyncio's loop otherwise; ``uvloop`` insists on it (a
settings error when it is missing); ``asyncio`` never loads it (the fallback, should uvloop misbehave on
some platform). uvloop does the same work with fewer Python steps per wake-up (its transports, timers and
ready queue are C): every round trip to the camera and to a client is shorter.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LoopName = Literal["auto", "uvloop", "asyncio"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def uvloop_available() -> bool:
    """True when uvloop can be imported (it is not imported here)."""
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(name: LoopName) -> LoopFactory | None:
    """The factory of the loop ``name`` stands for; None for asyncio's default (``auto`` too when uvloop is
    missing or cannot be loaded: a broken wheel, another ABI). :class:`ImportError` when ``uvloop`` is
    asked for and cannot be loaded."""
    if name == "asyncio" or (name == "auto" and not uvloop_available()):
        return None
    try:
        import uvloop  # only when chosen: the fallback never loads it
    except ImportError:
        if name == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


def run_on(main: Coroutine[Any, Any, T], name: LoopName) -> T:
    """Runs ``main`` to its end on a new loop of the kind ``name`` says (as :func:`asyncio.run` does)."""
    with asyncio.Runner(loop_factory=loop_factory(name)) as runner:
        return runner.run(main)


def describe_loop(loop: asyncio.AbstractEventLoop) -> str:
    """What a loop is, from its class: ``uvloop`` or ``asyncio`` (and the class's name)."""
    cls = type(loop)
    family = "uvloop" if cls.__module__.startswith("uvloop") else "asyncio"
    return f"{family} ({cls.__module__}.{cls.__qualname__})"

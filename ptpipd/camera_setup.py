"""From the daemon's settings to the camera to connect to — the built-in simulator included.

Shared by the daemon and its one-shot mode (``ptpipd -c``), so both read the settings the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence

from ptpipd.config import Settings, persistent_guid
from ptpipd.ip.transport import Timeouts
from ptpipd.vendors.base import CameraConfig

log = logging.getLogger("ptpipd")


def camera_config(
    settings: Settings, env: Mapping[str, str], *, host: str | None = None, ports: Sequence[int] = ()
) -> CameraConfig:
    """The camera side of the settings (``host``/``ports`` override them, for the in-process simulator)."""
    command, event, stream = [*ports, None, None, None][:3]
    return CameraConfig(
        host=host or settings.host,
        vendor=settings.vendor,
        port=command if command is not None else settings.command_port(),
        event_port=event if event is not None else settings.event_port,
        stream_port=stream if stream is not None else settings.stream_port,
        guid=persistent_guid(settings, env),
        friendly_name=settings.friendly_name,
        timeouts=Timeouts(transaction=settings.timeout),
        pairing_timeout=settings.pairing_timeout,
    )


async def resolve_camera(
    settings: Settings, env: Mapping[str, str], stack: contextlib.AsyncExitStack
) -> CameraConfig:
    """The camera to use. With ``simulate``, a simulated camera is started in-process, on its own thread and
    free ports (the stack stops it) and the settings' vendor follows it."""
    if not settings.simulate:
        return camera_config(settings, env)
    from ptpipd.sim.thread import SimThread  # only when asked: the simulator is not small

    # on a thread of its own: its Pillow drawing never holds up the daemon's loop
    sim = await SimThread(settings.simulate, host="127.0.0.1", port=0).start()
    stack.push_async_callback(sim.stop)
    settings.vendor = settings.simulate
    log.info("simulated %s camera on %s:%s", settings.simulate, sim.host, ",".join(map(str, sim.ports)))
    return camera_config(settings, env, host=sim.host, ports=list(sim.ports))

"""The legacy text listener (DESIGN.md §5)."""

from __future__ import annotations

import asyncio
import socket

from ptpipd.config import Settings, SettingsError
from ptpipd.rpc import Dispatcher
from ptpipd.service import CameraService


async def start_legacy(
    settings: Settings, dispatcher: Dispatcher, service: CameraService, activated: list[socket.socket]
) -> list[asyncio.Server]:
    """Starts the text-protocol listener(s)."""
    raise SettingsError("the legacy text protocol is not implemented yet")

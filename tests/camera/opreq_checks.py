"""What every dialect's ``Camera.opreq`` refuses before sending (the JSON-RPC params refuse it first)."""

from __future__ import annotations

import pytest

from ptpipd.camera import Camera
from ptpipd.ip.errors import LocalProtocolError


async def refuses_fields_that_do_not_fit(cam: Camera) -> None:
    """A code or parameter too wide for its wire field, or a sixth parameter: a local error before anything
    is sent, and the session goes on with the next transaction."""
    with pytest.raises(LocalProtocolError, match="does not fit"):
        await cam.opreq(0x1_0000)
    with pytest.raises(LocalProtocolError, match="does not fit"):
        await cam.opreq(0x1001, [1 << 32])
    with pytest.raises(LocalProtocolError, match="at most 5 parameters"):
        await cam.opreq(0x1001, [1, 2, 3, 4, 5, 6])
    assert (await cam.opreq(0x1001)).name == "OK"

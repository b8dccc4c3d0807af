"""``python -m tests.contrib.focus_sim scale|none [ptpipd-sim flags]``: the generic simulated camera with its
FocusDistance (0x5009) changed before the simulator starts.

``scale``: the distances of a lens's focus scale (0.3 m … infinity) instead of the stock millimetre range,
so that focus_stack.py has few, known steps to take; ``none``: no FocusDistance at all (focus_stack.py then
refuses, which the tests check). Nothing else changes.
"""

from __future__ import annotations

import sys

from ptpipd.ptp import DataType, DevicePropCode, EnumForm
from ptpipd.sim import generic_model
from ptpipd.sim.cli import main
from ptpipd.sim.properties import PropSpec

#: Focus distances in mm, 0xFFFF = infinity (PTP.md §5.4); the camera starts at 1 m.
DISTANCES = (300, 500, 700, 1000, 1500, 2000, 3000, 5000, 0xFFFF)
START = 1000

FOCUS_DISTANCE = PropSpec(DevicePropCode.FocusDistance, DataType.UINT16, True, START, EnumForm(DISTANCES))

if __name__ == "__main__":
    variant = sys.argv.pop(1)
    others = tuple(p for p in generic_model.GENERIC_PROPERTIES if p.code != DevicePropCode.FocusDistance)
    generic_model.GENERIC_PROPERTIES = (*others, FOCUS_DISTANCE) if variant == "scale" else others
    sys.exit(main())

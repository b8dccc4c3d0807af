"""``python -m tests.contrib.focus_sim [ptpipd-sim flags]``: the generic simulated camera plus a settable
FocusDistance (0x5009), so that focus_stack.py has focus steps to take.

The stock simulated camera has no FocusDistance (focus_stack.py then refuses, which the tests check too);
this one adds the property to the model's table before the simulator starts, nothing else.
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
    generic_model.GENERIC_PROPERTIES = (*generic_model.GENERIC_PROPERTIES, FOCUS_DISTANCE)
    sys.exit(main())

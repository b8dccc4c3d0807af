"""``python -m ptpipd.sim``: the ``ptpipd-sim`` command."""

import sys

from ptpipd.sim.cli import main

sys.exit(main())

"""Suite-wide settings.

Hypothesis: no per-example deadline. Its default (200 ms) measures wall time, so a property test fails
when the machine is busy (CI runs on 2 shared cores) although nothing is wrong; the properties themselves
are what the tests assert, and the suite's own timeout still bounds every test.
"""

from hypothesis import settings

settings.register_profile("ptpipd", deadline=None)
settings.load_profile("ptpipd")

"""ptpipd: remote control of digital cameras over PTP/IP.

Layers, each importing only the ones before it::

    ptp ← ip ← vendors ← camera ← service ← {rpc, legacy} ← transports ← daemon

The simulator (:mod:`ptpipd.sim`) imports only :mod:`ptpipd.ptp`, :mod:`ptpipd.ip` and vendor data tables.
"""

__version__ = "0.1.0"
API_VERSION = "1.0"

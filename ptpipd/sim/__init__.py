"""Simulated PTP/IP cameras.

One asyncio skeleton (:mod:`ptpipd.sim.server`) runs every simulated body; the body of vendor ``N`` (a name
of :data:`ptpipd.vendors.VENDORS`) is ``ptpipd.sim.N``, whose ``SIMULATOR`` (:mod:`ptpipd.sim.dialect`)
declares its ports, its options and its sans-I/O model and responders (:mod:`ptpipd.sim.responder`).
Pictures are drawn with Pillow (:mod:`ptpipd.sim.pictures`).
"""

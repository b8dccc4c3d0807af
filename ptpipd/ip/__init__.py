"""PTP/IP: packets, the two dialects' framing (standard and Fujifilm), sans-I/O codecs and the asyncio initiator.

Only :mod:`ptpipd.ip.transport` does I/O; everything else turns bytes into packets and back.
"""

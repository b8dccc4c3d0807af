"""The asyncio side of an initiator: TCP connections, the init handshake, transactions, events, probes.

This is the only package of :mod:`ptpipd.ip` that does I/O. Bytes are received straight into a buffer we
own (:mod:`.channel`), decoded synchronously by the sans-I/O codecs, and data payloads go to the caller's
sink (:mod:`.sinks`) without being copied or queued, so a download of any size runs in bounded memory.

Every wait is bounded (:mod:`.timeouts`): connecting, each handshake step, and a transaction's *inactivity*
(a transaction fails when nothing at all arrives for ``Timeouts.transaction`` seconds, however long the
transfer; :mod:`.transactions`). Any failure of the command or event connection — timeout, malformed
packet, peer gone — closes the whole :class:`Initiator` (:mod:`.connections`) and fails the transaction in
flight with the reason; a new one must be connected.
"""

from ptpipd.ip.transport.channel import RECEIVE_BUFFER, Channel
from ptpipd.ip.transport.connections import EVENT_BURST, Initiator
from ptpipd.ip.transport.sinks import DEFAULT_COLLECT_CAP, DISCARD, BytesSink, DataSink, DataTooLarge
from ptpipd.ip.transport.timeouts import Timeouts
from ptpipd.ip.transport.transactions import Reply

__all__ = ["DEFAULT_COLLECT_CAP", "DISCARD", "EVENT_BURST", "RECEIVE_BUFFER", "BytesSink", "Channel"]
__all__ += ["DataSink", "DataTooLarge", "Initiator", "Reply", "Timeouts"]

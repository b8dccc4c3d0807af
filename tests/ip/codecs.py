"""Checks shared by the codec tests."""

from __future__ import annotations

from ptpipd.ip import packets as pk
from ptpipd.ip.generic import GenericCodec


def assert_between_packets(codec: GenericCodec) -> None:
    """The codec holds no partial packet: the next whole packet fed to it comes out exactly as sent."""
    assert codec.next_event() is None
    codec.receive_data(pk.encode(pk.ProbeRequest()))
    assert codec.next_event() == pk.ProbeRequest()
    assert codec.next_event() is None

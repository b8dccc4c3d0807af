"""One list of notification topics: the service's, the JSON-RPC ``subscribe`` parameter's and ptpipctl's."""

from __future__ import annotations

import typing

from ptpipctl.commands.events import TOPICS as CTL_TOPICS
from ptpipd.rpc.models import Topic
from ptpipd.service.notify import TOPICS


def test_the_rpc_refuses_no_topic_the_service_sends() -> None:
    # subscribe's params are checked against Topic only; Fanout trusts them (a topic missing from one list
    # would be refused by the RPC, or accepted and never delivered)
    assert typing.get_args(Topic) == TOPICS


def test_ptpipctl_offers_every_topic() -> None:
    assert CTL_TOPICS == TOPICS

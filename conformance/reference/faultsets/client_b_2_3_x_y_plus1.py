"""Faults of the reference CPM Client that break System Description section B.2.3.x.y+1 (seed 002).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.no-rejoin-on-user-message",
        "client",
        ("SD-B.2.3.x.y+1-11",),
        "A message the user sends while no session of the group is up is dropped: the client "
        "sends no re-join INVITE.",
    ),
    Fault(
        "client.rejoin-without-msrp",
        "client",
        ("SD-B.2.3.x.y+1-12",),
        "The client's re-join INVITE is accepted but the client never sets up its MSRP session "
        "(the message it re-joined for never arrives).",
    ),
)

__all__ = ["FAULTS"]

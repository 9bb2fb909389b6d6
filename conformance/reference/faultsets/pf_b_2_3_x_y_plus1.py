"""Faults of the reference PF that break System Description section B.2.3.x.y+1 (seed 002).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-rejoin-answer-off-path",
        "pf",
        ("SD-B.2.3.x.y+1-12",),
        "Trigger B: the 200 to the client's re-join has the focus Contact and no Record-Route of "
        "the PF, so the client's ACK and BYE miss the PF.",
    ),
    Fault(
        "pf.deferred-notify-before-delivery",
        "pf",
        ("SD-B.2.3.x.y+1-16-19-ORDER",),
        "A PF claiming delivery-first holds the buffered messages for client B back in the "
        "active session until the NOTIFY of client B's subscription has gone out.",
    ),
)

__all__ = ["FAULTS"]

"""Faults of the reference PF that break System Description section B.2.3.x.y+2 (seed 002).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-two-sessions-in-race",
        "pf",
        ("SD-B.2.3.x.y+2-ACTIVE", "SD-B.2.3.x.y+2-ACTIVE-REJECT"),
        "Race (active): a re-join after the PF's INVITE is accepted too (two sessions).",
    ),
    Fault(
        "pf.deferred-delivery-abandoned-on-rejoin",
        "pf",
        ("SD-B.2.3.x.y+2-INACTIVE-COMPLETE",),
        "Race (inactive): the delivery is dropped when the client's re-join arrives.",
    ),
    Fault(
        "pf.deferred-rejoin-not-forwarded",
        "pf",
        ("SD-B.2.3.x.y+2-INACTIVE-FORWARD",),
        "Race (inactive): the client's re-join is answered 480 instead of going to the CF.",
    ),
)

__all__ = ["FAULTS"]

"""Faults of the reference CF that break System Description section B.2.3.x.y (seed 002).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "cf.idle-participant-dropped",
        "cf",
        ("SD-B.2.3.x.y-FIG-CF-KEEP",),
        "A participant that only receives (has sent no MSRP message of its own) is dropped from "
        "the recipients list, disconnected/failed, once a message was relayed to it.",
    ),
    Fault(
        "cf.refresh-no-notify",
        "cf",
        ("SD-B.2.3.x.y-14-15-cf", "SD-B.2.3.x.y-16-17"),
        "A subscription refresh in the existing dialog gets 200 but no NOTIFY with the current "
        "conference state.",
    ),
)

__all__ = ["FAULTS"]

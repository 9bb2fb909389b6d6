"""Faults of the reference CF beyond the registry's first six (seed 000 5.2.3.5, seed 002
B.2.3.x.y figure notes, seed 003 8.6 2.b.ii.2)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "cf.subscribe-expires-longer",
        "cf",
        ("CF-5.2.3.5-200",),
        "The 200 to a conference SUBSCRIBE grants an Expires longer than the one requested "
        "(RFC 6665 4.2.1.1 allows only shorter).",
    ),
    Fault(
        "cf.no-notify-on-join",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant joining the group session is not notified to the subscribers "
        "(departures still are).",
    ),
    Fault(
        "cf.failed-user-dropped",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant whose MSRP connection failed is removed from the notified "
        "participant list (state deleted) instead of staying listed, disconnected/failed.",
    ),
    Fault(
        "cf.version-repeated",
        "cf",
        ("CF-8.6-2.b.ii.2",),
        "Partial notifications repeat the version of the previous notification instead of "
        "incrementing it (RFC 4575 4.4).",
    ),
    Fault(
        "cf.idle-participant-dropped",
        "cf",
        ("SD-B.2.3.x.y-FIG-CF-KEEP",),
        "A participant that only receives (has sent no MSRP message of its own) is dropped "
        "from the recipients list, disconnected/failed, once a message was relayed to it.",
    ),
    Fault(
        "cf.refresh-no-notify",
        "cf",
        ("SD-B.2.3.x.y-14-15-cf", "SD-B.2.3.x.y-16-17"),
        "A subscription refresh in the existing dialog gets 200 but no NOTIFY with the "
        "current conference state.",
    ),
)

__all__ = ["FAULTS"]

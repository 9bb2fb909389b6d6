"""Faults of the reference CPM Client that break System Description section 5.2.3.5 (seed 000).

The first requirement id of each fault is in that section; some faults also break
requirements of B.2.3.x.y."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.no-subscribe-refresh-when-active",
        "client",
        ("CLIENT-5.2.3.5-REFRESH", "SD-B.2.3.x.y-14-15"),
        "Reconnected to an active group session (sendrecv), the client does not refresh its "
        "conference subscription.",
    ),
    Fault(
        "client.stale-participants-after-404",
        "client",
        ("CLIENT-5.2.3.5-404-GSO",),
        "When its subscription refresh gets 404 Not Found, the client keeps the participant list "
        "it last learned from a NOTIFY instead of taking the participants of the Group State "
        "Object it holds (its next re-join INVITE lists the stale participants).",
    ),
    Fault(
        "client.subscribe-without-feature-tag",
        "client",
        ("CLIENT-5.2.3.5-SUBSCRIBE-TAG",),
        "The client's conference SUBSCRIBE carries no Accept-Contact with the CPM feature tag.",
    ),
    Fault(
        "client.subscribe-to-factory",
        "client",
        ("CLIENT-5.2.3.5-SUBSCRIBE-ID", "SD-B.2.3.x.y-14-15"),
        "The client sends its conference SUBSCRIBE to the conference factory URI instead of the "
        "group session identity (the focus).",
    ),
)

__all__ = ["FAULTS"]

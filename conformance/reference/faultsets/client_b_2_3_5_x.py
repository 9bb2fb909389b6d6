"""Faults of the reference CPM Client that break System Description section B.2.3.5.X (seed 000).

The first requirement id of each fault is in that section; some faults also break
requirements of 5.2.3.5."""

from __future__ import annotations

from conformance.reference.faultsets import SUBSCRIBES_DURING_INACTIVE_DELIVERY, Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.no-dd-subscribe",
        "client",
        ("SD-B.2.3.5.X-3", "CLIENT-5.2.3.5-DD-SUBSCRIBE"),
        "Claiming to subscribe during an inactive deferred delivery, the client sends no "
        "SUBSCRIBE to the PF after the ACK of the sendonly deferred-delivery INVITE.",
        pics=SUBSCRIBES_DURING_INACTIVE_DELIVERY,
    ),
    Fault(
        "client.dd-subscribe-without-feature-tag",
        "client",
        ("SD-B.2.3.5.X-3",),
        "The client's SUBSCRIBE after the ACK of an inactive deferred delivery carries no "
        "Accept-Contact with the CPM feature tag.",
        pics=SUBSCRIBES_DURING_INACTIVE_DELIVERY,
    ),
    Fault(
        "client.dd-subscribe-to-factory",
        "client",
        ("SD-B.2.3.5.X-3", "CLIENT-5.2.3.5-DD-SUBSCRIBE"),
        "The client's SUBSCRIBE after the ACK of an inactive deferred delivery goes to the "
        "conference factory URI (the CF) instead of the group session identity at the PF handling "
        "the deferred delivery.",
        pics=SUBSCRIBES_DURING_INACTIVE_DELIVERY,
    ),
    Fault(
        "client.no-subscribe-after-rejoin",
        "client",
        ("SD-B.2.3.5.X-N3",),
        "After its own re-join INVITE is answered 200 (the client-initiated variant of the flow) "
        "the client never subscribes to the group session's conference state.",
    ),
    Fault(
        "client.deferred-bye-refused",
        "client",
        ("SD-B.2.3.5.X-8",),
        "The client answers the PF's BYE ending a deferred-delivery session with 500 instead of "
        "200 OK.",
    ),
)

__all__ = ["FAULTS"]

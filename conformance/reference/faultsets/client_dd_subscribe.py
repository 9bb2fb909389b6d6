"""Faults of the reference CPM Client's subscription to the PF during deferred delivery
(seed 000 B.2.3.5.X step 3 and Note 3, 5.2.3.5), the side of the seed conflict selected by
the claim ``client.subscribe_during_inactive_delivery = true`` (PROTOCOL_NOTES "Known
conflicts"; the other side, 7.3.11 1.a.vi, is ``client.subscribes-when-inactive``)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

_CLAIM = (("client.subscribe_during_inactive_delivery", "true"),)

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.no-dd-subscribe",
        "client",
        ("SD-B.2.3.5.X-3", "CLIENT-5.2.3.5-DD-SUBSCRIBE"),
        "Claiming to subscribe during an inactive deferred delivery, the client sends no "
        "SUBSCRIBE to the PF after the ACK of the sendonly deferred-delivery INVITE.",
        pics=_CLAIM,
    ),
    Fault(
        "client.dd-subscribe-without-feature-tag",
        "client",
        ("SD-B.2.3.5.X-3",),
        "The client's SUBSCRIBE after the ACK of an inactive deferred delivery carries no "
        "Accept-Contact with the CPM feature tag.",
        pics=_CLAIM,
    ),
    Fault(
        "client.dd-subscribe-to-factory",
        "client",
        ("SD-B.2.3.5.X-3", "CLIENT-5.2.3.5-DD-SUBSCRIBE"),
        "The client's SUBSCRIBE after the ACK of an inactive deferred delivery goes to the "
        "conference factory URI (the CF) instead of the group session identity at the PF "
        "handling the deferred delivery.",
        pics=_CLAIM,
    ),
    Fault(
        "client.no-subscribe-after-rejoin",
        "client",
        ("SD-B.2.3.5.X-N3",),
        "After its own re-join INVITE is answered 200 (the client-initiated variant of the "
        "flow) the client never subscribes to the group session's conference state.",
    ),
)

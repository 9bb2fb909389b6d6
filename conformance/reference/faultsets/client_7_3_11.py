"""Faults of the reference CPM Client that break Conversation Function TS section 7.3.11 (seed 001).

The first requirement id of each fault is in that section; some faults also break
requirements of B.2.3.5.X, B.2.3.x.y."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "client.deferred-480-instead-of-200",
        "client",
        ("CLIENT-7.3.11-1.a.v-200", "SD-B.2.3.5.X-2", "SD-B.2.3.x.y-13"),
        "The client answers a deferred-delivery INVITE for a known group session with 480 even "
        "when the user accepts (no 200 OK).",
    ),
    Fault(
        "client.unknown-session-200",
        "client",
        ("CLIENT-7.3.11-1.a.iv", "CLIENT-7.3.11-2.a.ii"),
        "A deferred-delivery INVITE whose Conversation-ID/Contribution-ID the client does not "
        "know is accepted with 200 instead of 481.",
    ),
    Fault(
        "client.imdn-over-msrp-when-inactive",
        "client",
        ("CLIENT-7.3.11-1.a.ii",),
        "In the inactive (sendonly) deferred delivery the client sends the delivery notifications "
        "over MSRP instead of SIP MESSAGE.",
    ),
    Fault(
        "client.imdn-over-sip-when-active",
        "client",
        ("CLIENT-7.3.11-2.a.i.2",),
        "In the active (sendrecv) delivery the client sends the delivery notifications in SIP "
        "MESSAGE instead of the MSRP session.",
    ),
    Fault(
        "client.subscribes-when-inactive",
        "client",
        ("CLIENT-7.3.11-1.a.vi",),
        "The client subscribes to the conference event package during an inactive (sendonly) "
        "deferred delivery.",
    ),
    Fault(
        "client.no-msrp-after-ack",
        "client",
        ("CLIENT-7.3.11-1.a.v-msrp", "CLIENT-7.3.11-1.a.i", "SD-B.2.3.5.X-5"),
        "After the ACK of a deferred-delivery INVITE the client never sets up the MSRP session.",
    ),
    Fault(
        "client.ignores-group-state-object",
        "client",
        ("CLIENT-7.3.11-1.a.vii",),
        "A Group State Object received over MSRP does not update the client's Participant "
        "Information (its next re-join lists the old participants).",
    ),
    Fault(
        "client.rejoin-without-message",
        "client",
        ("CLIENT-7.3.11-REJOIN-RESTRAINT",),
        "When a deferred-delivery session ends the client re-joins the group session at once, "
        "although the user has no message to send.",
    ),
    Fault(
        "client.rejoin-during-deferred-session",
        "client",
        ("CLIENT-7.3.11-1.a.viii",),
        "A message the user sends during an inactive deferred delivery leaves at once in a "
        "re-join INVITE, before the deferred-delivery session has ended.",
    ),
    Fault(
        "client.decline-ignored",
        "client",
        ("CLIENT-7.3.11-1.a.v.1",),
        "The user declines (upper tester user-decline) but the client accepts the deferred "
        "invitation with 200 instead of answering 603.",
    ),
    Fault(
        "client.unavailable-ignored",
        "client",
        ("CLIENT-7.3.11-1.a.v.2",),
        "The user defers (upper tester user-unavailable) but the client accepts the deferred "
        "invitation with 200 instead of answering 480.",
    ),
    Fault(
        "client.no-msrp-after-ack-when-active",
        "client",
        ("CLIENT-7.3.11-2.a.i.1", "SD-B.2.3.x.y-13"),
        "After the ACK of an active re-connection INVITE (sendrecv) the client never sets up the "
        "MSRP session, so the deferred messages are not received in it.",
    ),
    Fault(
        "client.rejoin-instead-of-active-session",
        "client",
        ("CLIENT-7.3.11-2.a.i.3", "SD-B.2.3.x.y-20-24"),
        "With an established sendrecv session the client sends a new message in a new re-join "
        "INVITE instead of that session.",
    ),
    Fault(
        "client.deferred-messages-not-received",
        "client",
        ("CLIENT-7.3.11-1.a.i",),
        "Chat messages of an inactive deferred delivery (a=sendonly) are answered 200 but "
        "never taken as received: no delivery notification names them.",
    ),
    Fault(
        "client.rejoin-new-contribution-id",
        "client",
        ("CLIENT-7.3.11-3",),
        "The re-join INVITE carries a new Contribution-ID instead of the group session's.",
    ),
    Fault(
        "client.imdn-also-over-msrp-when-inactive",
        "client",
        ("CLIENT-7.3.11-1.a.ii",),
        "In the inactive (sendonly) deferred delivery the client sends each delivery "
        "notification in a SIP MESSAGE and also over the sendonly MSRP session.",
    ),
)

__all__ = ["FAULTS"]

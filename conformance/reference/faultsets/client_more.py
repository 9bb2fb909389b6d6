"""Faults of the reference CPM Client not in the base registry (seed 001 7.3.11, seed 000
5.2.3.5): the user's answers, the active session's use, the conference SUBSCRIBE."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
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
        "The user defers (upper tester user-unavailable) but the client accepts the "
        "deferred invitation with 200 instead of answering 480.",
    ),
    Fault(
        "client.no-msrp-after-ack-when-active",
        "client",
        ("CLIENT-7.3.11-2.a.i.1", "SD-B.2.3.x.y-13"),
        "After the ACK of an active re-connection INVITE (sendrecv) the client never sets "
        "up the MSRP session, so the deferred messages are not received in it.",
    ),
    Fault(
        "client.rejoin-instead-of-active-session",
        "client",
        ("CLIENT-7.3.11-2.a.i.3", "SD-B.2.3.x.y-20-24"),
        "With an established sendrecv session the client sends a new message in a new "
        "re-join INVITE instead of that session.",
    ),
    Fault(
        "client.subscribe-without-feature-tag",
        "client",
        ("CLIENT-5.2.3.5-SUBSCRIBE-TAG",),
        "The client's conference SUBSCRIBE carries no Accept-Contact with the CPM "
        "feature tag.",
    ),
    Fault(
        "client.subscribe-to-factory",
        "client",
        ("CLIENT-5.2.3.5-SUBSCRIBE-ID", "SD-B.2.3.x.y-14-15"),
        "The client sends its conference SUBSCRIBE to the conference factory URI instead "
        "of the group session identity (the focus).",
    ),
    Fault(
        "client.deferred-bye-refused",
        "client",
        ("SD-B.2.3.5.X-8",),
        "The client answers the PF's BYE ending a deferred-delivery session with 500 "
        "instead of 200 OK.",
    ),
    Fault(
        "client.no-rejoin-on-user-message",
        "client",
        ("SD-B.2.3.x.y+1-11",),
        "A message the user sends while no session of the group is up is dropped: the "
        "client sends no re-join INVITE.",
    ),
    Fault(
        "client.rejoin-without-msrp",
        "client",
        ("SD-B.2.3.x.y+1-12",),
        "The client's re-join INVITE is accepted but the client never sets up its MSRP "
        "session (the message it re-joined for never arrives).",
    ),
)

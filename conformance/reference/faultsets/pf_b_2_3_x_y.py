"""Faults of the reference PF that break System Description section B.2.3.x.y (seed 002).

The first requirement id of each fault is in that section; some faults also break
requirements of 8.3.2.9, B.2.3.5.X."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-drops-messages",
        "pf",
        ("SD-B.2.3.x.y-18-19", "SD-B.2.3.5.X-5", "PF-8.3.2.9-B-2"),
        "The CF's SENDs are answered but not kept: nothing is delivered later.",
    ),
    Fault(
        "pf.deferred-delivery-before-notify",
        "pf",
        ("SD-B.2.3.x.y-16-19-ORDER",),
        "A PF claiming notify-first delivers the buffered messages to client B back in the "
        "active session at once, before the NOTIFY of client B's subscription.",
        pics=(("pf.rejoin_notify_order", "notify-first"),),
    ),
    Fault(
        "pf.deferred-sendonly-when-active",
        "pf",
        ("SD-B.2.3.x.y-11-12.d",),
        "Active session: the re-invitation offers a=sendonly.",
    ),
    Fault(
        "pf.deferred-stale-participants",
        "pf",
        ("SD-B.2.3.x.y-11-12.c",),
        "The re-invitation carries the original participant list, not the latest one.",
    ),
    Fault(
        "pf.deferred-delivery-other-device",
        "pf",
        ("SD-B.2.3.x.y-DEVICE",),
        "The re-invitation goes to another client of the user, not to the one that accepted the "
        "original group session.",
    ),
    Fault(
        "pf.deferred-next-message-withheld",
        "pf",
        ("SD-B.2.3.x.y-3",),
        "The CF's chat messages in a terminating group session are not forwarded to the client.",
    ),
    Fault(
        "pf.deferred-silence-ends-session",
        "pf",
        ("SD-B.2.3.x.y-4-6.a",),
        "When the client no longer answers (its connection is lost) the PF ends the session "
        "towards the CF instead of answering the CF's SENDs itself.",
    ),
    Fault(
        "pf.deferred-drops-imdns",
        "pf",
        ("SD-B.2.3.x.y-4-6.b",),
        "While the client is gone the PF keeps the chat messages but not the IMDNs.",
    ),
    Fault(
        "pf.deferred-third-party-register-rejected",
        "pf",
        ("SD-B.2.3.x.y-10",),
        "The third-party REGISTER of a client with a deferred group session gets 403.",
    ),
    Fault(
        "pf.deferred-reinvite-new-ids",
        "pf",
        ("SD-B.2.3.x.y-11-12.b",),
        "The re-invitation carries a fresh Contribution-ID instead of the original one.",
    ),
    Fault(
        "pf.deferred-unsubscribe-while-buffering",
        "pf",
        ("SD-B.2.3.x.y-UNSUB",),
        "The PF un-subscribes from the focus as soon as its subscription is up, while it still "
        "buffers for the client.",
    ),
    Fault(
        "pf.deferred-unsubscribe-without-expires-0",
        "pf",
        ("SD-B.2.3.x.y-UNSUB",),
        "After the re-establishment the PF's SUBSCRIBE in the focus subscription carries Expires: "
        "3600 (a refresh), not Expires: 0.",
    ),
)

__all__ = ["FAULTS"]

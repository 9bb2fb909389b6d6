"""Faults of the reference CF that break System Description section 5.2.3.5 (seed 000).

The first requirement id of each fault is in that section; some faults also break
requirements of B.2.3.x.y."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "cf.no-initial-notify",
        "cf",
        ("CF-5.2.3.5-NOTIFY-INITIAL", "SD-B.2.3.x.y-8-cf"),
        "The CF accepts a conference SUBSCRIBE with 200 but sends no initial NOTIFY; later "
        "changes are still notified.",
    ),
    Fault(
        "cf.notify-not-reverse-path",
        "cf",
        ("CF-5.2.3.5-NOTIFY-INITIAL",),
        "The CF sends its NOTIFYs straight to the subscriber's Contact, not back along the "
        "SUBSCRIBE's path (its route set, through the SIP/IP core).",
    ),
    Fault(
        "cf.subscribe-unauthorised-accepted",
        "cf",
        ("CF-5.2.3.5-REJECT",),
        "The CF accepts a conference SUBSCRIBE from a user who is not a participant of the group "
        "session (200 and NOTIFY instead of 403).",
    ),
    Fault(
        "cf.departed-user-kept",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant who left with BYE is still reported as connected (no disconnected status, "
        "no disconnection-method departed).",
    ),
    Fault(
        "cf.no-noresource",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "When the group session ends, the CF drops its subscriptions silently: no final NOTIFY "
        "with Subscription-State terminated;reason=noresource.",
    ),
    Fault(
        "cf.unknown-focus-200",
        "cf",
        ("CF-5.2.3.5-HOSTS",),
        "A conference SUBSCRIBE for a group session identity the CF does not host gets 200 (and "
        "no NOTIFY) instead of 404.",
    ),
    Fault(
        "cf.subscribe-expires-longer",
        "cf",
        ("CF-5.2.3.5-200",),
        "The 200 to a conference SUBSCRIBE grants an Expires longer than the one requested (RFC "
        "6665 4.2.1.1 allows only shorter).",
    ),
    Fault(
        "cf.no-notify-on-join",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant joining the group session is not notified to the subscribers (departures "
        "still are).",
    ),
    Fault(
        "cf.failed-user-dropped",
        "cf",
        ("CF-5.2.3.5-NOTIFY-CHANGES",),
        "A participant whose MSRP connection failed is removed from the notified participant list "
        "(state deleted) instead of staying listed, disconnected/failed.",
    ),
)

__all__ = ["FAULTS"]

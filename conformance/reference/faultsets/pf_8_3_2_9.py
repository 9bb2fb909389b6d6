"""Faults of the reference PF that break Conversation Function TS section 8.3.2.9 (seed 004).

The first requirement id of each fault is in that section; some faults also break
requirements of B.2.3.5.X, B.2.3.x.y, B.2.3.x.y+2."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-bye-loss-ends-session",
        "pf",
        ("PF-8.3.2.9-1", "SD-B.2.3.x.y-4-6.b"),
        "Case 1: a client BYE with Reason SIP;cause=480 ends the CF leg too.",
    ),
    Fault(
        "pf.deferred-bye-cause-200-treated-as-loss",
        "pf",
        ("PF-8.3.2.9-1",),
        "Case 1: a voluntary BYE (cause=200) keeps the PF in the session as if lost.",
    ),
    Fault(
        "pf.deferred-timeout-ends-session",
        "pf",
        ("PF-8.3.2.9-2",),
        "Case 2: the timeout of the INVITE to the client ends the CF leg.",
    ),
    Fault(
        "pf.deferred-msrp-setup-failure-ends-session",
        "pf",
        ("PF-8.3.2.9-3-setup",),
        "Case 3: a failed MSRP connection setup towards the client ends the session.",
    ),
    Fault(
        "pf.deferred-msrp-loss-ends-session",
        "pf",
        ("PF-8.3.2.9-3-lost",),
        "Case 3: the loss of the client's MSRP connection ends the session.",
    ),
    Fault(
        "pf.deferred-no-focus-subscription",
        "pf",
        ("PF-8.3.2.9-SUBSCRIBE", "SD-B.2.3.x.y-7-8.a"),
        "The PF does not subscribe to the focus while it buffers.",
    ),
    Fault(
        "pf.deferred-ends-focus-subscription",
        "pf",
        ("PF-8.3.2.9-SUBSCRIBE",),
        "When the client is gone the PF ends the focus subscription it holds (Expires: 0) and "
        "opens none: it is not subscribed while it buffers.",
    ),
    Fault(
        "pf.deferred-no-delivery-on-register",
        "pf",
        ("PF-8.3.2.9-A", "SD-B.2.3.x.y-11-12.a", "SD-B.2.3.5.X-1"),
        "Trigger A: the third-party REGISTER of the client starts no delivery.",
    ),
    Fault(
        "pf.deferred-invite-after-rejoin",
        "pf",
        ("PF-8.3.2.9-B-1", "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS"),
        "Trigger B: after the client's re-join the PF still invites the client.",
    ),
    Fault(
        "pf.client-bye-answered-500",
        "pf",
        ("PF-8.3.2.9-BYE",),
        "A client's BYE in a terminating group session is answered 500 instead of 200.",
    ),
)

__all__ = ["FAULTS"]

"""Faults of the reference PF that break System Description section B.2.3.5.X (seed 000).

The first requirement id of each fault is in that section; some faults also break
requirements of 5.2.3.5."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-sendrecv-when-inactive",
        "pf",
        ("SD-B.2.3.5.X-1",),
        "Inactive session: the delivery INVITE offers a=sendrecv, not a=sendonly.",
    ),
    Fault(
        "pf.deferred-no-deferred-tag",
        "pf",
        ("SD-B.2.3.5.X-1",),
        "Inactive session: the delivery INVITE's Accept-Contact carries cpm.session, not the "
        "cpm.deferred icsi-ref.",
    ),
    Fault(
        "pf.deferred-subscribe-no-first-notify",
        "pf",
        ("SD-B.2.3.5.X-4",),
        "Client B's SUBSCRIBE during the inactive delivery gets 200 but no NOTIFY before the "
        "SENDs: only the terminating NOTIFY of step 6 comes.",
    ),
    Fault(
        "pf.deferred-first-notify-full-list",
        "pf",
        ("SD-B.2.3.5.X-4-only-b",),
        "The first NOTIFY to the client lists every participant, not only client B.",
    ),
    Fault(
        "pf.deferred-rejoin-not-delivered",
        "pf",
        ("SD-B.2.3.5.X-N3", "PF-8.3.2.9-B-2"),
        "The PF answers client B's own INVITE for a session it holds messages for with 200, "
        "but delivers none of them in that session.",
    ),
    Fault(
        "pf.deferred-no-final-notify",
        "pf",
        ("SD-B.2.3.5.X-6", "PF-5.2.3.5-DD-FINAL-NOTIFY"),
        "No terminating NOTIFY with the final participant list after the last SEND.",
    ),
    Fault(
        "pf.deferred-final-notify-before-send",
        "pf",
        ("SD-B.2.3.5.X-6",),
        "The terminating NOTIFY with the final participant list is sent before the buffered "
        "SENDs, not after the last one.",
    ),
    Fault(
        "pf.deferred-no-bye",
        "pf",
        ("SD-B.2.3.5.X-7",),
        "The PF never ends the inactive deferred-delivery session.",
    ),
)

__all__ = ["FAULTS"]

"""Faults of the reference PF that break System Description section 5.2.3.5 (seed 000).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.deferred-client-subscribe-rejected",
        "pf",
        ("PF-5.2.3.5-DD-HANDLE-SUB",),
        "During deferred delivery the client's conference SUBSCRIBE gets 489.",
    ),
    Fault(
        "pf.cpim-to-not-actual-recipients",
        "pf",
        ("PF-5.2.3.5-CPIM-TO",),
        "A stored message's CPIM To lists the participants of the CF's invitation, not those of "
        "the session when the message was stored.",
    ),
)

__all__ = ["FAULTS"]

"""Faults of the reference CF that break Conversation Function TS section 8.6 (seed 003).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "cf.full-on-change",
        "cf",
        ("CF-8.6-2.b.ii.2",),
        "Participant changes are notified with full-state documents instead of partial "
        "notifications.",
    ),
    Fault(
        "cf.version-repeated",
        "cf",
        ("CF-8.6-2.b.ii.2",),
        "Partial notifications repeat the version of the previous notification instead of "
        "incrementing it (RFC 4575 4.4).",
    ),
)

__all__ = ["FAULTS"]

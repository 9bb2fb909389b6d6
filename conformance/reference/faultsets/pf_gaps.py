"""Faults of the PF requirements filled in late (seed 003 8.2.1 step 4.c.iv.2, 8.2.3
subscription response and termination): one per testable item."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.pps-configured-not-asserted", "pf", ("PF-8.2.1-4.c.iv.2",),
          "With the configuration policy, another P-Preferred-Service is removed but no "
          "configured P-Asserted-Service is added.",
          pics=(("pf.pps_other_policy", "configuration"),)),
    Fault("pf.no-unsubscribe-on-leave", "pf", ("PF-8.2.3-TERM",),
          "When the user leaves the group session the PF keeps its subscription to the "
          "focus (no SUBSCRIBE with Expires: 0)."),
    Fault("pf.subscribe-never-refreshed", "pf", ("PF-8.2.3-RESP",),
          "The PF ignores the Expires of the 200 to its SUBSCRIBE and never refreshes."),
    Fault("pf.subscribe-retried-after-error", "pf", ("PF-8.2.3-RESP",),
          "After an error response to its SUBSCRIBE the PF subscribes again at once."),
)

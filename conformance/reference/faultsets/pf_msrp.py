"""Faults of the reference PF's MSRP handling (seed 003 8.6 "Procedures upon Receiving
MSRP", :mod:`conformance.reference.pf.msrp_policy`)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.msrp-chunk-size-ignored", "pf", ("PF-8.6-1",),
          "Step 1: SENDs are forwarded in default-size chunks, larger than the leg's "
          "negotiated a=max-size."),
    Fault("pf.msrp-not-forwarded", "pf", ("PF-8.6-1", "PF-8.6-2.a.i.1.c"),
          "Step 1: received MSRP messages are not forwarded to the other leg(s)."),
)

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
    Fault("pf.single-client-no-bye", "pf", ("PF-8.6-2.a.i.1.a",),
          "Step 2.a.i.1.a: the clients the user did not choose get no BYE."),
    Fault("pf.single-client-bye-wrong-reason", "pf", ("PF-8.6-2.a.i.1.a",),
          "Step 2.a.i.1.a: the BYE carries Reason SIP;cause=480 instead of cause=200."),
    Fault("pf.single-client-bye-on-iscomposing-ignored", "pf", ("PF-8.6-2.a.i.1.a",),
          "Step 2.a.i.1: an isComposing does not count as the user's choice of a client."),
    Fault("pf.single-client-media-kept", "pf", ("PF-8.6-2.a.i.1.b",),
          "Step 2.a.i.1.b: after the 200 to the BYE the MSRP session stays open."),
    Fault("pf.no-message-direction-sent", "pf", ("PF-8.6-2.a.ii.1",),
          "Step 2.a.ii.1: copies to the user's other clients carry no Message-Direction: "
          "sent."),
)

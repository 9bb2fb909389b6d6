"""Faults of the forward mode of a client's conference SUBSCRIBE at the PF (seed 003 8.2.3
"forward this request to the CPM Controlling Function and terminate any subscription that
it may have initiated itself"; seed 000 5.2.3.5): observable only under the claim
pf.client_subscribe_mode=forward."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

_CLAIM = (("pf.client_subscribe_mode", "forward"),)

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.forward-not-forwarded",
        "pf",
        ("PF-8.2.3-CLSUB-FORWARD", "PF-5.2.3.5-FWD-SUB"),
        "A PF claiming forward mode serves the client's SUBSCRIBE as a B2BUA from its own "
        "subscription: the client's SUBSCRIBE never reaches the CF.",
        pics=_CLAIM,
    ),
    Fault(
        "pf.forward-own-subscription-kept",
        "pf",
        ("PF-8.2.3-CLSUB-FORWARD-TERMINATE",),
        "The PF forwards the client's SUBSCRIBE but keeps the subscription it initiated "
        "itself (no SUBSCRIBE with Expires: 0 in its own dialog).",
        pics=_CLAIM,
    ),
)

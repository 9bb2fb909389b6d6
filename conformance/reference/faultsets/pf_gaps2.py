"""Faults of PF requirements filled in late (seed 003 8.2.1 200 OK step 10.d)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.direct-delivery-no-msrp", "pf", ("PF-8.2.1-200OK-10.d",),
          "The PF ACKs the 200 OK of a direct-delivery client but sets up no MSRP session "
          "with it (it neither connects nor accepts the client's connection), so the "
          "session's messages never reach that client."),
)

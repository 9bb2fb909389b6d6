"""Faults of the reference PF's optional deferred-delivery behaviour (seed 000 5.2.3.5 and
B.2.3.5.X step 5, the CPIM To MAY; seed 002 B.2.3.x.y NOTE after 16-17, the un-subscribe
MAY; :mod:`conformance.reference.pf.deferred`). Both are judged in strict runs only."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.cpim-to-not-actual-recipients", "pf", ("PF-5.2.3.5-CPIM-TO",),
          "A stored message's CPIM To lists the participants of the CF's invitation, not "
          "those of the session when the message was stored."),
    Fault("pf.deferred-unsubscribe-while-buffering", "pf", ("SD-B.2.3.x.y-UNSUB",),
          "The PF un-subscribes from the focus as soon as its subscription is up, while it "
          "still buffers for the client."),
    Fault("pf.deferred-unsubscribe-without-expires-0", "pf", ("SD-B.2.3.x.y-UNSUB",),
          "After the re-establishment the PF's SUBSCRIBE in the focus subscription carries "
          "Expires: 3600 (a refresh), not Expires: 0."),
)

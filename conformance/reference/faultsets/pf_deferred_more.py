"""More faults of the reference PF's deferred group sessions (seed 002 B.2.3.x.y steps 3,
4-6, 10, 11-12 and the delivery device; seed 003 8.3.2 "603" step 1; seed 000 5.2.3.5;
:mod:`conformance.reference.pf.deferred`)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.deferred-delivery-other-device", "pf", ("SD-B.2.3.x.y-DEVICE",),
          "The re-invitation goes to another client of the user, not to the one that "
          "accepted the original group session."),
    Fault("pf.deferred-next-message-withheld", "pf", ("SD-B.2.3.x.y-3",),
          "The CF's chat messages in a terminating group session are not forwarded to the "
          "client."),
    Fault("pf.deferred-silence-ends-session", "pf", ("SD-B.2.3.x.y-4-6.a",),
          "When the client no longer answers (its connection is lost) the PF ends the session "
          "towards the CF instead of answering the CF's SENDs itself."),
    Fault("pf.deferred-drops-imdns", "pf", ("SD-B.2.3.x.y-4-6.b",),
          "While the client is gone the PF keeps the chat messages but not the IMDNs."),
    Fault("pf.deferred-third-party-register-rejected", "pf", ("SD-B.2.3.x.y-10",),
          "The third-party REGISTER of a client with a deferred group session gets 403."),
    Fault("pf.deferred-reinvite-new-ids", "pf", ("SD-B.2.3.x.y-11-12.b",),
          "The re-invitation carries a fresh Contribution-ID instead of the original one."),
    Fault("pf.deferred-603-keeps-messages", "pf", ("PF-8.3.2-603-1",),
          "After the client's 603 to the delivery INVITE the buffered messages are kept and "
          "delivered at the next REGISTER."),
    Fault("pf.deferred-client-subscribe-rejected", "pf", ("PF-5.2.3.5-DD-HANDLE-SUB",),
          "During deferred delivery the client's conference SUBSCRIBE gets 489."),
)

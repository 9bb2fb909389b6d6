"""Faults of the reference PF's deferred group sessions (seed 004 8.3.2.9, seed 002
B.2.3.x.y/+1/+2, seed 000 B.2.3.5.X and 5.2.3.5; :mod:`conformance.reference.pf.deferred`)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault("pf.deferred-bye-loss-ends-session", "pf", ("PF-8.3.2.9-1", "SD-B.2.3.x.y-4-6.b"),
          "Case 1: a client BYE with Reason SIP;cause=480 ends the CF leg too."),
    Fault("pf.deferred-bye-cause-200-treated-as-loss", "pf", ("PF-8.3.2.9-1",),
          "Case 1: a voluntary BYE (cause=200) keeps the PF in the session as if lost."),
    Fault("pf.deferred-timeout-ends-session", "pf", ("PF-8.3.2.9-2",),
          "Case 2: the timeout of the INVITE to the client ends the CF leg."),
    Fault("pf.deferred-msrp-setup-failure-ends-session", "pf", ("PF-8.3.2.9-3-setup",),
          "Case 3: a failed MSRP connection setup towards the client ends the session."),
    Fault("pf.deferred-msrp-loss-ends-session", "pf", ("PF-8.3.2.9-3-lost",),
          "Case 3: the loss of the client's MSRP connection ends the session."),
    Fault("pf.deferred-no-focus-subscription", "pf",
          ("PF-8.3.2.9-SUBSCRIBE", "SD-B.2.3.x.y-7-8.a"),
          "The PF does not subscribe to the focus while it buffers."),
    Fault("pf.deferred-ends-focus-subscription", "pf", ("PF-8.3.2.9-SUBSCRIBE",),
          "When the client is gone the PF ends the focus subscription it holds (Expires: 0) "
          "and opens none: it is not subscribed while it buffers."),
    Fault("pf.deferred-drops-messages", "pf",
          ("SD-B.2.3.x.y-18-19", "SD-B.2.3.5.X-5", "PF-8.3.2.9-B-2"),
          "The CF's SENDs are answered but not kept: nothing is delivered later."),
    Fault("pf.deferred-no-delivery-on-register", "pf",
          ("PF-8.3.2.9-A", "SD-B.2.3.x.y-11-12.a", "SD-B.2.3.5.X-1"),
          "Trigger A: the third-party REGISTER of the client starts no delivery."),
    Fault("pf.deferred-sendrecv-when-inactive", "pf", ("SD-B.2.3.5.X-1",),
          "Inactive session: the delivery INVITE offers a=sendrecv, not a=sendonly."),
    Fault("pf.deferred-no-deferred-tag", "pf", ("SD-B.2.3.5.X-1",),
          "Inactive session: the delivery INVITE's Accept-Contact carries cpm.session, not "
          "the cpm.deferred icsi-ref."),
    Fault("pf.deferred-sendonly-when-active", "pf", ("SD-B.2.3.x.y-11-12.d",),
          "Active session: the re-invitation offers a=sendonly."),
    Fault("pf.deferred-stale-participants", "pf", ("SD-B.2.3.x.y-11-12.c",),
          "The re-invitation carries the original participant list, not the latest one."),
    Fault("pf.deferred-invite-after-rejoin", "pf",
          ("PF-8.3.2.9-B-1", "SD-B.2.3.x.y+2-ACTIVE-SUPPRESS"),
          "Trigger B: after the client's re-join the PF still invites the client."),
    Fault("pf.deferred-two-sessions-in-race", "pf",
          ("SD-B.2.3.x.y+2-ACTIVE", "SD-B.2.3.x.y+2-ACTIVE-REJECT"),
          "Race (active): a re-join after the PF's INVITE is accepted too (two sessions)."),
    Fault("pf.deferred-first-notify-full-list", "pf", ("SD-B.2.3.5.X-4-only-b",),
          "The first NOTIFY to the client lists every participant, not only client B."),
    Fault("pf.deferred-no-final-notify", "pf", ("SD-B.2.3.5.X-6", "PF-5.2.3.5-DD-FINAL-NOTIFY"),
          "No terminating NOTIFY with the final participant list after the last SEND."),
    Fault("pf.deferred-no-bye", "pf", ("SD-B.2.3.5.X-7",),
          "The PF never ends the inactive deferred-delivery session."),
    Fault("pf.deferred-delivery-abandoned-on-rejoin", "pf",
          ("SD-B.2.3.x.y+2-INACTIVE-COMPLETE",),
          "Race (inactive): the delivery is dropped when the client's re-join arrives."),
    Fault("pf.deferred-rejoin-not-forwarded", "pf", ("SD-B.2.3.x.y+2-INACTIVE-FORWARD",),
          "Race (inactive): the client's re-join is answered 480 instead of going to the CF."),
    Fault("pf.deferred-rejoin-answer-off-path", "pf", ("SD-B.2.3.x.y+1-12",),
          "Trigger B: the 200 to the client's re-join has the focus Contact and no "
          "Record-Route of the PF, so the client's ACK and BYE miss the PF."),
)

"""Faults of the reference PF's Participant Information Notifications via Conference
Information Object (seed 003 8.6 step 2.b, 8.2.3 RCV step 4,
:mod:`conformance.reference.pf.confinfo_msrp`). They show only where the PF claims
``pf.conference_info_via_msrp``."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

_PICS = (("pf.conference_info_via_msrp", "true"),)

FAULTS: tuple[Fault, ...] = (
    Fault("pf.confinfo-msrp-not-kept", "pf", ("PF-8.6-2.b.i", "PF-8.6-2.b.ii.2"),
          "Step 2.b.i: the Participant Information of the CF's conference-info SENDs is not "
          "kept; a subscribed client is NOTIFYed the last received document as it came.",
          pics=_PICS),
    Fault("pf.confinfo-msrp-partial-replaces", "pf", ("PF-8.6-2.b.i", "PF-8.6-2.b.ii.2"),
          "Step 2.b.ii.2: a partial conference-info replaces the kept state instead of "
          "being merged into it.", pics=_PICS),
    Fault("pf.confinfo-msrp-relayed-to-subscriber", "pf", ("PF-8.6-2.b.ii.1",),
          "Step 2.b.ii.1: the conference-info SEND is relayed to a client with an active "
          "conference subscription.", pics=_PICS),
    Fault("pf.confinfo-msrp-no-notify", "pf", ("PF-8.6-2.b.ii.1-notify",),
          "Step 2.b.ii.1: a subscribed client gets no NOTIFY for the CF's conference-info "
          "SEND.", pics=_PICS),
    Fault("pf.confinfo-notify-not-sent-over-msrp", "pf", ("PF-8.2.3-RCV-4",),
          "RCV step 4: the body of the CF's NOTIFY is not sent to the client over MSRP.",
          pics=_PICS),
)

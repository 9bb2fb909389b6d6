"""Faults of the reference PF that break Conversation Function TS section 8.6 (seed 003).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import CONFINFO_VIA_MSRP, Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.confinfo-msrp-not-kept",
        "pf",
        ("PF-8.6-2.b.i", "PF-8.6-2.b.ii.2"),
        "Step 2.b.i: the Participant Information of the CF's conference-info SENDs is not kept; a "
        "subscribed client is NOTIFYed the last received document as it came.",
        pics=CONFINFO_VIA_MSRP,
    ),
    Fault(
        "pf.confinfo-msrp-partial-replaces",
        "pf",
        ("PF-8.6-2.b.i", "PF-8.6-2.b.ii.2"),
        "Step 2.b.ii.2: a partial conference-info replaces the kept state instead of being merged "
        "into it.",
        pics=CONFINFO_VIA_MSRP,
    ),
    Fault(
        "pf.confinfo-msrp-relayed-to-subscriber",
        "pf",
        ("PF-8.6-2.b.ii.1",),
        "Step 2.b.ii.1: the conference-info SEND is relayed to a client with an active conference "
        "subscription.",
        pics=CONFINFO_VIA_MSRP,
    ),
    Fault(
        "pf.confinfo-msrp-no-notify",
        "pf",
        ("PF-8.6-2.b.ii.1-notify",),
        "Step 2.b.ii.1: a subscribed client gets no NOTIFY for the CF's conference-info SEND.",
        pics=CONFINFO_VIA_MSRP,
    ),
    Fault(
        "pf.msrp-chunk-size-ignored",
        "pf",
        ("PF-8.6-1",),
        "Step 1: SENDs are forwarded in default-size chunks, larger than the leg's negotiated "
        "a=max-size.",
    ),
    Fault(
        "pf.msrp-not-forwarded",
        "pf",
        ("PF-8.6-1", "PF-8.6-2.a.i.1.c"),
        "Step 1: received MSRP messages are not forwarded to the other leg(s).",
    ),
    Fault(
        "pf.single-client-no-bye",
        "pf",
        ("PF-8.6-2.a.i.1.a",),
        "Step 2.a.i.1.a: the clients the user did not choose get no BYE.",
    ),
    Fault(
        "pf.single-client-bye-wrong-reason",
        "pf",
        ("PF-8.6-2.a.i.1.a",),
        "Step 2.a.i.1.a: the BYE carries Reason SIP;cause=480 instead of cause=200.",
    ),
    Fault(
        "pf.single-client-bye-on-iscomposing-ignored",
        "pf",
        ("PF-8.6-2.a.i.1.a",),
        "Step 2.a.i.1: an isComposing does not count as the user's choice of a client.",
    ),
    Fault(
        "pf.single-client-media-kept",
        "pf",
        ("PF-8.6-2.a.i.1.b",),
        "Step 2.a.i.1.b: after the 200 to the BYE the MSRP session stays open.",
    ),
    Fault(
        "pf.no-message-direction-sent",
        "pf",
        ("PF-8.6-2.a.ii.1",),
        "Step 2.a.ii.1: copies to the user's other clients carry no Message-Direction: sent.",
    ),
    Fault(
        "pf.single-client-display-imdn-ignored",
        "pf",
        ("PF-8.6-2.a.i.1.a",),
        "Step 2.a.i.1: an IMDN carrying a display notification does not count as the user's "
        "choice of a client.",
    ),
    Fault(
        "pf.single-client-any-content-chooses",
        "pf",
        ("PF-8.6-2.a.i.1.a",),
        "Step 2.a.i.1: any MSRP content (an IMDN carrying a delivery notification too) counts "
        "as the user's choice of a client.",
    ),
)

__all__ = ["FAULTS"]

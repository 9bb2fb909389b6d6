"""Faults of the reference PF that break Conversation Function TS section ADMIN (seed 003).

The first requirement id of each fault is in that section."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.admin-no-bye",
        "pf",
        ("PF-ADMIN-1.a",),
        "Step 1: the active sessions of the user are dropped without any BYE.",
    ),
    Fault(
        "pf.admin-bye-reason-wrong",
        "pf",
        ("PF-ADMIN-1.a",),
        'Step 1: the BYEs carry Reason SIP;cause=487 instead of cause=200 "Call Completed".',
    ),
    Fault(
        "pf.admin-media-kept",
        "pf",
        ("PF-ADMIN-1.b",),
        "Step 1: the MSRP sessions of the released sessions stay open.",
    ),
    Fault(
        "pf.admin-uses-first-gso",
        "pf",
        ("PF-ADMIN-2.a", "PF-ADMIN-2.b.i"),
        "Step 2.a: the oldest Group State Object of the folder is used, not the last.",
    ),
    Fault(
        "pf.admin-rejoin-wrong-ruri",
        "pf",
        ("PF-ADMIN-2.b.i",),
        "Step 2.b.i: the re-join INVITE goes to the conference factory, not the stored group "
        "session identity.",
    ),
    Fault(
        "pf.admin-stops-after-403",
        "pf",
        ("PF-ADMIN-2.c-next", "PF-ADMIN-2.j"),
        "Step 2.c: after a 403 the PF stops instead of trying the next group session.",
    ),
    Fault(
        "pf.admin-first-session-only",
        "pf",
        ("PF-ADMIN-2.j",),
        "Step 2.j: only the first stored group session is processed.",
    ),
    Fault(
        "pf.admin-404-no-new-invite",
        "pf",
        ("PF-ADMIN-2.d.i",),
        "Step 2.d: after a 404 no new INVITE is sent to the CF URI.",
    ),
    Fault(
        "pf.admin-new-invite-no-resource-list",
        "pf",
        ("PF-ADMIN-2.d.i.5",),
        "Step 2.d.i.5: the new INVITE after a 404 carries no resource-list.",
    ),
    Fault(
        "pf.admin-no-ack",
        "pf",
        ("PF-ADMIN-2.e.i",),
        "Step 2.e.i: the 200 OK to the re-join INVITE is not acknowledged.",
    ),
    Fault(
        "pf.admin-no-media",
        "pf",
        ("PF-ADMIN-2.e.ii",),
        "Step 2.e.ii: the PF does not set up the MSRP session of the re-joined session.",
    ),
    Fault(
        "pf.admin-no-final-bye",
        "pf",
        ("PF-ADMIN-2.f",),
        "Step 2.f: having re-joined, the PF never leaves the session.",
    ),
    Fault(
        "pf.admin-final-bye-reason-wrong",
        "pf",
        ("PF-ADMIN-2.f",),
        "Step 2.f: the leaving BYE carries Reason SIP;cause=480.",
    ),
    Fault(
        "pf.admin-final-bye-wrong-ruri",
        "pf",
        ("PF-ADMIN-2.g",),
        "Step 2.g: the leaving BYE's Request-URI is the conference factory URI.",
    ),
    Fault(
        "pf.admin-leave-media-kept",
        "pf",
        ("PF-ADMIN-2.i",),
        "Step 2.i: the MSRP session of the left group session stays open.",
    ),
    Fault(
        "pf.admin-rejoin-no-max-forwards",
        "pf",
        ("PF-ADMIN-2.b",),
        "Step 2.b: the re-join INVITE is not built by RFC 3261 (8.1.1): it has no Max- Forwards.",
    ),
    Fault(
        "pf.admin-rejoin-no-accept-contact",
        "pf",
        ("PF-ADMIN-2.b.ii",),
        "Step 2.b.ii: the re-join INVITE carries no Accept-Contact.",
    ),
    Fault(
        "pf.admin-rejoin-contact-no-icsi",
        "pf",
        ("PF-ADMIN-2.b.iii",),
        "Step 2.b.iii: the re-join INVITE's Contact has no cpm.session ICSI feature tag.",
    ),
    Fault(
        "pf.admin-rejoin-pas-session",
        "pf",
        ("PF-ADMIN-2.b.iv",),
        "Step 2.b.iv: the re-join INVITE's P-Asserted-Service is cpm.session, not "
        "cpm.session.group.",
    ),
    Fault(
        "pf.admin-rejoin-no-pai",
        "pf",
        ("PF-ADMIN-2.b.v",),
        "Step 2.b.v: the re-join INVITE carries no P-Asserted-Identity.",
    ),
    Fault(
        "pf.admin-rejoin-new-conversation-id",
        "pf",
        ("PF-ADMIN-2.b.vi",),
        "Step 2.b.vi: the re-join INVITE carries a new Conversation-ID, not the stored one.",
    ),
    Fault(
        "pf.admin-rejoin-new-contribution-id",
        "pf",
        ("PF-ADMIN-2.b.vii",),
        "Step 2.b.vii: the re-join INVITE carries a new Contribution-ID, not the stored one.",
    ),
    Fault(
        "pf.admin-rejoin-no-path",
        "pf",
        ("PF-ADMIN-2.b.viii",),
        "Step 2.b.viii: the re-join INVITE's SDP offer has an empty a=path.",
    ),
    Fault(
        "pf.admin-rejoin-not-via-core",
        "pf",
        ("PF-ADMIN-2.b.ix",),
        "Step 2.b.ix: the re-join INVITE goes straight to the host of its Request-URI, not "
        "via the SIP/IP core.",
    ),
    Fault(
        "pf.admin-403-not-acked",
        "pf",
        ("PF-ADMIN-2.c",),
        "Step 2.c: the 403 to the re-join INVITE is not acknowledged.",
    ),
    Fault(
        "pf.admin-404-not-acked",
        "pf",
        ("PF-ADMIN-2.d",),
        "Step 2.d: the 404 to the re-join INVITE is not acknowledged.",
    ),
    Fault(
        "pf.admin-new-invite-to-focus",
        "pf",
        ("PF-ADMIN-2.d.i.1",),
        "Step 2.d.i.1: the new INVITE after a 404 goes to the stored group session identity "
        "again, not the configured CF URI.",
    ),
    Fault(
        "pf.admin-new-invite-no-accept-contact",
        "pf",
        ("PF-ADMIN-2.d.i.2",),
        "Step 2.d.i.2: the new INVITE after a 404 carries no Accept-Contact.",
    ),
    Fault(
        "pf.admin-new-invite-contact-no-icsi",
        "pf",
        ("PF-ADMIN-2.d.i.3",),
        "Step 2.d.i.3: the new INVITE's Contact has no cpm.session ICSI feature tag.",
    ),
    Fault(
        "pf.admin-new-invite-pas-session",
        "pf",
        ("PF-ADMIN-2.d.i.4",),
        "Step 2.d.i.4: the new INVITE's P-Asserted-Service is cpm.session, not cpm.session.group.",
    ),
    Fault(
        "pf.admin-new-invite-no-pai",
        "pf",
        ("PF-ADMIN-2.d.i.6",),
        "Step 2.d.i.6: the new INVITE after a 404 carries no P-Asserted-Identity.",
    ),
    Fault(
        "pf.admin-new-invite-no-path",
        "pf",
        ("PF-ADMIN-2.d.i.7",),
        "Step 2.d.i.7: the new INVITE's SDP offer has an empty a=path.",
    ),
    Fault(
        "pf.admin-new-invite-not-via-core",
        "pf",
        ("PF-ADMIN-2.d.i.8",),
        "Step 2.d.i.8: the new INVITE after a 404 goes straight to the host of its Request- "
        "URI, not via the SIP/IP core.",
    ),
    Fault(
        "pf.admin-bye-not-via-core",
        "pf",
        ("PF-ADMIN-2.h",),
        "Step 2.h: the leaving BYE goes straight to the host of the remote target, not via "
        "the SIP/IP core.",
    ),
)

__all__ = ["FAULTS"]

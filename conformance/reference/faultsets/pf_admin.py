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
        "Step 1: the BYEs carry Reason SIP;cause=487 instead of cause=200 \"Call Completed\".",
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
)

__all__ = ["FAULTS"]

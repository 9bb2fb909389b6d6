"""Faults of the originating PF (seed 003 8.2.1) beyond the registry's ``_PF`` list: the
asserted service for a P-Preferred-Service of cpm.session (step 4.c.ii), the Contact of
the 200 OK when the terminating one names no focus (200 OK step 5), the direct delivery to
the user's other clients (200 OK step 10), the route set of the 200 OK to the client
(step 7) and proxy mode (step 5)."""

from __future__ import annotations

from conformance.reference.faultsets import Fault

_PROXY_MODE = (("pf.media_path", "false"),)

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.pps-session-asserted-as-group",
        "pf",
        ("PF-8.2.1-4.c.ii",),
        "A P-Preferred-Service of cpm.session is removed but the outgoing INVITE asserts "
        "cpm.session.group instead of cpm.session.",
    ),
    Fault(
        "pf.plain-contact-copied",
        "pf",
        ("PF-8.2.1-200OK-5-own",),
        "When the terminating 200 OK's Contact has no isfocus, the 200 OK to the client "
        "copies that Contact instead of carrying a URI of the PF's own.",
    ),
    Fault(
        "pf.direct-delivery-old-version",
        "pf",
        ("PF-8.2.1-200OK-10.a.i",),
        "The direct-delivery INVITE also goes to a client that registered with a User-Agent "
        "of another CPM release than the one the PF requires.",
    ),
    Fault(
        "pf.direct-delivery-no-instance",
        "pf",
        ("PF-8.2.1-200OK-10.b.i",),
        "The direct-delivery INVITE carries no Accept-Contact with the target client's "
        "+sip.instance (8.3.2 step 8.d.ii, no GRUU).",
    ),
    Fault(
        "pf.direct-delivery-headers-not-copied",
        "pf",
        ("PF-8.2.1-200OK-10.b.iii",),
        "The direct-delivery INVITE does not copy the original INVITE's other header fields "
        "(no Conversation-ID, Contribution-ID, Subject).",
    ),
    Fault(
        "pf.ok-no-record-route",
        "pf",
        ("PF-8.2.1-200OK-7", "PF-8.2.1-200OK-7-ack"),
        "The 200 OK to the originating client neither copies the INVITE's Record-Route "
        "(RFC 3261 12.1.1) nor adds the PF's own: with the focus Contact copied (step 5) the "
        "client's ACK and BYE go by the focus URI to the CF, and the PF never gets the ACK "
        "it has to propagate.",
    ),
    Fault(
        "pf.proxy-new-call-id",
        "pf",
        ("PF-8.2.1-5.a",),
        "In proxy mode the forwarded INVITE gets a new Call-ID (a proxy never changes it).",
        _PROXY_MODE,
    ),
    Fault(
        "pf.proxy-route-kept",
        "pf",
        ("PF-8.2.1-5.c",),
        "In proxy mode the PF forwards the INVITE with its own Route entry still on top "
        "(RFC 3261 16.4: a proxy removes the Route value that names it).",
        _PROXY_MODE,
    ),
)

__all__ = ["FAULTS"]

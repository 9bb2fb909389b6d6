"""Faults of the reference PF that break Conversation Function TS section 8.2.1 (seed 003).

The first requirement id of each fault is in that section; some faults also break
requirements of 8.2.3."""

from __future__ import annotations

from conformance.reference.faultsets import PPS_OTHER_BY_CONFIGURATION, PROXY_MODE, Fault

FAULTS: tuple[Fault, ...] = (
    Fault(
        "pf.unauthorised-accepted",
        "pf",
        ("PF-8.2.1-1", "PF-8.2.1-1-warning"),
        "An INVITE from an originator who is not allowed (PfPolicy.unauthorised_users) is served "
        "instead of being rejected with 403 and Warning 127.",
    ),
    Fault(
        "pf.no-warning-127",
        "pf",
        ("PF-8.2.1-1-warning",),
        "The 403 to a not-allowed originator carries no Warning header.",
    ),
    Fault(
        "pf.warning-text-132-wrong",
        "pf",
        ("PF-8.2.1-2-warning",),
        'The 403 to an unsupported User-Agent carries Warning 132 with the text "Version '
        'unsupported" instead of "Version not supported".',
    ),
    Fault(
        "pf.anonymity-accepted",
        "pf",
        ("PF-8.2.1-3", "PF-8.2.1-3-warning"),
        "An originating INVITE requesting anonymity is served instead of rejected with 403.",
    ),
    Fault(
        "pf.no-warning-119",
        "pf",
        ("PF-8.2.1-3-warning",),
        "The 403 to an anonymous originator carries no Warning header.",
    ),
    Fault(
        "pf.unexpected-service-accepted",
        "pf",
        ("PF-8.2.1-4.a.iii",),
        "An INVITE whose P-Asserted-Service is no CPM session ICSI is served although the PF "
        "claims to reject it (pf.rejects_unexpected_service).",
    ),
    Fault(
        "pf.pps-group-not-asserted",
        "pf",
        ("PF-8.2.1-4.c.iii",),
        "A P-Preferred-Service of cpm.session.group is passed on as P-Preferred-Service; no "
        "P-Asserted-Service is added.",
    ),
    Fault(
        "pf.pps-other-kept",
        "pf",
        ("PF-8.2.1-4.c.iv",),
        "Another P-Preferred-Service value is copied to the outgoing INVITE instead of being "
        "removed.",
    ),
    Fault(
        "pf.contribution-id-not-copied",
        "pf",
        ("PF-8.2.1-4.d",),
        "The outgoing INVITE carries no Contribution-ID.",
    ),
    Fault(
        "pf.recipient-list-dropped",
        "pf",
        ("PF-8.2.1-4.d",),
        "The outgoing INVITE carries only the SDP offer, not the received recipient list.",
    ),
    Fault(
        "pf.call-id-reused",
        "pf",
        ("PF-8.2.1-4.e",),
        "The outgoing INVITE reuses the client's Call-ID and From tag (no new dialog).",
    ),
    Fault(
        "pf.no-user-agent",
        "pf",
        ("PF-8.2.1-4.g",),
        "The outgoing INVITE carries no User-Agent.",
    ),
    Fault(
        "pf.accept-contact-dropped",
        "pf",
        ("PF-8.2.1-4.h",),
        "The client's Accept-Contact is not copied to the outgoing INVITE.",
    ),
    Fault(
        "pf.client-contact-uri",
        "pf",
        ("PF-8.2.1-4.i",),
        "The outgoing INVITE's Contact keeps the client's URI instead of the PF's own.",
    ),
    Fault(
        "pf.no-timer-tag",
        "pf",
        ("PF-8.2.1-4.j",),
        "The outgoing INVITE's Supported header lacks the option tag timer.",
    ),
    Fault(
        "pf.refresher-uas",
        "pf",
        ("PF-8.2.1-4.k",),
        "The outgoing INVITE's Session-Expires carries refresher=uas.",
    ),
    Fault(
        "pf.session-expires-3600",
        "pf",
        ("PF-8.2.1-4.l",),
        "The outgoing INVITE's Session-Expires is 3600 (over the 1800 limit).",
    ),
    Fault(
        "pf.offer-client-path",
        "pf",
        ("PF-8.2.1-4.m",),
        "The outgoing SDP offer keeps the client's a=path instead of the PF's own.",
    ),
    Fault(
        "pf.no-record-route",
        "pf",
        ("PF-8.2.1-5.b",),
        "In proxy mode (media_path false) the forwarded INVITE has no Record-Route.",
        pics=PROXY_MODE,
    ),
    Fault(
        "pf.server-header-missing",
        "pf",
        ("PF-8.2.1-200OK-3",),
        "The 200 OK to the originating client carries no Server header.",
    ),
    Fault(
        "pf.answer-setup-active",
        "pf",
        ("PF-8.2.1-200OK-4-setup",),
        "The SDP answer to the originating client carries a=setup:active.",
    ),
    Fault(
        "pf.isfocus-contact-replaced",
        "pf",
        ("PF-8.2.1-200OK-5-isfocus",),
        "The focus Contact (with isfocus) of the terminating 200 OK is replaced by the PF's own "
        "in the 200 OK to the client.",
    ),
    Fault(
        "pf.ack-not-propagated",
        "pf",
        ("PF-8.2.1-200OK-7-ack",),
        "The client's ACK is not propagated to the terminating leg (its 200 OK is left "
        "unacknowledged).",
    ),
    Fault(
        "pf.no-session-info-stored",
        "pf",
        ("PF-8.2.1-200OK-8",),
        "With allow-offline-storage true, no Session Info Object is stored.",
    ),
    Fault(
        "pf.no-gso-stored",
        "pf",
        ("PF-8.2.1-200OK-8-gso",),
        "With allow-offline-storage true, no Group State Object is stored for a group session.",
    ),
    Fault(
        "pf.no-direct-delivery",
        "pf",
        ("PF-8.2.1-200OK-10.b", "PF-8.2.1-200OK-10.c"),
        "No INVITE goes to the user's other registered clients (direct delivery skipped).",
    ),
    Fault(
        "pf.direct-delivery-pai-wrong",
        "pf",
        ("PF-8.2.1-200OK-10.b.ii",),
        "The direct-delivery INVITEs carry the originator's P-Asserted-Identity instead of the "
        "one of the terminating 200 OK.",
    ),
    Fault(
        "pf.pps-configured-not-asserted",
        "pf",
        ("PF-8.2.1-4.c.iv.2",),
        "With the configuration policy, another P-Preferred-Service is removed but no configured "
        "P-Asserted-Service is added.",
        pics=PPS_OTHER_BY_CONFIGURATION,
    ),
    Fault(
        "pf.direct-delivery-no-msrp",
        "pf",
        ("PF-8.2.1-200OK-10.d",),
        "The PF ACKs the 200 OK of a direct-delivery client but sets up no MSRP session with it "
        "(it neither connects nor accepts the client's connection), so the session's messages "
        "never reach that client.",
    ),
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
        "When the terminating 200 OK's Contact has no isfocus, the 200 OK to the client copies "
        "that Contact instead of carrying a URI of the PF's own.",
    ),
    Fault(
        "pf.direct-delivery-old-version",
        "pf",
        ("PF-8.2.1-200OK-10.a.i",),
        "The direct-delivery INVITE also goes to a client that registered with a User-Agent of "
        "another CPM release than the one the PF requires.",
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
        "The direct-delivery INVITE does not copy the original INVITE's other header fields (no "
        "Conversation-ID, Contribution-ID, Subject).",
    ),
    Fault(
        "pf.ok-no-record-route",
        "pf",
        ("PF-8.2.1-200OK-7", "PF-8.2.1-200OK-7-ack"),
        "The 200 OK to the originating client neither copies the INVITE's Record-Route (RFC 3261 "
        "12.1.1) nor adds the PF's own: with the focus Contact copied (step 5) the client's ACK "
        "and BYE go by the focus URI to the CF, and the PF never gets the ACK it has to "
        "propagate.",
    ),
    Fault(
        "pf.proxy-new-call-id",
        "pf",
        ("PF-8.2.1-5.a",),
        "In proxy mode the forwarded INVITE gets a new Call-ID (a proxy never changes it).",
        pics=PROXY_MODE,
    ),
    Fault(
        "pf.proxy-route-kept",
        "pf",
        ("PF-8.2.1-5.c",),
        "In proxy mode the PF forwards the INVITE with its own Route entry still on top (RFC 3261 "
        "16.4: a proxy removes the Route value that names it).",
        pics=PROXY_MODE,
    ),
    Fault(
        "pf.no-subscribe-to-focus",
        "pf",
        ("PF-8.2.1-200OK-9", "PF-8.2.3-SUB-1"),
        "After the 200 OK of a group session the PF never subscribes to the focus.",
    ),
    Fault(
        "pf.isf-bypassed",
        "pf",
        ("PF-8.2.1-4.n-isf",),
        "The B2BUA sends an INVITE whose destination is neither a SIP nor a TEL URI by the SIP/IP "
        "core's routing of the Request-URI instead of directly to the ISF.",
    ),
    Fault(
        "pf.proxy-isf-bypassed",
        "pf",
        ("PF-8.2.1-5.c-isf",),
        "In proxy mode the PF forwards an INVITE whose destination is neither a SIP nor a TEL URI "
        "by the SIP/IP core's routing of the Request-URI instead of directly to the ISF.",
        pics=PROXY_MODE,
    ),
    Fault(
        "pf.isf-no-retry",
        "pf",
        ("PF-8.2.1-200OK-1-new-session", "PF-8.2.1-200OK-1", "PF-8.2.1-200OK-1.b"),
        "When the ISF's 200 OK rejects the offered MSRP stream, the PF never attempts a new "
        "session for it (though it claims pf.retry_rejected_media).",
    ),
    Fault(
        "pf.isf-retry-ids-dropped",
        "pf",
        ("PF-8.2.1-200OK-1.b.i",),
        "The new INVITE for the rejected stream does not copy Conversation-ID and "
        "Contribution-ID (step 4.d, which 200 OK step 1.b.i keeps).",
    ),
    Fault(
        "pf.isf-retry-stream-missing",
        "pf",
        ("PF-8.2.1-200OK-1.b.ii",),
        "The new INVITE for the rejected stream offers it with port 0 (the stream is not "
        "offered again).",
    ),
    Fault(
        "pf.isf-retry-setup-active",
        "pf",
        ("PF-8.2.1-200OK-1.b.ii-setup",),
        "The new INVITE for the rejected stream offers a=setup:active instead of actpass.",
    ),
    Fault(
        "pf.isf-retry-not-to-isf",
        "pf",
        ("PF-8.2.1-200OK-1.b.iii",),
        "The new INVITE for the rejected stream goes by the SIP/IP core's routing of its "
        "Request-URI instead of directly to the ISF.",
    ),
    Fault(
        "pf.old-user-agent-accepted",
        "pf",
        ("PF-8.2.1-2",),
        "An INVITE whose User-Agent names a CPM release the PF does not support is served "
        "instead of rejected with 403.",
    ),
    Fault(
        "pf.cpm-asserted-service-rejected",
        "pf",
        ("PF-8.2.1-4.a.ii",),
        "An INVITE whose P-Asserted-Service is a CPM session ICSI is rejected with 403 "
        "instead of served (step 4.b).",
    ),
    Fault(
        "pf.unexpected-service-forwarded",
        "pf",
        ("PF-8.2.1-4.a.iii",),
        "An INVITE with another P-Asserted-Service is rejected with 403, yet the PF goes on "
        "and sends its INVITE towards the CF.",
    ),
    Fault(
        "pf.core-invite-no-max-forwards",
        "pf",
        ("PF-8.2.1-4.b",),
        "The generated INVITE is not built by RFC 3261 (8.1.1): it has no Max-Forwards.",
    ),
    Fault(
        "pf.pps-other-asserted-as-group",
        "pf",
        ("PF-8.2.1-4.c.iv.1",),
        "Another P-Preferred-Service is removed, but the P-Asserted-Service added is "
        "cpm.session.group, not the CPM Feature Tag of the Accept-Contact (cpm.session).",
    ),
    Fault(
        "pf.from-tag-reused",
        "pf",
        ("PF-8.2.1-4.e",),
        "The outgoing INVITE has a new Call-ID but keeps the client's From tag (no new dialog "
        "of the B2BUA's own).",
    ),
    Fault(
        "pf.client-via-kept",
        "pf",
        ("PF-8.2.1-4.e",),
        "The outgoing INVITE carries the client's Via entries below the PF's own (a proxy's, "
        "not a B2BUA's request).",
    ),
    Fault(
        "pf.recipient-list-invite-always",
        "pf",
        ("PF-8.2.1-4.j",),
        "The outgoing INVITE's Supported header carries recipient-list-invite although the "
        "original INVITE did not.",
    ),
    Fault(
        "pf.offer-wrapped-types-dropped",
        "pf",
        ("PF-8.2.1-4.m",),
        "The outgoing SDP offer leaves out the accept-wrapped-types of the client's offer.",
    ),
    Fault(
        "pf.client-ok-not-200",
        "pf",
        ("PF-8.2.1-200OK-2",),
        "The PF answers the originating client with 202 Accepted instead of 200 OK.",
    ),
    Fault(
        "pf.answer-wrapped-types-dropped",
        "pf",
        ("PF-8.2.1-200OK-4",),
        "The SDP answer to the originating client leaves out the accept-wrapped-types of the "
        "terminating answer.",
    ),
    Fault(
        "pf.client-ok-not-sent",
        "pf",
        ("PF-8.2.1-200OK-7",),
        "The PF builds the 200 OK to the originating client but never sends it.",
    ),
    Fault(
        "pf.direct-delivery-not-via-core",
        "pf",
        ("PF-8.2.1-200OK-10.c",),
        "The direct-delivery INVITE goes straight to the host of its Request-URI (the user's "
        "domain), not via the SIP/IP core.",
    ),
    Fault(
        "pf.bye-not-relayed",
        "pf",
        ("PF-8.2.1-4.e",),
        "The user's BYE ends the B2BUA session, but no BYE goes on the other leg (in-dialog "
        "requests are not relayed between the two dialogs).",
    ),
    Fault(
        "pf.core-invite-not-via-core",
        "pf",
        ("PF-8.2.1-4.n",),
        "The generated INVITE goes straight to the host of its Request-URI (the conference "
        "factory's domain), not via the SIP/IP core.",
    ),
)

__all__ = ["FAULTS"]

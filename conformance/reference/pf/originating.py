"""Seed 003 8.2.1 "Handle a CPM Session Invitation", originating side: the checks of
steps 1-4.a, the INVITE the B2BUA generates (steps 4.b-4.m), the proxied INVITE (step 5)
and the 200 OK towards the originating client (200 OK steps 2-5).

Everything here builds or inspects messages; :mod:`.originating_side` does the I/O. Each item
carries the catalogue id it implements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    IN_REPLY_TO_CONTRIBUTION_ID,
    OPTION_RECIPIENT_LIST_INVITE,
    WARNING_ANONYMITY_NOT_ALLOWED,
    WARNING_SERVICE_NOT_AUTHORISED,
    WARNING_VERSION_NOT_SUPPORTED,
)
from conformance.protocol.sip.dialog import without_tag
from conformance.protocol.sip.headers import (
    anonymity_requested,
    format_session_expires,
    format_warning,
    get_accept_contact,
    get_asserted_services,
    get_contacts,
    get_option_tags,
    get_preferred_services,
    parse_products,
)
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import (
    BodyPart,
    build_multipart,
    find_recipient_list,
    parse_multipart,
)
from conformance.protocol.sip.sdp import MediaDescription, build_msrp_sdp, parse_sdp
from conformance.protocol.sip.uri import format_params
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.policy import PfPolicy

#: the CPM Feature Tags 8.2.1 step 4.a.ii lets through
CPM_SESSION_SERVICES = (ICSI_SESSION, ICSI_SESSION_GROUP)
#: RFC 4028: the PF's Session-Expires never exceeds this (8.2.1 step 4.l)
MAX_SESSION_EXPIRES = 1800


@dataclass(frozen=True, slots=True)
class Rejection:
    """A final response the PF answers instead of serving the INVITE."""

    status: int
    reason: str
    warning: tuple[int, str] | None = None

    def headers(self, agent: str) -> list[tuple[str, str]]:
        if self.warning is None:
            return []
        code, text = self.warning
        return [("Warning", format_warning(code, agent, text))]


def carries_release(user_agent: str | None, release: str) -> bool:
    """Whether a User-Agent value holds the product token ``release`` (CPM Appendix D)."""
    if not user_agent:
        return False
    try:
        products = parse_products(user_agent)
    except RemoteProtocolError:
        return False
    want = release.lower()
    return any(not p.is_comment and str(p).lower() == want for p in products)


def check_invitation(
    request: SipRequest, *, allowed: bool, policy: PfPolicy, faults: ActiveFaults
) -> Rejection | None:
    """Steps 1-4.a of 8.2.1; ``None`` when the INVITE may be served."""
    # PF-8.2.1-1 / -1-warning: "check whether the authenticated originator's CPM Address
    # is of a CPM User that is allowed to send the request and if not ... 403 ... 127"
    if not allowed and not faults.on("pf.unauthorised-accepted"):
        warning = None if faults.on("pf.no-warning-127") else WARNING_SERVICE_NOT_AUTHORISED
        return Rejection(403, "Forbidden", warning)
    # PF-8.2.1-2 / -2-warning: "check the User Agent header field ... 132 Version not supported"
    release = policy.required_ua_release
    if (
        release is not None
        and not carries_release(request.headers.get("User-Agent"), release)
        and not faults.on("pf.old-user-agent-accepted")
    ):
        code, text = WARNING_VERSION_NOT_SUPPORTED
        if faults.on("pf.warning-text-132-wrong"):
            text = "Version unsupported"
        return Rejection(403, "Forbidden", (code, text))
    # PF-8.2.1-3 / -3-warning: "does not allow anonymity and anonymity is requested"
    if (
        not policy.allows_anonymity
        and anonymity_requested(request)
        and not faults.on("pf.anonymity-accepted")
    ):
        warning = None if faults.on("pf.no-warning-119") else WARNING_ANONYMITY_NOT_ALLOWED
        return Rejection(403, "Forbidden", warning)
    # PF-8.2.1-4.a.ii / 4.a.iii: a P-Asserted-Service other than the CPM session tags MAY
    # be rejected with 403 (and the PF then "SHALL not continue")
    if policy.media_path:
        services = get_asserted_services(request)
        if any(s in CPM_SESSION_SERVICES for s in services) and faults.on(
            "pf.cpm-asserted-service-rejected"
        ):
            return Rejection(403, "Forbidden")
        if (
            services
            and not any(s in CPM_SESSION_SERVICES for s in services)
            and policy.rejects_unexpected_service
            and not faults.on("pf.unexpected-service-accepted")
        ):
            return Rejection(403, "Forbidden")
    return None


def asserted_service(
    request: SipRequest, *, policy: PfPolicy, faults: ActiveFaults
) -> list[tuple[str, str]]:
    """Step 4.c: the P-Asserted-Service (or, under a fault, P-Preferred-Service) header
    of the generated INVITE."""
    preferred = get_preferred_services(request)
    if not preferred:
        # no P-Preferred-Service: a received CPM P-Asserted-Service is kept (4.a.ii)
        asserted = [s for s in get_asserted_services(request) if s in CPM_SESSION_SERVICES]
        return [("P-Asserted-Service", asserted[0])] if asserted else []
    value = preferred[0]
    if value == ICSI_SESSION:  # PF-8.2.1-4.c.ii
        if faults.on("pf.pps-session-asserted-as-group"):
            return [("P-Asserted-Service", ICSI_SESSION_GROUP)]
        return [("P-Asserted-Service", ICSI_SESSION)]
    if value == ICSI_SESSION_GROUP:  # PF-8.2.1-4.c.iii
        if faults.on("pf.pps-group-not-asserted"):
            return [("P-Preferred-Service", value)]
        return [("P-Asserted-Service", ICSI_SESSION_GROUP)]
    # PF-8.2.1-4.c.iv: another value is removed, and ...
    out: list[tuple[str, str]] = []
    if faults.on("pf.pps-other-kept"):
        out.append(("P-Preferred-Service", value))
    if policy.pps_other_policy == "accept-contact":
        # PF-8.2.1-4.c.iv.1: "set it to the CPM Feature Tag in the Accept-Contact"
        tags = [t for p in get_accept_contact(request) for t in p.icsi_refs]
        cpm = [t for t in tags if t in CPM_SESSION_SERVICES] or tags
        if cpm:
            if faults.on("pf.pps-other-asserted-as-group"):
                out.append(("P-Asserted-Service", ICSI_SESSION_GROUP))
            else:
                out.append(("P-Asserted-Service", cpm[0]))
    else:
        # PF-8.2.1-4.c.iv.2: "based on service provider configuration"
        if not faults.on("pf.pps-configured-not-asserted"):
            out.append(("P-Asserted-Service", policy.configured_service))
    return out


# -- SDP (5.2.1.2 "SDP Handling at Intermediate Nodes": the MSRP line is kept, the path
#    is the PF's own) ----------------------------------------------------------------


def msrp_media(sdp: bytes) -> MediaDescription:
    """The MSRP media of an SDP body; RemoteProtocolError when there is none."""
    media = parse_sdp(sdp).msrp
    if not media.path:
        raise RemoteProtocolError("MSRP media without a=path")
    return media


def derived_sdp(
    received: MediaDescription,
    *,
    host: str,
    port: int,
    path: Sequence[str],
    setup: str,
    keep_wrapped_types: bool = True,
) -> bytes:
    """An SDP with the received MSRP media parameters, the PF's address and ``path``
    (``keep_wrapped_types`` False only under a fault: no accept-wrapped-types)."""
    direction = received.direction if received.direction else "sendrecv"
    return build_msrp_sdp(
        host=host,
        port=port,
        path=path,
        accept_types=received.accept_types or ["message/cpim"],
        accept_wrapped_types=(received.accept_wrapped_types or None)
        if keep_wrapped_types
        else None,
        setup=setup,
        msrp_cema=received.msrp_cema,
        direction=direction,
        max_size=received.max_size,
    )


@dataclass(frozen=True, slots=True)
class InviteBody:
    """The SDP and the other parts of an INVITE's body (RFC 5366 multipart/mixed)."""

    sdp: bytes
    parts: tuple[BodyPart, ...] = ()
    sdp_index: int = 0
    multipart: bool = False

    @property
    def recipient_list(self) -> BodyPart | None:
        return find_recipient_list(self.parts) if self.multipart else None

    def with_sdp(self, sdp: bytes, *, drop_recipient_list: bool = False) -> tuple[str, bytes]:
        """(Content-Type, body) with ``sdp`` instead of the received SDP."""
        if not self.multipart:
            return "application/sdp", sdp
        parts = list(self.parts)
        parts[self.sdp_index] = BodyPart(parts[self.sdp_index].headers, sdp)
        if drop_recipient_list:
            parts = [p for p in parts if p is not self.recipient_list]
            if len(parts) == 1:
                return "application/sdp", sdp
        return build_multipart(parts)


def split_body(request: SipRequest | SipResponse) -> InviteBody:
    """The SDP (and other parts) of an INVITE or 2xx; RemoteProtocolError without SDP."""
    content_type = request.headers.get("Content-Type") or ""
    if content_type.lower().startswith("multipart/"):
        parts = tuple(parse_multipart(request.body, content_type))
        for index, part in enumerate(parts):
            if part.mime_type == "application/sdp":
                return InviteBody(part.body, parts, index, True)
        raise RemoteProtocolError("multipart body without an SDP part")
    if not content_type.lower().startswith("application/sdp") or not request.body:
        raise RemoteProtocolError("no SDP body")
    return InviteBody(request.body)


# -- the generated INVITE (steps 4.b-4.m) -------------------------------------------


def contact_with_uri(request: SipRequest | SipResponse, uri: str) -> str:
    """The (first) Contact of ``request`` with its URI replaced by ``uri``: feature
    parameters copied (4.h), the URI the PF's own (4.i)."""
    contacts = get_contacts(request)
    if not contacts or contacts[0].is_star:
        return f"<{uri}>"
    return f"<{uri}>{format_params(contacts[0].params)}"


def supported_tags(request: SipRequest, *, faults: ActiveFaults) -> str:
    """PF-8.2.1-4.j: ``timer``, and ``recipient-list-invite`` when the original had it."""
    tags = [] if faults.on("pf.no-timer-tag") else ["timer"]
    original = get_option_tags(request, "Supported") + get_option_tags(request, "Require")
    if OPTION_RECIPIENT_LIST_INVITE in original or faults.on("pf.recipient-list-invite-always"):
        tags.append(OPTION_RECIPIENT_LIST_INVITE)
    return ", ".join(tags)


def session_expires(policy: PfPolicy, faults: ActiveFaults) -> str:
    """PF-8.2.1-4.k (refresher=uac) and 4.l (at most 1800, the configured value)."""
    delta = (
        3600
        if faults.on("pf.session-expires-3600")
        else min(policy.session_expires, MAX_SESSION_EXPIRES)
    )
    refresher = "uas" if faults.on("pf.refresher-uas") else "uac"
    return format_session_expires(delta, refresher)


def build_core_invite(
    request: SipRequest,
    *,
    policy: PfPolicy,
    faults: ActiveFaults,
    via: str,
    call_id: str,
    from_tag: str,
    identity: str,
    contact_uri: str,
    offer: bytes,
    body: InviteBody,
) -> SipRequest:
    """The INVITE the B2BUA sends towards the terminating side (steps 4.b-4.m)."""
    headers: list[tuple[str, str]] = [("Via", via)]
    if faults.on("pf.client-via-kept"):  # 4.e: the client's Via below the PF's own
        headers += [("Via", v) for v in request.headers.get_all("Via")]
    if not faults.on("pf.core-invite-no-max-forwards"):  # 4.b: RFC 3261 8.1.1
        headers.append(("Max-Forwards", "70"))
    # PF-8.2.1-4.b / 4.e: a new request and a new dialog (own Call-ID, From tag, Via)
    original_from = request.headers.get("From") or f"<{identity}>"
    if faults.on("pf.call-id-reused"):
        call_id = request.call_id or call_id
        headers.append(("From", original_from))
    elif faults.on("pf.from-tag-reused"):
        headers.append(("From", original_from))
    else:
        headers.append(("From", f"{without_tag(original_from)};tag={from_tag}"))
    headers += [
        ("To", without_tag(request.headers.get("To") or f"<{request.uri}>")),
        ("Call-ID", call_id),
        ("CSeq", "1 INVITE"),
        ("P-Asserted-Identity", f"<{identity}>"),
    ]
    # PF-8.2.1-4.h / 4.i: the Contact's parameters copied, its URI the PF's own
    contact_uri_used = contact_uri
    if faults.on("pf.client-contact-uri"):
        contacts = get_contacts(request)
        contact_uri_used = contacts[0].uri if contacts else contact_uri
    headers.append(("Contact", contact_with_uri(request, contact_uri_used)))
    if not faults.on("pf.accept-contact-dropped"):
        headers += [("Accept-Contact", v) for v in request.headers.get_all("Accept-Contact")]
    # PF-8.2.1-4.c
    headers += asserted_service(request, policy=policy, faults=faults)
    # PF-8.2.1-4.d: Conversation-ID, Contribution-ID, InReplyTo-Contribution-ID, Subject
    for name in (CONVERSATION_ID, CONTRIBUTION_ID, IN_REPLY_TO_CONTRIBUTION_ID, "Subject"):
        if name == CONTRIBUTION_ID and faults.on("pf.contribution-id-not-copied"):
            continue
        headers += [(name, v) for v in request.headers.get_all(name)]
    headers += [("Require", v) for v in request.headers.get_all("Require")]
    # PF-8.2.1-4.j, 4.k, 4.l
    supported = supported_tags(request, faults=faults)
    if supported:
        headers.append(("Supported", supported))
    headers.append(("Session-Expires", session_expires(policy, faults)))
    # PF-8.2.1-4.g: "a User-Agent header to indicate the OMA CPM release version"
    if not faults.on("pf.no-user-agent"):
        headers.append(("User-Agent", policy.user_agent))
    # PF-8.2.1-4.m (and 4.d: the recipient list of the original body)
    content_type, payload = body.with_sdp(
        offer, drop_recipient_list=faults.on("pf.recipient-list-dropped")
    )
    headers.append(("Content-Type", content_type))
    # PF-8.2.1-4.d: "copy ... the received Request-URI"
    return build_request("INVITE", request.uri, headers, payload)


def ok_record_route(
    request: SipRequest, own: str, *, faults: ActiveFaults
) -> list[tuple[str, str]]:
    """The Record-Route of the PF's 2xx to the originating client's INVITE.

    RFC 3261 12.1.1: the UAS copies the request's Record-Route values, in order. The
    B2BUA's Contact is the focus's (200 OK step 5), so ``own`` (a Record-Route of the
    PF) goes on top, as a proxy next to the UAS would have put it: the client's route
    set (12.1.2, the list reversed) ends at the PF, and its in-dialog requests (ACK,
    BYE) still reach the PF instead of going by the focus URI to the CF.
    """
    if faults.on("pf.ok-no-record-route"):
        return []
    return [("Record-Route", own)] + [
        ("Record-Route", v) for v in request.headers.get_all("Record-Route")
    ]


def _names(value: str, own: str) -> bool:
    """Whether a Route value's URI names ``own`` (``host:port`` of the PF)."""
    uri = value.strip()
    if uri.startswith("<"):
        uri = uri[1 : uri.find(">")] if ">" in uri else uri[1:]
    host = uri.split(":", 1)[1] if ":" in uri else uri
    host = host.split("@", 1)[-1].split(";", 1)[0]
    return host == own


def proxied_invite(
    request: SipRequest,
    *,
    via: str,
    record_route: str | None,
    own: str | None = None,
    faults: ActiveFaults | None = None,
    call_id: str | None = None,
) -> SipRequest:
    """Step 5 (RFC 3261 16.6): the same INVITE with Max-Forwards - 1, the PF's Via on
    top and (5.b) a Record-Route with its own URI. 5.c / RFC 3261 16.4: the topmost
    Route entry naming the PF itself (``own``, its ``host:port``: the one the S-CSCF
    pre-loaded) is removed before the request goes on to the SIP/IP core."""
    headers: list[tuple[str, str]] = [("Via", via)]
    if record_route is not None:
        headers.append(("Record-Route", record_route))
    keep_route = faults is not None and faults.on("pf.proxy-route-kept")
    own_route_seen = own is None or keep_route
    for header in request.headers:
        name = header.name.lower()
        if name == "max-forwards":
            value = header.value.strip()
            hops = int(value) - 1 if value.isdigit() else 69
            headers.append((header.name, str(max(hops, 0))))
        elif name == "route" and not own_route_seen:
            own_route_seen = True
            entries = [e for e in header.value.split(",") if e.strip()]
            if entries and own is not None and _names(entries[0], own):
                entries = entries[1:]
            if entries:
                headers.append((header.name, ",".join(entries).strip()))
        elif name == "call-id" and call_id is not None:
            headers.append((header.name, call_id))
        elif name != "content-length":
            headers.append((header.name, header.value))
    return build_request(request.method, request.uri, headers, request.body)


__all__ = [
    "CPM_SESSION_SERVICES",
    "MAX_SESSION_EXPIRES",
    "InviteBody",
    "Rejection",
    "asserted_service",
    "build_core_invite",
    "carries_release",
    "check_invitation",
    "contact_with_uri",
    "derived_sdp",
    "msrp_media",
    "ok_record_route",
    "proxied_invite",
    "session_expires",
    "split_body",
    "supported_tags",
]

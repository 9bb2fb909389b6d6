"""Seed 003 8.3.2 "Handle a CPM Session Invitation", terminating side: an INVITE (from the
CF or another user's PF) whose Request-URI is a served user.

- Steps 1-5 and 7.iii may reject (:func:`check_terminating`); step 6 / 8.b.ii.1 / 9.e
  answer 480 when the user has no suitable registered client (the 8.3.6 deferred
  delivery policy is not implemented here yet).
- With ``media_path`` the PF is a B2BUA: the 200 OK towards the incoming leg (8.a), then
  one INVITE per suitable registered client (8.b-8.e) through the SIP/IP core; the first
  client 200 OK is ACKed (200 OK step 1), the Session History Folder written (step 2),
  the other forks CANCELed or ended with BYE (RFC 3261); a 603 from a client ends the
  incoming leg with BYE and ``Reason: SIP;cause=200`` ("603" steps).
- Without it the PF is a Record-Routing proxy (step 9) that adds Reject-Contact for the
  unsuitable clients and ``Request-Disposition: fork, parallel``.

The policy of step 5 ("service provider's policies"): every offered m-line with a
non-zero port must be ``message`` over TCP/MSRP or TCP/TLS/MSRP, and there is at least
one; anything else (e.g. an audio-only offer) is answered 488.

Each item carries the catalogue id it implements; :class:`TerminatingSide` does the I/O
through the :class:`~conformance.reference.pf.core.PfCore`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets

from conformance.documents.groupstate import GroupState, build_group_state
from conformance.documents.store_object import (
    build_group_state_object,
    build_session_info_object,
    session_history_folder,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    DISPOSITION_RECIPIENT_LIST_HISTORY,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    IN_REPLY_TO_CONTRIBUTION_ID,
    OPTION_RECIPIENT_LIST_INVITE,
    RESOURCE_LISTS_TYPE,
    SESSION_REPLACES,
    WARNING_ANONYMITY_NOT_ALLOWED,
    WARNING_FUNCTION_NOT_ALLOWED,
    WARNING_VERSION_NOT_SUPPORTED,
)
from conformance.protocol.sip.dialog import Dialog, DialogState, uri_of, without_tag
from conformance.protocol.sip.headers import (
    anonymity_requested,
    format_contact_preference,
    format_session_expires,
    get_asserted_services,
    get_contacts,
    get_preferred_services,
    parse_products,
)
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import BodyPart, build_multipart, build_part
from conformance.protocol.sip.sdp import MSRP_PROTOS, MediaDescription, build_msrp_sdp, parse_sdp
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf import msrp_policy
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.group_state import session_group_state
from conformance.reference.pf.interfaces import DeferredTriggers, FocusSubscriber, SessionEnd
from conformance.reference.pf.model import (
    DECLINE_REASON,
    B2buaSession,
    Fork,
    MsrpLeg,
    SessionKind,
    SipLeg,
    TerminatingState,
)
from conformance.reference.pf.originating import (
    CPM_SESSION_SERVICES,
    InviteBody,
    Rejection,
    derived_sdp,
    msrp_media,
    split_body,
)
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.registrations import Binding, aor
from conformance.reference.pf.xdms import Preferences, fetch_preferences

log = logging.getLogger(__name__)

#: 8.a.vi / 8.d.vi: "a value lower than 1800"
MAX_TERMINATING_SESSION_EXPIRES = 1799


# -- steps 1-5, 7.iii --------------------------------------------------------------------


def supports_version(user_agent: str | None, release: str) -> bool:
    """Step 1: the User-Agent carries the required CPM release version, as a client
    (``CPM-client/OMA2.0``) or a server (``CPM-serv/OMA2.0``) product token."""
    if not user_agent:
        return False
    version = release.split("/", 1)[-1].lower()
    try:
        products = parse_products(user_agent)
    except RemoteProtocolError:
        return False
    for product in products:
        text = str(product).lower()
        if product.is_comment or "/" not in text:
            continue
        name, _, value = text.partition("/")
        if name in ("cpm-client", "cpm-serv") and value == version:
            return True
    return False


def offer_conforms(request: SipRequest) -> bool:
    """Step 5, the reference policy: only MSRP ``message`` media (module docstring)."""
    try:
        sdp = parse_sdp(split_body(request).sdp)
    except RemoteProtocolError:
        return False
    active = [m for m in sdp.media if m.port != 0]
    return bool(active) and all(
        m.media == "message" and m.proto.upper() in MSRP_PROTOS for m in active
    )


def check_terminating(
    request: SipRequest, *, policy: PfPolicy, faults: ActiveFaults, prefs: Preferences
) -> Rejection | None:
    """Steps 1-5 and 7.iii of 8.3.2; ``None`` when the INVITE may be served."""
    # PF-8.3.2-1 / -1-warning: "403 ... 132 Version not supported"
    release = policy.required_ua_release
    if (
        release is not None
        and not supports_version(request.headers.get("User-Agent"), release)
        and not faults.on("pf.term-ua-version-accepted")
    ):
        warning = (
            None if faults.on("pf.term-warning-132-missing") else (WARNING_VERSION_NOT_SUPPORTED)
        )
        return Rejection(403, "Forbidden", warning)
    # PF-8.3.2-2 / -2-warning: "403 ... 119 Anonymity not allowed"
    if (
        not policy.allows_anonymity
        and anonymity_requested(request)
        and not faults.on("pf.term-anonymity-accepted")
    ):
        warning = (
            None if faults.on("pf.term-warning-119-missing") else (WARNING_ANONYMITY_NOT_ALLOWED)
        )
        return Rejection(403, "Forbidden", warning)
    # PF-8.3.2-3 / -3-warning: the authenticated originator is on the chat Blacklist
    originator = aor(
        uri_of(request.headers.get("P-Asserted-Identity") or request.headers.get("From") or "")
    )
    blacklisted = {aor(u) for u in prefs.blacklist}
    if (
        policy.blacklist
        and originator in blacklisted
        and not faults.on("pf.term-blacklist-ignored")
    ):
        warning = (
            None
            if faults.on("pf.term-warning-122-blacklist-missing")
            else (WARNING_FUNCTION_NOT_ALLOWED)
        )
        return Rejection(403, "Forbidden", warning)
    # PF-8.3.2-4: <allow-do-not-disturb> true -> 480
    if policy.do_not_disturb and prefs.do_not_disturb and not faults.on("pf.term-dnd-ignored"):
        return Rejection(480, "Temporarily Unavailable")
    # PF-8.3.2-5: the SDP against the service provider's policy -> 488
    if (
        policy.sdp_policy
        and not offer_conforms(request)
        and not faults.on("pf.term-sdp-policy-ignored")
    ):
        return Rejection(488, "Not Acceptable Here")
    # PF-8.3.2-7.iii / -warning: another P-Asserted-Service value MAY be rejected
    services = get_asserted_services(request)
    if (
        not get_preferred_services(request)
        and services
        and not any(s in CPM_SESSION_SERVICES for s in services)
        and policy.rejects_unexpected_service
        and not faults.on("pf.term-unexpected-service-accepted")
    ):
        warning = (
            None
            if faults.on("pf.term-warning-122-service-missing")
            else (WARNING_FUNCTION_NOT_ALLOWED)
        )
        return Rejection(403, "Forbidden", warning)
    return None


def service_headers(request: SipRequest, faults: ActiveFaults) -> list[tuple[str, str]]:
    """Step 7.i / 7.ii: a CPM P-Preferred-Service becomes the P-Asserted-Service; a CPM
    P-Asserted-Service (7.iii) stays."""
    preferred = get_preferred_services(request)
    if preferred:
        value = preferred[0]
        if value == ICSI_SESSION and faults.on("pf.term-pps-session-kept"):
            return [("P-Preferred-Service", value)]
        if value == ICSI_SESSION_GROUP and faults.on("pf.term-pps-group-kept"):
            return [("P-Preferred-Service", value)]
        if value in CPM_SESSION_SERVICES:
            return [("P-Asserted-Service", value)]
    asserted = [s for s in get_asserted_services(request) if s in CPM_SESSION_SERVICES]
    return [("P-Asserted-Service", asserted[0])] if asserted else []


def is_suitable(binding: Binding, media: MediaDescription | None) -> bool:
    """Section 6.6, reduced: the client registered the CPM session ICSI (group sessions
    are offered to it too) and the offer has MSRP media."""
    return media is not None and (
        ICSI_SESSION in binding.icsi or ICSI_SESSION_GROUP in binding.icsi
    )


# -- 8.a: the 200 OK towards the incoming leg ---------------------------------------------


def session_expires_value(policy: PfPolicy) -> int:
    return min(policy.session_expires, MAX_TERMINATING_SESSION_EXPIRES)


def build_incoming_ok(
    request: SipRequest,
    *,
    policy: PfPolicy,
    faults: ActiveFaults,
    to_tag: str,
    contact_uri: str,
    media: MediaDescription,
    msrp_host: str,
    msrp_port: int,
    path: str,
    allow: str,
) -> SipResponse:
    """PF-8.3.2-8.a.i-vii."""
    # RFC 3261 12.1.1: the Record-Route of the request, so that the CF's in-dialog requests
    # take the SIP/IP core's path back to the PF
    headers: list[tuple[str, str]] = [
        ("Record-Route", v) for v in request.headers.get_all("Record-Route")
    ]
    # 8.a.iii: a Contact with a URI identifying the PF
    if faults.on("pf.term-ok-cf-contact"):
        headers.append(("Contact", request.headers.get("Contact") or f"<{contact_uri}>"))
    else:
        headers.append(("Contact", f"<{contact_uri}>"))
    # 8.a.i: Conversation-ID, Contribution-ID, InReplyTo-Contribution-ID copied
    for name in (CONVERSATION_ID, CONTRIBUTION_ID, IN_REPLY_TO_CONTRIBUTION_ID):
        if name == CONTRIBUTION_ID and faults.on("pf.term-ok-ids-missing"):
            continue
        headers += [(name, v) for v in request.headers.get_all(name)]
    # 8.a.ii: Server with the CPM release version (Appendix D)
    if not faults.on("pf.term-ok-no-server"):
        headers.append(("Server", policy.server))
    # 8.a.iv: Supported: timer
    headers.append(("Supported", "" if faults.on("pf.term-ok-no-timer-tag") else "timer"))
    # 8.a.v / vi: Session-Expires copied, else refresher=uas and < 1800
    received = request.headers.get("Session-Expires")
    if received:
        value = (
            "1200;refresher=uas" if faults.on("pf.term-ok-session-expires-changed") else (received)
        )
    else:
        refresher = "uac" if faults.on("pf.term-ok-refresher-uac") else "uas"
        value = format_session_expires(session_expires_value(policy), refresher)
    headers += [("Session-Expires", value), ("Require", "timer"), ("Allow", allow)]
    headers = [(n, v) for n, v in headers if v]
    # 8.a.vii: the MSRP answer: own path, sendrecv, setup passive, msrp-cema
    if faults.on("pf.term-answer-no-sdp"):
        return response_to(request, 200, "OK", to_tag=to_tag, headers=headers)
    answer = build_msrp_sdp(
        host=msrp_host,
        port=0 if faults.on("pf.term-answer-not-msrp") else msrp_port,
        path=list(media.path) if faults.on("pf.term-answer-cf-path") else [path],
        accept_types=media.accept_types or ["message/cpim"],
        accept_wrapped_types=media.accept_wrapped_types or None,
        setup="active" if faults.on("pf.term-answer-setup-active") else "passive",
        msrp_cema=not faults.on("pf.term-answer-no-cema"),
        direction="sendonly" if faults.on("pf.term-answer-sendonly") else "sendrecv",
        max_size=media.max_size,
    )
    headers.append(("Content-Type", "application/sdp"))
    return response_to(request, 200, "OK", to_tag=to_tag, headers=headers, body=answer)


# -- 8.d: the INVITE towards a client -----------------------------------------------------

#: header fields 8.d writes itself (the rest is copied, 8.d.vi)
_FORK_OWN = {
    "via",
    "v",
    "from",
    "f",
    "to",
    "t",
    "call-id",
    "i",
    "cseq",
    "contact",
    "m",
    "content-length",
    "l",
    "content-type",
    "c",
    "max-forwards",
    "supported",
    "k",
    "session-expires",
    "x",
    "min-se",
    "record-route",
    "route",
    "p-preferred-service",
    "p-asserted-service",
    "accept-contact",
    "a",
    "user-agent",
    "require",
    "conversation-id",
    "contribution-id",
    "inreplyto-contribution-id",
    "p-asserted-identity",
    "allow",
}


def fork_body(body: InviteBody, offer: bytes, faults: ActiveFaults) -> tuple[str, bytes]:
    """8.d.viii: the SDP offer; 8.d.vii: a received recipient-list becomes the
    recipient-list-history (RFC 5364)."""
    rl = body.recipient_list
    if rl is None or faults.on("pf.term-history-dropped"):
        return "application/sdp", offer
    parts: list[BodyPart] = [
        build_part("application/sdp", offer),
        build_part(RESOURCE_LISTS_TYPE, rl.body, disposition=DISPOSITION_RECIPIENT_LIST_HISTORY),
    ]
    return build_multipart(parts)


def build_fork_invite(
    request: SipRequest,
    binding: Binding,
    *,
    user: str,
    policy: PfPolicy,
    faults: ActiveFaults,
    via: str,
    contact_uri: str,
    record_route: str,
    offer: bytes,
    body: InviteBody,
) -> SipRequest:
    """PF-8.3.2-8.c / 8.d.i-viii: the B2BUA's INVITE to one client, Record-Routed by the
    PF (``record_route``) as its Contact may be the focus's."""
    instance = binding.instance.strip('"')
    call_id = (
        request.call_id
        if faults.on("pf.term-call-id-reused") and request.call_id
        else (new_call_id())
    )
    original_from = request.headers.get("From") or "<sip:anonymous@anonymous.invalid>"
    headers: list[tuple[str, str]] = [
        ("Via", via),
        ("Max-Forwards", "70"),
        ("Record-Route", record_route),
        ("From", f"{without_tag(original_from)};tag={new_tag()}"),
        ("To", without_tag(request.headers.get("To") or f"<{user}>")),
        ("Call-ID", call_id),
        ("CSeq", "1 INVITE"),
    ]
    headers += [("P-Asserted-Identity", v) for v in request.headers.get_all("P-Asserted-Identity")]
    # 8.d.ii: without GRUU, an Accept-Contact with the instance, require and explicit
    if not policy.gruu:
        explicit = not faults.on("pf.term-accept-contact-not-explicit")
        headers.append(
            (
                "Accept-Contact",
                format_contact_preference(
                    [("+sip.instance", f'"{instance}"')], require=explicit, explicit=explicit
                ),
            )
        )
    # 8.d.iii: the received Accept-Contact copied
    if not faults.on("pf.term-accept-contact-dropped"):
        headers += [("Accept-Contact", v) for v in request.headers.get_all("Accept-Contact")]
    # 7.i / 7.ii
    headers += service_headers(request, faults)
    # 8.d.iv: the CPM ids
    for name in (CONVERSATION_ID, CONTRIBUTION_ID, IN_REPLY_TO_CONTRIBUTION_ID):
        if name == CONTRIBUTION_ID and faults.on("pf.term-fork-ids-missing"):
            continue
        headers += [(name, v) for v in request.headers.get_all(name)]
    # 8.d.v: the focus Contact copied, else the PF's own
    contacts = get_contacts(request)
    isfocus = bool(contacts) and contacts[0].isfocus
    copy = (isfocus and not faults.on("pf.term-focus-contact-replaced")) or (
        not isfocus and bool(contacts) and faults.on("pf.term-peer-contact-copied")
    )
    if copy:
        headers.append(("Contact", request.headers.get("Contact") or ""))
    else:
        headers.append(("Contact", f"<{contact_uri}>"))
    # 8.d.vi: the other header fields (8.b.i: Session-Replaces among them)
    for h in request.headers:
        name = h.name.lower()
        if name in _FORK_OWN:
            continue
        if name == "subject" and faults.on("pf.term-subject-dropped"):
            continue
        if name == SESSION_REPLACES.lower() and faults.on("pf.term-session-replaces-dropped"):
            continue
        headers.append((h.name, h.value))
    supported = (
        "timer"
        if faults.on("pf.term-fork-no-rli-tag")
        else (f"timer, {OPTION_RECIPIENT_LIST_INVITE}")
    )
    refresher = "uac" if faults.on("pf.term-fork-refresher-uac") else "uas"
    headers += [
        ("Supported", supported),
        ("Session-Expires", format_session_expires(session_expires_value(policy), refresher)),
    ]
    # 8.d.vi: SHOULD NOT include Min-SE
    if faults.on("pf.term-fork-min-se"):
        headers.append(("Min-SE", "90"))
    if not faults.on("pf.term-fork-no-user-agent"):
        headers.append(("User-Agent", policy.user_agent))
    content_type, payload = fork_body(body, offer, faults)
    headers.append(("Content-Type", content_type))
    # 8.d.i: the public GRUU when supported, else the user's address
    if policy.gruu:
        uri = f"{user};gr={instance}"
    elif faults.on("pf.term-request-uri-contact"):
        uri = binding.contact
    else:
        uri = user
    return build_request("INVITE", uri, headers, payload)


# -- step 9: the proxy ---------------------------------------------------------------------


def proxied_terminating_invite(
    request: SipRequest,
    *,
    via: str,
    record_route: str | None,
    unsuitable: list[Binding],
    faults: ActiveFaults,
) -> SipRequest:
    """PF-8.3.2-9.a / 9.d.i / 9.d.ii: RFC 3261 16.6 forwarding with Reject-Contact for
    the unsuitable clients and Request-Disposition fork, parallel."""
    headers: list[tuple[str, str]] = [("Via", via)]
    if record_route is not None:
        headers.append(("Record-Route", record_route))
    for h in request.headers:
        name = h.name.lower()
        if name in ("content-length", "l", "p-preferred-service"):
            continue
        if name in ("p-asserted-service",):
            continue
        if name == SESSION_REPLACES.lower() and faults.on("pf.term-proxy-session-replaces-dropped"):
            continue
        if name in ("call-id", "i") and faults.on("pf.term-proxy-new-call-id"):
            headers.append((h.name, new_call_id()))
            continue
        if name == "max-forwards":
            value = h.value.strip()
            headers.append((h.name, str(max(int(value) - 1 if value.isdigit() else 69, 0))))
            continue
        headers.append((h.name, h.value))
    headers += service_headers(request, faults)
    if not faults.on("pf.term-proxy-no-reject-contact"):
        for b in unsuitable:
            instance = b.instance.strip('"')
            headers.append(
                ("Reject-Contact", format_contact_preference([("+sip.instance", f'"{instance}"')]))
            )
    if not faults.on("pf.term-proxy-no-disposition"):
        headers.append(("Request-Disposition", "fork, parallel"))
    return build_request(request.method, request.uri, headers, request.body)


# -- the I/O ------------------------------------------------------------------------------


class TerminatingSide:
    """The terminating PF: steps 1-9 and the responses of the clients."""

    def __init__(
        self,
        pf: PfCore,
        *,
        sessions: SessionEnd,
        deferred: DeferredTriggers,
        participants: FocusSubscriber,
    ) -> None:
        self.pf = pf
        self.sessions = sessions
        self.deferred = deferred
        self.participants = participants
        self.states: dict[str, TerminatingState] = {}

    @property
    def faults(self) -> ActiveFaults:
        return self.pf.faults

    def on_invite(self, incoming: IncomingRequest) -> None:
        incoming.respond(100)
        self.pf.spawn(self._handle(incoming))

    def _reject(self, incoming: IncomingRequest, rejection: Rejection) -> None:
        self.pf.reply_if_open(
            incoming, rejection.status, rejection.reason, rejection.headers(self.pf.agent)
        )

    async def _handle(self, incoming: IncomingRequest) -> None:
        pf = self.pf
        request = incoming.request
        user = aor(request.uri)
        prefs = await fetch_preferences(pf.config.xdms_url, user)
        rejection = check_terminating(request, policy=pf.policy, faults=self.faults, prefs=prefs)
        if rejection is not None:
            log.info("terminating INVITE for %s rejected: %s", user, rejection.status)
            self._reject(incoming, rejection)
            if (
                rejection.status == 480
                and prefs.do_not_disturb
                and self.faults.on("pf.term-dnd-client-invited")
            ):
                pf.spawn(self._disturb(request, user))
            return
        media: MediaDescription | None
        try:
            body = split_body(request)
            media = msrp_media(body.sdp)
        except RemoteProtocolError:
            body, media = InviteBody(b""), None
        # step 6, 8.b, 9.b/9.c: the registered, the connected and the suitable clients
        bindings = pf.registrations.bindings(user, pf.loop.time())
        if self.faults.on("pf.term-registration-ignored"):
            bindings = []
        if request.headers.get(SESSION_REPLACES) is not None:
            targets, unsuitable = list(bindings), []
        else:
            targets = [b for b in bindings if is_suitable(b, media)]
            unsuitable = [b for b in bindings if b not in targets]
            if self.faults.on("pf.term-unsuitable-invited"):
                targets = list(bindings)
            if self.faults.on("pf.term-proxy-suitability-wrong"):
                unsuitable = list(bindings)
        if not targets:
            # 8.b.ii.1 / 9.e: no deferred delivery (8.3.6) implemented here yet -> 480
            fault = (
                "pf.term-no-client-200"
                if pf.policy.media_path
                else ("pf.term-proxy-no-clients-forwarded")
            )
            if not self.faults.on(fault):
                self._reject(incoming, Rejection(480, "Temporarily Unavailable"))
                return
        if not pf.policy.media_path:
            self._proxy(incoming, unsuitable)
            return
        if media is None:
            self._reject(incoming, Rejection(488, "Not Acceptable Here"))
            return
        if self.faults.on("pf.term-no-200"):
            self._reject(incoming, Rejection(480, "Temporarily Unavailable"))
            return
        await self._b2bua(incoming, user, body, media, targets)

    async def _disturb(self, request: SipRequest, user: str) -> None:
        """A fault's behaviour: the CF got 480 for do-not-disturb, yet the user's clients
        are invited (whatever they answer is dropped)."""
        pf = self.pf
        try:
            body = split_body(request)
            media = msrp_media(body.sdp)
        except RemoteProtocolError:
            return
        if media is None:
            return
        for binding in pf.registrations.bindings(user, pf.loop.time()):
            sid = secrets.token_hex(8)
            offer = derived_sdp(
                media,
                host=pf.msrp.address().host,
                port=pf.msrp.address().port,
                path=[pf.msrp.uri(sid)],
                setup="actpass",
            )
            invite = build_fork_invite(
                request,
                binding,
                user=user,
                policy=pf.policy,
                faults=self.faults,
                via=pf.via(),
                contact_uri=pf.own_uri(sid),
                record_route=pf.b2bua_record_route,
                offer=offer,
                body=body,
            )
            with contextlib.suppress(Exception):
                handle = await pf.sip.request(invite, pf.destination(binding.contact))
                await handle.outcome(pf.config.timers.b)

    def _proxy(self, incoming: IncomingRequest, unsuitable: list[Binding]) -> None:
        pf = self.pf
        request = incoming.request
        if self.faults.on("pf.term-proxy-not-forwarded"):
            self._reject(incoming, Rejection(480, "Temporarily Unavailable"))
            return
        if request.call_id:
            pf.proxied.add(request.call_id)
        forwarded = proxied_terminating_invite(
            request,
            via=pf.via(),
            record_route=pf.record_route(),
            unsuitable=unsuitable,
            faults=self.faults,
        )
        if forwarded.call_id:
            pf.proxied.add(forwarded.call_id)
        pf.spawn(pf.forward(incoming, forwarded, pf.destination(request.uri)))

    async def _b2bua(
        self,
        incoming: IncomingRequest,
        user: str,
        body: InviteBody,
        media: MediaDescription,
        targets: list[Binding],
    ) -> None:
        pf = self.pf
        request = incoming.request
        session_id = secrets.token_hex(8)
        cf_sid = secrets.token_hex(8)
        cf_leg = SipLeg("cf", MsrpLeg(pf.msrp.uri(cf_sid), max_size=media.max_size))
        # 8.a.viii: the incoming leg's session is the offerer's path (the offerer connects)
        cf_leg.msrp.remote_path = tuple(media.path)
        client_leg = SipLeg("client", MsrpLeg(pf.msrp.uri(secrets.token_hex(8))))
        state = TerminatingState(user)
        session = B2buaSession(
            session_id,
            user,
            request,
            cf_leg,
            client_leg,
            request,
            kind=SessionKind.TERMINATING,
            forks=state,
        )
        self.states[session_id] = state
        pf.table.add(session)
        # 8.a: the 200 OK towards the incoming leg, listening for its MSRP (8.a.viii)
        tag = new_tag()
        try:
            response = build_incoming_ok(
                request,
                policy=pf.policy,
                faults=self.faults,
                to_tag=tag,
                contact_uri=pf.own_uri(session_id),
                media=media,
                msrp_host=pf.msrp.address().host,
                msrp_port=pf.msrp.address().port,
                path=cf_leg.msrp.local_uri,
                allow="INVITE, ACK, BYE, CANCEL, OPTIONS",
            )
            dialog = Dialog.uas(request, tag, pf.own_uri(session_id))
            dialog.confirm(response)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("cannot answer the terminating INVITE: %s", exc)
            self._reject(incoming, Rejection(500, "Server Internal Error"))
            return
        cf_leg.dialog = dialog
        pf.table.bind_dialog(dialog, session, cf_leg)
        if not self.faults.on("pf.term-not-listening"):
            pf.table.expect_msrp(cf_sid, session, cf_leg)
        pf.sip.retransmit_2xx_until_ack(incoming, response)
        # 8.c-8.e: one INVITE per suitable client, through the SIP/IP core
        if self.faults.on("pf.term-only-first-client"):
            targets = targets[:1]
        for binding in targets:
            sid = secrets.token_hex(8)
            leg = SipLeg("client", MsrpLeg(pf.msrp.uri(sid)))
            offer_text = derived_sdp(
                media,
                host=pf.msrp.address().host,
                port=pf.msrp.address().port,
                path=media.path
                if self.faults.on("pf.term-offer-cf-path")
                else [leg.msrp.local_uri],
                setup="passive" if self.faults.on("pf.term-offer-setup-passive") else "actpass",
            )
            invite = build_fork_invite(
                request,
                binding,
                user=user,
                policy=pf.policy,
                faults=self.faults,
                via=pf.via(),
                contact_uri=pf.own_uri(session_id),
                record_route=pf.b2bua_record_route,
                offer=offer_text,
                body=body,
            )
            fork = Fork(binding, leg, sid, invite)
            state.forks.append(fork)
            pf.table.expect_msrp(sid, session, leg)
        for fork in state.forks:
            pf.spawn(self._run_fork(session, state, fork))

    async def _run_fork(self, session: B2buaSession, state: TerminatingState, fork: Fork) -> None:
        try:
            await self._fork(session, state, fork)
        finally:
            fork.done.set()

    async def _fork(self, session: B2buaSession, state: TerminatingState, fork: Fork) -> None:
        pf = self.pf
        fork.handle = await pf.sip.request(fork.invite, pf.destination(fork.binding.contact))
        while True:
            try:
                response = await fork.handle.next_response(pf.config.timers.b * 4)
            except Exception:
                if self.deferred.on_invite_timeout(session, state, fork):  # 8.3.2.9 case 2
                    return
                self._fork_failed(session, state, fork)
                return
            if response.status >= 200:
                break
        if response.status >= 300:
            # RFC 3261 8.1.3.1: a 408 is the INVITE's timeout, told by a proxy on the way
            if response.status == 408 and self.deferred.on_invite_timeout(session, state, fork):
                return
            pf.table.unexpect_msrp(fork.sid)
            if response.status == 603 and state.answered is None:
                self._declined(session, state, fork)
                return
            self._fork_failed(session, state, fork)
            return
        try:
            dialog = Dialog.uac(fork.invite, response, own_record_route=[pf.b2bua_record_route])
            dialog.confirm(response)
            answer = msrp_media(split_body(response).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx from %s: %s", fork.binding.contact, exc)
            return
        fork.leg.dialog = dialog
        fork.leg.msrp.remote_path = tuple(answer.path)
        fork.leg.msrp.max_size = answer.max_size
        if (
            state.answered is not None
            and not session.ended
            and session.chosen is not None
            and msrp_policy.keeps_all_forks(pf)
        ):
            # 8.6 step 2.a.i.1: the user chose another client before this one answered
            # (its SEND overtook this 2xx): ACK it, then release it as the others
            pf.table.unexpect_msrp(fork.sid)
            pf.send_ack(fork.leg, fork.invite)
            pf.spawn(msrp_policy.release(pf, fork.leg))
            return
        if state.answered is not None and not session.ended and msrp_policy.keeps_all_forks(pf):
            # 8.6 step 2.a: another client of the user joins until the user chooses one
            session.extra.append(fork.leg)
            pf.table.bind_dialog(dialog, session, fork.leg)
            pf.send_ack(fork.leg, fork.invite)
            if answer.setup == "passive":
                pf.table.unexpect_msrp(fork.sid)
                await pf.connect_msrp(fork.leg.msrp)
                if self._left(session, fork.leg):
                    self._drop_msrp(fork.leg)
            return
        if state.answered is not None or session.ended:
            # RFC 3261 13.2.2.4: a later 2xx is ACKed, then the dialog ended
            pf.table.unexpect_msrp(fork.sid)
            pf.send_ack(fork.leg, fork.invite)
            pf.send_in_dialog(dialog, "BYE")
            return
        state.answered = fork
        session.core = fork.leg
        session.core_invite = fork.invite
        pf.table.bind_dialog(dialog, session, fork.leg)
        # 200 OK step 1: ACK to the client that answered
        if not self.faults.on("pf.term-client-not-acked"):
            pf.send_ack(fork.leg, fork.invite)
        # RFC 3261: the other forks are CANCELed (or BYE'd when they answer later)
        for other in state.forks:
            if other is fork or msrp_policy.keeps_all_forks(pf):
                continue
            pf.table.unexpect_msrp(other.sid)
            if other.handle is not None and other.handle.final_response is None:
                try:
                    other.handle.cancel()
                except (LocalProtocolError, RemoteProtocolError) as exc:
                    log.debug("no CANCEL for a fork: %s", exc)
        left = False
        if answer.setup == "passive":
            pf.table.unexpect_msrp(fork.sid)
            await pf.connect_msrp(fork.leg.msrp)
            # the client may have left while the connection was opening (a BYE: the
            # deferred procedure took over the leg, or the session ended): the new MSRP
            # session is not attached to a leg nobody is on
            left = self._left(session, fork.leg)
            if left:
                self._drop_msrp(fork.leg)
            else:
                self.deferred.on_msrp_setup_failed(session, fork.leg)  # 8.3.2.9 case 3
        # 200 OK step 3: participant information (8.3.2.6, read as 8.2.3) from the focus
        # of the CF's INVITE, unless conference-info over MSRP applies (``after_ok``); not
        # for a session already over, and after the client left during the MSRP setup the
        # deferred procedure's subscription, held or pending, is this one (one per user
        # towards the CF, 8.2.3)
        if not self.faults.on("pf.term-no-subscribe-to-focus") and not session.ended:
            contacts = get_contacts(session.client_request)
            self.participants.after_ok(
                session,
                contacts[0].uri if contacts and contacts[0].isfocus else None,
                reuse=left,
            )
        # 200 OK step 2: the Session History Folder
        await self._record(session)

    @staticmethod
    def _left(session: B2buaSession, leg: SipLeg) -> bool:
        """The client is no longer on ``leg``: its BYE ended the dialog (the deferred
        procedure detaches the dialog, :meth:`DeferredDelivery.enter`) or the session."""
        return session.ended or leg.dialog is None or leg.dialog.state is DialogState.TERMINATED

    @staticmethod
    def _drop_msrp(leg: SipLeg) -> None:
        """Detach the MSRP session of a leg the client has left and close the connection
        the PF opened for it (nothing else uses it: it was opened with ``reuse=False``)."""
        channel, msrp_session = leg.msrp.channel, leg.msrp.session
        leg.msrp.channel = None
        leg.msrp.session = None
        if channel is None:
            return
        if msrp_session is not None:
            channel.machine.remove_session(msrp_session)
        if not channel.machine.sessions:
            channel.close()

    def _fork_failed(self, session: B2buaSession, state: TerminatingState, fork: Fork) -> None:
        pf = self.pf
        pf.table.unexpect_msrp(fork.sid)
        if state.answered is not None or session.ended or session.declined:
            return
        pending = [
            f
            for f in state.forks
            if f is not fork and (f.handle is None or f.handle.final_response is None)
        ]
        if not pending:
            # every client failed: the accepted incoming leg ends
            self.sessions.end(session, None)

    def _declined(self, session: B2buaSession, state: TerminatingState, fork: Fork) -> None:
        """The "603" steps: the user declined; the incoming leg ends with BYE and
        Reason SIP;cause=200 (603 step 2). Nothing is stored or deferred for this session
        (603 step 1 holds trivially: the reference PF keeps no messages before a client
        answers)."""
        pf = self.pf
        session.decline()
        for other in state.forks:
            pf.table.unexpect_msrp(other.sid)
            if (
                other is not fork
                and other.handle is not None
                and (other.handle.final_response is None)
            ):
                try:
                    other.handle.cancel()
                except (LocalProtocolError, RemoteProtocolError) as exc:
                    log.debug("no CANCEL for a fork: %s", exc)
        cf_dialog = session.client.dialog
        if cf_dialog is not None and not self.faults.on("pf.term-603-bye-without-reason"):
            pf.send_in_dialog(cf_dialog, "BYE", headers=[("Reason", DECLINE_REASON)])
            self.sessions.end(session, session.client)
        else:
            self.sessions.end(session, None)

    # -- 200 OK step 2 -------------------------------------------------------------------
    async def _record(self, session: B2buaSession) -> None:
        """PF-8.3.2-200OK-2 / -2-gso / -2.a.i / -2.a.ii."""
        pf = self.pf
        store = pf.store
        if store is None:
            return
        prefs = await fetch_preferences(pf.config.xdms_url, session.user)
        if not (prefs.allow_offline_storage or pf.policy.recording):
            return
        request = session.client_request
        conversation = request.headers.get(CONVERSATION_ID) or ""
        contribution = request.headers.get(CONTRIBUTION_ID) or ""
        if not contribution:
            log.warning("no Contribution-ID: no Session History Folder")
            return
        name = conversation if self.faults.on("pf.term-folder-misnamed") else contribution
        folder = session_history_folder(name)
        objects: list[bytes] = []
        try:
            exists = await store.folder_exists(folder)
            if self.faults.on("pf.term-session-info-duplicated"):
                exists = False
            if not exists:
                await store.create_folder(folder)
                if not self.faults.on("pf.term-no-session-info"):
                    objects.append(
                        build_session_info_object(
                            request.raw or request.to_bytes(),
                            conversation_id=conversation,
                            contribution_id=contribution,
                            imdn_message_id=secrets.token_hex(8),
                            direction="In",
                        )
                    )
            group = self._group_state(session)
            if group is not None and not self.faults.on("pf.term-no-gso"):
                objects.append(
                    build_group_state_object(
                        build_group_state(group),
                        conversation_id=conversation,
                        contribution_id=contribution,
                        imdn_message_id=secrets.token_hex(8),
                        direction="In",
                    )
                )
            for data in objects:
                await store.append(folder, data)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("Message Store write failed: %s", exc)

    def _group_state(self, session: B2buaSession) -> GroupState | None:
        """The Group State Object: the focus (the isfocus Contact of the incoming INVITE)
        and the participants of its recipient list (plus the served user)."""
        request = session.client_request
        try:
            part = split_body(request).recipient_list
        except RemoteProtocolError:
            part = None
        contacts = get_contacts(request)
        focus = contacts[0].uri if contacts and contacts[0].isfocus else None
        if part is None and focus is None:
            return None
        if self.faults.on("pf.term-gso-wrong-identity"):
            focus = session.user
        if self.faults.on("pf.term-gso-wrong-participants"):
            part = None
        return session_group_state(session.user, part, focus)


__all__ = [
    "DECLINE_REASON",
    "MAX_TERMINATING_SESSION_EXPIRES",
    "Fork",
    "TerminatingSide",
    "TerminatingState",
    "build_fork_invite",
    "build_incoming_ok",
    "check_terminating",
    "is_suitable",
    "offer_conforms",
    "proxied_terminating_invite",
    "service_headers",
    "supports_version",
]

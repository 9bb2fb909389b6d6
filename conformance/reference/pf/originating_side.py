"""Seed 003 8.2.1 "Handle a CPM Session Invitation", originating side: the I/O of the
reference PF for an INVITE of a served user (the messages are built in :mod:`.originating`).

- Steps 1-4.a may reject; with ``media_path`` the PF is a B2BUA (4.b-4.n, then the 200 OK
  steps 2-10), else a Record-Routing proxy (step 5).
- 200 OK step 7: the PF waits for the client's ACK (Timer B) and propagates it; without it
  both legs end (RFC 3261 13.3.1.4).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Any

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
    ICSI_SESSION_GROUP,
    IN_REPLY_TO_CONTRIBUTION_ID,
)
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.headers import (
    format_contact_preference,
    get_asserted_services,
    get_contacts,
)
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipResponse, build_request
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.pf import isf, msrp_policy
from conformance.reference.pf.core import ALLOW, PfCore, address_of
from conformance.reference.pf.group_state import session_group_state
from conformance.reference.pf.interfaces import FocusSubscriber, SessionEnd
from conformance.reference.pf.model import B2buaSession, MsrpLeg, SipLeg
from conformance.reference.pf.originating import (
    InviteBody,
    build_core_invite,
    carries_release,
    check_invitation,
    derived_sdp,
    msrp_media,
    ok_record_route,
    proxied_invite,
    split_body,
)
from conformance.reference.pf.registrations import aor
from conformance.reference.pf.xdms import fetch_preferences

log = logging.getLogger(__name__)


class OriginatingSide:
    """The originating PF: steps 1-5 and the 200 OK steps 2-10 of 8.2.1."""

    def __init__(self, pf: PfCore, *, sessions: SessionEnd, participants: FocusSubscriber) -> None:
        self.pf = pf
        self.faults = pf.faults
        self.sessions = sessions
        self.participants = participants

    def on_invite(self, incoming: IncomingRequest, originator: str) -> None:
        """An INVITE of a served user (steps 1-4.a may reject it): a B2BUA session
        (``media_path``) or the proxy of step 5."""
        request = incoming.request
        allowed = self.pf.served(originator) and (
            originator not in {aor(u) for u in self.pf.policy.unauthorised_users}
        )
        rejection = check_invitation(
            request, allowed=allowed, policy=self.pf.policy, faults=self.faults
        )
        if rejection is not None:
            log.info(
                "INVITE from %s rejected: %s %s", originator, rejection.status, rejection.warning
            )
            incoming.respond(
                rejection.status, rejection.reason, headers=rejection.headers(self.pf.agent)
            )
            if (
                rejection.warning is None
                and self.pf.policy.media_path
                and self.faults.on("pf.unexpected-service-forwarded")
            ):  # 4.a.iii: "SHALL not continue" broken: rejected, yet served
                with contextlib.suppress(RemoteProtocolError):
                    body = split_body(request)
                    path = msrp_media(body.sdp).path
                    self.pf.spawn(self._originate(incoming, originator, body, path))
            return
        if not self.pf.policy.media_path:
            self._proxy_invite(incoming)
            return
        try:
            body = split_body(request)
            media = msrp_media(body.sdp)
        except RemoteProtocolError as exc:
            log.warning("INVITE without a usable MSRP offer: %s", exc)
            incoming.respond(488, "Not Acceptable Here")
            return
        incoming.respond(100)
        self.pf.spawn(self._originate(incoming, originator, body, media.path))

    async def _originate(
        self, incoming: IncomingRequest, user: str, body: InviteBody, client_path: list[str]
    ) -> None:
        """8.2.1 steps 4.b-4.n, then the 200 OK steps 2-10."""
        request = incoming.request
        session_id = secrets.token_hex(6)
        client_sid, core_sid = secrets.token_hex(8), secrets.token_hex(8)
        client_leg = SipLeg("client", MsrpLeg(self.pf.msrp.uri(client_sid), tuple(client_path)))
        core_leg = SipLeg("core", MsrpLeg(self.pf.msrp.uri(core_sid)))
        offer_media = msrp_media(body.sdp)
        client_leg.msrp.max_size = offer_media.max_size
        offer_path = (
            list(client_path)
            if self.faults.on("pf.offer-client-path")
            else [core_leg.msrp.local_uri]
        )
        offer = derived_sdp(
            offer_media,
            host=self.pf.msrp.address().host,
            port=self.pf.msrp.address().port,
            path=offer_path,
            setup="actpass",
            keep_wrapped_types=not self.faults.on("pf.offer-wrapped-types-dropped"),
        )
        try:
            invite = build_core_invite(
                request,
                policy=self.pf.policy,
                faults=self.faults,
                via=self.pf.via(),
                call_id=new_call_id(),
                from_tag=new_tag(),
                identity=user,
                contact_uri=self.pf.own_uri(session_id),
                offer=offer,
                body=body,
            )
        except RemoteProtocolError as exc:
            # a header field the INVITE is built from does not parse (e.g. an invalid option
            # tag in Supported): the client gets a final answer, never 100 Trying alone
            log.warning("INVITE with an invalid header field: %s", exc)
            incoming.respond(400, "Bad Request")
            return
        # PF-8.2.1-4.n-isf: a destination neither SIP nor TEL goes directly to the ISF
        to_isf = isf.needs_isf(request.uri) and not self.faults.on("pf.isf-bypassed")
        if to_isf:
            invite = isf.towards_isf(invite, self.pf.config.isf_uri)
        session = B2buaSession(session_id, user, request, client_leg, core_leg, invite)
        # PF-8.2.1-4.n: "send the SIP INVITE request according to ... the SIP/IP core"
        destination = isf.hop(self.pf) if to_isf else self.pf.destination(request.uri)
        if not to_isf and self.faults.on("pf.core-invite-not-via-core"):
            destination = address_of(request.uri)  # the Request-URI's host, not the core
        handle = await self.pf.sip.request(invite, destination)
        outcome = await handle.outcome(self.pf.config.timers.b * 2)
        # PF-8.2.1-200OK-1: the ISF rejected the offered stream: a new session for it
        if to_isf and isf.wants_retry(self.pf, outcome):
            assert not isinstance(outcome, str)
            invite, outcome = await isf.retry_rejected(
                self.pf, invite, outcome, offer_media, core_leg.msrp.local_uri
            )
            session.core_invite = invite
        if isinstance(outcome, str):
            self.pf.reply_if_open(incoming, 408, "Request Timeout")
            return
        if outcome.status >= 300:
            # B2BUA: the terminating leg's failure goes back to the client
            keep = [
                (h.name, h.value)
                for h in outcome.headers
                if h.name.lower() in ("warning", "retry-after", "reason")
            ]
            self.pf.reply_if_open(incoming, outcome.status, outcome.reason, keep)
            return
        try:
            core_dialog = Dialog.uac(invite, outcome)
            core_dialog.confirm(outcome)
            answer_media = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx from the terminating leg: %s", exc)
            self.pf.reply_if_open(incoming, 502, "Bad Gateway")
            return
        core_leg.dialog = core_dialog
        core_leg.msrp.remote_path = tuple(answer_media.path)
        core_leg.msrp.max_size = answer_media.max_size
        self.pf.table.add(session)
        self.pf.table.bind_dialog(core_dialog, session, core_leg)
        # 200 OK steps 2-5, 7: the 200 OK towards the originating client
        response = self._client_ok(session, incoming, outcome, answer_media)
        client_dialog = Dialog.uas(
            request, tag_of(response, "To") or "", self.pf.own_uri(session_id)
        )
        client_dialog.confirm(response)
        client_leg.dialog = client_dialog
        self.pf.table.bind_dialog(client_dialog, session, client_leg)
        self.pf.table.expect_msrp(client_sid, session, client_leg)
        session.ack_guard = self.pf.loop.call_later(
            self.pf.config.timers.b, self._ack_missing, session
        )
        if not self.faults.on("pf.client-ok-not-sent"):  # 200 OK step 7
            self.pf.sip.retransmit_2xx_until_ack(incoming, response)
        # 200 OK step 6 (8.6, basic): the MSRP session towards the terminating side
        await self.pf.connect_msrp(core_leg.msrp)
        # 200 OK step 8: storage
        await self._record(session, outcome)
        # 200 OK step 9: participant information (8.2.3)
        focus_contacts = get_contacts(outcome)
        self.participants.after_ok(
            session,
            focus_contacts[0].uri if focus_contacts and focus_contacts[0].isfocus else None,
        )
        # 200 OK step 10: direct delivery to the user's other clients
        if self.pf.policy.direct_delivery_all_clients and not self.faults.on(
            "pf.no-direct-delivery"
        ):
            await self._direct_delivery(session, outcome)

    def _client_ok(
        self,
        session: B2buaSession,
        incoming: IncomingRequest,
        terminating: SipResponse,
        answer_media: Any,
    ) -> SipResponse:
        # RFC 3261 12.1.1, and the PF on the client's route set (its Contact is the focus's)
        headers = ok_record_route(incoming.request, self.pf.b2bua_record_route, faults=self.faults)
        # PF-8.2.1-200OK-5: the focus Contact is copied, else the PF's own URI
        contacts = get_contacts(terminating)
        focus = contacts[0] if contacts and contacts[0].isfocus else None
        if focus is not None:
            copy = not self.faults.on("pf.isfocus-contact-replaced")
        else:
            copy = bool(contacts) and self.faults.on("pf.plain-contact-copied")
        if copy:
            headers.append(("Contact", terminating.headers.get("Contact") or ""))
        else:
            headers.append(("Contact", f"<{self.pf.own_uri(session.id)}>"))
        # PF-8.2.1-200OK-3: "a Server header to indicate the OMA CPM release version"
        if not self.faults.on("pf.server-header-missing"):
            headers.append(("Server", self.pf.policy.server))
        for name in (CONVERSATION_ID, CONTRIBUTION_ID, IN_REPLY_TO_CONTRIBUTION_ID):
            value = terminating.headers.get(name) or session.client_request.headers.get(name)
            if value:
                headers.append((name, value))
        headers.append(("Supported", "timer"))
        expires = terminating.headers.get("Session-Expires")
        if expires:
            headers.append(("Session-Expires", expires))
            headers.append(("Require", "timer"))
        headers.append(("Allow", ALLOW))
        # PF-8.2.1-200OK-4 / -4-setup: the answer with a=setup:passive and the PF's path
        answer = derived_sdp(
            answer_media,
            host=self.pf.msrp.address().host,
            port=self.pf.msrp.address().port,
            path=[session.client.msrp.local_uri],
            setup="active" if self.faults.on("pf.answer-setup-active") else "passive",
            keep_wrapped_types=not self.faults.on("pf.answer-wrapped-types-dropped"),
        )
        headers.append(("Content-Type", "application/sdp"))
        # 200 OK step 2: a 200 "OK" (under a fault, another 2xx)
        status, reason = (
            (202, "Accepted") if self.faults.on("pf.client-ok-not-200") else (200, "OK")
        )
        return response_to(
            incoming.request, status, reason, to_tag=new_tag(), headers=headers, body=answer
        )

    # -- step 8: storage ------------------------------------------------------------------
    async def _record(self, session: B2buaSession, terminating: SipResponse) -> None:
        """PF-8.2.1-200OK-8 / -8-gso: with <allow-offline-storage> true, the Session Info
        Object and, for a group session, the Group State Object."""
        if self.pf.store is None:
            return
        prefs = await fetch_preferences(self.pf.config.xdms_url, session.user)
        if not (prefs.allow_offline_storage or self.pf.policy.recording):
            return
        request = session.client_request
        conversation = request.headers.get(CONVERSATION_ID) or ""
        contribution = request.headers.get(CONTRIBUTION_ID) or ""
        if not contribution:
            log.warning("no Contribution-ID: no Session History Folder")
            return
        folder = session_history_folder(contribution)
        objects: list[bytes] = []
        if not self.faults.on("pf.no-session-info-stored"):
            objects.append(
                build_session_info_object(
                    request.raw or request.to_bytes(),
                    conversation_id=conversation,
                    contribution_id=contribution,
                    imdn_message_id=secrets.token_hex(8),
                    direction="Out",
                )
            )
        group = self._group_state(session, terminating)
        if group is not None and not self.faults.on("pf.no-gso-stored"):
            objects.append(
                build_group_state_object(
                    build_group_state(group),
                    conversation_id=conversation,
                    contribution_id=contribution,
                    imdn_message_id=secrets.token_hex(8),
                    direction="Out",
                )
            )
        if not objects:
            return
        try:
            if not await self.pf.store.folder_exists(folder):
                await self.pf.store.create_folder(folder)
            for data in objects:
                await self.pf.store.append(folder, data)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("Message Store write failed: %s", exc)

    def _group_state(self, session: B2buaSession, terminating: SipResponse) -> GroupState | None:
        """The Group State Object of a group session: the focus (CPM Group Session
        Identity) and the participants (the originator and the INVITE's list)."""
        request = session.client_request
        body = split_body(request)
        part = body.recipient_list
        is_group = part is not None or ICSI_SESSION_GROUP in get_asserted_services(
            session.core_invite
        )
        if not is_group:
            return None
        contacts = get_contacts(terminating)
        focus = contacts[0].uri if contacts and contacts[0].isfocus else None
        return session_group_state(session.user, part, focus)

    # -- step 10: direct delivery ---------------------------------------------------------
    async def _direct_delivery(self, session: B2buaSession, terminating: SipResponse) -> None:
        """PF-8.2.1-200OK-10.a-d: an INVITE to each other registered client of the user."""
        now = self.pf.loop.time()
        request = session.client_request
        own_contacts = {c.uri for c in get_contacts(request)}
        own_instances = {c.instance for c in get_contacts(request) if c.instance}
        others = [
            b
            for b in self.pf.registrations.bindings(session.user, now)
            if b.contact not in own_contacts and b.instance not in own_instances
        ]
        release = self.pf.policy.required_ua_release
        if release is not None and not self.faults.on("pf.direct-delivery-old-version"):
            # 10.a / 10.a.i: only clients that registered with the required release
            others = [b for b in others if carries_release(b.user_agent, release)]
        if not others:
            return
        # 10.b.ii: the P-Asserted-Identity of the terminating 200 OK
        pai = terminating.headers.get("P-Asserted-Identity")
        if pai is None:
            contacts = get_contacts(terminating)
            pai = f"<{contacts[0].uri}>" if contacts else request.headers.get("To") or ""
        if self.faults.on("pf.direct-delivery-pai-wrong"):
            pai = f"<{session.user}>"
        for binding in others:
            await self._deliver_to(session, binding.instance, binding.contact, pai, terminating)

    async def _deliver_to(
        self,
        session: B2buaSession,
        instance: str,
        contact: str,
        pai: str,
        terminating: SipResponse,
    ) -> None:
        request = session.client_request
        sid = secrets.token_hex(8)
        leg = SipLeg("direct", MsrpLeg(self.pf.msrp.uri(sid)))
        # 10.d: the client may connect as soon as its 200 leaves, before the PF reads it
        if not self.faults.on("pf.direct-delivery-no-msrp"):
            self.pf.table.expect_msrp(sid, session, leg)
        media = msrp_media(split_body(request).sdp)
        offer = derived_sdp(
            media,
            host=self.pf.msrp.address().host,
            port=self.pf.msrp.address().port,
            path=[leg.msrp.local_uri],
            setup="actpass",
        )
        skip = {
            "via",
            "from",
            "to",
            "call-id",
            "cseq",
            "contact",
            "content-length",
            "content-type",
            "p-asserted-identity",
            "max-forwards",
            "supported",
            "session-expires",
            "record-route",
            "route",
            "p-preferred-service",
            "require",
        }
        headers: list[tuple[str, str]] = [
            ("Via", self.pf.via()),
            ("Max-Forwards", "70"),
            ("Record-Route", self.pf.b2bua_record_route),
            ("From", f"{pai};tag={new_tag()}"),
            ("To", f"<{session.user}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 INVITE"),
            ("P-Asserted-Identity", pai),
        ]
        if not self.faults.on("pf.direct-delivery-no-instance"):
            # 8.3.2 step 8.d.ii: Accept-Contact with the client's instance
            headers.append(
                (
                    "Accept-Contact",
                    format_contact_preference(
                        [("+sip.instance", f'"{instance.strip(chr(34))}"')],
                        require=True,
                        explicit=True,
                    ),
                )
            )
        focus = get_contacts(terminating)
        if focus and focus[0].isfocus:  # 8.3.2 step 8.d.v
            headers.append(("Contact", terminating.headers.get("Contact") or ""))
        else:
            headers.append(("Contact", f"<{self.pf.own_uri(session.id)}>"))
        # 10.b.iii: the rest of the original header fields
        if self.faults.on("pf.direct-delivery-headers-not-copied"):
            skip |= {
                "conversation-id",
                "contribution-id",
                "inreplyto-contribution-id",
                "subject",
                "accept-contact",
            }
        headers += [(h.name, h.value) for h in request.headers if h.name.lower() not in skip]
        headers += [
            ("Supported", "timer, recipient-list-invite"),
            ("Session-Expires", "1800;refresher=uas"),
        ]
        headers.append(("Content-Type", "application/sdp"))
        # 8.3.2 step 8.d.i: the Request-URI is the user's address (no GRUU)
        invite = build_request("INVITE", session.user, headers, offer)
        # 10.c: to the SIP/IP core
        destination = self.pf.destination(contact)
        if self.faults.on("pf.direct-delivery-not-via-core"):
            destination = address_of(session.user)  # the Request-URI's host, not the core
        handle = await self.pf.sip.request(invite, destination)
        outcome = await handle.outcome(self.pf.config.timers.b * 2)
        if isinstance(outcome, str) or outcome.status >= 300 or session.ended:
            self.pf.table.unexpect_msrp(sid)
            return
        try:
            dialog = Dialog.uac(invite, outcome, own_record_route=[self.pf.b2bua_record_route])
            dialog.confirm(outcome)
            answer = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx from %s: %s", contact, exc)
            self.pf.table.unexpect_msrp(sid)
            return
        leg.dialog = dialog
        leg.msrp.remote_path = tuple(answer.path)
        leg.msrp.max_size = answer.max_size
        session.extra.append(leg)
        self.pf.table.bind_dialog(dialog, session, leg)
        self.pf.send_ack(leg, invite)
        # 10.d: the MSRP session with the accepting client
        if self.faults.on("pf.direct-delivery-no-msrp"):
            return
        if answer.setup == "passive":
            self.pf.table.unexpect_msrp(sid)
            await self.pf.connect_msrp(leg.msrp)
        elif leg.msrp.channel is not None:
            msrp_policy.sync_path(leg)  # it connected and bound before the 200 was read

    def _proxy_invite(self, incoming: IncomingRequest) -> None:
        """PF-8.2.1-5.a-c: forward statefully, Record-Route, relay the responses."""
        request = incoming.request
        if request.call_id:
            self.pf.proxied.add(request.call_id)
        incoming.respond(100)
        forwarded = proxied_invite(
            request,
            via=self.pf.via(),
            record_route=self.pf.record_route(),
            own=self.pf.hostport,
            faults=self.faults,
            call_id=new_call_id() if self.faults.on("pf.proxy-new-call-id") else None,
        )
        # PF-8.2.1-5.c-isf: a destination neither SIP nor TEL is forwarded directly to the ISF
        destination = self.pf.destination(request.uri)
        if isf.needs_isf(request.uri) and not self.faults.on("pf.proxy-isf-bypassed"):
            forwarded = isf.towards_isf(forwarded, self.pf.config.isf_uri)
            destination = isf.hop(self.pf)
        self.pf.spawn(self.pf.forward(incoming, forwarded, destination))

    def _ack_missing(self, session: B2buaSession) -> None:
        """No ACK from the client (RFC 3261 13.3.1.4): end both legs."""
        session.ack_guard = None
        if not session.awaiting_ack:
            return
        log.warning("no ACK from the client of %s: ending the session", session.user)
        self.pf.send_ack(session.core, session.core_invite)
        self.sessions.end(session, None)


__all__ = ["OriginatingSide"]

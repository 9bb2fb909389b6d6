"""The reference CPM Participating Function on one :class:`SipPump` and one :class:`MsrpPump`.

- REGISTER: third-party registrations from the S-CSCF (:mod:`.registrations`), 200.
- INVITE whose asserted originator (P-Asserted-Identity, else From) is a served user and
  whose Request-URI is not: the originating side, seed 003 8.2.1 (:mod:`.originating`):
  steps 1-4.a may reject; with ``media_path`` the PF is a B2BUA (4.b-4.m, then the
  200 OK steps 2-10), else a Record-Routing proxy (step 5).
- INVITE to a served user: the terminating side, seed 003 8.3.2 (:mod:`.terminating`).
- BYE on either leg of a B2BUA session ends the other leg with BYE; MSRP SENDs are relayed
  between the client leg, the terminating leg and the direct-delivery legs.

Every request the PF originates goes to ``config.core`` when set, else to the host:port
of its Request-URI. Bad input never stops the service: it is logged and answered 400,
481 or 488 as RFC 3261 says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.documents.groupstate import GroupState, build_group_state
from conformance.documents.store_object import (
    build_group_state_object,
    build_session_info_object,
    session_history_folder,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import ConnectionClosed, MessageReceived, MsrpSession
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION_GROUP,
    IN_REPLY_TO_CONTRIBUTION_ID,
)
from conformance.protocol.sip.dialog import Dialog, DialogId, DialogState, uri_of
from conformance.protocol.sip.headers import (
    format_contact_preference,
    get_asserted_services,
    get_contacts,
)
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import (
    SipRequest,
    SipResponse,
    build_request,
    build_response,
)
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import tag_of
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.config import ReferenceConfig
from conformance.reference.lifecycle import BackgroundTasks, close_pumps, open_pumps
from conformance.reference.pf import msrp_policy
from conformance.reference.pf.deferred import DeferredDelivery
from conformance.reference.pf.group_state import session_group_state
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
from conformance.reference.pf.participants import Participants
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.registrations import Registrations, aor
from conformance.reference.pf.terminating import TerminatingSide
from conformance.reference.pf.xdms import fetch_preferences
from conformance.reference.store import open_store_writer
from conformance.reference.upper_tester_server import Handler

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"


def address_of(uri: str) -> Address:
    """Where a request for ``uri`` goes (RFC 3263 reduced to a literal host:port)."""
    parsed = parse_uri(uri_of(uri) if "<" in uri else uri)
    if not parsed.is_sip or not parsed.host:
        raise RemoteProtocolError(f"no SIP address in {uri!r}")
    tcp = (parsed.param("transport") or "").lower() == "tcp"
    return Address(parsed.host.strip("[]"), parsed.port or 5060, Transport.TCP if tcp else (
        Transport.UDP
    ))


def identity_of(request: SipRequest) -> str:
    """The asserted originator: P-Asserted-Identity, else From, as an AOR."""
    value = request.headers.get("P-Asserted-Identity") or request.headers.get("From") or ""
    return aor(uri_of(value))


@dataclass(eq=False)
class MsrpLeg:
    """One MSRP session of the PF: its own URI and the peer's path."""

    local_uri: str
    remote_path: tuple[str, ...] = ()
    channel: MsrpChannel | None = None
    #: the peer's a=max-size (8.6 step 1: the chunk size limit towards it)
    max_size: int | None = None
    _session: MsrpSession | None = field(default=None, repr=False)
    #: set while ``session`` is bound (waited on, never polled)
    _bound: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def session(self) -> MsrpSession | None:
        """The bound MSRP session (None until the peer's connection carries it)."""
        return self._session

    @session.setter
    def session(self, value: MsrpSession | None) -> None:
        self._session = value
        if value is None:
            self._bound.clear()
        else:
            self._bound.set()

    async def bound(self, within: float) -> bool:
        """Whether the session is bound, waiting up to ``within`` seconds for it."""
        if self._session is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound.wait(), within)
        return self._session is not None


@dataclass(eq=False)
class SipLeg:
    """One SIP dialog of a B2BUA session with its MSRP session."""

    name: str
    msrp: MsrpLeg
    dialog: Dialog | None = None


@dataclass(eq=False)
class B2buaSession:
    """An originating CPM session the PF is in the media path of (8.2.1 step 4)."""

    id: str
    user: str
    client_request: SipRequest
    client: SipLeg
    core: SipLeg
    core_invite: SipRequest
    extra: list[SipLeg] = field(default_factory=list)
    acked: bool = False
    ack_guard: asyncio.TimerHandle | None = None
    ended: bool = False
    #: a terminating session (8.3.2): the incoming leg is ``client``, the answering
    #: client's leg ``core``; the PF ACKs the client itself
    terminating: bool = False

    @property
    def legs(self) -> list[SipLeg]:
        return [self.client, self.core, *self.extra]


class ParticipatingFunction:
    """The reference PF. Start it with :meth:`start`."""

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump) -> None:
        self.config = config
        self.faults = config.faults
        policy = config.pf_policy
        if policy is not None and not isinstance(policy, PfPolicy):
            raise LocalProtocolError(f"config.pf_policy is a {type(policy).__name__}")
        self.policy: PfPolicy = policy or PfPolicy()
        self.sip = sip
        self.msrp = msrp
        self.loop = asyncio.get_running_loop()
        self.registrations = Registrations()
        self.sessions: dict[str, B2buaSession] = {}
        self._by_dialog: dict[DialogId, tuple[B2buaSession, SipLeg]] = {}
        self._pending_msrp: dict[str, tuple[B2buaSession, SipLeg]] = {}
        #: Call-IDs of sessions the PF proxies (step 5)
        self._proxied: set[str] = set()
        self._tasks = BackgroundTasks(log, "PF")
        self._store = open_store_writer(config.store_url) if config.store_url else None
        self.terminating = TerminatingSide(self)
        #: 8.2.3 participant information (SUBSCRIBE/NOTIFY, Group State Objects)
        self.participants = Participants(self)
        #: 8.3.2.9 deferred group sessions (:mod:`.deferred`)
        self.deferred = DeferredDelivery(self)
        sip.on_request = self._on_request
        msrp.transport.on_open = self._chain_open(msrp.transport.on_open)

    def _chain_open(self, previous: Any) -> Any:
        def on_open(stream: Any) -> None:
            if previous is not None:
                previous(stream)
            if not getattr(stream, "outgoing", False):
                self._on_msrp_open(stream)

        return on_open

    @classmethod
    async def start(cls, config: ReferenceConfig) -> ParticipatingFunction:
        sip, msrp = await open_pumps(
            config.host, config.timers, sip_port=config.sip_port,
            msrp_port=config.msrp_port, msrp_config=config.msrp_config(),
        )
        return cls(config, sip, msrp)

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.ack_guard is not None:
                session.ack_guard.cancel()
        await close_pumps(self.sip, self.msrp, self._tasks, self.config.timers.b)
        if self._store is not None:
            await self._store.close()

    async def __aenter__(self) -> ParticipatingFunction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addresses ------------------------------------------------------------------------
    @property
    def address(self) -> Address:
        return self.sip.address()

    @property
    def hostport(self) -> str:
        return f"{self.address.host}:{self.address.port}"

    @property
    def agent(self) -> str:
        """The warn-agent of the PF's Warning headers (RFC 3261 20.43): its host."""
        try:
            return parse_uri(self.config.pf_uri).host or self.hostport
        except RemoteProtocolError:
            return self.hostport

    def own_uri(self, session_id: str) -> str:
        """A URI of the PF that resolves back to one session (8.2.1 4.i, 200 OK 5)."""
        return f"sip:pf-{session_id}@{self.hostport}"

    def served(self, uri: str) -> bool:
        users = {aor(u.uri) for u in self.config.users}
        return aor(uri) in users

    def _via(self, transport: Transport = Transport.UDP) -> str:
        return f"SIP/2.0/{transport.value} {self.hostport};branch={new_branch()};rport"

    def _destination(self, uri: str) -> Address:
        return self.config.core if self.config.core is not None else address_of(uri)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        self._tasks.spawn(coro)

    # -- SIP dispatch ---------------------------------------------------------------------
    def _on_request(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            if request.call_id in self._proxied and request.method != "REGISTER":
                self._proxy_in_dialog(incoming)
                return
            handler = {
                "INVITE": self._on_invite,
                "ACK": self._on_ack,
                "BYE": self._on_bye,
                "CANCEL": self._on_cancel,
                "OPTIONS": self._on_options,
                "REGISTER": self._on_register,
                "SUBSCRIBE": self.deferred.on_subscribe,
                "NOTIFY": self.participants.on_notify,
            }.get(request.method, self._on_unsupported)
            handler(incoming)
        except RemoteProtocolError as exc:
            log.warning("invalid %s from %s: %s", request.method, incoming.source, exc)
            self._reply_if_open(incoming, 400, "Bad Request")
        except Exception:
            log.exception("PF failed on %s", request.method)
            self._reply_if_open(incoming, 500)

    def _reply_if_open(self, incoming: IncomingRequest, status: int, reason: str | None = None,
                       headers: list[tuple[str, str]] | None = None) -> None:
        if incoming.method == "ACK" or incoming.transaction is None:
            return
        if any(r.status >= 200 for r in incoming.responses):
            return
        with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
            incoming.respond(status, reason, headers=headers or [])

    def _on_unsupported(self, incoming: IncomingRequest) -> None:
        if tag_of(incoming.request, "To"):
            did = DialogId.of_incoming_request(incoming.request)
            if did is None or did not in self._by_dialog:
                incoming.respond(481)
                return
        incoming.respond(501, headers=[("Allow", ALLOW)])

    def _on_options(self, incoming: IncomingRequest) -> None:
        incoming.respond(200, headers=[("Allow", ALLOW)])

    def _on_cancel(self, incoming: IncomingRequest) -> None:
        # the INVITE transaction is answered by the B2BUA task; a CANCEL only gets 200/481
        incoming.respond(481)

    def _on_register(self, incoming: IncomingRequest) -> None:
        """A third-party REGISTER (3GPP TS 24.229 5.4.1.7)."""
        user = self.registrations.on_register(incoming.request, self.loop.time())
        log.info("registration of %s: %d client(s)", user,
                 len(self.registrations.bindings(user, self.loop.time())))
        status = self.deferred.register_status(user)  # B.2.3.x.y step 10
        incoming.respond(status, headers=[("Server", self.policy.server)])
        if status < 300:
            self.deferred.on_register(user)  # 8.3.2.9 trigger A

    # -- INVITE ---------------------------------------------------------------------------
    def _on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if tag_of(request, "To"):
            # re-INVITE: the PF does not renegotiate the media (RFC 3261 14.2)
            did = DialogId.of_incoming_request(request)
            incoming.respond(488 if did is not None and did in self._by_dialog else 481)
            return
        originator = identity_of(request)
        if self.served(request.uri):
            # the terminating side, 8.3.2 (:mod:`.terminating`)
            self.terminating.on_invite(incoming)
            return
        if self.deferred.on_rejoin(incoming, originator):  # 8.3.2.9 B, B.2.3.x.y+2
            return
        allowed = self.served(originator) and (
            originator not in {aor(u) for u in self.policy.unauthorised_users}
        )
        rejection = check_invitation(
            request, allowed=allowed, policy=self.policy, faults=self.faults
        )
        if rejection is not None:
            log.info("INVITE from %s rejected: %s %s", originator, rejection.status,
                     rejection.warning)
            incoming.respond(rejection.status, rejection.reason,
                             headers=rejection.headers(self.agent))
            return
        if not self.policy.media_path:
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
        self._spawn(self._originate(incoming, originator, body, media.path))

    async def _originate(
        self, incoming: IncomingRequest, user: str, body: InviteBody, client_path: list[str]
    ) -> None:
        """8.2.1 steps 4.b-4.n, then the 200 OK steps 2-10."""
        request = incoming.request
        session_id = secrets.token_hex(6)
        client_sid, core_sid = secrets.token_hex(8), secrets.token_hex(8)
        client_leg = SipLeg("client", MsrpLeg(self.msrp.uri(client_sid), tuple(client_path)))
        core_leg = SipLeg("core", MsrpLeg(self.msrp.uri(core_sid)))
        offer_media = msrp_media(body.sdp)
        client_leg.msrp.max_size = offer_media.max_size
        offer_path = list(client_path) if self.faults.on("pf.offer-client-path") else [
            core_leg.msrp.local_uri
        ]
        offer = derived_sdp(
            offer_media,
            host=self.msrp.address().host,
            port=self.msrp.address().port,
            path=offer_path,
            setup="actpass",
        )
        invite = build_core_invite(
            request,
            policy=self.policy,
            faults=self.faults,
            via=self._via(),
            call_id=new_call_id(),
            from_tag=new_tag(),
            identity=user,
            contact_uri=self.own_uri(session_id),
            offer=offer,
            body=body,
        )
        session = B2buaSession(session_id, user, request, client_leg, core_leg, invite)
        # PF-8.2.1-4.n: "send the SIP INVITE request according to ... the SIP/IP core"
        destination = self._destination(request.uri)
        handle = await self.sip.request(invite, destination)
        outcome = await handle.outcome(self.config.timers.b * 2)
        if isinstance(outcome, str):
            self._reply_if_open(incoming, 408, "Request Timeout")
            return
        if outcome.status >= 300:
            # B2BUA: the terminating leg's failure goes back to the client
            keep = [(h.name, h.value) for h in outcome.headers if h.name.lower() in (
                "warning", "retry-after", "reason")]
            self._reply_if_open(incoming, outcome.status, outcome.reason, keep)
            return
        try:
            core_dialog = Dialog.uac(invite, outcome)
            core_dialog.confirm(outcome)
            answer_media = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx from the terminating leg: %s", exc)
            self._reply_if_open(incoming, 502, "Bad Gateway")
            return
        core_leg.dialog = core_dialog
        core_leg.msrp.remote_path = tuple(answer_media.path)
        core_leg.msrp.max_size = answer_media.max_size
        self.sessions[session_id] = session
        self._by_dialog[core_dialog.id] = (session, core_leg)
        # 200 OK steps 2-5, 7: the 200 OK towards the originating client
        response = self._client_ok(session, incoming, outcome, answer_media)
        client_dialog = Dialog.uas(request, tag_of(response, "To") or "", self.own_uri(session_id))
        client_dialog.confirm(response)
        client_leg.dialog = client_dialog
        self._by_dialog[client_dialog.id] = (session, client_leg)
        self._pending_msrp[client_sid] = (session, client_leg)
        session.ack_guard = self.loop.call_later(
            self.config.timers.b, self._ack_missing, session
        )
        self.sip.retransmit_2xx_until_ack(incoming, response)
        # 200 OK step 6 (8.6, basic): the MSRP session towards the terminating side
        await self._connect_msrp(core_leg.msrp)
        # 200 OK step 8: storage
        await self._record(session, outcome)
        # 200 OK step 9: participant information (8.2.3)
        focus_contacts = get_contacts(outcome)
        self.participants.after_ok(
            session,
            focus_contacts[0].uri if focus_contacts and focus_contacts[0].isfocus else None,
        )
        # 200 OK step 10: direct delivery to the user's other clients
        if self.policy.direct_delivery_all_clients and not self.faults.on("pf.no-direct-delivery"):
            await self._direct_delivery(session, outcome)

    def _client_ok(
        self,
        session: B2buaSession,
        incoming: IncomingRequest,
        terminating: SipResponse,
        answer_media: Any,
    ) -> SipResponse:
        # RFC 3261 12.1.1, and the PF on the client's route set (its Contact is the focus's)
        headers = ok_record_route(
            incoming.request, self.b2bua_record_route, faults=self.faults
        )
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
            headers.append(("Contact", f"<{self.own_uri(session.id)}>"))
        # PF-8.2.1-200OK-3: "a Server header to indicate the OMA CPM release version"
        if not self.faults.on("pf.server-header-missing"):
            headers.append(("Server", self.policy.server))
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
            host=self.msrp.address().host,
            port=self.msrp.address().port,
            path=[session.client.msrp.local_uri],
            setup="active" if self.faults.on("pf.answer-setup-active") else "passive",
        )
        headers.append(("Content-Type", "application/sdp"))
        return response_to(
            incoming.request, 200, "OK", to_tag=new_tag(), headers=headers, body=answer
        )

    # -- ACK and BYE ----------------------------------------------------------------------
    def _on_ack(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        found = self._by_dialog.get(did) if did is not None else None
        if found is None:
            return
        session, leg = found
        if leg is session.client and not session.acked:
            # PF-8.2.1-200OK-7-ack: "wait for the SIP ACK ... propagate it towards the
            # leg on the terminating side"
            session.acked = True
            if session.ack_guard is not None:
                session.ack_guard.cancel()
                session.ack_guard = None
            if not self.faults.on("pf.ack-not-propagated") and not session.terminating:
                self._send_ack(session.core, session.core_invite)

    def _send_ack(self, leg: SipLeg, invite: SipRequest) -> None:
        dialog = leg.dialog
        if dialog is None:
            return
        try:
            target = dialog.next_hop()
            ack = dialog.create_ack(invite.cseq[0], via=self._via())
            self.sip.send_stateless(ack, self._destination(target))
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot ACK %s: %s", dialog, exc)

    def _ack_missing(self, session: B2buaSession) -> None:
        """No ACK from the client (RFC 3261 13.3.1.4): end both legs."""
        session.ack_guard = None
        if session.acked or session.ended:
            return
        log.warning("no ACK from the client of %s: ending the session", session.user)
        self._send_ack(session.core, session.core_invite)
        self._end(session, None)

    def _on_bye(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        found = self._by_dialog.get(did) if did is not None else None
        if found is None:
            incoming.respond(481)
            return
        session, leg = found
        assert leg.dialog is not None
        try:
            leg.dialog.receive_request(incoming.request)
        except RemoteProtocolError:
            incoming.respond(500)
            return
        incoming.respond(200)
        if self.deferred.on_bye(session, leg, incoming.request):  # 8.3.2.9 case 1
            return
        self._end(session, leg)

    def _end(self, session: B2buaSession, by: SipLeg | None) -> None:
        """BYE on every leg but ``by``; forget the session."""
        if session.ended:
            return
        session.ended = True
        # the user's own leg: the client's (originating) or the answering client's (terminating)
        self.participants.session_ended(session, by_client=by is self.deferred.client_leg(session))
        for leg in session.legs:
            if leg.dialog is not None:
                self._by_dialog.pop(leg.dialog.id, None)
            if leg is not by and leg.dialog is not None and leg.dialog.state is (
                DialogState.CONFIRMED
            ):
                self._send_in_dialog(leg.dialog, "BYE")
            if leg.msrp.channel is not None and leg.msrp.session is not None:
                leg.msrp.channel.machine.remove_session(leg.msrp.session)
        for sid, (owner, _) in list(self._pending_msrp.items()):
            if owner is session:
                del self._pending_msrp[sid]
        self.sessions.pop(session.id, None)

    def _send_in_dialog(
        self, dialog: Dialog, method: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        try:
            target = dialog.next_hop()
            request = dialog.create_request(method, via=self._via(), headers=headers or [])
            destination = self._destination(target)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot send %s in %s: %s", method, dialog, exc)
            return
        self._spawn(self.sip.request(request, destination))

    # -- step 8: storage ------------------------------------------------------------------
    async def _record(self, session: B2buaSession, terminating: SipResponse) -> None:
        """PF-8.2.1-200OK-8 / -8-gso: with <allow-offline-storage> true, the Session Info
        Object and, for a group session, the Group State Object."""
        if self._store is None:
            return
        prefs = await fetch_preferences(self.config.xdms_url, session.user)
        if not (prefs.allow_offline_storage or self.policy.recording):
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
            objects.append(build_session_info_object(
                request.raw or request.to_bytes(),
                conversation_id=conversation,
                contribution_id=contribution,
                imdn_message_id=secrets.token_hex(8),
                direction="Out",
            ))
        group = self._group_state(session, terminating)
        if group is not None and not self.faults.on("pf.no-gso-stored"):
            objects.append(build_group_state_object(
                build_group_state(group),
                conversation_id=conversation,
                contribution_id=contribution,
                imdn_message_id=secrets.token_hex(8),
                direction="Out",
            ))
        if not objects:
            return
        try:
            if not await self._store.folder_exists(folder):
                await self._store.create_folder(folder)
            for data in objects:
                await self._store.append(folder, data)
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
        now = self.loop.time()
        request = session.client_request
        own_contacts = {c.uri for c in get_contacts(request)}
        own_instances = {c.instance for c in get_contacts(request) if c.instance}
        others = [
            b for b in self.registrations.bindings(session.user, now)
            if b.contact not in own_contacts and b.instance not in own_instances
        ]
        release = self.policy.required_ua_release
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
        self, session: B2buaSession, instance: str, contact: str, pai: str,
        terminating: SipResponse,
    ) -> None:
        request = session.client_request
        sid = secrets.token_hex(8)
        leg = SipLeg("direct", MsrpLeg(self.msrp.uri(sid)))
        # 10.d: the client may connect as soon as its 200 leaves, before the PF reads it
        if not self.faults.on("pf.direct-delivery-no-msrp"):
            self._pending_msrp[sid] = (session, leg)
        media = msrp_media(split_body(request).sdp)
        offer = derived_sdp(media, host=self.msrp.address().host,
                            port=self.msrp.address().port, path=[leg.msrp.local_uri],
                            setup="actpass")
        skip = {"via", "from", "to", "call-id", "cseq", "contact", "content-length",
                "content-type", "p-asserted-identity", "max-forwards", "supported",
                "session-expires", "record-route", "route", "p-preferred-service",
                "require"}
        headers: list[tuple[str, str]] = [
            ("Via", self._via()), ("Max-Forwards", "70"),
            ("Record-Route", self.b2bua_record_route),
            ("From", f"{pai};tag={new_tag()}"),
            ("To", f"<{session.user}>"),
            ("Call-ID", new_call_id()), ("CSeq", "1 INVITE"),
            ("P-Asserted-Identity", pai),
        ]
        if not self.faults.on("pf.direct-delivery-no-instance"):
            # 8.3.2 step 8.d.ii: Accept-Contact with the client's instance
            headers.append(("Accept-Contact", format_contact_preference(
                [("+sip.instance", f'"{instance.strip(chr(34))}"')], require=True, explicit=True)))
        focus = get_contacts(terminating)
        if focus and focus[0].isfocus:  # 8.3.2 step 8.d.v
            headers.append(("Contact", terminating.headers.get("Contact") or ""))
        else:
            headers.append(("Contact", f"<{self.own_uri(session.id)}>"))
        # 10.b.iii: the rest of the original header fields
        if self.faults.on("pf.direct-delivery-headers-not-copied"):
            skip |= {"conversation-id", "contribution-id", "inreplyto-contribution-id",
                     "subject", "accept-contact"}
        headers += [(h.name, h.value) for h in request.headers if h.name.lower() not in skip]
        headers += [("Supported", "timer, recipient-list-invite"),
                    ("Session-Expires", "1800;refresher=uas")]
        headers.append(("Content-Type", "application/sdp"))
        # 8.3.2 step 8.d.i: the Request-URI is the user's address (no GRUU)
        invite = build_request("INVITE", session.user, headers, offer)
        # 10.c: to the SIP/IP core
        destination = self._destination(contact)
        handle = await self.sip.request(invite, destination)
        outcome = await handle.outcome(self.config.timers.b * 2)
        if isinstance(outcome, str) or outcome.status >= 300 or session.ended:
            self._pending_msrp.pop(sid, None)
            return
        try:
            dialog = Dialog.uac(invite, outcome, own_record_route=[self.b2bua_record_route])
            dialog.confirm(outcome)
            answer = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx from %s: %s", contact, exc)
            self._pending_msrp.pop(sid, None)
            return
        leg.dialog = dialog
        leg.msrp.remote_path = tuple(answer.path)
        leg.msrp.max_size = answer.max_size
        session.extra.append(leg)
        self._by_dialog[dialog.id] = (session, leg)
        self._send_ack(leg, invite)
        # 10.d: the MSRP session with the accepting client
        if self.faults.on("pf.direct-delivery-no-msrp"):
            return
        if answer.setup == "passive":
            self._pending_msrp.pop(sid, None)
            await self._connect_msrp(leg.msrp)
        elif leg.msrp.channel is not None:
            msrp_policy.sync_path(leg)  # it connected and bound before the 200 was read

    @property
    def b2bua_record_route(self) -> str:
        """The Record-Route of an INVITE the PF sends to a client as a B2BUA: its Contact
        is the focus's (8.3.2 8.d.v), so the client's in-dialog requests target the focus
        URI and only this route keeps the PF on their path (RFC 3261 12.2.1.1)."""
        return f"<sip:{self.hostport};lr>"

    # -- step 5: proxy --------------------------------------------------------------------
    def _record_route(self) -> str | None:
        if self.faults.on("pf.no-record-route"):
            return None
        return f"<sip:{self.hostport};lr>"

    def _proxy_invite(self, incoming: IncomingRequest) -> None:
        """PF-8.2.1-5.a-c: forward statefully, Record-Route, relay the responses."""
        request = incoming.request
        if request.call_id:
            self._proxied.add(request.call_id)
        incoming.respond(100)
        forwarded = proxied_invite(
            request, via=self._via(), record_route=self._record_route(), own=self.hostport,
            faults=self.faults,
            call_id=new_call_id() if self.faults.on("pf.proxy-new-call-id") else None,
        )
        self._spawn(self._forward(incoming, forwarded, self._destination(request.uri)))

    def _proxy_in_dialog(self, incoming: IncomingRequest) -> None:
        """An in-dialog request of a proxied session: our Route is removed (RFC 3261
        16.4), the request goes on to the next Route or its Request-URI."""
        request = incoming.request
        headers: list[tuple[str, str]] = []
        own_route_seen = False
        for h in request.headers:
            name = h.name.lower()
            if name == "content-length":
                continue
            if name == "route" and not own_route_seen and self.hostport in h.value:
                own_route_seen = True
                continue
            headers.append((h.name, h.value))
        routes = [v for n, v in headers if n.lower() == "route"]
        next_uri = uri_of(routes[0]) if routes else request.uri
        out = build_request(
            request.method, request.uri, [("Via", self._via()), *headers], request.body
        )
        destination = self._destination(next_uri)
        if request.method == "ACK":
            self.sip.send_stateless(out, destination)
            return
        self._spawn(self._forward(incoming, out, destination))

    async def _forward(
        self, incoming: IncomingRequest, forwarded: SipRequest, destination: Address
    ) -> None:
        handle = await self.sip.request(forwarded, destination)
        while True:
            try:
                response = await handle.next_response(self.config.timers.b * 2)
            except Exception:
                self._reply_if_open(incoming, 408, "Request Timeout")
                return
            if response.status == 100:
                continue
            # RFC 3261 16.7: remove the topmost Via (ours) and pass the response on
            headers = [(h.name, h.value) for h in response.headers
                       if h.name.lower() != "content-length"]
            vias = [i for i, (n, _) in enumerate(headers) if n.lower() in ("via", "v")]
            if vias:
                del headers[vias[0]]
            relayed = build_response(response.status, response.reason, headers, response.body)
            if response.status >= 200 and incoming.method == "INVITE" and response.status < 300:
                self.sip.retransmit_2xx_until_ack(incoming, relayed)
            else:
                with contextlib.suppress(LocalProtocolError):
                    incoming.send(relayed)
            if response.status >= 200:
                return

    # -- MSRP -----------------------------------------------------------------------------
    async def _connect_msrp(self, leg: MsrpLeg) -> None:
        """Connect to the peer's path (it answered a=setup:passive) and bind the session
        with an empty SEND (RFC 4975 5.4)."""
        if not leg.remote_path:
            return
        try:
            uri = parse_msrp_uri(leg.remote_path[-1])
            channel = await self.msrp.connect(uri.host, uri.port or 0, reuse=False)
            leg.channel = channel
            leg.session = channel.add_session(leg.local_uri, list(leg.remote_path))
            channel.send_message(leg.session, b"", None)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("MSRP connection to %s failed: %s", leg.remote_path, exc)
            return
        self._spawn(self._read_channel(channel))

    def _on_msrp_open(self, stream: Any) -> None:
        channel = next((c for c in self.msrp.channels if c.stream is stream), None)
        if channel is None:
            return
        for _, leg in self._pending_msrp.values():
            with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
                # a leg whose answer is still in flight: the peer may connect (and bind)
                # before the PF has read its a=path; the path follows (msrp_policy.sync_path)
                path = list(leg.msrp.remote_path) or [leg.msrp.local_uri]
                channel.add_session(leg.msrp.local_uri, path)
        self._spawn(self._read_channel(channel))

    async def _read_channel(self, channel: MsrpChannel) -> None:
        index = 0
        while True:
            try:
                event = await channel.expect(object, within=3600.0, since=index)
            except WaitTimeout:
                if channel.closed:
                    return
                continue
            index += 1
            session_id = getattr(getattr(event, "session", None), "session_id", None)
            if session_id is not None:
                self._bind(channel, session_id)
            if isinstance(event, MessageReceived):
                self._relay(channel, event)
            self.deferred.on_msrp_event(channel, event)  # 8.3.2.9 case 3
            if isinstance(event, ConnectionClosed):
                return

    def _bind(self, channel: MsrpChannel, session_id: str) -> None:
        owner = self._pending_msrp.pop(session_id, None)
        if owner is None:
            return
        _, leg = owner
        leg.msrp.channel = channel
        leg.msrp.session = next(
            (s for s in channel.machine.sessions if s.session_id == session_id), None
        )
        msrp_policy.sync_path(leg)
        for other in list(channel.machine.sessions):
            if other.session_id != session_id and other.session_id in self._pending_msrp:
                channel.machine.remove_session(other)

    def _relay(self, channel: MsrpChannel, event: MessageReceived) -> None:
        if not event.body:
            return  # a keep-alive or a binding SEND
        for session in self.sessions.values():
            sender = next((leg for leg in session.legs if leg.msrp.channel is channel
                           and leg.msrp.session is event.session), None)
            if sender is None:
                continue
            # 8.3.2.9: kept for a client that is gone
            self.deferred.on_relay(session, sender, event.body, event.content_type)
            # 8.6 steps 1 and 2.a (:mod:`.msrp_policy`)
            msrp_policy.relay(self, session, sender, event)
            return

    # -- upper tester ---------------------------------------------------------------------
    def actions(self) -> dict[str, Handler]:
        """The upper-tester actions the PF performs (docs/upper-tester.md)."""
        from conformance.reference.pf.admin import AdminTrigger

        return {"reset": self._action_reset, "admin-trigger": AdminTrigger(self).action}

    async def _action_reset(self, params: Mapping[str, Any]) -> str:
        return "pf: nothing to reset"


__all__ = ["ALLOW", "B2buaSession", "MsrpLeg", "ParticipatingFunction", "SipLeg", "address_of",
           "identity_of"]

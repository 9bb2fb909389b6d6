"""The reference CPM Client: one user, deferred delivery of group chat (seed 001 7.3.11)
and participant information (seed 000 5.2.3.5).

- It knows the group sessions it has been in (Conversation-ID + Contribution-ID -> focus
  URI, participants), learned when it accepts a group INVITE.
- An INVITE whose Accept-Contact carries the deferred ICSI (``+g.3gpp.icsi-ref``,
  percent-encoded) and ``a=sendonly`` is an *inactive* deferred delivery (1.a); an INVITE
  with the session ICSI and ``a=sendrecv`` for a known Conversation-ID is the *active*
  reconnection (2.a). Any other INVITE is a new group invitation, accepted and learned.
- A deferred INVITE for an unknown Conversation-ID/Contribution-ID gets 481 (1.a.iv,
  2.a.ii); otherwise the user's choice given through the upper tester: 200 (default,
  ``user-accept``), 603 (``user-decline``) or 480 (``user-unavailable``), each for the next
  deferred invitation only (1.a.v).
- After the ACK it sets up MSRP (it answers ``a=setup:active`` and connects to the offered
  path; to an ``active`` offer it answers ``passive`` and waits) and receives the stored
  messages. A requested positive-delivery IMDN goes back in SIP MESSAGE in the inactive
  case (1.a.ii) and in the MSRP session in the active case (2.a.i.2).
- It never subscribes to the conference in the inactive case (1.a.vi) unless it claims
  ``client.subscribe_during_inactive_delivery`` (``config``): then, as SD B.2.3.5.X step 3
  and 5.2.3.5 show, it subscribes to the PF (the group session identity, CPM feature tag)
  upon the ACK, beside its MSRP set-up (see :mod:`conformance.reference.client_dd`). In the
  active case and in its own sessions (re-join; SD B.2.3.5.X Note 3) it subscribes to the
  focus once the session is up (5.2.3.5 REFRESH); on 404 it takes the participants from the
  last Group State Object.
- ``application/group-state-object+xml`` over MSRP updates its participant list (1.a.vii),
  visible as the resource list of its next re-join INVITE.
- It re-joins (INVITE to the focus with the session's Conversation-ID, Contribution-ID and
  participant list) only when the user sends a message (``send-message``), and only after
  the deferred-delivery session ended (1.a.viii, REJOIN-RESTRAINT). In an established
  sendrecv session the message goes over MSRP (2.a.i.3).

Every request it originates goes to ``config.core`` when set. Bad input never stops it.
OPTIONS, CANCEL and a method it does not implement (501) are answered as every reference
element answers them (:mod:`conformance.reference.element`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import unquote

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    parse_conference_info,
)
from conformance.documents.cpim import CpimMessage, build_cpim, new_cpim, parse_cpim
from conformance.documents.groupstate import (
    GROUP_STATE_CONTENT_TYPE,
    GroupState,
    parse_group_state,
)
from conformance.documents.imdn import (
    IMDN_CONTENT_DISPOSITION,
    IMDN_CONTENT_TYPE,
    Imdn,
    ImdnKind,
    build_imdn,
)
from conformance.documents.resource_lists import (
    Entry,
    ResourceList,
    build_resource_list,
    parse_resource_list,
)
from conformance.errors import DocumentError, LocalProtocolError, RemoteProtocolError
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import MessageReceived, MsrpSession
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    CPM_CLIENT_RELEASE,
    DEFERRED_FEATURE_TAG,
    DISPOSITION_RECIPIENT_LIST,
    ICSI_SESSION,
    RESOURCE_LISTS_TYPE,
)
from conformance.protocol.sip.dialog import Dialog, DialogId, uri_of
from conformance.protocol.sip.headers import get_contacts
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import (
    build_multipart,
    build_part,
    find_recipient_list,
    find_sdp,
    parse_multipart,
)
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.client_dd import dd_subscribes
from conformance.reference.config import ReferenceConfig
from conformance.reference.element import (
    RequestHandler,
    SipElement,
    aor,
    identity_of,
    msrp_events,
)
from conformance.reference.lifecycle import open_pumps
from conformance.reference.upper_tester_server import ActionError, Handler

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, NOTIFY"
ACCEPT_TYPES = ("message/cpim", "text/plain", GROUP_STATE_CONTENT_TYPE)
SUBSCRIBE_EXPIRES = 600
#: the client's answer to the next deferred invitation (upper tester user-*)
ANSWERS = {
    "accept": (200, "OK"),
    "decline": (603, "Decline"),
    "unavailable": (480, "Temporarily not available"),
}


def icsi_param(icsi: str) -> str:
    """``+g.3gpp.icsi-ref="<percent-encoded ICSI>"`` (RFC 3840 string feature value)."""
    return '+g.3gpp.icsi-ref="' + icsi.replace(":", "%3A") + '"'


def feature_tags(request: SipRequest) -> str:
    """The Accept-Contact values of ``request``, percent-decoded, lower-case."""
    return unquote(" ".join(request.headers.get_all("Accept-Contact"))).lower()


class CallKind(Enum):
    """Why a session of the client exists (seed 001 7.3.11 cases 1 and 2)."""

    GROUP = "group"  #: a group invitation the client accepted
    INACTIVE = "inactive"  #: 7.3.11 1): deferred tag and a=sendonly
    ACTIVE = "active"  #: 7.3.11 2): reconnection to the active session, a=sendrecv
    REJOIN = "rejoin"  #: the client's own re-join INVITE (7.3.11 1.a.viii, 3)


@dataclass(eq=False)
class KnownSession:
    """A group session the client has been in."""

    conversation_id: str | None
    contribution_id: str | None
    focus: str
    participants: list[str] = field(default_factory=list)
    group_state: GroupState | None = None


@dataclass(eq=False)
class ClientCall:
    """One INVITE dialog of the client and its MSRP session."""

    kind: CallKind
    session: KnownSession
    dialog: Dialog
    local_uri: str
    remote_path: tuple[str, ...]
    connect: bool  #: we are a=setup:active (we open the TCP connection)
    peer: Address  #: where in-dialog requests go without a core
    channel: MsrpChannel | None = None
    msrp_session: MsrpSession | None = None
    ended: bool = False
    established: asyncio.Event = field(default_factory=asyncio.Event)


class ReferenceClient(SipElement):
    """The reference CPM Client of one user on its own :class:`SipPump` and :class:`MsrpPump`."""

    allow = ALLOW
    label = "client"

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump, user: str) -> None:
        super().__init__(config, sip, msrp, log)
        self.user = user
        found = next((u for u in config.users if u.uri == user), None)
        self.instances: tuple[str, ...] = found.instances if found is not None else ()
        self.online = True
        #: (Conversation-ID, Contribution-ID) -> the session
        self.sessions: dict[tuple[str | None, str | None], KnownSession] = {}
        self.calls: dict[DialogId, ClientCall] = {}
        self._subscriptions: dict[str, KnownSession] = {}  # Call-ID of our SUBSCRIBE
        self._next_answer = "accept"
        #: messages waiting for the end of an inactive deferred delivery, per session
        self._queued: dict[int, list[str]] = {}

    @classmethod
    async def start(cls, config: ReferenceConfig, *, user: str | None = None) -> ReferenceClient:
        """``user``: the client's user (default: the first of ``config.users``)."""
        if user is None:
            user = config.users[0].uri if config.users else f"sip:client@{config.domain}"
        sip, msrp = await open_pumps(config.host, config.timers)
        return cls(config, sip, msrp, user)

    async def close(self) -> None:
        await self.close_pumps()

    @property
    def next_answer(self) -> str:
        """How the user answers the next deferred invitation (the ``user-*`` actions)."""
        return self._next_answer

    # -- addresses ------------------------------------------------------------------------
    @property
    def contact(self) -> str:
        a = self.sip.address()
        name = self.user.split(":", 1)[-1].split("@", 1)[0] or "client"
        return f"sip:{name}@{a.host}:{a.port}"

    def _contact_header(self) -> str:
        value = f"<{self.contact}>;{icsi_param(ICSI_SESSION)}"
        if self.instances:
            value += f';+sip.instance="<{self.instances[0]}>"'
        return value

    # -- knowledge ------------------------------------------------------------------------
    def learn(
        self,
        conversation_id: str | None,
        contribution_id: str | None,
        focus: str,
        participants: list[str] | None = None,
    ) -> KnownSession:
        """Remember a group session (what a group INVITE the client accepts teaches it)."""
        key = (conversation_id, contribution_id)
        session = self.sessions.get(key)
        if session is None:
            session = KnownSession(conversation_id, contribution_id, focus)
            self.sessions[key] = session
        session.focus = focus or session.focus
        if participants:
            session.participants = [p for p in participants if p != self.user]
        return session

    def find(self, conversation_id: str | None) -> KnownSession | None:
        """The most recently learned session of this Conversation-ID (any when None)."""
        found = [
            s
            for s in self.sessions.values()
            if conversation_id is None or s.conversation_id == conversation_id
        ]
        return found[-1] if found else None

    # -- SIP dispatch ---------------------------------------------------------------------
    def handlers(self) -> Mapping[str, RequestHandler]:
        # OPTIONS, CANCEL and any other method: the policy of SipElement
        return {
            "INVITE": self._on_invite,
            "ACK": self._on_ack,
            "BYE": self._on_bye,
            "MESSAGE": self._on_message,
            "NOTIFY": self._on_notify,
        }

    def _on_message(self, incoming: IncomingRequest) -> None:
        incoming.respond(200)

    def _on_notify(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        session = self._subscriptions.get(request.call_id or "")
        if session is None:
            incoming.respond(481)
            return
        incoming.respond(200)
        if request.body:
            with contextlib.suppress(DocumentError):
                info = parse_conference_info(request.body)
                users = [u.entity for u in info.users if u.entity]
                if users and info.state.value == "full":
                    session.participants = [u for u in users if aor(u) != self.user]
                else:
                    for u in users:
                        if aor(u) != self.user and u not in session.participants:
                            session.participants.append(u)

    # -- INVITE (7.3.11) --------------------------------------------------------------------
    def _offer(self, request: SipRequest) -> tuple[tuple[str, ...], str, str | None, list[str]]:
        """``(path, direction, setup, recipients)`` of the INVITE's SDP offer."""
        content_type = request.headers.get("Content-Type") or ""
        body = request.body
        recipients: list[str] = []
        if content_type.lower().startswith("multipart/"):
            parts = parse_multipart(body, content_type)
            listed = find_recipient_list(parts)
            if listed is not None:
                with contextlib.suppress(DocumentError):
                    recipients = [aor(u) for u in parse_resource_list(listed.body).uris()]
            part = find_sdp(parts)
            if part is None:
                raise RemoteProtocolError("no SDP part")
            body = part.body
        elif not content_type.lower().startswith("application/sdp"):
            raise RemoteProtocolError("no SDP offer")
        media = parse_sdp(body).msrp
        if not media.path:
            raise RemoteProtocolError("MSRP media without a=path")
        return tuple(media.path), media.direction, media.setup, recipients

    def _on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if tag_of(request, "To"):
            did = DialogId.of_incoming_request(request)
            incoming.respond(488 if did in self.calls else 481)
            return
        if not self.online:
            incoming.respond(480, "Temporarily not available")
            return
        try:
            path, direction, setup, recipients = self._offer(request)
        except (RemoteProtocolError, DocumentError) as exc:
            log.warning("INVITE without a usable offer: %s", exc)
            incoming.respond(488)
            return
        conv = request.headers.get(CONVERSATION_ID)
        contrib = request.headers.get(CONTRIBUTION_ID)
        tags = feature_tags(request)
        deferred = DEFERRED_FEATURE_TAG in tags
        if deferred and direction == "sendonly":
            kind = CallKind.INACTIVE
        elif deferred or (
            direction == "sendrecv" and self.find(conv) is not None and conv is not None
        ):
            kind = CallKind.ACTIVE
        else:
            kind = CallKind.GROUP
        focus = self._focus_of(request)
        if kind is CallKind.GROUP:
            participants = [identity_of(request), *recipients]
            session = self.learn(conv, contrib, focus, participants)
        else:
            known = self.sessions.get((conv, contrib))
            if known is None:
                # 1.a.iv / 2.a.ii: "the CPM Client SHALL return a SIP 481"
                if not self.faults.on("client.unknown-session-200"):
                    incoming.respond(481, "Call/Transaction Does Not Exist")
                    return
                known = self.learn(conv, contrib, focus)
            session = known
            if self._contact_isfocus(request):
                session.focus = focus
            # 1.a.v: 200, or 603 / 480 as the user wishes (upper tester)
            answer, self._next_answer = self._next_answer, "accept"
            if answer != "accept" and self.faults.on(f"client.{answer}-ignored"):
                answer = "accept"  # client_more faults: the user's answer is lost
            status, reason = ANSWERS[answer]
            if status == 200 and self.faults.on("client.deferred-480-instead-of-200"):
                status, reason = ANSWERS["unavailable"]
            if status != 200:
                incoming.respond(status, reason)
                return
        self._accept(incoming, kind, session, path, setup)

    def _contact_isfocus(self, request: SipRequest) -> bool:
        with contextlib.suppress(RemoteProtocolError):
            contacts = get_contacts(request)
            return bool(contacts) and contacts[0].isfocus
        return False

    def _focus_of(self, request: SipRequest) -> str:
        """The group session identity: the Contact of the invitation (isfocus)."""
        with contextlib.suppress(RemoteProtocolError):
            contacts = get_contacts(request)
            if contacts:
                return contacts[0].uri
        return uri_of(request.headers.get("From") or "")

    def _accept(
        self,
        incoming: IncomingRequest,
        kind: CallKind,
        session: KnownSession,
        path: tuple[str, ...],
        setup: str | None,
    ) -> None:
        request = incoming.request
        tag = new_tag()
        dialog = Dialog.uas(request, tag, self.contact)
        sid = secrets.token_hex(8)
        local = self.msrp.uri(sid)
        connect = (setup or "actpass") != "active"
        answer = build_msrp_sdp(
            host=self.msrp.address().host,
            port=self.msrp.address().port,
            path=[local],
            accept_types=ACCEPT_TYPES,
            accept_wrapped_types=("*",),
            setup="active" if connect else "passive",
            direction="recvonly" if kind is CallKind.INACTIVE else "sendrecv",
        )
        headers = [
            ("Contact", self._contact_header()),
            ("Allow", ALLOW),
            ("User-Agent", CPM_CLIENT_RELEASE),
            ("Content-Type", "application/sdp"),
        ]
        headers += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        for name in (CONVERSATION_ID, CONTRIBUTION_ID):
            value = request.headers.get(name)
            if value:
                headers.append((name, value))
        response = response_to(request, 200, None, to_tag=tag, headers=headers, body=answer)
        self.sip.retransmit_2xx_until_ack(incoming, response)
        dialog.confirm(response)
        call = ClientCall(kind, session, dialog, local, path, connect, incoming.source)
        self.calls[dialog.id] = call
        log.info("%s: %s session %s accepted", self.user, kind.value, session.conversation_id)

    def _on_ack(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        call = self.calls.get(did) if did is not None else None
        if call is None or call.channel is not None or call.established.is_set():
            return
        if call.kind is CallKind.INACTIVE and dd_subscribes(self.config, self.faults):
            # SD B.2.3.5.X 3: "Upon receiving an ACK ... initiates a subscription request"
            self.spawn(self._subscribe(call.session, deferred=True))
        # 1.a.v: "Following the receipt of SIP ACK, the CPM Client SHALL proceed with
        # establishing the MSRP session."
        if call.kind is CallKind.INACTIVE and self.faults.on("client.no-msrp-after-ack"):
            return
        if call.kind is CallKind.ACTIVE and self.faults.on("client.no-msrp-after-ack-when-active"):
            return
        self.spawn(self._establish(call))

    async def _establish(self, call: ClientCall) -> None:
        await self._establish_core(call)
        if not call.ended and self._subscribes(call.kind):
            await self._subscribe(call.session)

    def _subscribes(self, kind: CallKind) -> bool:
        if kind is CallKind.INACTIVE:
            # 1.a.vi: "CPM Client SHALL NOT subscribe to the CPM Session conference state"
            # (with the claim client.subscribe_during_inactive_delivery the subscription
            # leaves upon the ACK instead: _on_ack)
            return self.faults.on("client.subscribes-when-inactive")
        if kind is CallKind.REJOIN:
            # SD B.2.3.5.X Note 3: the client-initiated variant, steps 3-8 unchanged
            return not self.faults.on("client.no-subscribe-after-rejoin")
        if kind is CallKind.ACTIVE:
            # 5.2.3.5: a reconnected client "SHALL re-fresh the subscription request"
            return not self.faults.on("client.no-subscribe-refresh-when-active")
        return True

    # -- MSRP -----------------------------------------------------------------------------
    async def _read(self, call: ClientCall, channel: MsrpChannel) -> None:
        async for event in msrp_events(channel):
            if isinstance(event, MessageReceived) and event.session is call.msrp_session:
                try:
                    self._received(call, event)
                except (DocumentError, RemoteProtocolError, LocalProtocolError) as exc:
                    log.warning("%s: bad MSRP message: %s", self.user, exc)

    def _received(self, call: ClientCall, event: MessageReceived) -> None:
        content_type = (event.content_type or "").split(";")[0].strip().lower()
        if not event.body:
            return
        if content_type == GROUP_STATE_CONTENT_TYPE:
            self._group_state(call.session, event.body)
            return
        if content_type != "message/cpim":
            return
        message = parse_cpim(event.body)
        inner = (message.content_type or "").split(";")[0].strip().lower()
        if inner == GROUP_STATE_CONTENT_TYPE:
            self._group_state(call.session, message.body)
            return
        if inner == IMDN_CONTENT_TYPE:
            return
        wanted = {v.strip().lower() for d in message.disposition_notification for v in d.split(",")}
        if call.kind is CallKind.INACTIVE and self.faults.on(
            "client.deferred-messages-not-received"
        ):
            return  # answered 200 by the MSRP layer, never taken as received
        if "positive-delivery" in wanted and message.imdn_message_id:
            self._send_imdn(call, message)

    def _group_state(self, session: KnownSession, body: bytes) -> None:
        """1.a.vii: "update the Participant Information data, if the group state object
        was received in the MSRP SEND messages"."""
        state = parse_group_state(body)
        if self.faults.on("client.ignores-group-state-object"):
            return
        session.group_state = state
        session.participants = [
            p.comm_addr for p in state.participants if p.comm_addr and aor(p.comm_addr) != self.user
        ]

    def _send_imdn(self, call: ClientCall, message: CpimMessage) -> None:
        sender = message.from_uri or ""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = build_imdn(
            Imdn(
                message_id=message.imdn_message_id,
                datetime=now,
                kind=ImdnKind.DELIVERY,
                status="delivered",
                recipient_uri=self.user,
                original_recipient_uri=self.user,
            )
        )
        cpim = build_cpim(
            new_cpim(
                from_=f"<{self.user}>",
                to=f"<{sender}>",
                body=body,
                content_type=IMDN_CONTENT_TYPE,
                datetime_=now,
                imdn_message_id=secrets.token_hex(10),
                extra_content_headers=(("Content-Disposition", IMDN_CONTENT_DISPOSITION),),
            )
        )
        over_msrp = call.kind is not CallKind.INACTIVE
        if call.kind is CallKind.INACTIVE and self.faults.on("client.imdn-over-msrp-when-inactive"):
            over_msrp = True
        if call.kind is CallKind.ACTIVE and self.faults.on("client.imdn-over-sip-when-active"):
            over_msrp = False
        if over_msrp and call.channel is not None and call.msrp_session is not None:
            # 2.a.i.2: "to send back delivery notification" in this session
            call.channel.send_message(call.msrp_session, cpim, "message/cpim")
            return
        if (
            call.kind is CallKind.INACTIVE
            and call.channel is not None
            and call.msrp_session is not None
            and self.faults.on("client.imdn-also-over-msrp-when-inactive")
        ):
            call.channel.send_message(call.msrp_session, cpim, "message/cpim")
        # 1.a.ii: "SHALL send the disposition notifications back over SIP MESSAGE"
        if not sender:
            log.warning("%s: no CPIM From to send the IMDN to", self.user)
            return
        self.spawn(self._send_message_request(sender, call, cpim))

    async def _send_message_request(self, target: str, call: ClientCall, body: bytes) -> None:
        headers = [("Content-Type", "message/cpim"), ("User-Agent", CPM_CLIENT_RELEASE)]
        for name, value in (
            (CONVERSATION_ID, call.session.conversation_id),
            (CONTRIBUTION_ID, call.session.contribution_id),
        ):
            if value:
                headers.append((name, value))
        request = self._out_of_dialog("MESSAGE", target, headers, body)
        destination = self.destination_or(target, call.peer)
        if destination is None:
            return
        handle = await self.sip.request(request, destination)
        await handle.outcome(self.config.timers.b * 2)

    def _out_of_dialog(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
    ) -> SipRequest:
        hs = [
            ("Via", self.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={new_tag()}"),
            ("To", f"<{target}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", f"1 {method}"),
            ("Contact", self._contact_header()),
            *headers,
        ]
        return build_request(method, target, hs, body)

    # -- SUBSCRIBE (5.2.3.5) ----------------------------------------------------------------
    async def _subscribe(self, session: KnownSession, *, deferred: bool = False) -> int | None:
        headers = [
            ("Event", "conference"),
            ("Accept", CONFERENCE_INFO_CONTENT_TYPE),
            ("Expires", str(SUBSCRIBE_EXPIRES)),
            ("Accept-Contact", f"*;{icsi_param(ICSI_SESSION)}"),
            ("User-Agent", CPM_CLIENT_RELEASE),
        ]
        if self.faults.on("client.subscribe-without-feature-tag") or (
            deferred and self.faults.on("client.dd-subscribe-without-feature-tag")
        ):
            headers = [h for h in headers if h[0] != "Accept-Contact"]
        target = session.focus
        if self.faults.on("client.subscribe-to-factory") or (
            deferred and self.faults.on("client.dd-subscribe-to-factory")
        ):
            target = self.config.conference_factory_uri
        request = self._out_of_dialog("SUBSCRIBE", target, headers)
        destination = self.destination_or(target, None)
        if destination is None:
            return None
        self._subscriptions[request.call_id or ""] = session
        handle = await self.sip.request(request, destination)
        outcome = await handle.outcome(self.config.timers.b * 2)
        status = outcome.status if isinstance(outcome, SipResponse) else None
        if (
            status == 404
            and session.group_state is not None
            and not self.faults.on("client.stale-participants-after-404")
        ):
            # 5.2.3.5: on 404 "use the CPM Group State Object to retrieve the latest
            # Participants Information"
            session.participants = [
                p.comm_addr
                for p in session.group_state.participants
                if p.comm_addr and aor(p.comm_addr) != self.user
            ]
        return status

    # -- BYE --------------------------------------------------------------------------------
    def _on_bye(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        call = self.calls.pop(did, None) if did is not None else None
        if call is None:
            incoming.respond(481)
            return
        if call.kind is CallKind.INACTIVE and self.faults.on("client.deferred-bye-refused"):
            incoming.respond(500)
            self._ended(call)
            return
        incoming.respond(200)
        self._ended(call)

    def _ended(self, call: ClientCall) -> None:
        call.ended = True
        call.dialog.terminate()
        if call.channel is not None:
            call.channel.close()
        if call.kind is not CallKind.INACTIVE:
            return
        # 1.a.viii: a reply leaves "after completion of the deferred delivery CPM Session"
        queued = self._queued.pop(id(call.session), [])
        if queued:
            self.spawn(self.rejoin(call.session, queued))
        elif self.faults.on("client.rejoin-without-message"):
            self.spawn(self.rejoin(call.session, []))

    def _inactive_call(self, session: KnownSession) -> ClientCall | None:
        return next(
            (
                c
                for c in self.calls.values()
                if c.session is session and c.kind is CallKind.INACTIVE and not c.ended
            ),
            None,
        )

    def _sendrecv_call(self, session: KnownSession) -> ClientCall | None:
        return next(
            (
                c
                for c in self.calls.values()
                if c.session is session
                and c.kind is not CallKind.INACTIVE
                and not c.ended
                and c.msrp_session is not None
            ),
            None,
        )

    # -- re-join (7.3.11 1.a.viii, 3) --------------------------------------------------------
    async def rejoin(self, session: KnownSession, texts: list[str]) -> int | None:
        """INVITE the focus with the session's ids and participant list; send ``texts``."""
        sid = secrets.token_hex(8)
        local = self.msrp.uri(sid)
        sdp = build_msrp_sdp(
            host=self.msrp.address().host,
            port=self.msrp.address().port,
            path=[local],
            accept_types=ACCEPT_TYPES,
            accept_wrapped_types=("*",),
            setup="active",
        )
        rl = build_resource_list(ResourceList(tuple(Entry(u) for u in session.participants)))
        content_type, body = build_multipart(
            [
                build_part("application/sdp", sdp),
                build_part(RESOURCE_LISTS_TYPE, rl, disposition=DISPOSITION_RECIPIENT_LIST),
            ]
        )
        headers = [
            ("Accept-Contact", f"*;{icsi_param(ICSI_SESSION)}"),
            ("User-Agent", CPM_CLIENT_RELEASE),
            ("Content-Type", content_type),
        ]
        contribution = (
            secrets.token_hex(12)
            if self.faults.on("client.rejoin-new-contribution-id")
            else session.contribution_id
        )
        for name, value in (
            (CONVERSATION_ID, session.conversation_id),
            (CONTRIBUTION_ID, contribution),
        ):
            if value:
                headers.append((name, value))
        invite = self._out_of_dialog("INVITE", session.focus, headers, body)
        destination = self.destination_or(session.focus, None)
        if destination is None:
            return None
        handle = await self.sip.request(invite, destination)
        outcome = await handle.outcome(self.config.timers.b * 2)
        if not isinstance(outcome, SipResponse) or outcome.status != 200:
            return outcome.status if isinstance(outcome, SipResponse) else None
        dialog = Dialog.uac(invite, outcome)
        await self.sip.request(dialog.create_ack(invite.cseq[0], via=self.via()), destination)
        media = parse_sdp(outcome.body).msrp
        call = ClientCall(
            CallKind.REJOIN,
            session,
            dialog,
            local,
            tuple(media.path),
            (media.setup or "passive") != "active",
            destination,
        )
        self.calls[dialog.id] = call
        if self.faults.on("client.rejoin-without-msrp"):
            return 200
        await self._establish_and_send(call, texts)
        return 200

    async def _establish_and_send(self, call: ClientCall, texts: list[str]) -> None:
        await self._establish_core(call)
        for text in texts:
            self._send_chat(call, text)
        if self._subscribes(call.kind):
            self.spawn(self._subscribe(call.session))

    async def _establish_core(self, call: ClientCall) -> None:
        if call.connect:
            uri = parse_msrp_uri(call.remote_path[-1])
            channel = await self.msrp.connect(uri.host, uri.port or 0, reuse=False)
        else:
            channel = await self.msrp.accepted(within=self.config.timers.b)
        call.channel = channel
        call.msrp_session = channel.add_session(call.local_uri, list(call.remote_path))
        if call.connect:
            channel.send_message(call.msrp_session, b"", None)  # binds the connection
        call.established.set()
        self.spawn(self._read(call, channel))

    def _send_chat(self, call: ClientCall, text: str) -> None:
        if call.channel is None or call.msrp_session is None:
            return
        cpim = build_cpim(
            new_cpim(
                from_=f"<{self.user}>",
                to=f"<{call.session.focus}>",
                body=text.encode(),
                content_type="text/plain;charset=UTF-8",
                imdn_message_id=secrets.token_hex(10),
                disposition_notification=("positive-delivery",),
            )
        )
        call.channel.send_message(call.msrp_session, cpim, "message/cpim")

    # -- REGISTER ---------------------------------------------------------------------------
    async def _register(self, expires: int) -> str:
        core = self.config.core
        if core is None:
            return "no core configured: registration state kept locally"
        domain = self.user.split("@", 1)[-1] if "@" in self.user else self.config.domain
        request = self._out_of_dialog(
            "REGISTER",
            f"sip:{domain}",
            [("Expires", str(expires)), ("User-Agent", CPM_CLIENT_RELEASE)],
        )
        handle = await self.sip.request(request, core)
        outcome = await handle.outcome(self.config.timers.b * 2)
        status = outcome.status if isinstance(outcome, SipResponse) else outcome
        return f"REGISTER Expires {expires}: {status}"

    # -- upper tester -------------------------------------------------------------------------
    def actions(self) -> dict[str, Handler]:
        """The upper-tester actions the client performs (docs/upper-tester.md)."""
        return {
            "client-offline": self._action_offline,
            "client-online": self._action_online,
            "user-accept": self._answer_action("accept"),
            "user-decline": self._answer_action("decline"),
            "user-unavailable": self._answer_action("unavailable"),
            "send-message": self._action_send_message,
            "reset": self._action_reset,
        }

    def _check_user(self, params: Mapping[str, Any]) -> None:
        user = params.get("user")
        if user is not None and (not isinstance(user, str) or aor(user) != aor(self.user)):
            raise ActionError(400, f"unknown user {user}")
        instance = params.get("instance")
        if instance is not None and instance not in self.instances:
            raise ActionError(400, f"unknown instance {instance}")

    async def _action_offline(self, params: Mapping[str, Any]) -> str:
        self._check_user(params)
        self.online = False
        return f"{self.user} offline; " + await self._register(0)

    async def _action_online(self, params: Mapping[str, Any]) -> str:
        self._check_user(params)
        self.online = True
        return f"{self.user} online; " + await self._register(SUBSCRIBE_EXPIRES)

    def _answer_action(self, answer: str) -> Handler:
        async def handler(params: Mapping[str, Any]) -> str:
            self._check_user(params)
            self._next_answer = answer
            return f"{self.user} will answer the next deferred invitation {ANSWERS[answer][0]}"

        return handler

    async def _action_send_message(self, params: Mapping[str, Any]) -> str:
        self._check_user(params)
        text = params.get("text")
        conv = params.get("conversation-id")
        if not isinstance(text, str) or (conv is not None and not isinstance(conv, str)):
            raise ActionError(400, "send-message needs a string 'text'")
        session = self.find(conv)
        contrib = params.get("contribution-id")
        if isinstance(contrib, str) and conv is not None:
            session = self.sessions.get((conv, contrib), session)
        if session is None:
            raise ActionError(409, f"no known group session {conv or ''}".strip())
        live = self._sendrecv_call(session)
        if live is not None and self.faults.on("client.rejoin-instead-of-active-session"):
            live = None
        if live is not None:
            # 2.a.i.3: new group chat messages in the sendrecv session
            self._send_chat(live, text)
            return "sent in the established session"
        if self._inactive_call(session) is not None and not self.faults.on(
            "client.rejoin-during-deferred-session"
        ):
            self._queued.setdefault(id(session), []).append(text)
            return "queued until the deferred-delivery session ends"
        if self.faults.on("client.no-rejoin-on-user-message"):
            return "message dropped"
        status = await self.rejoin(session, [text])
        return f"re-joined {session.focus}: {status}"

    async def _action_reset(self, params: Mapping[str, Any]) -> str:
        users = params.get("users")
        if isinstance(users, list) and aor(self.user) not in {
            aor(u) for u in users if isinstance(u, str)
        }:
            # another worker's users: this client's state is not ours to touch
            return f"client: {self.user} not reset (not in users)"
        self._next_answer = "accept"
        self._queued.clear()
        self.online = True
        return "client: reset"


__all__ = [
    "CallKind",
    "ClientCall",
    "KnownSession",
    "ReferenceClient",
    "feature_tags",
    "icsi_param",
]

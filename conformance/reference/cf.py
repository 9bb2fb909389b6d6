"""The reference CPM Controlling Function (CF): conference factory, focus and the
``conference`` event package.

- An INVITE to the conference-factory URI (RFC 5366: ``multipart/mixed`` with an SDP
  part and a ``recipient-list`` resource list) creates a group session with its own
  focus URI ``sip:conf-<id>@<host>:<port>``. The 200 carries ``Contact: <focus>;isfocus``
  and an MSRP answer with ``a=setup:passive``; the participant connects to the CF.
- An INVITE to a focus URI joins the session, or re-starts an inactive one (long-lived
  group session: same focus, Conversation-ID and Contribution-ID).
- MSRP messages from one participant are relayed to every other connected participant.
- ``SUBSCRIBE`` with ``Event: conference`` to a focus (RFC 4575, RFC 6665; seed 000
  5.2.3.5): CF-5.2.3.5-HOSTS (404 for a focus not hosted, or a session not active),
  CF-5.2.3.5-REJECT (403 for a subscriber who is no participant), CF-5.2.3.5-200 (200
  with Expires), CF-5.2.3.5-NOTIFY-INITIAL (a full NOTIFY, version 1, at once),
  CF-5.2.3.5-NOTIFY-CHANGES and CF-8.6-2.b.ii.2 (a partial NOTIFY, version + 1, on every
  participant change), and ``terminated;reason=noresource`` when the session ends.
  A re-SUBSCRIBE in the dialog refreshes; a new SUBSCRIBE creates a new subscription
  (SD-B.2.3.x.y-14-15-cf).
- A participant that leaves with BYE stays listed, ``disconnected`` with
  ``disconnection-method`` ``departed``; one whose MSRP connection failed stays listed as
  ``disconnected``/``failed``. When no participant is connected, the session ends.

Every SIP request the CF originates goes to ``config.core`` when set. Bad input never
stops the service: it is logged and answered as RFC 3261 says.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceDescription,
    ConferenceInfo,
    ConferenceStatus,
    DisconnectionMethod,
    DocState,
    Endpoint,
    EndpointStatus,
    JoiningMethod,
    User,
    build_conference_info,
)
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import Notifier as ChangeNotifier
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump, MsrpTransactionTimeoutError
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.codec import MsrpRequest
from conformance.protocol.msrp.session import (
    ConnectionClosed,
    MessageReceived,
    MsrpSession,
)
from conformance.protocol.sip.cpm import CONTRIBUTION_ID, CONVERSATION_ID
from conformance.protocol.sip.dialog import Dialog, DialogId, DialogState, uri_of
from conformance.protocol.sip.ids import new_branch, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.multipart import find_recipient_list, find_sdp, parse_multipart
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.subscription import EventType, Notifier, NotifierState
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import tag_of
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.cf_dialout import dial_out
from conformance.reference.config import ReferenceConfig
from conformance.reference.lifecycle import BackgroundTasks, close_pumps, open_pumps
from conformance.reference.upper_tester_server import ActionError, Handler

log = logging.getLogger(__name__)

EVENT_PACKAGE = "conference"
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, SUBSCRIBE, NOTIFY"
ACCEPT_TYPES = ("message/cpim", "text/plain")


class SessionState(Enum):
    """A group session: ACTIVE while a participant is connected; INACTIVE keeps the
    identity so that an INVITE to the focus re-starts it (long-lived group session)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


def identity_of(request: SipRequest) -> str:
    """The asserted identity of the sender: P-Asserted-Identity, else From, as an AOR."""
    value = request.headers.get("P-Asserted-Identity") or request.headers.get("From") or ""
    return aor(uri_of(value))


def aor(uri: str) -> str:
    """``scheme:user@host`` of ``uri`` (its own text when it does not parse)."""
    try:
        return parse_uri(uri).aor
    except RemoteProtocolError:
        return uri.strip()


def address_of(uri: str) -> Address:
    """Where a request for ``uri`` goes (RFC 3263 reduced to a literal host:port)."""
    parsed = parse_uri(uri)
    if not parsed.is_sip or not parsed.host:
        raise RemoteProtocolError(f"no SIP address in {uri!r}")
    transport = Transport.TCP if (parsed.param("transport") or "").lower() == "tcp" else (
        Transport.UDP
    )
    host = parsed.host.strip("[]")
    return Address(host, parsed.port or 5060, transport)


@dataclass(eq=False)
class Participant:
    """One participant of a group session (one RFC 4575 ``<user>`` with one endpoint)."""

    uri: str
    dialog: Dialog | None = None
    contact: str = ""
    status: EndpointStatus = EndpointStatus.CONNECTED
    disconnection: DisconnectionMethod | None = None
    #: our MSRP URI for this participant, and its path (from its SDP offer)
    local_msrp: str = ""
    remote_path: tuple[str, ...] = ()
    channel: MsrpChannel | None = None
    msrp_session: MsrpSession | None = None
    #: whether it sent an MSRP message of its own (fault cf.idle-participant-dropped)
    has_sent: bool = False

    @property
    def connected(self) -> bool:
        return self.status is EndpointStatus.CONNECTED


@dataclass(eq=False)
class ConferenceSubscription:
    """One ``conference`` subscription to a focus (RFC 6665 notifier side)."""

    subscriber: str
    notifier: Notifier
    dialog: Dialog
    version: int = 0
    outbox: asyncio.Queue[tuple[bool, bytes]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class GroupSession:
    """The CF's state of one group session."""

    id: str
    focus_uri: str
    conversation_id: str | None
    contribution_id: str | None
    subject: str | None
    recipients: tuple[str, ...]
    state: SessionState = SessionState.ACTIVE
    participants: dict[str, Participant] = field(default_factory=dict)
    subscriptions: list[ConferenceSubscription] = field(default_factory=list)
    inactivity: asyncio.TimerHandle | None = None
    #: the last chunk of each message relayed to a participant, whose response is awaited
    #: before the session is ended on request (bounded: the oldest are answered long since)
    relaying: list[tuple[MsrpChannel, MsrpRequest]] = field(default_factory=list)

    @property
    def connected(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.connected]


#: how many relayed messages a session remembers for an orderly end (see GroupSession)
RELAYING_KEPT = 64

ActionHandler = Handler


class ControllingFunction:
    """The reference CF on one :class:`SipPump` and one :class:`MsrpPump`."""

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump) -> None:
        self.config = config
        self.faults = config.faults
        self.sip = sip
        self.msrp = msrp
        self.loop = asyncio.get_running_loop()
        self.sessions: dict[str, GroupSession] = {}
        self._by_dialog: dict[DialogId, tuple[GroupSession, Participant]] = {}
        self._subs_by_dialog: dict[DialogId, tuple[GroupSession, ConferenceSubscription]] = {}
        self._tasks = BackgroundTasks(log, "CF")
        self._ids = itertools.count(1)
        #: MSRP sessions waiting for their participant's connection: session-id -> owner
        self._pending_msrp: dict[str, tuple[GroupSession, Participant]] = {}
        #: how many events of each connection its reader has handled (relayed), and the
        #: notifier of that progress: see :meth:`_caught_up`
        self._handled: dict[MsrpChannel, int] = {}
        self._progress = ChangeNotifier()
        sip.on_request = self._on_request
        previous_open = msrp.transport.on_open

        def on_open(stream: Any) -> None:
            if previous_open is not None:
                previous_open(stream)
            self._on_msrp_open(stream)

        msrp.transport.on_open = on_open

    @classmethod
    async def start(cls, config: ReferenceConfig) -> ControllingFunction:
        sip, msrp = await open_pumps(
            config.host, config.timers, sip_port=config.sip_port, msrp_port=config.msrp_port
        )
        return cls(config, sip, msrp)

    async def close(self) -> None:
        for session in self.sessions.values():
            self._cancel_timers(session)
        await close_pumps(self.sip, self.msrp, self._tasks, self.config.timers.b)

    async def __aenter__(self) -> ControllingFunction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addresses ------------------------------------------------------------------------
    @property
    def hostport(self) -> str:
        address = self.sip.address()
        return f"{address.host}:{address.port}"

    @property
    def factory_uri(self) -> str:
        return f"sip:{self.config.factory_user}@{self.hostport}"

    def focus_uri(self, session_id: str) -> str:
        return f"sip:conf-{session_id}@{self.hostport}"

    def session_by_focus(self, uri: str) -> GroupSession | None:
        try:
            user = parse_uri(uri_of(uri)).user or ""
        except RemoteProtocolError:
            return None
        if not user.startswith("conf-"):
            return None
        return self.sessions.get(user[len("conf-") :])

    def _spawn(self, coro: Awaitable[Any]) -> None:
        self._tasks.spawn(coro)

    def _via(self, transport: Transport) -> str:
        return f"SIP/2.0/{transport.value} {self.hostport};branch={new_branch()};rport"

    def _destination(self, uri: str) -> Address:
        return self.config.core if self.config.core is not None else address_of(uri)

    # -- SIP dispatch ---------------------------------------------------------------------
    def _on_request(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            handler = {
                "INVITE": self._on_invite,
                "ACK": self._on_ack,
                "BYE": self._on_bye,
                "CANCEL": self._on_cancel,
                "SUBSCRIBE": self._on_subscribe,
                "OPTIONS": self._on_options,
            }.get(request.method, self._on_unsupported)
            handler(incoming)
        except _Reject as rej:
            self._reply_if_open(incoming, rej.status, reason=rej.reason)
        except RemoteProtocolError as exc:
            log.warning("invalid %s from %s: %s", request.method, incoming.source, exc)
            self._reply_if_open(incoming, 400, reason="Bad Request")
        except Exception:
            log.exception("CF failed on %s", request.method)
            self._reply_if_open(incoming, 500)

    def _reply_if_open(self, incoming: IncomingRequest, status: int, **kw: Any) -> None:
        if incoming.method == "ACK" or incoming.transaction is None:
            return
        if any(r.status >= 200 for r in incoming.responses):
            return
        with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
            self._reply(incoming, status, **kw)

    def _reply(
        self,
        incoming: IncomingRequest,
        status: int,
        *,
        reason: str | None = None,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipResponse:
        hs: list[tuple[str, str]] = []
        request = incoming.request
        if request.method in ("INVITE", "SUBSCRIBE") and 100 < status < 300:
            hs += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        hs += headers or []
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        response = response_to(request, status, reason, to_tag=to_tag, headers=hs, body=body)
        if request.method == "INVITE" and 200 <= status < 300:
            self.sip.retransmit_2xx_until_ack(incoming, response)
        else:
            incoming.send(response)
        return response

    def _on_unsupported(self, incoming: IncomingRequest) -> None:
        if tag_of(incoming.request, "To") and incoming.method in ("NOTIFY", "INFO", "UPDATE"):
            self._reply(incoming, 481 if not self._known_dialog(incoming) else 501)
            return
        self._reply(incoming, 501, headers=[("Allow", ALLOW)])

    def _known_dialog(self, incoming: IncomingRequest) -> bool:
        did = DialogId.of_incoming_request(incoming.request)
        return did is not None and (did in self._by_dialog or did in self._subs_by_dialog)

    def _on_options(self, incoming: IncomingRequest) -> None:
        self._reply(incoming, 200, headers=[("Allow", ALLOW), ("Allow-Events", EVENT_PACKAGE)])

    def _on_cancel(self, incoming: IncomingRequest) -> None:
        # every INVITE is answered at once, so a CANCEL finds no pending transaction
        self._reply(incoming, 481)

    def _on_ack(self, incoming: IncomingRequest) -> None:
        return None  # the 2xx retransmission stops in the transaction layer

    # -- INVITE: factory and focus ----------------------------------------------------------
    def _on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if tag_of(request, "To"):
            # re-INVITE: the CF does not renegotiate the media (RFC 3261 14.2)
            self._reply(incoming, 488 if self._known_dialog(incoming) else 481)
            return
        target = parse_uri(request.uri)
        if target.user == self.config.factory_user:
            self._create_session(incoming)
            return
        session = self.session_by_focus(request.uri)
        if session is None:
            self._reply(incoming, 404, reason="Not Found")
            return
        if session.state is SessionState.INACTIVE:
            same = request.headers.get(CONVERSATION_ID) == session.conversation_id and (
                request.headers.get(CONTRIBUTION_ID) == session.contribution_id
            )
            if not same:
                self._reply(incoming, 404, reason="Not Found")
                return
            session.state = SessionState.ACTIVE
            log.info("group session %s re-started", session.focus_uri)
        self._join(incoming, session, self._msrp_offer(request))

    def _msrp_offer(self, request: SipRequest) -> tuple[str, ...]:
        """The MSRP path of the INVITE's SDP offer (the body or its SDP part)."""
        content_type = request.headers.get("Content-Type") or ""
        body = request.body
        if content_type.lower().startswith("multipart/"):
            part = find_sdp(parse_multipart(body, content_type))
            if part is None:
                raise _Reject(488, "no SDP part")
            body = part.body
        elif not content_type.lower().startswith("application/sdp"):
            raise _Reject(488, "no SDP offer")
        try:
            media = parse_sdp(body).msrp
        except RemoteProtocolError as exc:
            raise _Reject(488, str(exc)) from exc
        if not media.path:
            raise _Reject(488, "MSRP media without a=path")
        return tuple(media.path)

    def _recipients(self, request: SipRequest) -> tuple[str, ...]:
        content_type = request.headers.get("Content-Type") or ""
        if not content_type.lower().startswith("multipart/"):
            return ()
        part = find_recipient_list(parse_multipart(request.body, content_type))
        if part is None:
            return ()
        return tuple(aor(u) for u in parse_resource_list(part.body).uris())

    def _create_session(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        try:
            path = self._msrp_offer(request)
            recipients = self._recipients(request)
        except _Reject as rej:
            self._reply(incoming, rej.status, reason=rej.reason)
            return
        session_id = f"{next(self._ids)}-{secrets.token_hex(4)}"
        session = GroupSession(
            id=session_id,
            focus_uri=self.focus_uri(session_id),
            conversation_id=request.headers.get(CONVERSATION_ID),
            contribution_id=request.headers.get(CONTRIBUTION_ID),
            subject=request.headers.get("Subject"),
            recipients=recipients,
        )
        self.sessions[session_id] = session
        log.info("group session %s created for %s", session.focus_uri, identity_of(request))
        self._join(incoming, session, path)
        dial_out(self, session, identity_of(request))  # RFC 5366: invite the recipients

    def _join(
        self, incoming: IncomingRequest, session: GroupSession, path: tuple[str, ...]
    ) -> None:
        request = incoming.request
        who = identity_of(request)
        tag = new_tag()
        dialog = Dialog.uas(request, tag, session.focus_uri)
        sid = secrets.token_hex(8)
        local = self.msrp.uri(sid)
        answer = build_msrp_sdp(
            host=self.msrp.address().host,
            port=self.msrp.address().port,
            path=[local],
            accept_types=ACCEPT_TYPES,
            accept_wrapped_types=("*",),
            setup="passive",
        )
        headers = [("Contact", f"<{session.focus_uri}>;isfocus"), ("Allow", ALLOW)]
        for name in (CONVERSATION_ID, CONTRIBUTION_ID):
            value = getattr(session, name.lower().replace("-", "_"))
            if value:
                headers.append((name, value))
        response = self._reply(incoming, 200, to_tag=tag, headers=headers, body=answer)
        dialog.confirm(response)
        old = session.participants.get(who)
        if old is not None and old.dialog is not None:
            self._by_dialog.pop(old.dialog.id, None)
        participant = Participant(
            uri=who,
            dialog=dialog,
            contact=dialog.remote_target,
            local_msrp=local,
            remote_path=path,
        )
        session.participants[who] = participant
        self._by_dialog[dialog.id] = (session, participant)
        self._pending_msrp[sid] = (session, participant)
        self._touch(session)
        if not self.faults.on("cf.no-notify-on-join"):
            self._changed(session, participant)

    # -- BYE ------------------------------------------------------------------------------
    def _on_bye(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        found = self._by_dialog.pop(did, None) if did is not None else None
        if found is None:
            self._reply(incoming, 481)
            return
        session, participant = found
        assert participant.dialog is not None
        try:
            participant.dialog.receive_request(incoming.request)
        except RemoteProtocolError:
            self._by_dialog[participant.dialog.id] = found
            self._reply(incoming, 500)
            return
        self._reply(incoming, 200)
        self._disconnect(session, participant, DisconnectionMethod.DEPARTED)

    def _disconnect(
        self, session: GroupSession, participant: Participant, how: DisconnectionMethod
    ) -> None:
        if not participant.connected:
            return
        participant.status = EndpointStatus.DISCONNECTED
        participant.disconnection = how
        if participant.dialog is not None:
            self._by_dialog.pop(participant.dialog.id, None)
        if participant.channel is not None and participant.msrp_session is not None:
            participant.channel.machine.remove_session(participant.msrp_session)
        participant.channel = None
        participant.msrp_session = None
        for sid, (_, waiting) in list(self._pending_msrp.items()):
            if waiting is participant:
                del self._pending_msrp[sid]
        log.info("%s left %s (%s)", participant.uri, session.focus_uri, how.value)
        if session.state is SessionState.ACTIVE and not session.connected:
            self._end(session)
        else:
            self._changed(session, participant)

    # -- the end of a group session -----------------------------------------------------------
    def end_session(self, session: GroupSession) -> None:
        """End an active group session: BYE to every connected participant, then the
        subscriptions end with ``noresource`` (the session becomes inactive)."""
        if session.state is not SessionState.ACTIVE:
            return
        for participant in session.connected:
            dialog = participant.dialog
            participant.status = EndpointStatus.DISCONNECTED
            participant.disconnection = DisconnectionMethod.BOOTED
            if dialog is not None and dialog.state is DialogState.CONFIRMED:
                self._by_dialog.pop(dialog.id, None)
                self._send_in_dialog(dialog, "BYE")
        self._end(session)

    def _end(self, session: GroupSession) -> None:
        session.state = SessionState.INACTIVE
        self._cancel_timers(session)
        log.info("group session %s inactive", session.focus_uri)
        for sub in list(session.subscriptions):
            self._terminate_subscription(session, sub, "noresource")

    def _cancel_timers(self, session: GroupSession) -> None:
        if session.inactivity is not None:
            session.inactivity.cancel()
            session.inactivity = None
        for sub in session.subscriptions:
            if sub.expiry is not None:
                sub.expiry.cancel()
                sub.expiry = None

    def _touch(self, session: GroupSession) -> None:
        """Restart the inactivity timer (config.inactivity_timeout)."""
        timeout = self.config.inactivity_timeout
        if timeout is None:
            return
        if session.inactivity is not None:
            session.inactivity.cancel()
        session.inactivity = self.loop.call_later(timeout, self.end_session, session)

    # -- SUBSCRIBE (seed 000 5.2.3.5) ---------------------------------------------------------
    def _on_subscribe(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        event_value = request.headers.get("Event")
        try:
            package = EventType.parse(event_value).package if event_value else None
        except RemoteProtocolError:
            package = None
        if package != EVENT_PACKAGE:
            self._reply(incoming, 489, headers=[("Allow-Events", EVENT_PACKAGE)])
            return
        if tag_of(request, "To"):
            self._refresh(incoming)
            return
        session = self.session_by_focus(request.uri)
        # CF-5.2.3.5-HOSTS: "check that it hosts the targeted CPM Group Session"
        if session is None or session.state is not SessionState.ACTIVE:
            if self.faults.on("cf.unknown-focus-200"):
                self._reply(
                    incoming, 200, to_tag=new_tag(), headers=[("Expires", "600"),
                                                              ("Contact", f"<{request.uri}>")]
                )
                return
            self._reply(incoming, 404, reason="Not Found")
            return
        who = identity_of(request)
        # CF-5.2.3.5-REJECT: "if ... not authorized, ... SHALL send back an error response"
        authorised = who in session.participants or who in session.recipients
        if not authorised and not self.faults.on("cf.subscribe-unauthorised-accepted"):
            self._reply(incoming, 403, reason="Forbidden")
            return
        notifier = Notifier(EVENT_PACKAGE, max_expires=self.config.max_subscription_expires)
        decision = notifier.on_subscribe(request, self.loop.time())
        tag = new_tag()
        if decision.status != 200:
            self._reply(incoming, decision.status, headers=list(decision.headers))
            return
        dialog = Dialog.uas(request, tag, session.focus_uri)
        granted = list(decision.headers)
        if self.faults.on("cf.subscribe-expires-longer"):
            asked = (request.headers.get("Expires") or "600").strip()
            longer = str((int(asked) if asked.isdigit() else 600) + 600)
            granted = [(n, longer if n.lower() == "expires" else v) for n, v in granted]
        response = self._reply(
            incoming,
            200,
            to_tag=tag,
            headers=[*granted, ("Contact", f"<{session.focus_uri}>")],
        )
        dialog.confirm(response)
        sub = ConferenceSubscription(who, notifier, dialog)
        if notifier.state is NotifierState.TERMINATED:  # a fetch (Expires: 0)
            self._start_worker(session, sub)
            self._queue(session, sub, full=True)
            return
        session.subscriptions.append(sub)
        self._subs_by_dialog[dialog.id] = (session, sub)
        self._start_worker(session, sub)
        self._arm_expiry(session, sub)
        # CF-5.2.3.5-NOTIFY-INITIAL: the initial notification, full state, version 1
        if not self.faults.on("cf.no-initial-notify"):
            self._queue(session, sub, full=True)

    def _refresh(self, incoming: IncomingRequest) -> None:
        """A SUBSCRIBE in an existing subscription dialog (RFC 6665 4.2.1.2)."""
        request = incoming.request
        did = DialogId.of_incoming_request(request)
        found = self._subs_by_dialog.get(did) if did is not None else None
        if found is None:
            self._reply(incoming, 481)
            return
        session, sub = found
        try:
            sub.dialog.receive_request(request)
        except RemoteProtocolError:
            self._reply(incoming, 500)
            return
        decision = sub.notifier.on_subscribe(request, self.loop.time())
        self._reply(
            incoming, decision.status, headers=[*decision.headers,
                                                ("Contact", f"<{session.focus_uri}>")]
        )
        if decision.status != 200:
            return
        if sub.notifier.state is NotifierState.TERMINATED:  # Expires: 0
            self._forget(session, sub)
            self._queue(session, sub, full=True)
            return
        self._arm_expiry(session, sub)
        if not self.faults.on("cf.refresh-no-notify"):
            self._queue(session, sub, full=True)

    def _arm_expiry(self, session: GroupSession, sub: ConferenceSubscription) -> None:
        if sub.expiry is not None:
            sub.expiry.cancel()
        deadline = sub.notifier.expiry_deadline()
        if deadline is not None:
            sub.expiry = self.loop.call_at(deadline, self._expired, session, sub)

    def _expired(self, session: GroupSession, sub: ConferenceSubscription) -> None:
        sub.expiry = None
        sub.notifier.handle_timeout(self.loop.time())
        if sub.notifier.state is NotifierState.TERMINATED:
            self._forget(session, sub)
            self._queue(session, sub, full=True)

    def _forget(self, session: GroupSession, sub: ConferenceSubscription) -> None:
        if sub in session.subscriptions:
            session.subscriptions.remove(sub)
        self._subs_by_dialog.pop(sub.dialog.id, None)
        if sub.expiry is not None:
            sub.expiry.cancel()
            sub.expiry = None

    def _terminate_subscription(
        self, session: GroupSession, sub: ConferenceSubscription, reason: str
    ) -> None:
        self._forget(session, sub)
        if sub.notifier.state is NotifierState.TERMINATED:
            return
        sub.notifier.terminate(reason)
        if self.faults.on("cf.no-noresource") and reason == "noresource":
            return
        self._queue(session, sub, full=True)

    # -- notifications --------------------------------------------------------------------
    def _changed(self, session: GroupSession, participant: Participant) -> None:
        """CF-5.2.3.5-NOTIFY-CHANGES / CF-8.6-2.b.ii.2: a partial NOTIFY per change."""
        full = self.faults.on("cf.full-on-change")
        for sub in session.subscriptions:
            if sub.notifier.state is NotifierState.ACTIVE:
                self._queue(session, sub, full=full, only=participant)

    def _user(self, participant: Participant) -> User:
        status = participant.status
        disconnection = participant.disconnection
        if (
            disconnection is DisconnectionMethod.DEPARTED
            and self.faults.on("cf.departed-user-kept")
        ):
            status, disconnection = EndpointStatus.CONNECTED, None
        endpoint = Endpoint(
            entity=participant.contact or participant.uri,
            status=status.value,
            joining_method=JoiningMethod.DIALED_IN.value,
            disconnection_method=disconnection.value if disconnection else None,
        )
        return User(participant.uri, state=DocState.FULL, endpoints=(endpoint,))

    def _document(
        self, session: GroupSession, version: int, *, full: bool, only: Participant | None
    ) -> bytes:
        listed = list(session.participants.values())
        if self.faults.on("cf.failed-user-dropped"):
            listed = [p for p in listed if p.disconnection is not DisconnectionMethod.FAILED]
        users = tuple(self._user(p) for p in listed)
        if not full and only is not None:
            users = (self._user(only),)
            if only not in listed:
                users = (User(only.uri, state=DocState.DELETED),)
        return build_conference_info(
            ConferenceInfo(
                entity=session.focus_uri,
                state=DocState.FULL if full else DocState.PARTIAL,
                version=version,
                description=ConferenceDescription(subject=session.subject) if full else None,
                conference_state=ConferenceStatus(
                    user_count=len(session.connected),
                    active=session.state is SessionState.ACTIVE,
                ),
                users=users,
            )
        )

    def _queue(
        self,
        session: GroupSession,
        sub: ConferenceSubscription,
        *,
        full: bool,
        only: Participant | None = None,
    ) -> None:
        if not (self.faults.on("cf.version-repeated") and not full and sub.version > 1):
            sub.version += 1
        body = self._document(session, sub.version, full=full or sub.version == 1, only=only)
        sub.outbox.put_nowait((sub.notifier.state is NotifierState.TERMINATED, body))

    def _start_worker(self, session: GroupSession, sub: ConferenceSubscription) -> None:
        async def work() -> None:
            while True:
                final, body = await sub.outbox.get()
                status = await self._notify(sub, body)
                if final:
                    return
                if status is None or status == 481 or status >= 300:
                    # RFC 6665 4.2.2: a failed NOTIFY ends the subscription
                    self._forget(session, sub)
                    return

        sub.worker = self._tasks.track(asyncio.create_task(work()))

    async def _notify(self, sub: ConferenceSubscription, body: bytes) -> int | None:
        state = sub.notifier.subscription_state_value(self.loop.time())
        headers = [
            ("Event", EVENT_PACKAGE),
            ("Subscription-State", state),
            ("Content-Type", CONFERENCE_INFO_CONTENT_TYPE),
        ]
        handle = self._send_in_dialog(sub.dialog, "NOTIFY", headers=headers, body=body)
        if handle is None:
            return None
        outcome = await handle.outcome(self.config.timers.b * 2)
        return outcome.status if isinstance(outcome, SipResponse) else None

    def _send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> _Sending | None:
        target = dialog.next_hop()
        try:
            transport = address_of(target).transport
            request = dialog.create_request(
                method, via=self._via(transport), headers=headers or [], body=body
            )
            destination = self._destination(target)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot send %s in %s: %s", method, dialog, exc)
            return None
        return _Sending(self, request, destination)

    # -- MSRP -----------------------------------------------------------------------------
    def _on_msrp_open(self, stream: Any) -> None:
        """A participant connected (we answered a=setup:passive): offer it every MSRP
        session still waiting for its connection; the first request binds it."""
        channel = next((c for c in self.msrp.channels if c.stream is stream), None)
        if channel is None:
            return
        for _, participant in self._pending_msrp.values():
            with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
                channel.add_session(participant.local_msrp, list(participant.remote_path))
        self._spawn(self._read_channel(channel))

    async def _read_channel(self, channel: MsrpChannel) -> None:
        self._handled[channel] = 0
        try:
            await self._read_events(channel)
        finally:
            self._handled.pop(channel, None)
            self._progress.notify()

    async def _read_events(self, channel: MsrpChannel) -> None:
        index = 0
        while True:
            try:
                event = await channel.expect(object, within=3600.0, since=index)
            except WaitTimeout:  # keep waiting while the connection lives
                if channel.closed:
                    return
                continue
            index += 1
            session_id = getattr(getattr(event, "session", None), "session_id", None)
            if session_id is not None:
                self._bind(channel, session_id)
            if isinstance(event, MessageReceived):
                self._relay(channel, event)
            elif isinstance(event, ConnectionClosed):
                self._connection_lost(channel)
                return
            self._handled[channel] = index
            self._progress.notify()

    def _bind(self, channel: MsrpChannel, session_id: str) -> None:
        owner = self._pending_msrp.pop(session_id, None)
        if owner is None:
            return
        _, participant = owner
        participant.channel = channel
        participant.msrp_session = next(
            (s for s in channel.machine.sessions if s.session_id == session_id), None
        )
        # the other sessions offered to this connection belong to other participants
        for other in list(channel.machine.sessions):
            if other.session_id != session_id and other.session_id in self._pending_msrp:
                channel.machine.remove_session(other)

    def _owner(
        self, channel: MsrpChannel, session: MsrpSession
    ) -> tuple[GroupSession, Participant] | None:
        for group in self.sessions.values():
            for participant in group.participants.values():
                if participant.channel is channel and participant.msrp_session is session:
                    return group, participant
        return None

    def _relay(self, channel: MsrpChannel, event: MessageReceived) -> None:
        owner = self._owner(channel, event.session)
        if owner is None:
            return
        group, sender = owner
        sender.has_sent = sender.has_sent or bool(event.body)  # an empty SEND only binds
        self._touch(group)
        for participant in group.connected:
            if participant is sender or participant.channel is None:
                continue
            if participant.msrp_session is None:
                continue
            try:
                chunks = participant.channel.send_message(
                    participant.msrp_session, event.body, event.content_type
                )
                if chunks:
                    group.relaying.append((participant.channel, chunks[-1]))
                    del group.relaying[:-RELAYING_KEPT]
            except LocalProtocolError as exc:
                log.warning("relay to %s failed: %s", participant.uri, exc)
                continue
            if self.faults.on("cf.idle-participant-dropped") and not participant.has_sent:
                self._disconnect(group, participant, DisconnectionMethod.FAILED)

    def _connection_lost(self, channel: MsrpChannel) -> None:
        for group in list(self.sessions.values()):
            for participant in list(group.participants.values()):
                if participant.channel is channel and participant.connected:
                    # the participant stays listed, disconnected with method failed
                    self._disconnect(group, participant, DisconnectionMethod.FAILED)

    # -- upper tester ---------------------------------------------------------------------
    def actions(self) -> dict[str, ActionHandler]:
        """The upper-tester actions the CF performs (docs/upper-tester.md)."""
        return {"end-session": self._action_end_session, "reset": self._action_reset}

    def find_session(self, key: str) -> GroupSession | None:
        """A session by focus URI or Conversation-ID."""
        found = self.session_by_focus(key)
        if found is not None:
            return found
        return next((s for s in self.sessions.values() if s.conversation_id == key), None)

    async def _action_end_session(self, params: Mapping[str, Any]) -> str:
        key = params.get("session") or params.get("focus") or params.get("conversation-id")
        if not isinstance(key, str):
            raise ActionError(400, "end-session needs 'session' (a focus URI or Conversation-ID)")
        session = self.find_session(key)
        if session is None:
            raise ActionError(400, f"unknown group session {key}")
        if session.state is not SessionState.ACTIVE:
            raise ActionError(409, f"group session {key} is not active")
        await self._caught_up(session)
        await self._delivered(session)
        self.end_session(session)
        return f"group session {session.focus_uri} ended"

    async def _caught_up(self, session: GroupSession) -> None:
        """Wait until the readers of the participants' connections have handled every event
        received so far (bounded by the MSRP transaction timeout). The MSRP layer answers a
        SEND 200 as it arrives, and the reader relays it a little later: a request to end
        the session sent right after that 200 must not overtake the relay, or the accepted
        message is never sent on (nor awaited by :meth:`_delivered`)."""
        targets = {p.channel: len(p.channel.events) for p in session.participants.values()
                   if p.channel is not None}

        def done() -> bool | None:
            # a connection without a reader (closed) has nothing more to relay
            return all(self._handled.get(ch, n) >= n for ch, n in targets.items()) or None

        with contextlib.suppress(WaitTimeout):
            await self._progress.wait_until(done, self.config.msrp_transaction_timeout,
                                            "the relay of the messages received")

    async def _delivered(self, session: GroupSession) -> None:
        """Wait until every message relayed in ``session`` is answered (or its transaction
        timed out): an orderly end does not BYE a participant while a message to it is
        still on the wire (the BYE over UDP could overtake the SEND over TCP)."""
        pending, session.relaying = session.relaying, []
        guard = self.config.msrp_transaction_timeout
        for channel, request in pending:
            with contextlib.suppress(WaitTimeout, MsrpTransactionTimeoutError):
                await channel.response(request, within=guard)

    async def _action_reset(self, params: Mapping[str, Any]) -> str:
        return "cf: nothing to reset"


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Sending:
    """An outgoing request: sent at once, its client transaction handle when ready."""

    def __init__(self, cf: ControllingFunction, request: SipRequest, destination: Address) -> None:
        self._task = cf._tasks.track(asyncio.ensure_future(cf.sip.request(request, destination)))

    async def outcome(self, within: float) -> SipResponse | str:
        handle = await self._task
        return await handle.outcome(within)


__all__ = [
    "ActionError",
    "ActionHandler",
    "ConferenceSubscription",
    "ControllingFunction",
    "GroupSession",
    "Participant",
    "SessionState",
    "address_of",
    "aor",
    "identity_of",
]

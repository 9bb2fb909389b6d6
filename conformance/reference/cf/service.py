"""The reference CPM Controlling Function (CF): conference factory and focus.

- An INVITE to the conference-factory URI (RFC 5366: ``multipart/mixed`` with an SDP
  part and a ``recipient-list`` resource list) creates a group session with its own
  focus URI ``sip:conf-<id>@<host>:<port>``. The 200 carries ``Contact: <focus>;isfocus``
  and an MSRP answer with ``a=setup:passive``; the participant connects to the CF. The
  CF then invites the other recipients (:mod:`.dialout`).
- An INVITE to a focus URI joins the session, or re-starts an inactive one (long-lived
  group session: same focus, Conversation-ID and Contribution-ID).
- MSRP messages from one participant are relayed to every other connected participant.
- ``SUBSCRIBE`` with ``Event: conference`` to a focus: the event package of
  :mod:`.conference`.
- A participant that leaves with BYE stays listed, ``disconnected`` with
  ``disconnection-method`` ``departed``; one whose MSRP connection failed stays listed as
  ``disconnected``/``failed``. When no participant is connected, the session ends.

Every SIP request the CF originates goes to ``config.core`` when set. Bad input never
stops the service: it is logged and answered as RFC 3261 says; OPTIONS, CANCEL and a method
the CF does not implement (501) are answered as every reference element answers them
(:mod:`conformance.reference.element`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from conformance.documents.conference_info import DisconnectionMethod, EndpointStatus
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import Notifier as ChangeNotifier
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump, MsrpTransactionTimeoutError
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import ConnectionClosed, MessageReceived, MsrpSession
from conformance.protocol.sip.cpm import CONTRIBUTION_ID, CONVERSATION_ID
from conformance.protocol.sip.dialog import Dialog, DialogId, DialogState, uri_of
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.multipart import find_recipient_list, find_sdp, parse_multipart
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.transaction import tag_of
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.cf.conference import ConferenceEvents
from conformance.reference.cf.dialout import DialOut
from conformance.reference.cf.model import (
    ACCEPT_TYPES,
    ALLOW,
    EVENT_PACKAGE,
    RELAYING_KEPT,
    GroupSession,
    Participant,
    SessionState,
)
from conformance.reference.config import ReferenceConfig
from conformance.reference.element import (
    Reject,
    RequestHandler,
    SipElement,
    aor,
    identity_of,
    msrp_events,
    msrp_session_id,
)
from conformance.reference.lifecycle import open_pumps
from conformance.reference.upper_tester_server import ActionError, Handler

log = logging.getLogger(__name__)

ActionHandler = Handler


class ControllingFunction(SipElement):
    """The reference CF on one :class:`SipPump` and one :class:`MsrpPump`."""

    allow = ALLOW
    allow_events = EVENT_PACKAGE
    label = "CF"

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump) -> None:
        super().__init__(config, sip, msrp, log)
        self.sessions: dict[str, GroupSession] = {}
        self._by_dialog: dict[DialogId, tuple[GroupSession, Participant]] = {}
        self._ids = itertools.count(1)
        #: MSRP sessions waiting for their participant's connection: session-id -> owner
        self._pending_msrp: dict[str, tuple[GroupSession, Participant]] = {}
        #: how many events of each connection its reader has handled (relayed), and the
        #: notifier of that progress: see :meth:`_caught_up`
        self._handled: dict[MsrpChannel, int] = {}
        self._progress = ChangeNotifier()
        #: the ``conference`` subscriptions to the foci
        self.conference = ConferenceEvents(self, self.session_by_focus)
        #: the INVITEs to the recipients of a new session
        self.dial_out = DialOut(self, self.admit, self.bind)
        self.on_msrp_connection(self._on_msrp_open)

    @classmethod
    async def start(cls, config: ReferenceConfig) -> ControllingFunction:
        sip, msrp = await open_pumps(
            config.host, config.timers, sip_port=config.sip_port, msrp_port=config.msrp_port
        )
        return cls(config, sip, msrp)

    async def close(self) -> None:
        for session in self.sessions.values():
            self._cancel_timers(session)
        await self.close_pumps()

    async def __aenter__(self) -> ControllingFunction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addresses ------------------------------------------------------------------------
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

    # -- SIP dispatch ---------------------------------------------------------------------
    def handlers(self) -> Mapping[str, RequestHandler]:
        # OPTIONS, CANCEL and any other method: the policy of SipElement
        return {
            "INVITE": self._on_invite,
            "ACK": self._on_ack,
            "BYE": self._on_bye,
            "SUBSCRIBE": self.conference.on_subscribe,
        }

    def _known_dialog(self, incoming: IncomingRequest) -> bool:
        did = DialogId.of_incoming_request(incoming.request)
        return did is not None and (did in self._by_dialog or self.conference.knows(did))

    def _on_ack(self, incoming: IncomingRequest) -> None:
        return None  # the 2xx retransmission stops in the transaction layer

    # -- INVITE: factory and focus ----------------------------------------------------------
    def _on_invite(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        if tag_of(request, "To"):
            # re-INVITE: the CF does not renegotiate the media (RFC 3261 14.2)
            self.reply(incoming, 488 if self._known_dialog(incoming) else 481)
            return
        target = parse_uri(request.uri)
        if target.user == self.config.factory_user:
            self._create_session(incoming)
            return
        session = self.session_by_focus(request.uri)
        if session is None:
            self.reply(incoming, 404, reason="Not Found")
            return
        if session.state is SessionState.INACTIVE:
            same = request.headers.get(CONVERSATION_ID) == session.conversation_id and (
                request.headers.get(CONTRIBUTION_ID) == session.contribution_id
            )
            if not same:
                self.reply(incoming, 404, reason="Not Found")
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
                raise Reject(488, "no SDP part")
            body = part.body
        elif not content_type.lower().startswith("application/sdp"):
            raise Reject(488, "no SDP offer")
        try:
            media = parse_sdp(body).msrp
        except RemoteProtocolError as exc:
            raise Reject(488, str(exc)) from exc
        if not media.path:
            raise Reject(488, "MSRP media without a=path")
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
        except Reject as rej:
            self.reply(incoming, rej.status, reason=rej.reason)
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
        # RFC 5366: invite the recipients
        self.dial_out.invite_recipients(session, identity_of(request))

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
        response = self.reply(incoming, 200, to_tag=tag, headers=headers, body=answer)
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
        self.admit(session, participant, sid, notify=not self.faults.on("cf.no-notify-on-join"))

    def admit(
        self,
        session: GroupSession,
        participant: Participant,
        msrp_session_id: str,
        *,
        notify: bool = True,
    ) -> None:
        """Make ``participant`` (who joined, or answered the dial-out) a connected
        participant of ``session`` whose MSRP session ``msrp_session_id`` waits for its
        connection; ``notify`` the subscribers of the change."""
        session.participants[participant.uri] = participant
        if participant.dialog is not None:
            self._by_dialog[participant.dialog.id] = (session, participant)
        self._pending_msrp[msrp_session_id] = (session, participant)
        self._touch(session)
        if notify:
            self.conference.changed(session, participant)

    # -- BYE ------------------------------------------------------------------------------
    def _on_bye(self, incoming: IncomingRequest) -> None:
        did = DialogId.of_incoming_request(incoming.request)
        found = self._by_dialog.pop(did, None) if did is not None else None
        if found is None:
            self.reply(incoming, 481)
            return
        session, participant = found
        assert participant.dialog is not None
        try:
            participant.dialog.receive_request(incoming.request)
        except RemoteProtocolError:
            self._by_dialog[participant.dialog.id] = found
            self.reply(incoming, 500)
            return
        self.reply(incoming, 200)
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
            self.conference.changed(session, participant)

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
                self.send_in_dialog(dialog, "BYE")
        self._end(session)

    def _end(self, session: GroupSession) -> None:
        session.state = SessionState.INACTIVE
        self._cancel_timers(session)
        log.info("group session %s inactive", session.focus_uri)
        self.conference.end(session)

    def _cancel_timers(self, session: GroupSession) -> None:
        if session.inactivity is not None:
            session.inactivity.cancel()
            session.inactivity = None
        self.conference.cancel_timers(session)

    def _touch(self, session: GroupSession) -> None:
        """Restart the inactivity timer (config.inactivity_timeout)."""
        timeout = self.config.inactivity_timeout
        if timeout is None:
            return
        if session.inactivity is not None:
            session.inactivity.cancel()
        session.inactivity = self.loop.call_later(timeout, self.end_session, session)

    # -- MSRP -----------------------------------------------------------------------------
    def _on_msrp_open(self, channel: MsrpChannel) -> None:
        """A participant connected (we answered a=setup:passive), or the dial-out did:
        offer the connection every MSRP session still waiting for its connection; the
        first request binds it."""
        for _, participant in self._pending_msrp.values():
            with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
                channel.add_session(participant.local_msrp, list(participant.remote_path))
        self.spawn(self._read_channel(channel))

    async def _read_channel(self, channel: MsrpChannel) -> None:
        self._handled[channel] = 0
        try:
            await self._read_events(channel)
        finally:
            self._handled.pop(channel, None)
            self._progress.notify()

    async def _read_events(self, channel: MsrpChannel) -> None:
        index = 0
        async for event in msrp_events(channel):
            index += 1
            session_id = msrp_session_id(event)
            if session_id is not None:
                self.bind(channel, session_id)
            if isinstance(event, MessageReceived):
                self._relay(channel, event)
            elif isinstance(event, ConnectionClosed):
                self._connection_lost(channel)
                return
            self._handled[channel] = index
            self._progress.notify()

    def bind(self, channel: MsrpChannel, session_id: str) -> None:
        """The first request of the MSRP session ``session_id`` came over ``channel``: it
        is that participant's connection (RFC 4975 5.4)."""
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
        targets = {
            p.channel: len(p.channel.events)
            for p in session.participants.values()
            if p.channel is not None
        }

        def done() -> bool | None:
            # a connection without a reader (closed) has nothing more to relay
            return all(self._handled.get(ch, n) >= n for ch, n in targets.items()) or None

        with contextlib.suppress(WaitTimeout):
            await self._progress.wait_until(
                done, self.config.msrp_transaction_timeout, "the relay of the messages received"
            )

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


__all__ = [
    "ActionError",
    "ActionHandler",
    "ControllingFunction",
    "GroupSession",
    "Participant",
    "SessionState",
    "aor",
    "identity_of",
]

"""Deferred CPM Group Session handling at the reference PF (seed 004 8.3.2.9; seed 002
B.2.3.x.y, +1, +2; seed 000 B.2.3.5.X and the deferred-delivery bullets of 5.2.3.5).

Terminating group sessions only (the CF invited the PF's user; the PF is a B2BUA).

- Triggers (PF-8.3.2.9-1/-2/-3-setup/-3-lost): a BYE from the client with
  ``Reason: SIP;cause=`` other than 200, the timeout (Timer B) of the INVITE to the
  client, the MSRP connection setup towards the client failing or the connection being
  lost (closed, or a SEND transaction timing out: the MSRP transaction timeout is the
  "lost" threshold of the 004 editor's note). The PF keeps the CF leg, answers the CF's
  SENDs itself and buffers every chat message and IMDN (B.2.3.x.y steps 4-6).
- It subscribes to the focus (PF-8.3.2.9-SUBSCRIBE) with :mod:`.participants`'
  subscription and keeps the merged state: the latest participant list. The PF's
  subscription of 8.3.2 200 OK step 3, when it holds one, is that subscription (one per
  user towards the CF, 8.2.3).
- Delivery on the third-party REGISTER of the client (trigger A):
  * the group session still active (the CF leg is up): INVITE with the cpm.session
    icsi-ref, ``a=sendrecv`` and the latest participants (resource-list); the buffer is
    delivered over MSRP and the new leg replaces the lost one (B.2.3.x.y 11-19);
  * inactive (the CF ended the session): INVITE with the percent-encoded cpm.deferred
    icsi-ref and ``a=sendonly``; a client SUBSCRIBE gets a first NOTIFY listing only the
    client's user, the buffer goes over MSRP, a final NOTIFY (terminated) carries the last
    full list, then BYE (B.2.3.5.X 1-7).
- Trigger B, the client's re-join first (PF-8.3.2.9-B-1/-B-2): no PF INVITE; the PF
  answers the re-join itself and delivers over that session.
- Race (B.2.3.x.y+2): active, a re-join after the PF's INVITE is rejected (486); inactive,
  the delivery completes and then the re-join goes on to the CF (originating side).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    User,
    build_conference_info,
)
from conformance.documents.resource_lists import (
    Entry,
    ResourceList,
    build_resource_list,
    parse_resource_list,
)
from conformance.errors import GuardTimeout, LocalProtocolError, RemoteProtocolError
from conformance.net.msrp_pump import MsrpChannel
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import (
    ConnectionClosed,
    MessageReceived,
    TransactionTimedOut,
)
from conformance.protocol.sip.cpm import (
    CONFERENCE_INFO_TYPE,
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    DISPOSITION_RECIPIENT_LIST,
    ICSI_DEFERRED,
    ICSI_SESSION,
    RESOURCE_LISTS_TYPE,
    SDP_TYPE,
)
from conformance.protocol.sip.dialog import Dialog, DialogId, uri_of, without_tag
from conformance.protocol.sip.headers import (
    format_contact_preference,
    format_icsi_ref,
    get_contacts,
)
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.deferred_cpim import actual_recipients, sender_of, with_recipients
from conformance.reference.pf.interfaces import FocusSubscriber, InviteHandler, SessionEnd
from conformance.reference.pf.model import (
    DECLINE_REASON,
    SUBSCRIBE_EXPIRES,
    B2buaSession,
    FocusSubscription,
    Fork,
    MsrpLeg,
    SipLeg,
    TerminatingState,
)
from conformance.reference.pf.originating import derived_sdp, msrp_media, split_body
from conformance.reference.pf.registrations import aor

log = logging.getLogger(__name__)

#: the reject of a late re-join while the PF's own INVITE is out (B.2.3.x.y+2, active)
LATE_REJOIN_STATUS = 486


@dataclass(eq=False)
class DeferredSession:
    """A group session the PF keeps for a client that is gone."""

    session: B2buaSession
    user: str
    trigger: str
    focus: str | None
    instance: str | None
    buffer: list[tuple[bytes, str | None]] = field(default_factory=list)
    sub: FocusSubscription | None = None
    invite_sent: bool = False
    done: bool = False
    #: the client's re-join came first (PF-8.3.2.9-B-1)
    rejoined: bool = False
    aborted: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    #: set once the procedure knows its focus subscription (``sub``, or None for good)
    focus_settled: asyncio.Event = field(default_factory=asyncio.Event)
    #: the client's subscription during an inactive delivery (dialog, subscribed)
    client_sub: Dialog | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Call-IDs of re-joins to pass on to the originating side
    passed: set[str] = field(default_factory=set)

    @property
    def active(self) -> bool:
        """The group session is still on at the CF (the PF's CF leg is up)."""
        return not self.session.ended

    @property
    def conversation_id(self) -> str:
        return self.session.client_request.headers.get(CONVERSATION_ID) or ""


class DeferredDelivery:
    """The deferred-delivery side of the PF: the sessions it keeps for clients that are
    gone; it ends sessions through ``sessions``, subscribes through ``participants`` and
    hands a re-join on to ``invites``."""

    def __init__(
        self,
        pf: PfCore,
        *,
        sessions: SessionEnd,
        participants: FocusSubscriber,
        invites: InviteHandler,
    ) -> None:
        self.pf = pf
        self.faults = pf.faults
        self.sessions = sessions
        self.participants = participants
        self.invites = invites
        self.entries: dict[str, DeferredSession] = {}

    @property
    def enabled(self) -> bool:
        return self.pf.policy.deferred_delivery and self.pf.policy.media_path

    # -- the three triggers ---------------------------------------------------------------
    @staticmethod
    def client_leg(session: B2buaSession) -> SipLeg:
        return session.user_leg

    def on_bye(self, session: B2buaSession, leg: SipLeg, request: SipRequest) -> bool:
        """Trigger 1; True when the PF stays in the session (the BYE is answered)."""
        if not session.terminating or leg is not self.client_leg(session):
            return False
        cause = _reason_cause(request.headers.get_all("Reason"))
        involuntary = cause is not None and cause != 200
        if cause == 200 and self.faults.on("pf.deferred-bye-cause-200-treated-as-loss"):
            involuntary = True
        if not involuntary or self.faults.on("pf.deferred-bye-loss-ends-session"):
            return False
        return self.enter(session, "bye", instance=None)

    def on_invite_timeout(self, session: B2buaSession, state: TerminatingState, fork: Fork) -> bool:
        """Trigger 2: the INVITE to the (only pending) client timed out."""
        self.pf.table.unexpect_msrp(fork.sid)
        if state.answered is not None or session.declined or session.ended:
            return False
        pending = [
            f
            for f in state.forks
            if f is not fork and (f.handle is None or f.handle.final_response is None)
        ]
        if pending or self.faults.on("pf.deferred-timeout-ends-session"):
            return False
        return self.enter(session, "invite-timeout", instance=fork.binding.instance)

    def on_msrp_setup_failed(self, session: B2buaSession, leg: SipLeg) -> None:
        """Trigger 3, setup: the connection towards the client could not be opened."""
        if leg.msrp.channel is not None or session.ended:
            return
        if self.faults.on("pf.deferred-msrp-setup-failure-ends-session"):
            self.sessions.end(session, None)
            return
        if not self.enter(session, "msrp-setup", instance=None, bye_client=True):
            self.sessions.end(session, None)

    def on_msrp_event(self, channel: MsrpChannel, event: object) -> None:
        """Trigger 3, lost: the client's connection closed or a SEND timed out. Also a
        SEND the CF sent just before it ended the session (the session is no longer
        relayed, the message is still kept)."""
        if isinstance(event, MessageReceived) and event.body:
            for entry in self.entries.values():
                cf_leg = entry.session.client
                if (
                    entry.session.ended
                    and not entry.done
                    and cf_leg.msrp.channel is channel
                    and cf_leg.msrp.session is event.session
                    and not self.faults.on("pf.deferred-drops-messages")
                    and not self._dropped_imdn(event.body, event.content_type)
                ):
                    at = next(
                        (e.at for e in reversed(channel.events) if e.event is event),
                        self.pf.loop.time(),
                    )
                    entry.buffer.append(
                        (
                            self._stored(entry, event.body, event.content_type, at),
                            event.content_type,
                        )
                    )
            return
        if not isinstance(event, ConnectionClosed | TransactionTimedOut):
            return
        for session in self.pf.table.values():
            if not session.terminating or session.ended or session.id in self.entries:
                continue
            leg = self.client_leg(session)
            if leg.msrp.channel is not channel:
                continue
            if self.faults.on("pf.deferred-msrp-loss-ends-session") or (
                self.faults.on("pf.deferred-silence-ends-session")
            ):
                self.sessions.end(session, None)
                continue
            if not self.enter(session, "msrp-lost", instance=None, bye_client=True):
                self.sessions.end(session, None)

    def enter(
        self, session: B2buaSession, trigger: str, *, instance: str | None, bye_client: bool = False
    ) -> bool:
        if not self.enabled or not session.terminating or session.ended:
            return False
        pf = self.pf
        if not pf.registrations.bindings(session.user, pf.loop.time()):
            # the user deregistered: the client left on purpose, nothing to defer
            return False
        leg = self.client_leg(session)
        if instance is None:
            instance = self._answering_instance(session)
        contacts = get_contacts(session.client_request)
        focus = contacts[0].uri if contacts and contacts[0].isfocus else None
        entry = DeferredSession(session, session.user, trigger, focus, instance)
        self.entries[session.id] = entry
        log.info("deferred group session for %s (%s)", session.user, trigger)
        # the lost leg leaves the session; the CF leg stays (the PF is in the media path)
        if leg.dialog is not None:
            pf.table.unbind_dialog(leg.dialog)
            if bye_client:
                pf.send_in_dialog(leg.dialog, "BYE")
            leg.dialog = None
        if leg.msrp.channel is not None and leg.msrp.session is not None:
            with contextlib.suppress(Exception):
                leg.msrp.channel.machine.remove_session(leg.msrp.session)
        leg.msrp.channel = None
        leg.msrp.session = None
        pf.table.unexpect_session(session, keep=session.client)
        # PF-8.3.2.9-SUBSCRIBE: the latest participant information
        if focus is not None and not self.faults.on("pf.deferred-no-focus-subscription"):
            pf.spawn(self._subscribe(entry, focus))
        return True

    def _answering_instance(self, session: B2buaSession) -> str | None:
        state = session.forks
        if state is not None and state.answered is not None:
            return state.answered.binding.instance
        return None

    async def _subscribe(self, entry: DeferredSession, focus: str) -> None:
        try:
            await self._subscribe_once(entry, focus)
        finally:
            entry.focus_settled.set()

    async def _subscribe_once(self, entry: DeferredSession, focus: str) -> None:
        # one subscription per user towards the CF (8.2.3): the one of 8.3.2 200 OK step 3
        # when the PF holds it, else a new one
        request = entry.session.client_request
        # the subscription counts from now, pending or not: the NOTIFYs it gets before its
        # 2xx is seen are the participants of the messages buffered meanwhile (CPIM To)
        entry.sub = self.participants.current(entry.user, focus)
        entry.sub = await self.participants.held(entry.user, focus)
        if self.faults.on("pf.deferred-ends-focus-subscription"):
            if entry.sub is not None:
                self.participants.refresh(entry.sub, 0)
            entry.sub = None
            return
        if entry.sub is None:
            pending = self.participants.subscribe_to_focus(
                entry.user,
                focus,
                request.headers.get(CONVERSATION_ID) or "",
                request.headers.get(CONTRIBUTION_ID) or "",
            )
            entry.sub = self.participants.current(entry.user, focus)
            entry.sub = await pending

    # -- buffering ------------------------------------------------------------------------
    def on_relay(
        self, session: B2buaSession, sender: SipLeg, body: bytes, content_type: str | None
    ) -> None:
        """A SEND from the CF leg while the client is gone: kept (chat and IMDN alike)."""
        entry = self.entries.get(session.id)
        if entry is None or entry.done or sender is not session.client:
            return
        if self.faults.on("pf.deferred-drops-messages") or self._dropped_imdn(body, content_type):
            return
        channel = sender.msrp.channel
        at = (
            next(
                (e.at for e in reversed(channel.events) if getattr(e.event, "body", None) is body),
                self.pf.loop.time(),
            )
            if channel is not None
            else self.pf.loop.time()
        )
        entry.buffer.append((self._stored(entry, body, content_type, at), content_type))
        if entry.sub is not None and self.faults.on("pf.deferred-unsubscribe-while-buffering"):
            self.participants.refresh(entry.sub, 0)

    def _stored(
        self, entry: DeferredSession, body: bytes, content_type: str | None, at: float
    ) -> bytes:
        """PF-5.2.3.5-CPIM-TO (MAY, PICS pf.cpim_to_actual_recipients): a chat message is
        stored with CPIM To headers naming its actual recipients, the participants when it
        arrived (``at``, the time its SEND was answered; :mod:`.deferred_cpim`)."""
        if not self.pf.policy.cpim_to_actual_recipients:
            return body
        if self.faults.on("pf.cpim-to-not-actual-recipients"):
            participants = invited_participants(entry)
        else:
            views = entry.sub.history if entry.sub is not None else []
            view = next((v for t, v in reversed(views) if t <= at), None)
            participants = present(view) if view is not None else invited_participants(entry)
        sender = sender_of(body, content_type)
        return with_recipients(
            body, content_type, actual_recipients(participants, entry.user, sender)
        )

    def _dropped_imdn(self, body: bytes, content_type: str | None) -> bool:
        """Fault only: IMDNs are not kept (B.2.3.x.y 4-6 buffers messages *and* IMDNs)."""
        return self.faults.on("pf.deferred-drops-imdns") and (
            b"message/imdn+xml" in body or "imdn" in (content_type or "").lower()
        )

    # -- participants ---------------------------------------------------------------------
    def latest_participants(self, entry: DeferredSession) -> list[str]:
        return latest_participants(entry, self.faults)

    def final_participants(self, entry: DeferredSession) -> list[str]:
        return final_participants(entry, self.faults)

    def _conference(self, entry: DeferredSession, users: list[str], version: int) -> bytes:
        return build_conference_info(
            ConferenceInfo(
                entity=entry.focus or self.pf.own_uri(entry.session.id),
                state=DocState.FULL,
                version=version,
                users=tuple(User(entity=u) for u in users),
            )
        )

    # -- trigger A: the third-party REGISTER ----------------------------------------------
    def register_status(self, user: str) -> int:
        """The response to a third-party REGISTER (B.2.3.x.y step 10: 200)."""
        if self.faults.on("pf.deferred-third-party-register-rejected") and any(
            e.user == aor(user) for e in self.entries.values()
        ):
            return 403
        return 200

    def on_register(self, user: str) -> None:
        now = self.pf.loop.time()
        bindings = self.pf.registrations.bindings(user, now)
        if not bindings:
            # every client of the user deregistered: the kept sessions are given up
            for entry in [e for e in self.entries.values() if e.user == aor(user)]:
                self.entries.pop(entry.session.id, None)
                if not entry.session.ended:
                    self.sessions.end(entry.session, None)
            return
        if self.faults.on("pf.deferred-no-delivery-on-register"):
            return
        for entry in list(self.entries.values()):
            if entry.user != aor(user) or entry.invite_sent:
                continue
            late_invite = entry.rejoined and self.faults.on("pf.deferred-invite-after-rejoin")
            if (entry.rejoined or entry.done) and not late_invite:
                continue
            # B.2.3.x.y: the device that accepted the original session, else any
            target = next(
                (
                    b
                    for b in bindings
                    if entry.instance and b.instance.strip('"<>') == entry.instance.strip('"<>')
                ),
                bindings[0],
            )
            if self.faults.on("pf.deferred-delivery-other-device"):
                target = next((b for b in bindings if b is not target), target)
            entry.invite_sent = True
            self.pf.spawn(self._deliver(entry, target.instance, target.contact))

    def build_invite(self, entry: DeferredSession, instance: str, offer: bytes) -> SipRequest:
        pf = self.pf
        original = entry.session.client_request
        active = entry.active
        deferred_tag = not active and not self.faults.on("pf.deferred-no-deferred-tag")
        icsi = ICSI_DEFERRED if deferred_tag else ICSI_SESSION
        headers: list[tuple[str, str]] = [
            ("Via", pf.via()),
            ("Max-Forwards", "70"),
            ("Record-Route", pf.b2bua_record_route),
            ("From", f"{without_tag(original.headers.get('From') or '')};tag={new_tag()}"),
            ("To", f"<{entry.user}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 INVITE"),
            ("Contact", original.headers.get("Contact") or f"<{pf.own_uri(entry.session.id)}>"),
            (
                "Accept-Contact",
                format_contact_preference(
                    [("+sip.instance", f'"{instance.strip(chr(34))}"')], require=True, explicit=True
                ),
            ),
            ("Accept-Contact", format_contact_preference([format_icsi_ref([icsi])])),
        ]
        headers += [
            ("P-Asserted-Identity", v) for v in original.headers.get_all("P-Asserted-Identity")
        ]
        for name in (CONVERSATION_ID, CONTRIBUTION_ID, "Subject", "P-Asserted-Service"):
            values = original.headers.get_all(name)
            if name == CONTRIBUTION_ID and self.faults.on("pf.deferred-reinvite-new-ids"):
                values = [secrets.token_hex(16)]
            headers += [(name, v) for v in values]
        headers += [("Supported", "timer"), ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")]
        participants = self.latest_participants(entry)
        recipients = build_resource_list(
            ResourceList(entries=tuple(Entry(uri=p) for p in participants))
        )
        content_type, body = build_multipart(
            [
                build_part(SDP_TYPE, offer),
                build_part(RESOURCE_LISTS_TYPE, recipients, disposition=DISPOSITION_RECIPIENT_LIST),
            ]
        )
        headers.append(("Content-Type", content_type))
        return build_request("INVITE", entry.user, headers, body)

    async def _deliver(self, entry: DeferredSession, instance: str, contact: str) -> None:
        pf = self.pf
        active = entry.active
        sid = secrets.token_hex(8)
        leg = SipLeg("client", MsrpLeg(pf.msrp.uri(sid)))
        media = msrp_media(split_body(entry.session.client_request).sdp)
        if active:
            direction = (
                "sendonly" if self.faults.on("pf.deferred-sendonly-when-active") else ("sendrecv")
            )
        else:
            direction = (
                "sendrecv" if self.faults.on("pf.deferred-sendrecv-when-inactive") else ("sendonly")
            )
        offer = derived_sdp(
            media,
            host=pf.msrp.address().host,
            port=pf.msrp.address().port,
            path=[leg.msrp.local_uri],
            setup="actpass",
        )
        offer = offer.replace(b"a=sendrecv", f"a={direction}".encode())
        invite = self.build_invite(entry, instance, offer)
        pf.table.expect_msrp(sid, entry.session, leg)
        handle = await pf.sip.request(invite, pf.destination(contact))
        outcome = await handle.outcome(pf.config.timers.b * 2)
        if isinstance(outcome, str) or outcome.status >= 300:
            pf.table.unexpect_msrp(sid)
            if (
                not isinstance(outcome, str)
                and outcome.status == 603
                and not self.faults.on("pf.deferred-603-keeps-messages")
            ):
                self._declined(entry)
                return
            entry.invite_sent = False  # still deferred: the next REGISTER tries again
            return
        try:
            dialog = Dialog.uac(invite, outcome, own_record_route=[pf.b2bua_record_route])
            dialog.confirm(outcome)
            answer = msrp_media(split_body(outcome).sdp)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("unusable 2xx to the delivery INVITE: %s", exc)
            return
        leg.dialog = dialog
        leg.msrp.remote_path = tuple(answer.path)
        pf.table.bind_dialog(dialog, entry.session, leg)
        pf.send_ack(leg, invite)
        notified = self._client_notify(entry) if active else None
        if answer.setup == "passive":
            pf.table.unexpect_msrp(sid)
            await pf.connect_msrp(leg.msrp)
        await self._bound(leg)
        await self._flush(entry, leg, active=active, notified=notified)

    def _declined(self, entry: DeferredSession) -> None:
        """Seed 003 8.3.2 "603": the user rejected the session; the deferred messages are
        discarded (step 1) and the session with the CF ends with BYE, Reason cause=200
        (step 2)."""
        pf = self.pf
        entry.buffer.clear()
        entry.done = True
        self.entries.pop(entry.session.id, None)
        if entry.sub is not None:
            self.participants.refresh(entry.sub, 0)
        cf_dialog = entry.session.client.dialog
        if not entry.session.ended and cf_dialog is not None:
            pf.send_in_dialog(cf_dialog, "BYE", headers=[("Reason", DECLINE_REASON)])
            self.sessions.end(entry.session, entry.session.client)
        elif not entry.session.ended:
            self.sessions.end(entry.session, None)
        entry.finished.set()

    def _client_notify(self, entry: DeferredSession, *, hold: bool = True) -> asyncio.Event | None:
        """What the delivery into the active session waits for: the first NOTIFY of client
        B's subscription (B.2.3.x.y steps 16-17 before 18-19) when the PF claims
        pf.rejoin_notify_order=notify-first; None (deliver at once, B.2.3.x.y+1 step 16
        before 17-19) otherwise, and then (``hold``: the PF's own INVITE) client B's
        NOTIFYs wait for the delivery. A re-join (trigger B) holds none: its client may
        wait for the NOTIFY before it binds the MSRP session."""
        notify_first = self.pf.policy.rejoin_notify_order == "notify-first"
        if self.faults.on("pf.deferred-notify-before-delivery"):
            notify_first = True
        if self.faults.on("pf.deferred-delivery-before-notify"):
            notify_first = False
        if notify_first:
            return self.participants.await_client_notify(entry.user)
        if hold:
            # delivery first: client B's NOTIFYs wait until the messages crossed the wire
            self.participants.hold_client_notifies(entry.user, entry.finished)
        return None

    async def _bound(self, leg: SipLeg) -> bool:
        """Whether the client's MSRP session is bound, waiting up to Timer B for it."""
        return await leg.msrp.bound(self.pf.config.timers.b)

    async def _flush(
        self,
        entry: DeferredSession,
        leg: SipLeg,
        *,
        active: bool,
        notified: asyncio.Event | None = None,
    ) -> None:
        pf = self.pf
        session = entry.session
        if active and notified is not None:
            # notify-first: client B subscribes once the session (MSRP included) is set up;
            # its NOTIFY goes first, the delivery follows (bounded: a client may not subscribe)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(notified.wait(), pf.config.timers.b)
        if not active and entry.client_sub is None:
            # B.2.3.5.X step 3: the client may subscribe after the ACK (PICS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.subscribed.wait(), pf.config.timers.t1 * 8)
        if entry.aborted:
            entry.finished.set()
            return
        early = (
            not active
            and entry.client_sub is not None
            and self.faults.on("pf.deferred-final-notify-before-send")
        )
        if early and entry.client_sub is not None:
            await self._notify(
                entry.client_sub,
                self._conference(entry, self.final_participants(entry), 2),
                "terminated;reason=noresource",
            )
        last: list[Any] = []
        if leg.msrp.channel is not None and leg.msrp.session is not None:
            for body, content_type in entry.buffer:
                try:
                    last = leg.msrp.channel.send_message(leg.msrp.session, body, content_type)
                except LocalProtocolError as exc:
                    log.warning("deferred delivery SEND failed: %s", exc)
        entry.buffer.clear()

        async def crossed() -> None:
            """The last SEND's answer (or its transaction's end) shows it has crossed the
            wire (TCP and UDP are not ordered between each other)."""
            if last and leg.msrp.channel is not None:
                with contextlib.suppress(GuardTimeout, LocalProtocolError, RemoteProtocolError):
                    await leg.msrp.channel.response(last[-1], within=pf.config.timers.t1 * 64)

        if not active:
            # B.2.3.5.X step 6: the final NOTIFY follows the last SEND
            await crossed()
        entry.done = True
        if active and not session.ended:
            # the re-connected client takes the lost leg's place
            session.core = leg
            if not (entry.rejoined and self.faults.on("pf.deferred-invite-after-rejoin")):
                self.entries.pop(session.id, None)
            if entry.sub is not None and pf.policy.unsubscribe_after_rejoin:
                # SD-B.2.3.x.y-UNSUB: after the re-establishment, SUBSCRIBE Expires: 0
                expires = (
                    SUBSCRIBE_EXPIRES
                    if self.faults.on("pf.deferred-unsubscribe-without-expires-0")
                    else 0
                )
                self.participants.refresh(entry.sub, expires)
            if notified is None:
                # delivery first (B.2.3.x.y+1 step 16 before 17-19): the NOTIFYs held
                # for client B go once the last SEND has crossed the wire
                await crossed()
            entry.finished.set()
            return
        # inactive: the final NOTIFY (B.2.3.5.X step 6, 5.2.3.5), then BYE (step 7)
        if (
            entry.client_sub is not None
            and not early
            and not self.faults.on("pf.deferred-no-final-notify")
        ):
            body = self._conference(entry, self.final_participants(entry), 2)
            await self._notify(entry.client_sub, body, "terminated;reason=noresource")
        if leg.dialog is not None and not self.faults.on("pf.deferred-no-bye"):
            pf.table.unbind_dialog(leg.dialog)
            pf.send_in_dialog(leg.dialog, "BYE")
        if leg.msrp.channel is not None and leg.msrp.session is not None:
            with contextlib.suppress(Exception):
                leg.msrp.channel.machine.remove_session(leg.msrp.session)
        self.entries.pop(session.id, None)
        entry.finished.set()

    # -- the client's SUBSCRIBE during an inactive delivery -------------------------------
    def on_subscribe(self, incoming: IncomingRequest) -> bool:
        """A client's SUBSCRIBE during an inactive delivery (B.2.3.5.X step 3) or in the
        subscription it created; True when handled here."""
        request = incoming.request
        if self._owns_subscription(incoming):
            return True
        entry = self._delivery_for(request) if not tag_of(request, "To") else None
        if entry is None:
            return False
        if self.faults.on("pf.deferred-client-subscribe-rejected"):
            incoming.respond(489, "Bad Event")
            return True
        tag = new_tag()
        contact = f"<sip:pf-dsub-{secrets.token_hex(4)}@{self.pf.hostport}>"
        expires = request.headers.get("Expires") or "600"
        response = response_to(
            request, 200, "OK", to_tag=tag, headers=[("Contact", contact), ("Expires", expires)]
        )
        try:
            dialog = Dialog.uas(request, tag, contact)
            dialog.confirm(response)
        except (LocalProtocolError, RemoteProtocolError):
            incoming.respond(400)
            return True
        incoming.send(response)
        entry.client_sub = dialog
        # B.2.3.5.X step 4 (only client B) or 8.2.3's local NOTIFY (the stored list): the
        # side of the seed conflict the PF claims (PICS pf.deferred_first_notify)
        stored = self.pf.policy.deferred_first_notify == "stored"
        if self.faults.on("pf.deferred-first-notify-full-list"):
            stored = True
        if self.faults.on("pf.deferred-first-notify-not-stored"):
            stored = False
        # the stored list: the CF's last participants while the session was on (its
        # closing notification may report everyone disconnected)
        users = self.final_participants(entry) if stored else [entry.user]
        body = self._conference(entry, users, 1)
        if not self.faults.on("pf.deferred-subscribe-no-first-notify"):
            self.pf.spawn(self._notify(dialog, body, f"active;expires={expires}"))
        entry.subscribed.set()
        return True

    def _owns_subscription(self, incoming: IncomingRequest) -> bool:
        request = incoming.request
        did = DialogId.of_incoming_request(request) if tag_of(request, "To") else None
        if did is None:
            return False
        for entry in self.entries.values():
            if entry.client_sub is not None and entry.client_sub.id == did:
                incoming.respond(200, headers=[("Expires", request.headers.get("Expires") or "0")])
                return True
        return False

    def _delivery_for(self, request: SipRequest) -> DeferredSession | None:
        user = aor(
            uri_of(request.headers.get("P-Asserted-Identity") or request.headers.get("From") or "")
        )
        target = aor(request.uri)
        for entry in self.entries.values():
            if (
                entry.user == user
                and entry.invite_sent
                and not entry.active
                and (target in (aor(entry.focus or ""), aor(self.pf.own_uri(entry.session.id))))
            ):
                return entry
        return None

    async def _notify(self, dialog: Dialog, body: bytes, state: str) -> None:
        pf = self.pf
        try:
            request = dialog.create_request(
                "NOTIFY",
                via=pf.via(),
                headers=[
                    ("Event", "conference"),
                    ("Subscription-State", state),
                    ("Content-Type", CONFERENCE_INFO_TYPE),
                ],
                body=body,
            )
            destination = pf.destination(dialog.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot NOTIFY the client: %s", exc)
            return
        handle = await pf.sip.request(request, destination)
        await handle.outcome(pf.config.timers.b * 2)

    # -- trigger B and the race -----------------------------------------------------------
    def on_rejoin(self, incoming: IncomingRequest, originator: str) -> bool:
        """A client's INVITE for a deferred group session; True when handled here."""
        request = incoming.request
        conversation = request.headers.get(CONVERSATION_ID)
        if not conversation:
            return False
        entry = next(
            (
                e
                for e in self.entries.values()
                if e.user == originator and e.conversation_id == conversation and not e.done
            ),
            None,
        )
        if entry is None or (request.call_id or "") in entry.passed:
            return False
        incoming.respond(100)
        if entry.active:
            if entry.invite_sent and not self.faults.on("pf.deferred-two-sessions-in-race"):
                incoming.respond(LATE_REJOIN_STATUS, "Busy Here")
                return True
            self.pf.spawn(self._answer_rejoin(entry, incoming))
            return True
        # inactive: complete the delivery, then the re-join goes on to the CF
        if request.call_id:
            entry.passed.add(request.call_id)
        if self.faults.on("pf.deferred-delivery-abandoned-on-rejoin"):
            entry.aborted = True
        self.pf.spawn(self._forward_rejoin(entry, incoming))
        return True

    async def _forward_rejoin(self, entry: DeferredSession, incoming: IncomingRequest) -> None:
        if entry.invite_sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.finished.wait(), self.pf.config.timers.b * 2)
        if self.faults.on("pf.deferred-rejoin-not-forwarded"):
            self.pf.reply_if_open(incoming, 480, "Temporarily Unavailable")
            return
        self.invites.on_invite(incoming)

    async def _answer_rejoin(self, entry: DeferredSession, incoming: IncomingRequest) -> None:
        """Trigger B: the re-join session carries the deferred delivery (B-2)."""
        pf = self.pf
        request = incoming.request
        try:
            media = msrp_media(split_body(request).sdp)
        except RemoteProtocolError:
            pf.reply_if_open(incoming, 488, "Not Acceptable Here")
            return
        sid = secrets.token_hex(8)
        leg = SipLeg("client", MsrpLeg(pf.msrp.uri(sid), tuple(media.path)))
        answer = derived_sdp(
            media,
            host=pf.msrp.address().host,
            port=pf.msrp.address().port,
            path=[leg.msrp.local_uri],
            setup="passive",
        )
        tag = new_tag()
        # the Contact is the focus's (as in the PF's INVITEs to the client): the PF's own
        # Record-Route keeps it on the path of the client's ACK and BYE (RFC 3261 12.1.1)
        headers: list[tuple[str, str]] = (
            []
            if self.faults.on("pf.deferred-rejoin-answer-off-path")
            else [("Record-Route", pf.b2bua_record_route)]
        )
        headers += [
            (
                "Contact",
                entry.session.client_request.headers.get("Contact")
                or f"<{pf.own_uri(entry.session.id)}>",
            ),
            ("Server", pf.policy.server),
            ("Supported", "timer"),
            ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"),
            ("Content-Type", SDP_TYPE),
        ]
        headers += [
            (n, v) for n in (CONVERSATION_ID, CONTRIBUTION_ID) for v in request.headers.get_all(n)
        ]
        response = response_to(request, 200, "OK", to_tag=tag, headers=headers, body=answer)
        try:
            dialog = Dialog.uas(request, tag, pf.own_uri(entry.session.id))
            dialog.confirm(response)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot answer the re-join: %s", exc)
            pf.reply_if_open(incoming, 500)
            return
        leg.dialog = dialog
        pf.table.bind_dialog(dialog, entry.session, leg)
        pf.table.expect_msrp(sid, entry.session, leg)
        entry.rejoined = True  # PF-8.3.2.9-B-1: no INVITE of the PF from now on
        if self.faults.on("pf.deferred-rejoin-not-delivered"):
            entry.buffer.clear()
        notified = self._client_notify(entry, hold=False)
        pf.sip.retransmit_2xx_until_ack(incoming, response)
        await self._bound(leg)
        await self._flush(entry, leg, active=True, notified=notified)


# -- the participants of a deferred session ---------------------------------------------


def invited_participants(entry: DeferredSession) -> list[str]:
    """The participants of the CF's invitation (its recipient list)."""
    original: list[str] = []
    part = split_body(entry.session.client_request).recipient_list
    if part is not None:
        with contextlib.suppress(Exception):
            original = [aor(u) for u in parse_resource_list(part.body).uris()]
    return original


def latest_participants(entry: DeferredSession, faults: ActiveFaults) -> list[str]:
    """The latest participant list: the focus subscription's view, else the invitation's."""
    original = invited_participants(entry)
    if faults.on("pf.deferred-stale-participants"):
        return original
    view = entry.sub.state.view if entry.sub is not None else None
    if view is None:
        return original
    return present(view)


def final_participants(entry: DeferredSession, faults: ActiveFaults) -> list[str]:
    """B.2.3.5.X step 6: "all of the CPM Session participant prior CPM Session ended":
    the CF's last view while the session was on (its closing notification reports
    every user disconnected, RFC 4575 booted)."""
    if entry.sub is not None and not faults.on("pf.deferred-stale-participants"):
        for _, view in reversed(entry.sub.history):
            status = view.conference_state
            users = present(view)
            if users and (status is None or status.active is not False):
                return users
    return latest_participants(entry, faults)


def present(view: ConferenceInfo) -> list[str]:
    """The users of ``view`` still in the session (not every endpoint disconnected)."""
    out: list[str] = []
    for user in view.users:
        gone = bool(user.endpoints) and all(
            (e.status or "").lower() == "disconnected" for e in user.endpoints
        )
        if not gone and aor(user.entity) not in out:
            out.append(aor(user.entity))
    return out


def _reason_cause(values: list[str]) -> int | None:
    """The cause of a ``Reason: SIP;cause=N`` header (RFC 3326); None without one."""
    for value in values:
        for item in value.split(","):
            protocol, _, params = item.strip().partition(";")
            if protocol.strip().upper() != "SIP":
                continue
            for param in params.split(";"):
                name, _, text = param.strip().partition("=")
                if name.strip().lower() == "cause" and text.strip().isdigit():
                    return int(text.strip())
    return None


def describe(entry: DeferredSession) -> dict[str, Any]:
    return {
        "user": entry.user,
        "trigger": entry.trigger,
        "buffered": len(entry.buffer),
        "active": entry.active,
    }


__all__ = [
    "LATE_REJOIN_STATUS",
    "DeferredDelivery",
    "DeferredSession",
    "final_participants",
    "invited_participants",
    "latest_participants",
    "present",
]

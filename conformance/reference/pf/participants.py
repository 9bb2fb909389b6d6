"""Participant information at the reference PF (seed 003 8.2.3 "Handling of Participants
Information" and "Receive Participant Information Notification"; seed 000 5.2.3.5).

- After the 200 OK of an originating group session (8.2.1 200 OK step 9), and after the
  first client's 200 OK of a terminating one (8.3.2 200 OK step 3), when conference-info
  over MSRP is not used, the PF subscribes to the focus itself:
  :meth:`Participants.subscribe_to_focus`, items 1-9. The deferred delivery uses that
  subscription (:meth:`Participants.held`): one per user towards the CF.
- NOTIFYs in that subscription are answered 200, merged into a
  :class:`ConferenceState` (the coherent state, RFC 4575 4.6), forwarded to the
  subscriptions of the user's clients (step 5) and kept locally (step 6).
- ``Subscription-State: terminated;reason=noresource`` with ``<allow-store>`` or
  ``<allow-offline-storage>`` true stores a Group State Object built from the coherent
  state (items a-h) in the Session History Folder of the session.
- A client's conference SUBSCRIBE in forward mode (policy ``client_subscribe_mode ==
  "proxy"``) goes to the CF through :class:`SubscribeForwarder`, and the PF ends its own
  subscription.
- A client's conference SUBSCRIBE (B2BUA mode): the PF answers it and links it to its
  own subscription towards the CF (one per user and focus); without a session at the CF it
  answers from the locally kept state (the MAY of 8.2.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    IconUri,
    build_conference_info,
    parse_conference_info,
)
from conformance.documents.groupstate import (
    GroupState,
    GsIcon,
    GsParticipant,
    GsSubject,
    build_group_state,
)
from conformance.documents.store_object import build_group_state_object, session_history_folder
from conformance.errors import (
    DocumentError,
    GuardTimeout,
    LocalProtocolError,
    RemoteProtocolError,
)
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.cpm import (
    CONFERENCE_INFO_TYPE,
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
)
from conformance.protocol.sip.dialog import Dialog, uri_of
from conformance.protocol.sip.headers import format_contact_preference, format_icsi_ref
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.subscription import SubscriptionStateValue
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.element import literal_address_of
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.confinfo_msrp import ConferenceInfoOverMsrp
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.model import (
    SUBSCRIBE_EXPIRES,
    B2buaSession,
    ClientSubscription,
    FocusSubscription,
)
from conformance.reference.pf.registrations import aor
from conformance.reference.pf.subscribe_forward import SubscribeForwarder
from conformance.reference.pf.xdms import fetch_preferences

log = logging.getLogger(__name__)

#: the states a :class:`FocusSubscription` keeps in its history
HISTORY = 32

#: RFC 6665 4.1.3: the resource is gone; the subscriber does not subscribe again
NORESOURCE = "noresource"
_GONE = ("failed", "departed")


def is_gone(user_status: tuple[tuple[str | None, str | None], ...]) -> bool:
    """Item d: every endpoint disconnected with disconnection-method failed or departed."""
    return bool(user_status) and all(
        (s or "").lower() == "disconnected" and (m or "").lower() in _GONE for s, m in user_status
    )


def group_state_of(view: ConferenceInfo, faults: ActiveFaults) -> GroupState:
    """The Group State Object of a coherent conference state (items a-h)."""
    on = faults.on
    d = view.description
    participants: list[GsParticipant] = []
    for user in view.users:
        status = tuple((e.status, e.disconnection_method) for e in user.endpoints)
        if is_gone(status) and not on("pf.gso-departed-user-kept"):
            continue
        participants.append(
            GsParticipant(
                comm_addr=None if on("pf.gso-no-comm-addr") else user.entity,
                name=None if on("pf.gso-no-participant-name") else user.display_text,
                role=(
                    user.roles[0] if user.roles and not on("pf.gso-no-participant-role") else None
                ),
                yourown=None if on("pf.gso-no-yourown") else user.yourown,
            )
        )
    subject = None
    if d is not None and d.subject is not None and not on("pf.gso-no-subject"):
        ext = d.subject_ext
        subject = GsSubject(
            text=d.subject,
            participant=ext.participant if ext is not None else None,
            timestamp=(
                ext.timestamp if ext is not None and not on("pf.gso-no-subject-timestamp") else None
            ),
        )
    icon = None
    if d is not None and d.icon is not None and not on("pf.gso-no-icon"):
        source = d.icon.source
        if d.icon.empty_source and on("pf.gso-empty-icon-source-kept"):
            source = IconUri("")
        icon = GsIcon(
            source=source,
            participant=None if on("pf.gso-no-icon-participant") else d.icon.participant,
            timestamp=d.icon.timestamp,
        )
    moment = _dt.datetime.now(_dt.UTC)
    if on("pf.gso-timestamp-not-current"):
        moment -= _dt.timedelta(hours=1)
    now = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return GroupState(
        lastfocussessionid=None if on("pf.gso-no-lastfocussessionid") else view.entity,
        timestamp=now,
        group_type=None if on("pf.gso-no-group-type") else "Closed",
        participants=tuple(participants),
        subject=subject,
        icon=icon,
        max_user_count=(
            d.maximum_user_count if d is not None and not on("pf.gso-no-max-user-count") else None
        ),
        policy=(
            " ".join(d.keywords)
            if d is not None and d.keywords is not None and not on("pf.gso-no-policy")
            else None
        ),
    )


class Participants:
    """The participant-information side of the PF (its own subscriptions to a focus, the
    clients' subscriptions, the kept state)."""

    def __init__(self, pf: PfCore) -> None:
        self.pf = pf
        self.faults = pf.faults
        #: (Call-ID, our tag) -> the PF's own subscription
        self._own: dict[tuple[str, str], FocusSubscription] = {}
        #: (Call-ID, our tag) of a client subscription -> the focus subscription it uses
        self._client: dict[tuple[str, str], FocusSubscription] = {}
        #: the latest state per (user, focus), kept after the subscription ended (step 6)
        self.kept: dict[tuple[str, str], ConferenceInfo] = {}
        #: the state of the first Group State Object per folder (one fault's memory)
        self._first_snapshot: dict[str, ConferenceInfo] = {}
        #: sessions by (user, focus) (to tell "established session" from stored content)
        self._sessions: dict[tuple[str, str], B2buaSession] = {}
        #: conference-info over MSRP (8.6 step 2.b, RCV step 4)
        self.over_msrp = ConferenceInfoOverMsrp(pf, self)
        #: forward mode of the clients' SUBSCRIBEs (pf.client_subscribe_mode=forward)
        self.forwarder = SubscribeForwarder(pf, self)
        #: user -> set once a client subscription of the user got its first NOTIFY (a
        #: deferred delivery that waits for it, pf.rejoin_notify_order=notify-first)
        self._notify_waiters: dict[str, asyncio.Event] = {}
        #: user -> set once a deferred delivery into the user's active session is over:
        #: NOTIFYs to the user's clients wait for it (B.2.3.x.y+1 step 16 before 17-19)
        self._notify_holds: dict[str, asyncio.Event] = {}

    def hold_client_notifies(self, user: str, until: asyncio.Event) -> None:
        """NOTIFYs to the clients of ``user`` wait until ``until`` is set (at most twice
        Timer B), in the order they were made."""
        self._notify_holds[user] = until

    def await_client_notify(self, user: str) -> asyncio.Event:
        """An event set when a client of ``user`` next gets its subscription's first NOTIFY."""
        event = asyncio.Event()
        self._notify_waiters[user] = event
        return event

    # -- what conference-info over MSRP reads (:class:`.interfaces.ParticipantState`) ----
    def focus_of_session(self, session: B2buaSession) -> str | None:
        return next(
            (
                focus
                for (user, focus), owner in self._sessions.items()
                if owner is session and user == session.user
            ),
            None,
        )

    def session_for(self, user: str, focus: str) -> B2buaSession | None:
        return self._sessions.get((user, focus))

    def keep(self, user: str, focus: str, view: ConferenceInfo) -> None:
        self.kept[(user, focus)] = view

    def subscribed_clients(self, user: str, focus: str) -> list[ClientSubscription]:
        """The clients of ``user`` with an active conference subscription to ``focus``."""
        out: list[ClientSubscription] = []
        for sub in self._client.values():
            if sub.user == user and sub.focus == focus:
                out += [c for c in sub.clients if c not in out]
        return out

    # -- the PF's own subscription --------------------------------------------------------
    def after_ok(self, session: B2buaSession, focus: str | None, *, reuse: bool = False) -> None:
        """8.2.1 200 OK step 9 and 8.3.2 200 OK step 3: subscribe when conference-info over
        MSRP is not used. ``reuse``: a subscription the PF already holds, or has pending,
        for the user and focus (the deferred procedure's, when the client left before this
        step) is the one of this step: one per user towards the CF (8.2.3)."""
        if focus is None:
            return
        self._sessions[(session.user, focus)] = session
        if self.pf.policy.conference_info_via_msrp:
            return  # the CF sends conference-info over MSRP (8.6 step 2.b)
        if self.faults.on("pf.no-subscribe-to-focus"):
            return
        if reuse and self.active(session.user, focus) is not None:
            return
        request = session.client_request
        self.pf.spawn(
            self.subscribe_to_focus(
                session.user,
                focus,
                request.headers.get(CONVERSATION_ID) or "",
                request.headers.get(CONTRIBUTION_ID) or "",
            )
        )

    def active(self, user: str, focus: str) -> FocusSubscription | None:
        for sub in self._own.values():
            if sub.user == user and sub.focus == focus and not sub.ended:
                return sub
        return None

    def subscriptions(self, user: str, focus: str) -> list[FocusSubscription]:
        """The PF's own subscriptions to ``focus`` for ``user`` that have not ended
        (pending or established; 8.2.3 wants at most one)."""
        return [
            s for s in self._own.values() if s.user == user and s.focus == focus and not s.ended
        ]

    async def held(self, user: str, focus: str) -> FocusSubscription | None:
        """The PF's established subscription to ``focus`` for ``user`` (one per user towards
        the CF, 8.2.3), once a pending initial SUBSCRIBE has its outcome; None without one.

        One the focus has ended with ``noresource`` counts too, whether before this call or
        while the outcome was awaited: the conference it reported on is gone, its last
        state is the latest participant information there is (B.2.3.5.X step 6), and
        RFC 6665 4.1.3 says not to subscribe again."""
        sub = self.current(user, focus)
        if sub is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sub.settled.wait(), self.pf.config.timers.b * 2)
        if sub.dialog is None or (sub.ended and sub.terminated_reason != NORESOURCE):
            return None
        return sub

    def _newest(self, user: str, focus: str) -> FocusSubscription | None:
        """The subscription to ``focus`` for ``user`` started last, if it has not ended."""
        subs = self.subscriptions(user, focus)
        return subs[-1] if subs else None

    def current(self, user: str, focus: str) -> FocusSubscription | None:
        """The PF's subscription to ``focus`` for ``user`` as it stands: pending or
        established, else one the focus ended with ``noresource`` (see :meth:`held`)."""
        return self.active(user, focus) or self._gone(user, focus)

    def _gone(self, user: str, focus: str) -> FocusSubscription | None:
        """The latest established subscription to ``focus`` for ``user`` that the focus
        ended with ``noresource``."""
        for sub in reversed(list(self._own.values())):
            if (
                sub.user == user
                and sub.focus == focus
                and sub.dialog is not None
                and sub.terminated_reason == NORESOURCE
            ):
                return sub
        return None

    def build_subscribe(self, user: str, focus: str, target: str | None = None) -> SipRequest:
        """Items 1-8 (RFC 6665 / RFC 4575 SUBSCRIBE); ``target`` overrides the
        Request-URI (only a fault uses it)."""
        pf = self.pf
        on = self.faults.on
        icsi = format_icsi_ref([ICSI_SESSION])
        from_uri = user if on("pf.subscribe-from-not-deferred-uri") else pf.config.deferred_uri
        contact = f"<sip:pf-sub-{secrets.token_hex(4)}@{pf.hostport}>"
        headers: list[tuple[str, str]] = [
            ("Via", pf.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{from_uri}>;tag={new_tag()}"),
            ("To", f"<{focus}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", "1 SUBSCRIBE"),
            ("Contact", contact if on("pf.subscribe-contact-no-icsi") else f"{contact};{icsi}"),
            ("Event", "conference"),
            ("Expires", str(SUBSCRIBE_EXPIRES)),
            ("Accept", CONFERENCE_INFO_TYPE),
        ]
        if on("pf.subscribe-no-expires"):
            headers = [(n, v) for n, v in headers if n != "Expires"]
        if not on("pf.subscribe-no-accept-contact"):
            headers.append(("Accept-Contact", format_contact_preference([icsi])))
        if not on("pf.subscribe-no-asserted-service"):
            headers.append(("P-Asserted-Service", ICSI_SESSION_GROUP))
        if not on("pf.subscribe-pai-not-user"):
            headers.append(("P-Asserted-Identity", f"<{user}>"))
        if not on("pf.subscribe-no-user-agent"):
            headers.append(("User-Agent", pf.policy.user_agent))
        if target is None:
            target = (
                pf.config.conference_factory_uri if on("pf.subscribe-ruri-not-focus") else focus
            )
        return build_request("SUBSCRIBE", target, headers, b"")

    def subscribe_to_focus(
        self,
        user: str,
        focus: str,
        conversation_id: str,
        contribution_id: str,
        target: str | None = None,
    ) -> Coroutine[Any, Any, FocusSubscription | None]:
        """Start the PF's subscription; await (or spawn) the result for its outcome. The
        subscription is pending (:meth:`held` sees it) from this call on, before the
        SUBSCRIBE goes out, so that two procedures never both start one."""
        request = self.build_subscribe(user, focus, target)
        sub = FocusSubscription(user, focus, conversation_id, contribution_id, request)
        key = (request.call_id or "", tag_of(request, "From") or "")
        self._own[key] = sub
        return self._settle(sub, key, target)

    async def _settle(
        self, sub: FocusSubscription, key: tuple[str, str], target: str | None
    ) -> FocusSubscription | None:
        try:
            return await self._initial(sub, key, target)
        finally:
            sub.settled.set()

    async def _initial(
        self, sub: FocusSubscription, key: tuple[str, str], target: str | None
    ) -> FocusSubscription | None:
        pf = self.pf
        user, focus, request = sub.user, sub.focus, sub.request
        conversation_id, contribution_id = sub.conversation_id, sub.contribution_id
        # item 9: to the SIP/IP core (the fault: straight to a focus URI's literal address)
        destination = pf.destination(focus)
        if self.faults.on("pf.subscribe-not-through-core"):
            destination = literal_address_of(focus) or destination
        handle = await pf.sip.request(request, destination)
        outcome = await handle.outcome(pf.config.timers.b * 2)
        if isinstance(outcome, str) or outcome.status >= 300:
            # RFC 6665 4.1.2.1: no subscription; the PF does not retry in a loop
            log.info("subscription of %s to %s failed: %s", user, focus, outcome)
            sub.ended = True
            self._own.pop(key, None)
            if self.faults.on("pf.subscribe-retried-after-error") and target is None:
                # the fault: a new subscription at once, whatever the CF said
                pf.spawn(
                    self.subscribe_to_focus(user, focus, conversation_id, contribution_id, focus)
                )
            # clients linked while it was pending learn that it failed (RFC 6665 4.2.2)
            for client in sub.clients:
                self._client.pop((client.dialog.call_id, client.dialog.local_tag), None)
                self.notify_client(client, b"", "terminated;reason=rejected")
            sub.clients.clear()
            return None
        try:
            dialog = Dialog.uac(request, outcome)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("unusable 2xx to SUBSCRIBE: %s", exc)
            sub.ended = True
            self._own.pop(key, None)
            return None
        sub.dialog = dialog
        if sub.end_when_ready:  # RFC 6665 4.1.2.3 as soon as there is a dialog
            self.refresh(sub, 0)
            return sub
        expires = outcome.headers.get("Expires")
        granted = int(expires) if expires and expires.strip().isdigit() else SUBSCRIBE_EXPIRES
        self._schedule_refresh(sub, granted)
        return sub

    def _schedule_refresh(self, sub: FocusSubscription, granted: int) -> None:
        if sub.refresh is not None:
            sub.refresh.cancel()
        if granted <= 0 or sub.ended or self.faults.on("pf.subscribe-never-refreshed"):
            return
        sub.refresh = self.pf.loop.call_later(max(granted / 2, 1.0), self.refresh, sub)

    def refresh(self, sub: FocusSubscription, expires: int = SUBSCRIBE_EXPIRES) -> None:
        """RFC 6665 4.1.2.2: refresh (or, with ``expires`` 0, end) in the dialog."""
        sub.refresh = None
        if sub.dialog is None or sub.ended:
            return
        if expires == 0:
            sub.ended = True
        pf = self.pf
        try:
            request = sub.dialog.create_request(
                "SUBSCRIBE",
                via=pf.via(),
                headers=[
                    ("Event", "conference"),
                    ("Expires", str(expires)),
                    ("Accept", CONFERENCE_INFO_TYPE),
                ],
            )
            destination = pf.destination(sub.dialog.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot refresh the subscription to %s: %s", sub.focus, exc)
            return

        async def send() -> None:
            handle = await pf.sip.request(request, destination)
            outcome = await handle.outcome(pf.config.timers.b * 2)
            if expires and not isinstance(outcome, str) and outcome.status < 300:
                value = outcome.headers.get("Expires")
                self._schedule_refresh(sub, int(value) if value and value.isdigit() else expires)

        pf.spawn(send())

    def session_ended(self, session: B2buaSession, *, by_client: bool) -> None:
        """The user left the session: the PF ends its subscription (RFC 6665 4.1.2.3)."""
        for (user, focus), owner in list(self._sessions.items()):
            if owner is not session:
                continue
            del self._sessions[(user, focus)]
            sub = self.active(user, focus)
            if sub is None:
                continue
            if by_client and not self.faults.on("pf.no-unsubscribe-on-leave"):
                if sub.refresh is not None:
                    sub.refresh.cancel()
                if sub.dialog is None:
                    sub.end_when_ready = True
                else:
                    self.refresh(sub, 0)

    # -- NOTIFY -----------------------------------------------------------------------------
    def owns_notify(self, request: SipRequest) -> bool:
        return (
            request.call_id or "",
            tag_of(request, "To") or "",
        ) in self._own or self.forwarder.owns_notify(request)

    def on_notify(self, incoming: IncomingRequest) -> None:
        """A NOTIFY in one of the PF's own subscriptions (the forwarded ones are the
        forwarder's, routed by the service)."""
        request = incoming.request
        sub = self._own.get((request.call_id or "", tag_of(request, "To") or ""))
        if sub is None:
            incoming.respond(481)
            return
        state = SubscriptionStateValue.parse(request.headers.get("Subscription-State") or "")
        if state is None:
            incoming.respond(400, "Bad Subscription-State")
            return
        if sub.dialog is not None:
            with contextlib.suppress(RemoteProtocolError):
                sub.dialog.receive_request(request)
        # step 1: RFC 6665 4.1.3, RFC 4575
        if not self.faults.on("pf.notify-not-accepted"):
            incoming.respond(200)
        else:
            incoming.respond(489, "Bad Event")
        if request.body:
            try:
                doc = parse_conference_info(request.body)
                if self.faults.on("pf.notify-partial-replaces") and doc.state is DocState.PARTIAL:
                    doc = ConferenceInfo(
                        entity=doc.entity,
                        state=DocState.FULL,
                        version=doc.version,
                        description=doc.description,
                        users=doc.users,
                        raw=doc.raw,
                    )
                sub.state.apply(doc)
            except DocumentError as exc:
                log.warning("unusable conference-info from %s: %s", sub.focus, exc)
        view = sub.state.view
        if view is not None:
            self.kept[(sub.user, sub.focus)] = view  # step 6
            sub.history[:] = [*sub.history[-(HISTORY - 1) :], (incoming.received_at, view)]
        if not self.faults.on("pf.notify-not-forwarded"):  # step 5
            self._forward(sub, request.body, state)
        self.over_msrp.on_notify(sub.user, sub.focus, request.body)  # step 4
        if state.state == "terminated":
            sub.ended = True
            sub.terminated_reason = state.reason or ""
            if sub.refresh is not None:
                sub.refresh.cancel()
                sub.refresh = None
            if state.reason == NORESOURCE and view is not None:
                self.pf.spawn(self._store_snapshot(sub, view))

    def _forward(self, sub: FocusSubscription, body: bytes, state: SubscriptionStateValue) -> None:
        for client in list(sub.clients):
            value = (
                str(state) if state.state == "terminated" else f"active;expires={client.expires}"
            )
            self.notify_client(client, body, value)
        if state.state == "terminated":
            sub.clients.clear()

    def notify_client(
        self,
        client: ClientSubscription,
        body: bytes,
        state: str,
        *,
        answered: asyncio.Event | None = None,
    ) -> None:
        """NOTIFY the client (after a delivery that holds it back); ``answered`` is set once
        the NOTIFY has its final response or its transaction ended (or it was not sent)."""
        pf = self.pf
        headers = [("Event", "conference"), ("Subscription-State", state)]
        if body:
            headers.append(("Content-Type", CONFERENCE_INFO_TYPE))
        try:
            request = client.dialog.create_request(
                "NOTIFY", via=pf.via(), headers=headers, body=body
            )
            destination = pf.destination(client.dialog.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot NOTIFY the client: %s", exc)
            if answered is not None:
                answered.set()
            return
        hold = self._notify_holds.get(client.user)
        if hold is not None and hold.is_set():
            del self._notify_holds[client.user]
            hold = None

        async def send() -> None:
            try:
                if hold is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(hold.wait(), pf.config.timers.b * 2)
                handle = await pf.sip.request(request, destination)
                if answered is not None:
                    with contextlib.suppress(GuardTimeout):
                        await handle.outcome(pf.config.timers.b * 2)
            finally:
                if answered is not None:
                    answered.set()

        pf.spawn(send())

    async def _store_snapshot(self, sub: FocusSubscription, view: ConferenceInfo) -> None:
        """Steps 2-3: a new Group State Object from the coherent state."""
        pf = self.pf
        if pf.store is None or not sub.contribution_id:
            return
        prefs = await fetch_preferences(pf.config.xdms_url, sub.user)
        allowed = prefs.allow_store or (
            prefs.allow_offline_storage
            and not self.faults.on("pf.gso-offline-storage-alone-ignored")
        )
        if not allowed and not self.faults.on("pf.gso-stored-without-preference"):
            return
        if self.faults.on("pf.gso-not-stored-on-noresource"):
            return
        if self.faults.on("pf.gso-snapshot-keeps-first-state"):
            view = self._first_snapshot.setdefault(
                session_history_folder(sub.contribution_id), view
            )
        xml = build_group_state(group_state_of(view, self.faults))
        data = build_group_state_object(
            xml,
            conversation_id=sub.conversation_id,
            contribution_id=sub.contribution_id,
            imdn_message_id=secrets.token_hex(8),
            direction="Out",
        )
        folder = session_history_folder(sub.contribution_id)
        try:
            if not await pf.store.folder_exists(folder):
                await pf.store.create_folder(folder)
            await pf.store.append(folder, data)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("Message Store write failed: %s", exc)

    # -- the clients' SUBSCRIBE -------------------------------------------------------------
    def owns_client_request(self, request: SipRequest) -> bool:
        return (
            request.call_id or "",
            tag_of(request, "To") or "",
        ) in self._client or self.forwarder.owns_client_request(request)

    def on_subscribe(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        key = (request.call_id or "", tag_of(request, "To") or "")
        if key[1]:
            self._client_refresh(incoming, key)
            return
        event = (request.headers.get("Event") or "").split(";")[0].strip().lower()
        if event != "conference":
            incoming.respond(489, "Bad Event")
            return
        value = request.headers.get("P-Asserted-Identity") or request.headers.get("From") or ""
        user = aor(uri_of(value))
        if not self.pf.served(user):
            incoming.respond(403)
            return
        focus = self._focus_of(user, request.uri)
        if focus is None:
            incoming.respond(404)
            return
        if (
            self.pf.policy.client_subscribe_mode == "proxy"
            and not self.faults.on("pf.forward-not-forwarded")
            and ((user, focus) in self._sessions or self.active(user, focus) is not None)
        ):
            # forward mode of 8.2.3 / 5.2.3.5: to the CF, and the PF's own subscription ends
            self.forwarder.forward(incoming, user, focus)
            return
        expires_text = request.headers.get("Expires")
        expires = int(expires_text) if expires_text and expires_text.isdigit() else 600
        expires = min(expires, SUBSCRIBE_EXPIRES)
        tag = new_tag()
        contact = f"<sip:pf-csub-{secrets.token_hex(4)}@{self.pf.hostport}>"
        # RFC 3261 12.1.1 (RFC 6665 4.2.1): the dialog-creating 2xx copies the Record-Route
        record_route = [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        response = response_to(
            request,
            200,
            "OK",
            to_tag=tag,
            headers=[*record_route, ("Contact", contact), ("Expires", str(expires))],
        )
        try:
            dialog = Dialog.uas(request, tag, contact)
            dialog.confirm(response)
        except (LocalProtocolError, RemoteProtocolError):
            incoming.respond(400)
            return
        client = ClientSubscription(dialog, incoming.source, expires, user)
        session = self._sessions.get((user, focus))
        sub = self.active(user, focus)
        incoming.send(response)
        if session is None and sub is None and not self.faults.on("pf.no-local-notify"):
            # the MAY of 8.2.3: no session at the CF, answer from the kept state
            kept = self.kept.get((user, focus))
            if self.faults.on("pf.local-notify-without-state"):
                kept = None
            body = build_conference_info(kept) if kept is not None else b""
            self.notify_client(client, body, "terminated;reason=noresource")
            return
        if sub is None or self.faults.on("pf.two-subscriptions-for-one-user"):
            # B2BUA: the PF initiates its own subscription and links the client to it
            conversation = contribution = ""
            if session is not None:
                conversation = session.client_request.headers.get(CONVERSATION_ID) or ""
                contribution = session.client_request.headers.get(CONTRIBUTION_ID) or ""
            placeholder = FocusSubscription(user, focus, conversation, contribution, request)
            placeholder.clients.append(client)
            self._client[(dialog.call_id, dialog.local_tag)] = placeholder

            # the client's Request-URI becomes the group session identity (CLSUB-RURI)
            target = request.uri if self.faults.on("pf.client-subscribe-ruri-kept") else None

            async def link() -> None:
                pending = self.subscribe_to_focus(user, focus, conversation, contribution, target)
                # linked while pending: the CF's first NOTIFY may come before the 2xx is seen;
                # to the subscription just started (under pf.two-subscriptions-for-one-user
                # the user's first one is still active too, and gets no NOTIFY of this one)
                early = self._newest(user, focus)
                if early is not None and client not in early.clients:
                    early.clients.append(client)
                    self._client[(dialog.call_id, dialog.local_tag)] = early
                own = await pending
                if own is not None:
                    if client not in own.clients:
                        own.clients.append(client)
                    self._client[(dialog.call_id, dialog.local_tag)] = own

            self.pf.spawn(link())
            return
        sub.clients.append(client)
        self._client[(dialog.call_id, dialog.local_tag)] = sub
        if self.faults.on("pf.client-subscribe-no-initial-notify"):
            return
        view = sub.state.view
        body = build_conference_info(view) if view is not None else b""
        # a delivery that waits for this NOTIFY (notify first) goes once it is answered:
        # TCP and UDP are not ordered between each other
        waiter = self._notify_waiters.pop(user, None)
        self.notify_client(client, body, f"active;expires={expires}", answered=waiter)

    def _client_refresh(self, incoming: IncomingRequest, key: tuple[str, str]) -> None:
        sub = self._client.get(key)
        if sub is None:
            incoming.respond(481)
            return
        client = next(
            (c for c in sub.clients if (c.dialog.call_id, c.dialog.local_tag) == key), None
        )
        expires_text = incoming.request.headers.get("Expires")
        expires = int(expires_text) if expires_text and expires_text.isdigit() else 600
        incoming.respond(200, headers=[("Expires", str(min(expires, SUBSCRIBE_EXPIRES)))])
        if client is None:
            return
        with contextlib.suppress(RemoteProtocolError):
            client.dialog.receive_request(incoming.request)
        if expires == 0:
            sub.clients.remove(client)
            self._client.pop(key, None)
            self.notify_client(client, b"", "terminated;reason=timeout")

    def _focus_of(self, user: str, uri: str) -> str | None:
        """The group session identity a client's SUBSCRIBE is for (its Request-URI, or
        the PF's own Contact URI of the session)."""
        target = aor(uri)
        for (u, focus), session in self._sessions.items():
            if u == user and (aor(focus) == target or aor(self.pf.own_uri(session.id)) == target):
                return focus
        for u, focus in list(self.kept) + [(s.user, s.focus) for s in self._own.values()]:
            if u == user and aor(focus) == target:
                return focus
        if self.pf.policy.conference_info_via_msrp:
            # a SUBSCRIBE right after the 200 OK, before step 9 registered the session
            for session in self.pf.table.values():
                dialog = session.core.dialog
                if (
                    session.user == user
                    and not session.ended
                    and dialog is not None
                    and aor(dialog.remote_target) == target
                ):
                    self._sessions[(user, dialog.remote_target)] = session
                    return dialog.remote_target
        return None


__all__ = [
    "SUBSCRIBE_EXPIRES",
    "ClientSubscription",
    "FocusSubscription",
    "Participants",
    "group_state_of",
    "is_gone",
]

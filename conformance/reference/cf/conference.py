"""The reference CF's ``conference`` event package: the notifier side of SUBSCRIBE/NOTIFY
to a focus (RFC 4575, RFC 6665; seed 000 5.2.3.5).

- CF-5.2.3.5-HOSTS: 404 for a focus not hosted, or a session not active.
- CF-5.2.3.5-REJECT: 403 for a subscriber who is no participant (nor recipient).
- CF-5.2.3.5-200: 200 with Expires; CF-5.2.3.5-NOTIFY-INITIAL: a full NOTIFY, version 1,
  at once.
- CF-5.2.3.5-NOTIFY-CHANGES and CF-8.6-2.b.ii.2: a partial NOTIFY, version + 1, on every
  participant change; ``terminated;reason=noresource`` when the session ends.
- A re-SUBSCRIBE in the dialog refreshes; a new SUBSCRIBE creates a new subscription
  (SD-B.2.3.x.y-14-15-cf). A failed NOTIFY ends the subscription (RFC 6665 4.2.2).

Each subscription has one worker task that sends its NOTIFYs in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
from conformance.errors import RemoteProtocolError
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.dialog import Dialog, DialogId
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipResponse
from conformance.protocol.sip.subscription import EventType, Notifier, NotifierState
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.cf.model import (
    EVENT_PACKAGE,
    ConferenceSubscription,
    GroupSession,
    Participant,
    SessionState,
)
from conformance.reference.element import SipElement, identity_of, literal_address_of


class ConferenceEvents:
    """The ``conference`` subscriptions to the foci of one CF.

    ``element`` is the CF (its SIP pump, timers and faults); ``session_by_focus`` finds
    the group session a focus URI names.
    """

    def __init__(
        self, element: SipElement, session_by_focus: Callable[[str], GroupSession | None]
    ) -> None:
        self.element = element
        self.faults = element.faults
        self.loop = element.loop
        self.session_by_focus = session_by_focus
        self._by_dialog: dict[DialogId, tuple[GroupSession, ConferenceSubscription]] = {}

    def knows(self, dialog_id: DialogId) -> bool:
        """Whether ``dialog_id`` is the dialog of a live subscription."""
        return dialog_id in self._by_dialog

    # -- SUBSCRIBE (seed 000 5.2.3.5) ---------------------------------------------------------
    def on_subscribe(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        reply = self.element.reply
        event_value = request.headers.get("Event")
        try:
            package = EventType.parse(event_value).package if event_value else None
        except RemoteProtocolError:
            package = None
        if package != EVENT_PACKAGE:
            reply(incoming, 489, headers=[("Allow-Events", EVENT_PACKAGE)])
            return
        if tag_of(request, "To"):
            self._refresh(incoming)
            return
        session = self.session_by_focus(request.uri)
        # CF-5.2.3.5-HOSTS: "check that it hosts the targeted CPM Group Session"
        if session is None or session.state is not SessionState.ACTIVE:
            if self.faults.on("cf.unknown-focus-200"):
                reply(
                    incoming,
                    200,
                    to_tag=new_tag(),
                    headers=[("Expires", "600"), ("Contact", f"<{request.uri}>")],
                )
                return
            reply(incoming, 404, reason="Not Found")
            return
        who = identity_of(request)
        # CF-5.2.3.5-REJECT: "if ... not authorized, ... SHALL send back an error response"
        authorised = who in session.participants or who in session.recipients
        if not authorised and not self.faults.on("cf.subscribe-unauthorised-accepted"):
            reply(incoming, 403, reason="Forbidden")
            return
        notifier = Notifier(EVENT_PACKAGE, max_expires=self.element.config.max_subscription_expires)
        decision = notifier.on_subscribe(request, self.loop.time())
        tag = new_tag()
        if decision.status != 200:
            reply(incoming, decision.status, headers=list(decision.headers))
            return
        dialog = Dialog.uas(request, tag, session.focus_uri)
        granted = list(decision.headers)
        if self.faults.on("cf.subscribe-expires-longer"):
            asked = (request.headers.get("Expires") or "600").strip()
            longer = str((int(asked) if asked.isdigit() else 600) + 600)
            granted = [(n, longer if n.lower() == "expires" else v) for n, v in granted]
        response = reply(
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
        self._by_dialog[dialog.id] = (session, sub)
        self._start_worker(session, sub)
        self._arm_expiry(session, sub)
        # CF-5.2.3.5-NOTIFY-INITIAL: the initial notification, full state, version 1
        if not self.faults.on("cf.no-initial-notify"):
            self._queue(session, sub, full=True)

    def _refresh(self, incoming: IncomingRequest) -> None:
        """A SUBSCRIBE in an existing subscription dialog (RFC 6665 4.2.1.2)."""
        request = incoming.request
        reply = self.element.reply
        did = DialogId.of_incoming_request(request)
        found = self._by_dialog.get(did) if did is not None else None
        if found is None:
            reply(incoming, 481)
            return
        session, sub = found
        try:
            sub.dialog.receive_request(request)
        except RemoteProtocolError:
            reply(incoming, 500)
            return
        decision = sub.notifier.on_subscribe(request, self.loop.time())
        reply(
            incoming,
            decision.status,
            headers=[*decision.headers, ("Contact", f"<{session.focus_uri}>")],
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
        self._by_dialog.pop(sub.dialog.id, None)
        if sub.expiry is not None:
            sub.expiry.cancel()
            sub.expiry = None

    # -- the end of a session -----------------------------------------------------------------
    def end(self, session: GroupSession) -> None:
        """The session ended: every subscription ends with ``noresource``."""
        for sub in list(session.subscriptions):
            self._terminate(session, sub, "noresource")

    def cancel_timers(self, session: GroupSession) -> None:
        """Stop the expiry timers of the subscriptions of ``session``."""
        for sub in session.subscriptions:
            if sub.expiry is not None:
                sub.expiry.cancel()
                sub.expiry = None

    def _terminate(self, session: GroupSession, sub: ConferenceSubscription, reason: str) -> None:
        self._forget(session, sub)
        if sub.notifier.state is NotifierState.TERMINATED:
            return
        sub.notifier.terminate(reason)
        if self.faults.on("cf.no-noresource") and reason == "noresource":
            return
        self._queue(session, sub, full=True)

    # -- notifications --------------------------------------------------------------------
    def changed(self, session: GroupSession, participant: Participant) -> None:
        """CF-5.2.3.5-NOTIFY-CHANGES / CF-8.6-2.b.ii.2: a partial NOTIFY per change."""
        full = self.faults.on("cf.full-on-change")
        for sub in session.subscriptions:
            if sub.notifier.state is NotifierState.ACTIVE:
                self._queue(session, sub, full=full, only=participant)

    def _user(self, participant: Participant) -> User:
        status = participant.status
        disconnection = participant.disconnection
        if disconnection is DisconnectionMethod.DEPARTED and self.faults.on(
            "cf.departed-user-kept"
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

        sub.worker = self.element.track(asyncio.create_task(work()))

    async def _notify(self, sub: ConferenceSubscription, body: bytes) -> int | None:
        state = sub.notifier.subscription_state_value(self.loop.time())
        headers = [
            ("Event", EVENT_PACKAGE),
            ("Subscription-State", state),
            ("Content-Type", CONFERENCE_INFO_CONTENT_TYPE),
        ]
        # the reverse path of the SUBSCRIBE: the dialog's route set, through the outbound
        # proxy (the fault: straight to the subscriber's Contact when it is an address)
        direct = (
            literal_address_of(sub.dialog.remote_target)
            if self.faults.on("cf.notify-not-reverse-path")
            else None
        )
        handle = self.element.send_in_dialog(
            sub.dialog, "NOTIFY", headers=headers, body=body, to=direct
        )
        if handle is None:
            return None
        outcome = await handle.outcome(self.element.config.timers.b * 2)
        return outcome.status if isinstance(outcome, SipResponse) else None


__all__ = ["ConferenceEvents"]
